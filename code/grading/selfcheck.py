"""A student's self-check (`mlpkit exercises check FILE`): the public checks of the chapters a file answers.

The file runs as a graded submission does (confined where the kernel can,
`mlpkit.grading.sandbox`), on the student's own machine; its values are judged
against the expected values of the release's ``checks.json``
(`mlpkit.grading.release`), or, in a clone, against the reference solution's.
"""

import json
import pathlib
import re

from mlpkit.grading import bank, checks, grader, release, sandbox, units, worker


def _check_files(submission, checks_path):
    """Raise ``GradingError`` unless ``submission`` is a notebook or .py file and an explicit ``checks_path`` a file."""
    if not submission.exists():
        raise grader.GradingError(f"FILE {submission}: no such file; "
                                  "expected your notebook (.ipynb) or Python file (.py)")
    if not submission.is_file() or submission.suffix not in grader.SUFFIXES:
        raise grader.GradingError(f"FILE {submission}: expected a notebook (.ipynb) or Python file (.py)")
    if checks_path is not None and not pathlib.Path(checks_path).is_file():
        state = "is a folder" if pathlib.Path(checks_path).is_dir() else "no such file"
        raise grader.GradingError(f"--checks {checks_path}: {state}; "
                                  "expected the checks.json of `mlpkit exercises release`")


def _exercise_markers(submission):
    """The exercise names a released file marks its cells with (notebook metadata or ``# %% exercise="NAME"``)."""
    text = submission.read_text(errors="replace")
    if submission.suffix == ".py":
        return set(re.findall(r'^# %%.*\bexercise="(\w+)"', text, flags=re.MULTILINE))
    try:
        cells = json.loads(text)["cells"]
        return {cell["metadata"]["exercise"] for cell in cells
                if isinstance(cell.get("metadata"), dict) and isinstance(cell["metadata"].get("exercise"), str)}
    except (ValueError, KeyError, TypeError, AttributeError):
        return set()


def answered_chapters(submission, exercises):
    """The chapters a submission answers: those its cells are marked with (a released file), else the chapter
    its file is named after (``perceptron.py``), else those of the exercise functions it defines."""
    chapter_of = {e.name: e.chapter for e in exercises}
    marked = {chapter_of[name] for name in _exercise_markers(submission) if name in chapter_of}
    if marked:
        return marked
    if submission.stem in chapter_of.values():
        return {submission.stem}
    defined = set(re.findall(r"def\s+(\w+)\s*\(", submission.read_text(errors="replace")))
    return {chapter_of[name] for name in defined if name in chapter_of}


def self_check(submission, checks_path=None, limits=None):
    """Run the public checks of every exercise of the chapters ``submission`` answers; return the verdicts.

    Every exercise of those chapters is checked, so one the file does not
    define (missing, or renamed) fails as "not defined". ``checks_path`` is
    the release's ``checks.json`` (default: beside the submission; without
    one, a clone's exercise sources give the expected values).
    """
    submission = pathlib.Path(submission)
    _check_files(submission, checks_path)
    checks_path = pathlib.Path(checks_path) if checks_path else submission.with_name("checks.json")
    if checks_path.is_file():
        exercises, expected = release.load_public_checks(checks_path)
    else:
        exercises = [checks.Exercise(e.name, e.chapter, e.points, e.title, e.public_calls)
                     for e in bank.load_exercises()]
        expected = None
    chapters = answered_chapters(submission, exercises)
    if not chapters:
        names = ", ".join(e.name for e in exercises[:6])
        raise grader.GradingError(f"FILE {submission}: defines none of the exercises' functions ({names}, ...); "
                                  "expected a chapter's file from the release, or a file defining its functions "
                                  "under their names")
    exercises = [e for e in exercises if e.chapter in chapters]
    try:
        cells = worker.submission_cells(submission)
    except worker.UnreadableSubmission as error:
        raise grader.GradingError(str(error)) from None
    sandbox.preload()
    # The student's own code on the student's own machine: confined where the kernel can, the audit hook elsewhere.
    limits = limits or sandbox.Limits(kernel_guard=False)
    if expected is None:  # from a clone: the reference's public values
        in_order = [c for c in bank.CHAPTERS if c in chapters]
        expected = grader.reference_outcomes(exercises, bank.reference_cells(in_order), limits)
    denied = [checks_path.resolve().parent] if checks_path.is_file() else []
    run_plan = units.plan(exercises)
    raw = grader.run_models(sandbox.run(cells, run_plan, denied=denied, limits=limits), exercises, here=True)
    raw = units.validated(raw, run_plan)
    verdicts = units.verdicts(exercises, raw, expected, public_only=True)
    return _blame_syntax_errors(verdicts, cells, raw["cells"]), raw["cells"]


def _blame_syntax_errors(verdicts, cells, notes):
    """A function that is "not defined" because the block that defines it does not compile: say so at the
    function, where the student looks, rather than only in the block's note."""
    broken = {label: note for label, note in notes.items() if note.startswith(("SyntaxError", "IndentationError",
                                                                                "TabError"))}
    for name, verdict in verdicts.items():
        written = [label for label, source in cells
                   if label in broken and re.search(rf"^\s*def\s+{re.escape(name)}\s*\(", source, re.MULTILINE)]
        if not written:
            continue
        for check in verdict["checks"]:
            if check["detail"].startswith("NameError"):
                check["detail"] = (f"{broken[written[0]]}, in {written[0].strip('<>')}, where {name} is written: "
                                   "the block did not run; fix the syntax")
    return verdicts
