"""Grade a folder of submissions: one submission in, one JSON unit out, merged into a CSV.

Each submission (``STUDENT.ipynb`` or ``STUDENT.py``, the student id being the
file name, or a Canvas or Moodle download: `mlpkit.grading.lms`) is run in worker processes
(`mlpkit.grading.worker`) that import TensorFlow once and fork a confined child per
submission (`mlpkit.grading.sandbox`). Workers return only the
values the submission's functions gave; this process, which never runs
student code, judges them against the reference solution's values
(`mlpkit.grading.checks`) and writes ``UNITS/STUDENT.json`` at once, atomically
(`mlpkit.grading.units`). A rerun skips submissions whose unit matches the file
and the exercises, so an interrupted run resumes. The CSV and one feedback file
per student are written at the end, each atomically (`mlpkit.grading.report`):
an interrupted run leaves the previous CSV as it was.
"""

import concurrent.futures
import dataclasses
import json
import os
import pathlib
import shutil
import sys

from mlpkit.grading import bank as bank_module
from mlpkit.grading import checks, confine, demo, html_report, lms, report, sandbox, units, worker
from mlpkit.grading.pools import run_models, stop_server, worker_pool  # noqa: F401  (the grader's, here too)
from mlpkit.progress import bar as progress_bar

SUFFIXES = (".ipynb", ".py")


class GradingError(RuntimeError):
    """The grading run cannot go on as asked; the message says why."""


# -- the reference ------------------------------------------------------------------------

def reference_outcomes(exercises, cells, limits=None):
    """Run the reference solution (``cells``: `Bank.reference_cells`) like a submission; its values per exercise,
    or ``GradingError`` if it fails a check.

    Call from a process that may fork (see `mlpkit.grading.sandbox`)."""
    sandbox.preload()
    raw = run_models(sandbox.run(cells, units.plan(exercises), limits=limits), exercises, here=True)
    if raw["cells"]:
        raise GradingError(f"the reference solution fails: {raw['cells']}")
    outcomes = {}
    for exercise in exercises:
        result = raw["exercises"][exercise.name]
        # an error is the reference's value only where a check expects one (Call.raises); that value is None
        if "error" in result or any("error" in o and not c.raises for c, o in zip(exercise.calls, result["outcomes"])):
            raise GradingError(f"the reference solution fails {exercise.name}: {result}")
        for call, outcome in zip(exercise.calls, result["outcomes"]):
            value = checks.decode(outcome["value"]) if "value" in outcome else None
            passed, detail = checks.judge(call, outcome, value)
            if not passed:
                raise GradingError(f"the reference solution fails its own check of {exercise.name}: {detail}")
        outcomes[exercise.name] = [o.get("value") for o in result["outcomes"]]
    return outcomes


def _reference_task(exercises, cells, limits):
    """In a grading worker: the reference's values, for a run that has no intact shared reference file.

    It gets the exercises as loaded, never the bank's folder or its course key."""
    return reference_outcomes(exercises, cells, limits)


# -- the submissions and the workers that run them ----------------------------------

def find_submissions(directory, layout="auto"):
    """The :class:`mlpkit.grading.lms.Listing` of the folder ``directory``: one submission per student.

    ``layout`` is ``auto`` (detected), ``plain`` (``STUDENT.ipynb`` /
    ``STUDENT.py`` files), ``canvas`` or ``moodle`` (see `mlpkit.grading.lms`).
    ``GradingError`` if it is not a folder or holds no submission in that
    layout: the message names what it holds and the layouts expected.
    """
    directory = pathlib.Path(directory)
    if not directory.exists():
        raise GradingError(f"FOLDER {directory}: no such folder of submissions")
    if not directory.is_dir():
        raise GradingError(f"FOLDER {directory}: is a file; expected a folder of STUDENT.ipynb / STUDENT.py files "
                           "or a Canvas or Moodle download")
    try:
        listing = lms.scan(directory, layout)
    except lms.LayoutError as error:
        raise GradingError(f"FOLDER {directory}: {error}") from None
    except OSError as error:
        raise GradingError(f"FOLDER {directory}: cannot list it ({error.strerror})") from None
    # the answer key of `mlpkit exercises demo-class` is the kit's own file, not an entry to report
    listing.stray = [(name, why) for name, why in listing.stray if not demo.is_answer_key(directory / name)]
    return listing


def _chosen(submissions, only, directory):
    """The submissions named by ``only`` (a graded file's name or path in the folder, or a student's key)."""
    def names(submission):
        relative = submission.path.relative_to(directory)
        return {submission.student, submission.path.name, relative.as_posix()}

    known = set().union(*(names(s) for s in submissions))
    missing = [name for name in only if name not in known and pathlib.Path(name).name not in known]
    if missing:
        example = submissions[0].path.relative_to(directory).as_posix()
        raise GradingError(f"--only: no submission {', '.join(missing)} in {directory}; expected names of "
                           f"the submissions' files in it, such as {example}")
    wanted = set(only) | {pathlib.Path(name).name for name in only}
    return [s for s in submissions if names(s) & wanted]


MAX_ATTEMPTS = 3  # runs in which the grader may fail on one submission before its unit stands
STOPPED_WORKER = ("the submission stopped the process grading it (graded alone, it did so again); "
                  "nothing of it could be judged")


def _grade_batch(batch, size, exercises, denied, limits, running, record):
    """Grade ``batch`` in a pool of ``size`` workers, calling ``record(submission, raw)`` for each;
    return the submissions left ungraded because a worker died (``BrokenProcessPool``)."""
    broken = []
    with worker_pool(size) as pool:
        run_plan = units.plan(exercises)
        futures = {pool.submit(worker.run_marked, running / s.student, str(s.path), run_plan, denied, limits): s
                   for s in batch}
        for future in concurrent.futures.as_completed(futures):
            submission = futures.pop(future)  # a finished result is not kept: one submission's values at a time
            try:
                raw = future.result()
            except concurrent.futures.process.BrokenProcessPool:
                broken.append(submission)
                continue
            except Exception as error:  # the worker failed otherwise: a note, and graded again on the next run
                note = f"grading failed: {type(error).__name__}; it is graded again on the next run"
                raw = {"cells": {"<grader>": note}, "exercises": {}}
                record(submission, raw, infrastructure=True)
                continue
            (running / submission.student).unlink(missing_ok=True)
            record(submission, raw)
    return sorted(broken, key=lambda s: s.student)


# -- a grading run -------------------------------------------------------------------------

@dataclasses.dataclass
class _Run:
    """What one grading run judges with, and where it keeps the units: each submission's file is hashed once."""

    exercises: list
    key: str  # `Bank.source_key` of the chapters: units graded against other sources are stale
    units_dir: pathlib.Path
    guard: str  # how submissions are confined: `report.KERNEL_GUARD` or `report.WEAK_GUARD`
    reference: dict = None
    reference_sha: str = None
    digests: dict = dataclasses.field(default_factory=dict)
    bank: object = None  # the `mlpkit.grading.bank.Bank` graded against

    def digest(self, path):
        if path not in self.digests:
            self.digests[path] = units.file_sha256(path)
        return self.digests[path]

    def latest(self, submission):
        """The unit an earlier run left for ``submission``, if it still holds (the same file and exercises), even
        one the grader failed on: every submission graded has a row."""
        unit = units.read_sound(self.units_dir / f"{submission.student}.json", self.exercises)
        if unit and unit.get("key") == self.key and unit.get("sha256") == self.digest(submission.path):
            return unit
        return None

    def finished(self, submission):
        """:meth:`latest`, unless the grader failed on it: then the submission is graded again."""
        unit = self.latest(submission)
        return None if unit is None or unit.get("infrastructure") else unit

    def record(self, submission, raw, infrastructure=False):
        """Judge ``raw`` (the submission's run) and write its unit. A failure of the grader's own (``infrastructure``,
        or one judging the run) is graded again on the next runs, up to ``MAX_ATTEMPTS`` in all; then it stands, with
        its note, so that no submission is graded again without end."""
        raw = run_models(raw, self.exercises)
        unit = units.unit(submission.path, self.digest(submission.path), self.exercises, raw, self.reference, self.key,
                          submission.student)
        if infrastructure:  # not the submission's doing: a rerun grades it again
            unit["infrastructure"] = True
        if unit.get("infrastructure"):
            earlier = self.latest(submission) or {}
            unit["attempts"] = int(earlier.get("attempts", 0)) + 1 if earlier.get("infrastructure") else 1
            if unit["attempts"] >= MAX_ATTEMPTS:
                unit["infrastructure"] = False
                unit["notes"] = unit.get("notes", []) + [
                    f"the grader failed on this submission in {unit['attempts']} runs; it is not graded again "
                    "(a fault of the grader's: please report it with the file)"]
        unit["guard"] = self.guard
        unit["reference"] = self.reference_sha  # the reference values it was judged against
        units.write_atomic(self.units_dir / f"{submission.student}.json", json.dumps(unit, indent=1))


def grade(submissions, out_csv, chapters=None, workers=None, limits=None, units_dir=None, feedback_dir=None,
          only=None, merge_only=False, progress=True, layout="auto", lms_export=None, assignment=None, bank=None,
          allow_missing=False):
    """Grade every submission in the folder ``submissions``; write the CSV and feedback; return the units.

    ``layout``: see :func:`find_submissions`. ``lms_export`` (``canvas`` or
    ``moodle``) also writes ``NAME_canvas.csv`` / ``NAME_moodle.csv`` beside
    the CSV for the LMS's grade import (``assignment``: the column header). ``bank``: a
    `mlpkit.grading.bank.Bank` (default: `mlpkit.grading.bank.default`). With ``merge_only``, submissions that
    have no finished unit are a ``GradingError`` naming them unless ``allow_missing``; the gradebook's
    ``missing`` lists them.
    """
    bank = bank or bank_module.default()
    chapters = chapters or bank.demo_chapters
    exercises = bank.load_exercises(chapters)
    out_csv = pathlib.Path(out_csv)
    units_dir = pathlib.Path(units_dir or out_csv.with_name(out_csv.stem + "_units"))
    feedback_dir = pathlib.Path(feedback_dir or out_csv.with_name(out_csv.stem + "_feedback"))
    _check_lms_export(lms_export, assignment)
    submissions = pathlib.Path(submissions)
    listing = find_submissions(submissions, layout)
    _check_lms_export(lms_export, assignment, listing.layout)
    chosen = _chosen(listing.submissions, only, submissions) if only else listing.submissions
    limits = limits or sandbox.Limits()
    workers = max(1, workers or os.cpu_count() or 1)
    run = _Run(exercises, bank.source_key(chapters), units_dir, _guard(limits, merge_only), bank=bank)
    finished = {s.student: run.finished(s) for s in chosen}  # each unit file read once: what earlier runs left
    todo = []
    if chosen and not merge_only:
        units_dir.mkdir(parents=True, exist_ok=True)
        run.reference, run.reference_sha = _reference_values(run, finished.values(), bank.reference_cells(chapters),
                                                             limits)
        # A unit judged against other reference values is graded again.
        todo = [s for s in chosen if (finished[s.student] or {}).get("reference") != run.reference_sha]
        if progress:
            kept = len(chosen) - len(todo)
            print(f"mlpkit grade: {len(todo):,} of {len(chosen):,} submissions to grade"
                  + (f" ({kept:,} graded by an earlier run, kept)" if kept else ""), file=sys.stderr)
        if todo:
            # The submission's process may not read the submissions, the units, the feedback or the gradebook.
            denied = [submissions.resolve(), units_dir.resolve(), feedback_dir.resolve(), out_csv.resolve(),
                      bank.path.resolve()]
            _grade_all(todo, run, workers, denied, limits, progress)
    listing = find_submissions(submissions, layout)
    missing = [s.student for s in listing.submissions if run.latest(s) is None]
    if merge_only and missing and not allow_missing and len(missing) < len(listing.submissions):  # none: below
        _refuse_missing(missing, len(listing.submissions), run.units_dir)
    graded = Gradebook(_write_gradebook(listing, run, out_csv, feedback_dir, merge_only, lms_export, assignment,
                                        submissions))
    graded.graded_now, graded.missing = len(todo), missing
    return graded


class Gradebook(list):
    """The units of a gradebook, as :func:`grade` returns them; ``graded_now``: how many this run graded;
    ``missing``: the students whose submission has no finished unit (not in the gradebook)."""

    graded_now = 0
    missing = ()


def _refuse_missing(missing, total, units_dir):
    shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
    raise GradingError(f"--merge-only: {len(missing)} of {total} submissions have no finished unit in {units_dir} "
                       f"({shown}); grade them first (without --merge-only), or pass --allow-missing to write a "
                       "gradebook without them")


def _check_lms_export(lms_export, assignment, layout=None):
    """``GradingError`` when ``--lms-export`` cannot be written as asked, or cannot match the download's students."""
    try:
        lms.check_export(lms_export, assignment, layout)
    except lms.LayoutError as error:
        raise GradingError(str(error)) from None


def _guard(limits, merge_only):
    """How submissions will be confined; ``GradingError`` if only the weaker guard is left and not accepted."""
    guard = report.KERNEL_GUARD if confine.available() else report.WEAK_GUARD
    if guard == report.WEAK_GUARD and limits.kernel_guard and not merge_only:
        raise GradingError(f"cannot grade safely here: the kernel offers no confinement for submissions "
                           f"({confine.status().reason}); the Python audit hook alone can be defeated by a "
                           "determined submission. Grade on Linux with Landlock (5.13 or later), or pass "
                           "--allow-weak-guard to accept the weaker guard (the feedback then says so)")
    return guard


def _reference_values(run, finished, cells, limits):
    """``(values, sha256)`` of the reference: from the units folder's shared file if it is intact and agrees with
    the ``finished`` units, else computed again (and the file written)."""
    reference_path = run.units_dir / f".reference-{run.key}.json"
    graded = {unit.get("reference") for unit in finished if unit}
    reference, reference_sha, why = units.shared_reference(reference_path, graded)
    if reference is None:  # in its own process: no worker that forks students' code ever holds the expected values
        if why:
            print(f"mlpkit grade: the shared reference values in {reference_path} {why}; computing them again",
                  file=sys.stderr)
        print("mlpkit grade: running the reference solution for the expected values (TensorFlow starts first: "
              "a few seconds)", file=sys.stderr)
        with worker_pool(1) as once:
            reference = once.submit(_reference_task, run.exercises, cells, limits).result()
        reference_sha = units.reference_digest(reference)
        units.write_atomic(reference_path, json.dumps({"sha256": reference_sha, "values": reference}))
    return reference, reference_sha


def _grade_all(todo, run, workers, denied, limits, progress):
    """Grade ``todo`` in pools of ``workers``, recording each unit as it is judged.

    A worker that dies (a submission killed it) breaks the pool: the submissions it was running are graded
    again one at a time, each in a fresh pool, and those only queued in a fresh shared pool. A submission that a
    wall-clock backstop stopped while others were graded beside it is graded again the same way, alone, before
    it is judged: only the CPU time it uses itself may cost it points, never how busy the machine was.
    """
    running = run.units_dir / ".running"
    shutil.rmtree(running, ignore_errors=True)  # markers a killed run left behind
    bar = progress_bar(len(todo), "grading", "submission") if progress else None
    pending, alone, again = list(todo), [], set()
    by_itself = False  # whether the batch running is one submission with nothing graded beside it

    def record(submission, raw, infrastructure=False):
        if isinstance(raw, dict) and raw.get("wall_clock") and not by_itself:
            alone.append(submission)  # graded again, alone, after what runs now
            again.add(submission.student)
            return
        if submission.student in again:
            raw = _graded_alone(raw)
        run.record(submission, raw, infrastructure)
        bar and bar.update()

    while pending or alone:
        solo = bool(alone)
        batch, size = (alone[:1], 1) if solo else (pending, workers)
        by_itself = solo or len(batch) == 1 or workers == 1
        if solo:
            alone = alone[1:]
        else:
            pending = []
        broken = _grade_batch(batch, size, run.exercises, denied, limits, running, record)
        if solo and broken:
            (submission,) = broken
            if not (running / submission.student).exists():  # died before it ran the submission
                raise GradingError("a grading worker stopped before running any submission; "
                                   "the finished units are kept: run the same command again")
            (running / submission.student).unlink()
            record(submission, {"cells": {"<grader>": STOPPED_WORKER}, "exercises": {}})  # alone: its own doing
        elif broken:
            suspects = {s.student for s in broken if (running / s.student).exists()} or {s.student for s in broken}
            alone += [s for s in broken if s.student in suspects]
            pending += [s for s in broken if s.student not in suspects]
    bar and bar.close()


def _graded_alone(raw):
    """``raw`` of a submission graded again alone after a wall-clock backstop stopped it beside others: each
    note of a backstop says that it was stopped so again, alone."""
    if not isinstance(raw, dict) or not raw.get("wall_clock"):
        return raw

    def noted(note):
        alone = "; graded again with no other submission beside it, it was stopped so again"
        return note + alone if isinstance(note, str) and sandbox.WALL_CLOCK in note else note

    cells = raw.get("cells") if isinstance(raw.get("cells"), dict) else {}
    exercises = raw.get("exercises") if isinstance(raw.get("exercises"), dict) else {}
    return {**raw, "cells": {label: noted(note) for label, note in cells.items()},
            "exercises": {name: ({"error": noted(result["error"])} if isinstance(result, dict) and "error" in result
                                 else result) for name, result in exercises.items()}}


def _write_gradebook(listing, run, out_csv, feedback_dir, merge_only, lms_export, assignment, submissions):
    """Merge the finished units of every submission in ``listing`` into the CSV, the feedback, the list of what
    was skipped and the LMS's import file; return those units."""
    graded = []
    for submission in listing.submissions:
        unit = run.latest(submission)
        if unit:
            unit.update({"lms_id": submission.lms_id, "name": submission.name, "listing_notes": submission.notes()})
            graded.append(unit)
    if merge_only and not graded:
        raise GradingError(f"--merge-only: no finished units in {run.units_dir} for the submissions in {submissions}; "
                           "grade them first (without --merge-only)")
    report.write_outputs(graded, run.exercises, out_csv, feedback_dir, lms_columns=listing.layout != "plain")
    report.write_skipped(out_csv, listing.stray)  # entries that are no student's submission
    html_report.write_all(out_csv, graded, run.exercises, listing, run.bank)  # similarity, report: no grade changes
    if lms_export:
        by_student = {s.student: s for s in listing.submissions}
        totals = [(by_student[u["student"]], u["total"]) for u in graded]
        report.write_lms_export(out_csv, lms_export, assignment, totals, sum(e.points for e in run.exercises))
    return graded
