"""Grade a folder of submissions: one submission in, one JSON unit out, merged into a CSV.

Each submission (``STUDENT.ipynb`` or ``STUDENT.py``, the student id being the
file name, or a Canvas or Moodle download: `mlpkit.grading.lms`) is run in worker processes
(`mlpkit.grading.worker`) that import TensorFlow once and fork a confined child per
submission (`mlpkit.grading.sandbox`). Workers return only the
values the submission's functions gave; this process, which never runs
student code, judges them against the reference solution's values
(`mlpkit.grading.checks`) and writes ``UNITS/STUDENT.json`` at once (atomically). A
rerun skips submissions whose unit matches the file and the exercises, so an
interrupted run resumes. The CSV and one feedback file per student are
written at the end, each atomically: an interrupted run leaves the previous
CSV as it was.
"""

import concurrent.futures
import csv
import hashlib
import io
import json
import math
import multiprocessing
import os
import pathlib
import re
import shutil
import sys

from mlpkit.grading import bank, checks, confine, lms, sandbox, worker
from mlpkit.progress import bar as progress_bar

SUFFIXES = (".ipynb", ".py")
# Errors in a call that go into the notes (the rest show only as lost points).
SERIOUS = ("MemoryError", "PermissionError", "called sys.exit", "RecursionError", "ValueEncodingError")


class GradingError(RuntimeError):
    """The grading run cannot go on as asked; the message says why."""


# -- submissions -----------------------------------------------------------------

def plan(exercises):
    return [(exercise.name, exercise.calls) for exercise in exercises]


# -- the reference and the verdicts ------------------------------------------------------

def reference_outcomes(exercises, chapters=None, limits=None):
    """Run the reference solution like a submission (call from a process that may fork: see `mlpkit.grading.sandbox`)."""
    sandbox.preload()
    raw = sandbox.run(bank.reference_cells(chapters), plan(exercises), limits=limits)
    if raw["cells"]:
        raise GradingError(f"the reference solution fails: {raw['cells']}")
    outcomes = {}
    for exercise in exercises:
        result = raw["exercises"][exercise.name]
        if "error" in result or any("error" in o for o in result["outcomes"]):
            raise GradingError(f"the reference solution fails {exercise.name}: {result}")
        for call, outcome in zip(exercise.calls, result["outcomes"]):
            passed, detail = checks.judge(call, outcome, checks.decode(outcome["value"]))
            if not passed:
                raise GradingError(f"the reference solution fails its own check of {exercise.name}: {detail}")
        outcomes[exercise.name] = [o["value"] for o in result["outcomes"]]
    return outcomes


def verdicts(exercises, raw, reference, public_only=False):
    """Judge a run (`sandbox.run`'s result) against the reference values; one dict per exercise."""
    results = {}
    for exercise in exercises:
        run = raw["exercises"].get(exercise.name, {"error": "not run"})
        judged, passed = [], 0
        calls = exercise.public_calls if public_only else exercise.calls
        chosen = {id(call) for call in calls}
        for index, call in enumerate(exercise.calls):
            if id(call) not in chosen:
                continue
            if "error" in run:
                ok, detail = False, run["error"]
            else:
                expected = reference[exercise.name][index]
                ok, detail = checks.judge(call, run["outcomes"][index], None if expected is None else checks.decode(expected))
            passed += ok
            judged.append({"public": call.public, "passed": bool(ok), "message": call.message if call.public else "",
                           "detail": detail if call.public else ""})
        points = checks.score(exercise.points, passed, len(calls))
        results[exercise.name] = {"title": exercise.title, "points": points, "maximum": exercise.points, "passed": passed,
                                  "checks": judged, "note": run.get("error", "")}
    return results


# -- what comes back from a submission's process is data, never trusted ------------------

MAX_NOTE = 500  # characters of a note, error or label kept from a submission's process
MAX_CELL_NOTES = 200  # notes on failed cells kept per submission
MALFORMED = "the submission's process sent results in the wrong form (nothing of it is trusted)"


def _note(value, limit=MAX_NOTE):
    """A note from a submission's process as a short one-line string, whatever it was."""
    if not isinstance(value, str):
        return f"(a {type(value).__name__} where a message belongs)"
    value = " ".join(value.split())
    return value if len(value) <= limit else value[:limit] + " [...]"


def validated(raw, run_plan):
    """``raw`` (`sandbox.run`'s result) reduced to the form :func:`verdicts` judges, or errors in its place.

    Every label and note becomes a short string, every exercise of the plan has either one
    outcome per call (``{"value": ...}`` or ``{"error": "..."}``) or an ``{"error": ...}``;
    anything else in ``raw`` is dropped. The values themselves are judged by `mlpkit.grading.checks`,
    which treats them as hostile too.
    """
    if not isinstance(raw, dict):
        return {"cells": {"<grader>": MALFORMED}, "exercises": {name: {"error": MALFORMED} for name, _ in run_plan}}
    cells = {}
    raw_cells = raw.get("cells")
    if isinstance(raw_cells, dict):
        for label, note in list(raw_cells.items())[:MAX_CELL_NOTES]:
            cells[_note(label, 80)] = _note(note)
    else:
        cells["<grader>"] = MALFORMED
    raw_exercises = raw.get("exercises") if isinstance(raw.get("exercises"), dict) else {}
    exercises = {}
    for name, calls in run_plan:
        result = raw_exercises.get(name)
        if isinstance(result, dict) and set(result) == {"error"}:
            exercises[name] = {"error": _note(result["error"])}
            continue
        outcomes = result.get("outcomes") if isinstance(result, dict) else None
        if (not isinstance(outcomes, list) or len(outcomes) != len(calls)
                or not all(isinstance(o, dict) and len(o) == 1 and ("value" in o or "error" in o) for o in outcomes)):
            exercises[name] = {"error": MALFORMED}
            continue
        exercises[name] = {"outcomes": [{"error": _note(o["error"])} if "error" in o else {"value": o["value"]}
                                        for o in outcomes]}
    return {"cells": cells, "exercises": exercises}


# -- one submission --------------------------------------------------------------------

def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:  # in pieces: a submission may be any size
        while piece := handle.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()


def _unit(path, sha256, exercises, raw, reference, key, student=None):
    """The unit of one submission; a failure to judge it becomes a note on it (and a rerun grades it again)."""
    try:
        return _judged_unit(path, sha256, exercises, validated(raw, plan(exercises)), reference, key, student)
    except Exception as error:  # a bug or a value no predicate foresaw: this student only
        unit = _judged_unit(path, sha256, exercises, {"cells": {}, "exercises": {}}, reference, key, student)
        unit["notes"] = [f"the grader could not judge this submission ({type(error).__name__}); it is graded again on the next run"]
        unit["infrastructure"] = True
        return unit


def _judged_unit(path, sha256, exercises, raw, reference, key, student=None):
    results = verdicts(exercises, raw, reference)
    notes = [f"{label}: {note}" for label, note in raw["cells"].items()]
    for name, result in results.items():
        if result["note"]:
            notes.append(f"{name}: {result['note']}")
        else:  # what the instructor should know about; ordinary wrong answers are in the points
            errors = [o.get("error", "") for o in raw["exercises"].get(name, {}).get("outcomes", [])]
            serious = [e for e in errors if e.startswith(SERIOUS)]
            if serious:
                notes.append(f"{name}: {serious[0]}")
    return {"student": student or path.stem, "file": path.name, "sha256": sha256, "key": key, "exercises": results,
            "total": round(sum(r["points"] for r in results.values()), 2),
            "maximum": sum(exercise.points for exercise in exercises), "notes": notes}


def unit_is_sound(unit, exercises):
    """Whether ``unit`` (read back from disk) has the form :func:`_unit` writes; any other is graded again."""
    def number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    try:
        return (isinstance(unit, dict) and isinstance(unit.get("student"), str) and isinstance(unit.get("file"), str)
                and number(unit["total"]) and number(unit["maximum"])
                and isinstance(unit["notes"], list) and all(isinstance(note, str) for note in unit["notes"])
                and isinstance(unit["exercises"], dict) and set(unit["exercises"]) >= {e.name for e in exercises}
                and all(number(unit["exercises"][e.name]["points"]) and number(unit["exercises"][e.name]["maximum"])
                        and isinstance(unit["exercises"][e.name]["checks"], list)
                        and all(isinstance(c, dict) and isinstance(c.get("passed"), bool) for c in unit["exercises"][e.name]["checks"])
                        for e in exercises))
    except (KeyError, TypeError):
        return False


def _write_atomic(path, text):
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark may be escaped in CommonMark


def as_text(value):
    """Text from a submission (its file name, its errors, what its values were) as Markdown that renders
    as that text: one line, every punctuation mark escaped, so no markup or HTML in it takes effect."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(value).split()))


# How a unit's submission was confined (the unit's "guard"): by the kernel, or, where it offers nothing and the
# instructor accepted it, by the Python audit hook alone.
KERNEL_GUARD = "kernel"
WEAK_GUARD = "audit hook only"


def feedback_text(unit):
    """The student's feedback in Markdown. The kit's own words (titles, check messages) are Markdown; everything
    that comes from the submission or its file name goes through :func:`as_text`."""
    lines = [f"# Feedback for {as_text(unit['student'])}", "",
             f"File: {as_text(unit['file'])}. Total: **{unit['total']:g} / {unit['maximum']:g}** points.", ""]
    for name, result in unit["exercises"].items():
        lines.append(f"## {result['title']} (`{name}`): {result['points']:g} / {result['maximum']:g}")
        if result["note"]:
            lines.append(f"- Could not check: {as_text(result['note'])}")
        for check in result["checks"]:
            if check["public"]:
                mark = "passed" if check["passed"] else "FAILED"
                detail = f" ({as_text(check['detail'])})" if check["detail"] and not check["passed"] else ""
                lines.append(f"- Public check {mark}: {check['message']}{detail}")
        hidden = [c for c in result["checks"] if not c["public"]]
        if hidden:
            lines.append(f"- Hidden checks: {sum(c['passed'] for c in hidden)} of {len(hidden)} passed")
        lines.append("")
    notes = unit.get("listing_notes", []) + unit["notes"]
    if unit.get("guard") == WEAK_GUARD:
        notes = notes + ["Graded without the kernel's confinement (the instructor allowed the weaker Python guard)."]
    if notes:
        lines += ["## Notes", ""] + [f"- {as_text(note)}" for note in notes] + [""]
    return "\n".join(lines)


# -- a folder of submissions -----------------------------------------------------------

def _reference_task(chapters, limits):
    exercises = bank.load_exercises(chapters)
    return reference_outcomes(exercises, chapters, limits)


def reference_digest(values):
    """The SHA-256 of reference values (as the reference file stores them)."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def shared_reference(path, graded=()):
    """``(values, digest, None)`` from the reference file ``path`` that batch jobs share, if it is intact, else
    ``(None, None, why)`` (``why`` is None when there is no such file): it must hold values whose SHA-256 is the one
    recorded with them, and that SHA-256 must be the one each unit already graded (``graded``) was judged against.

    A submission's process cannot write the units folder at all (the kernel's confinement); the check catches a
    file changed by anything else since the run that wrote it, and a run that would judge against other values.
    """
    try:
        data = json.loads(pathlib.Path(path).read_text())
        values, digest = data["values"], data["sha256"]
    except FileNotFoundError:
        return None, None, None
    except (OSError, ValueError, KeyError, TypeError):
        return None, None, "cannot be read"
    if not isinstance(values, dict) or reference_digest(values) != digest:
        return None, None, "do not match the SHA-256 recorded with them"
    if set(graded) - {digest, None}:
        return None, None, "are not those the graded units were judged against"
    return values, digest, None


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
        return lms.scan(directory, layout)
    except lms.LayoutError as error:
        raise GradingError(f"FOLDER {directory}: {error}") from None
    except OSError as error:
        raise GradingError(f"FOLDER {directory}: cannot list it ({error.strerror})") from None


def _chosen(submissions, only, directory):
    """The submissions named by ``only`` (a graded file's name or path in the folder, or a student's key)."""
    def names(submission):
        relative = submission.path.relative_to(directory)
        return {submission.student, submission.path.name, relative.as_posix()}

    known = set().union(*(names(s) for s in submissions))
    missing = [name for name in only if name not in known and pathlib.Path(name).name not in known]
    if missing:
        raise GradingError(f"--only: no submission {', '.join(missing)} in {directory}; expected names of "
                           f"the submissions' files in it, such as {submissions[0].path.relative_to(directory).as_posix()}")
    wanted = set(only) | {pathlib.Path(name).name for name in only}
    return [s for s in submissions if names(s) & wanted]


STOPPED_WORKER = ("the submission stopped the process grading it (graded alone, it did so again); "
                  "nothing of it could be judged")


def worker_pool(size):
    """A pool of ``size`` grading workers (`mlpkit.grading.worker`). Each is forked from a server process that has
    imported TensorFlow once (`mlpkit.grading.preloaded`) and nothing else of the kit's: a worker never imports this
    module or the checks and never holds an expected value. Each worker dies with that server, which ends with this
    process (:func:`mlpkit.grading.worker.start`), and each submission's child with its worker."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["mlpkit.grading.preloaded"])  # taken when the server starts, once per process
    return concurrent.futures.ProcessPoolExecutor(size, mp_context=context, initializer=worker.start)


def _grade_batch(batch, size, exercises, denied, limits, running, record):
    """Grade ``batch`` in a pool of ``size`` workers, calling ``record(submission, raw)`` for each;
    return the submissions left ungraded because a worker died (``BrokenProcessPool``)."""
    broken = []
    with worker_pool(size) as pool:
        futures = {pool.submit(worker.run_marked, running / s.student, str(s.path), plan(exercises), denied, limits): s
                   for s in batch}
        for future in concurrent.futures.as_completed(futures):
            submission = futures.pop(future)  # a finished result is not kept: one submission's values at a time
            try:
                raw = future.result()
            except concurrent.futures.process.BrokenProcessPool:
                broken.append(submission)
                continue
            except Exception as error:  # the worker failed otherwise: a note, and graded again on the next run
                raw = {"cells": {"<grader>": f"grading failed: {type(error).__name__}; it is graded again on the next run"},
                       "exercises": {}}
                record(submission, raw, infrastructure=True)
                continue
            (running / submission.student).unlink(missing_ok=True)
            record(submission, raw)
    return sorted(broken, key=lambda s: s.student)


def grade(submissions, out_csv, chapters=None, workers=None, limits=None, units_dir=None, feedback_dir=None,
          only=None, merge_only=False, progress=True, layout="auto", lms_export=None, assignment=None):
    """Grade every submission in the folder ``submissions``; write the CSV and feedback; return the units.

    ``layout``: see :func:`find_submissions`. ``lms_export`` (``canvas`` or
    ``moodle``) also writes ``NAME_canvas.csv`` / ``NAME_moodle.csv`` beside
    the CSV for the LMS's grade import (``assignment``: the column header).
    """
    chapters = chapters or bank.CHAPTERS[:3]
    exercises = bank.load_exercises(chapters)
    out_csv = pathlib.Path(out_csv)
    units_dir = pathlib.Path(units_dir or out_csv.with_name(out_csv.stem + "_units"))
    feedback_dir = pathlib.Path(feedback_dir or out_csv.with_name(out_csv.stem + "_feedback"))
    if lms_export == "canvas":
        try:
            lms.check_canvas_assignment(assignment)
        except lms.LayoutError as error:
            raise GradingError(str(error)) from None
    elif lms_export not in (None, "moodle"):
        raise GradingError(f"--lms-export {lms_export!r}: expected canvas or moodle")
    submissions = pathlib.Path(submissions)
    listing = find_submissions(submissions, layout)
    if lms_export == "canvas" and listing.layout == "moodle":
        raise GradingError("--lms-export canvas: the submissions are a Moodle download; Canvas cannot match Moodle's "
                           "participant numbers (use --lms-export moodle)")
    if lms_export == "moodle" and listing.layout == "canvas":
        raise GradingError("--lms-export moodle: the submissions are a Canvas download; Moodle cannot match Canvas's "
                           "user ids (use --lms-export canvas)")
    chosen = _chosen(listing.submissions, only, submissions) if only else listing.submissions
    limits = limits or sandbox.Limits()
    workers = max(1, workers or os.cpu_count() or 1)
    key = bank.source_key(chapters)
    guard = KERNEL_GUARD if confine.available() else WEAK_GUARD
    if guard == WEAK_GUARD and limits.kernel_guard and not merge_only:
        raise GradingError(f"cannot grade safely here: the kernel offers no confinement for submissions "
                           f"({confine.status().reason}); the Python audit hook alone can be defeated by a "
                           "determined submission. Grade on Linux with Landlock (5.13 or later), or pass "
                           "--allow-weak-guard to accept the weaker guard (the feedback then says so)")
    digests = {}

    def digest(path):  # each submission is read and hashed once per run
        if path not in digests:
            digests[path] = _sha256(path)
        return digests[path]

    def unit_of(submission):
        unit_path = units_dir / f"{submission.student}.json"
        try:
            unit = json.loads(unit_path.read_text())
            if (unit_is_sound(unit, exercises) and not unit.get("infrastructure")
                    and unit.get("key") == key and unit.get("sha256") == digest(submission.path)):
                return unit
        except (OSError, ValueError):
            pass
        return None

    finished = {s.student: unit_of(s) for s in chosen}  # each unit file read once: what earlier runs left
    todo = [s for s in chosen if finished[s.student] is None]
    if chosen and not merge_only:
        units_dir.mkdir(parents=True, exist_ok=True)
        reference_path = units_dir / f".reference-{key}.json"
        graded = {unit.get("reference") for unit in finished.values() if unit}
        reference, reference_sha, why = shared_reference(reference_path, graded)
        if reference is None:  # in its own process: no worker that forks students' code ever holds the expected values
            if why:
                print(f"mlpkit grade: the shared reference values in {reference_path} {why}; computing them again",
                      file=sys.stderr)
            with worker_pool(1) as once:
                reference = once.submit(_reference_task, chapters, limits).result()
            reference_sha = reference_digest(reference)
            _write_atomic(reference_path, json.dumps({"sha256": reference_sha, "values": reference}))
        # A unit judged against other reference values is graded again.
        todo = [s for s in chosen if (finished[s.student] or {}).get("reference") != reference_sha]
    if todo and not merge_only:
        # The submission's process may not read the submissions, the units, the feedback or the gradebook.
        denied = [submissions.resolve(), units_dir.resolve(), feedback_dir.resolve(), out_csv.resolve()]
        running = units_dir / ".running"
        shutil.rmtree(running, ignore_errors=True)  # markers a killed run left behind
        bar = progress_bar(len(todo), "grading", "submission") if progress else None

        def record(submission, raw, infrastructure=False):
            unit = _unit(submission.path, digest(submission.path), exercises, raw, reference, key, submission.student)
            if infrastructure:  # not the submission's doing: a rerun grades it again
                unit["infrastructure"] = True
            unit["guard"] = guard
            unit["reference"] = reference_sha  # the reference values it was judged against
            _write_atomic(units_dir / f"{submission.student}.json", json.dumps(unit, indent=1))
            bar and bar.update()

        # A worker that dies (a submission killed it) breaks the pool: the submissions it was running
        # are graded again one at a time, each in a fresh pool, and those only queued in a fresh shared pool.
        pending, alone = list(todo), []
        while pending or alone:
            solo = bool(alone)
            batch, size = (alone[:1], 1) if solo else (pending, workers)
            if solo:
                alone = alone[1:]
            else:
                pending = []
            broken = _grade_batch(batch, size, exercises, denied, limits, running, record)
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
    listing = find_submissions(submissions, layout)
    units = []
    for submission in listing.submissions:
        unit = unit_of(submission)
        if unit:
            unit.update({"lms_id": submission.lms_id, "name": submission.name, "listing_notes": submission.notes()})
            units.append(unit)
    if merge_only and not units:
        raise GradingError(f"--merge-only: no finished units in {units_dir} for the submissions in {submissions}; "
                           "grade them first (without --merge-only)")
    write_outputs(units, exercises, out_csv, feedback_dir, lms_columns=listing.layout != "plain")
    skipped = skipped_path(out_csv)
    if listing.stray:  # entries that are no student's submission: listed, never passed over in silence
        _write_atomic(skipped, _csv_text([["entry", "why it was not graded"], *[[lms.csv_cell(name), why] for name, why in listing.stray]]))
    else:
        skipped.unlink(missing_ok=True)
    if lms_export:
        by_student = {s.student: s for s in listing.submissions}
        graded = [(by_student[u["student"]], u["total"]) for u in units]
        maximum = sum(exercise.points for exercise in exercises)
        rows = lms.canvas_rows(graded, maximum, assignment) if lms_export == "canvas" else lms.moodle_rows(graded, maximum, assignment)
        _write_atomic(lms_export_path(out_csv, lms_export), _csv_text(rows))
    return units


def skipped_path(out_csv):
    """Where :func:`grade` lists the entries of the submissions folder it did not grade, and why."""
    out_csv = pathlib.Path(out_csv)
    return out_csv.with_name(f"{out_csv.stem}_skipped.csv")


def lms_export_path(out_csv, lms_export):
    out_csv = pathlib.Path(out_csv)
    return out_csv.with_name(f"{out_csv.stem}_{lms_export}.csv")


def _csv_text(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def write_outputs(units, exercises, out_csv, feedback_dir, lms_columns=False):
    """``grades.csv`` (with the LMS's ``lms_id`` and ``name`` after ``student`` when ``lms_columns``) and the feedback."""
    cell = lms.csv_cell
    rows = [["student", *(["lms_id", "name"] if lms_columns else []), *[e.name for e in exercises], "total", "maximum", "notes"]]
    for unit in sorted(units, key=lambda u: u["student"]):
        notes = unit.get("listing_notes", []) + unit["notes"]
        rows.append([cell(unit["student"]), *([cell(unit.get("lms_id", "")), cell(unit.get("name", ""))] if lms_columns else []),
                     *[f"{unit['exercises'][e.name]['points']:g}" for e in exercises],
                     f"{unit['total']:g}", f"{unit['maximum']:g}", cell("; ".join(notes))])
    pathlib.Path(feedback_dir).mkdir(parents=True, exist_ok=True)
    for unit in units:
        _write_atomic(pathlib.Path(feedback_dir) / f"{unit['student']}.md", feedback_text(unit))
    pathlib.Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(out_csv, _csv_text(rows))


# -- a student's self-check ----------------------------------------------------------------

def _check_files(submission, checks_path):
    """Raise ``GradingError`` unless ``submission`` is a notebook or .py file and an explicit ``checks_path`` a file."""
    if not submission.exists():
        raise GradingError(f"FILE {submission}: no such file; expected your notebook (.ipynb) or Python file (.py)")
    if not submission.is_file() or submission.suffix not in SUFFIXES:
        raise GradingError(f"FILE {submission}: expected a notebook (.ipynb) or Python file (.py)")
    if checks_path is not None and not pathlib.Path(checks_path).is_file():
        state = "is a folder" if pathlib.Path(checks_path).is_dir() else "no such file"
        raise GradingError(f"--checks {checks_path}: {state}; expected the checks.json of `mlpkit exercises release`")


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
        exercises, expected = bank.load_public_checks(checks_path)
    else:
        exercises = [checks.Exercise(e.name, e.chapter, e.points, e.title, e.public_calls) for e in bank.load_exercises()]
        expected = None
    chapters = answered_chapters(submission, exercises)
    if not chapters:
        names = ", ".join(e.name for e in exercises[:6])
        raise GradingError(f"FILE {submission}: defines none of the exercises' functions ({names}, ...); expected a "
                           "chapter's file from the release, or a file defining its functions under their names")
    exercises = [e for e in exercises if e.chapter in chapters]
    try:
        cells = worker.submission_cells(submission)
    except worker.UnreadableSubmission as error:
        raise GradingError(str(error)) from None
    sandbox.preload()
    # The student's own code on the student's own machine: confined where the kernel can, the audit hook elsewhere.
    limits = limits or sandbox.Limits(kernel_guard=False)
    if expected is None:  # from a clone: the reference's public values
        expected = reference_outcomes(exercises, [c for c in bank.CHAPTERS if c in chapters], limits)
    raw = sandbox.run(cells, plan(exercises), denied=[checks_path.resolve().parent] if checks_path.is_file() else [], limits=limits)
    raw = validated(raw, plan(exercises))
    return verdicts(exercises, raw, expected, public_only=True), raw["cells"]


# -- a class to try the grader on ------------------------------------------------------------

def make_demo_class(folder, students=200, chapters=None, seed=0):
    """Write ``students`` made-up submissions to ``folder``: each exercise solved, left as the stub or
    answered wrongly at random, as notebooks and ``.py`` files. Returns the points each should get."""
    import random

    chapters = chapters or bank.CHAPTERS[:3]
    rng = random.Random(seed)
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    loaded = {e.name: e for e in bank.load_exercises(chapters)}
    expected = {}
    for number in range(students):
        cells, points = [], 0.0
        for chapter in chapters:
            for cell in bank.chapter_cells(chapter):
                if cell.kind != "code":
                    continue
                if cell.exercise is None:
                    cells.append(cell)
                    continue
                choice = rng.choice(["solved", "solved", "stub", "wrong"])
                if choice == "solved":
                    points += loaded[cell.exercise].points
                    cells.append(cell)
                elif choice == "stub":
                    cells.append(bank.Cell("code", bank.strip_solutions(cell.source, cell.exercise), cell.exercise))
                else:  # runs, returns nonsense of no use to any check
                    head = cell.source.split(bank.BEGIN)[0]
                    cells.append(bank.Cell("code", head + "return None\n", cell.exercise))
        student = f"s{number:04d}"
        if number % 2:
            (folder / f"{student}.ipynb").write_text(json.dumps(bank.notebook_json(cells)))
        else:
            (folder / f"{student}.py").write_text(bank.python_text(cells))
        expected[student] = points
    return expected
