"""The figures and tallies of a grading run's HTML report (`mlpkit.grading.html_report`), from the units alone.

Each figure is drawn with Matplotlib's Agg backend into a PNG and returned
as a ``data:`` URI, so the report holds its images and opens from disk. The
tallies say, per exercise, the mean points and how many got full marks, and
per check, how many failed it and with which messages most often (a hidden
check's message is the bank's, as only the instructor sees this report).
"""

import base64
import collections
import dataclasses
import io
import re

# A failure's place in the submission (``(<cell 4, line 1>, line 2)``) differs from file to file: left out
# when failures are counted, so that one mistake made by many is counted as one message.
PLACE = re.compile(r"\s*\(?<(cell|line|lines|file|grader)[^>]*>(, line \d+)?\)?")
TOP_MESSAGES = 3
NOT_JUDGED = ("<file>", "<grader>")  # the notes of a submission of which nothing could be judged


@dataclasses.dataclass
class CheckTally:
    """One check of one exercise: how many were judged on it, failed it, and the commonest failures."""

    exercise: str
    number: int  # 1, 2, ... within its exercise
    public: bool
    message: str
    judged: int = 0
    failed: int = 0
    failures: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    @property
    def label(self):
        return f"{self.exercise} #{self.number} ({'public' if self.public else 'hidden'})"


def _failure(check, result):
    """What a failed check's failure says, without its place in the file."""
    text = check.get("detail") or result.get("note") or "wrong value (a hidden check keeps no detail)"
    return " ".join(PLACE.sub("", str(text)).split())[:300]


def check_tallies(graded, exercises):
    """A :class:`CheckTally` per check of ``exercises``, in order, from the units ``graded`` that could be judged."""
    tallies = []
    for exercise in exercises:
        for number, call in enumerate(exercise.calls, 1):
            tallies.append(CheckTally(exercise.name, number, call.public, call.message or ""))
    by_place = {(t.exercise, t.number): t for t in tallies}
    for unit in graded:
        if any(note.startswith(NOT_JUDGED) for note in unit["notes"]):
            continue  # nothing of it ran: the report lists it apart, under what could not be judged
        for name, result in unit["exercises"].items():
            for number, check in enumerate(result["checks"], 1):
                tally = by_place.get((name, number))
                if tally is None:
                    continue
                tally.judged += 1
                if not check["passed"]:
                    tally.failed += 1
                    tally.failures[_failure(check, result)] += 1
    return tallies


def exercise_rows(graded, exercises):
    """``(exercise, mean points, pass rate)`` per exercise: the pass rate is the share with full marks."""
    rows = []
    for exercise in exercises:
        points = [unit["exercises"][exercise.name]["points"] for unit in graded]
        mean = sum(points) / len(points) if points else 0.0
        full = sum(p >= exercise.points for p in points) / len(points) if points else 0.0
        rows.append((exercise, mean, full))
    return rows


def _png(figure):
    from matplotlib import pyplot

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    pyplot.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width, height):
    import matplotlib

    matplotlib.use("Agg")  # no display: the report is written to a file
    from matplotlib import pyplot

    return pyplot.subplots(figsize=(width, height), layout="constrained")


def totals_figure(graded, maximum):
    """A histogram of the students' totals, as a data URI."""
    figure, axes = _figure(9, 3.2)
    totals = [unit["total"] for unit in graded]
    bins = max(1, min(40, int(maximum) + 1))
    axes.hist(totals, bins=bins, range=(0, maximum) if maximum else None, color="#3b6ea5", edgecolor="white")
    axes.set_xlabel(f"total points (of {maximum:g})")
    axes.set_ylabel("students")
    axes.set_title("Distribution of totals")
    return _png(figure)


def exercises_figure(rows):
    """Each exercise's mean points (as a share of its maximum) and pass rate, as a data URI."""
    import numpy as np

    figure, axes = _figure(9, 0.9 + 0.42 * len(rows))
    places = np.arange(len(rows))
    mean = [100 * m / e.points if e.points else 0 for e, m, _ in rows]
    passed = [100 * p for _, _, p in rows]
    axes.barh(places - 0.2, mean, height=0.4, label="mean points, % of maximum", color="#3b6ea5")
    axes.barh(places + 0.2, passed, height=0.4, label="pass rate: % with full marks", color="#e08a2c")
    axes.set_yticks(places, [e.name for e, _, _ in rows])
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("%")
    axes.legend(loc="lower right", fontsize="small")
    axes.set_title("Each exercise: mean points and pass rate")
    return _png(figure)


def checks_figure(tallies):
    """How many students failed each check, as a data URI."""
    import numpy as np

    figure, axes = _figure(9, 0.9 + 0.28 * len(tallies))
    places = np.arange(len(tallies))
    colours = ["#b8463b" if t.public else "#7d5ba6" for t in tallies]
    axes.barh(places, [t.failed for t in tallies], color=colours)
    axes.set_yticks(places, [t.label for t in tallies], fontsize="small")
    axes.invert_yaxis()
    axes.set_xlabel("students who failed the check (red: public check, purple: hidden)")
    axes.set_title("Failures per check")
    return _png(figure)
