"""One submission's unit: its run checked, judged and written to ``UNITS/STUDENT.json``, and read back on a rerun.

What a submission's process sent (`mlpkit.grading.sandbox.run`'s result) is
data, never trusted: :func:`validated` reduces it to the form :func:`verdicts`
judges against the reference's values (`mlpkit.grading.checks`), and
:func:`unit` makes the unit of points, checks and notes from the verdicts.
Units are written atomically (:func:`write_atomic`), so an interrupted run
leaves whole files; a rerun keeps a unit only if it has the form written here
(:func:`read_sound`), and the reference values shared by the units of a
folder are kept beside them with their SHA-256 (:func:`shared_reference`).
"""

import hashlib
import json
import math
import os
import pathlib

from mlpkit.grading import checks

# Errors in a call that go into the notes (the rest show only as lost points).
SERIOUS = ("MemoryError", "PermissionError", "called sys.exit", "RecursionError", "ValueEncodingError")


def plan(exercises):
    """What a submission's process runs after its cells: ``(exercise name, [Call, ...])`` per exercise."""
    return [(exercise.name, exercise.calls) for exercise in exercises]


# -- the verdicts ----------------------------------------------------------------------

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
                want = None if expected is None else checks.decode(expected)
                ok, detail = checks.judge(call, run["outcomes"][index], want)
            passed += ok
            judged.append({"public": call.public, "passed": bool(ok), "message": call.message if call.public else "",
                           "detail": detail if call.public else ""})
        points = checks.score(exercise.points, passed, len(calls))
        results[exercise.name] = {"title": exercise.title, "points": points, "maximum": exercise.points,
                                  "passed": passed, "checks": judged, "note": run.get("error", "")}
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


def _outcome_form(outcome):
    """Whether ``outcome`` has the form of one call's outcome (its value is judged later, as hostile data)."""
    if not isinstance(outcome, dict):
        return False
    raised = outcome.get("raised", [])
    return set(outcome) == {"value"} or (
        set(outcome) in ({"error"}, {"error", "raised"})
        and isinstance(raised, list) and len(raised) <= checks.MAX_EXCEPTION_CLASSES
    )


def _kept(outcome):
    """One outcome as :func:`verdicts` judges it: the value as sent, an error as a short note (and the names of
    the exception's classes, each a short note, for a call that expects an exception)."""
    if "value" in outcome:
        return {"value": outcome["value"]}
    kept = {"error": _note(outcome["error"])}
    if "raised" in outcome:
        kept["raised"] = [_note(name, 100) for name in outcome["raised"]]
    return kept


def validated(raw, run_plan):
    """``raw`` (`sandbox.run`'s result) reduced to the form :func:`verdicts` judges, or errors in its place.

    Every label and note becomes a short string, every exercise of the plan has either one
    outcome per call (``{"value": ...}``, ``{"error": "..."}`` or ``{"error": "...", "raised": [...]}``)
    or an ``{"error": ...}``;
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
        if not isinstance(outcomes, list) or len(outcomes) != len(calls) or not all(map(_outcome_form, outcomes)):
            exercises[name] = {"error": MALFORMED}
            continue
        exercises[name] = {"outcomes": [_kept(outcome) for outcome in outcomes]}
    return {"cells": cells, "exercises": exercises}


# -- one submission's unit, on disk ----------------------------------------------------

def file_sha256(path):
    """The SHA-256 of the file ``path`` (a unit records it: a changed submission is graded again)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:  # in pieces: a submission may be any size
        while piece := handle.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()


def unit(path, sha256, exercises, raw, reference, key, student=None):
    """The unit of one submission; a failure to judge it becomes a note on it (and a rerun grades it again)."""
    try:
        return _judged_unit(path, sha256, exercises, validated(raw, plan(exercises)), reference, key, student)
    except Exception as error:  # a bug or a value no predicate foresaw: this student only
        failed = _judged_unit(path, sha256, exercises, {"cells": {}, "exercises": {}}, reference, key, student)
        failed["notes"] = [f"the grader could not judge this submission ({type(error).__name__}); "
                           "it is graded again on the next run"]
        failed["infrastructure"] = True
        return failed


def _judged_unit(path, sha256, exercises, raw, reference, key, student=None):
    results = verdicts(exercises, raw, reference)
    notes = [f"{label}: {note}" for label, note in raw["cells"].items()]
    said = {}  # each note once, with the exercises it concerns; none that a cell's note already says
    for name, result in results.items():
        if result["note"]:
            said.setdefault(result["note"], []).append(name)
        else:  # what the instructor should know about; ordinary wrong answers are in the points
            errors = [o.get("error", "") for o in raw["exercises"].get(name, {}).get("outcomes", [])]
            serious = [e for e in errors if e.startswith(SERIOUS)]
            if serious:
                said.setdefault(serious[0], []).append(name)
    notes += [f"{', '.join(names)}: {note}" for note, names in said.items() if note not in raw["cells"].values()]
    return {"student": student or path.stem, "file": path.name, "sha256": sha256, "key": key, "exercises": results,
            "total": round(sum(r["points"] for r in results.values()), 2),
            "maximum": sum(exercise.points for exercise in exercises), "notes": notes}


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _sound_result(result):
    """Whether one exercise's result in a unit has points, a maximum and checks that each passed or not."""
    return (_number(result["points"]) and _number(result["maximum"]) and isinstance(result["checks"], list)
            and all(isinstance(c, dict) and isinstance(c.get("passed"), bool) for c in result["checks"]))


def unit_is_sound(unit, exercises):
    """Whether ``unit`` (read back from disk) has the form :func:`unit` writes; any other is graded again."""
    try:
        return (isinstance(unit, dict) and isinstance(unit.get("student"), str) and isinstance(unit.get("file"), str)
                and _number(unit["total"]) and _number(unit["maximum"])
                and isinstance(unit["notes"], list) and all(isinstance(note, str) for note in unit["notes"])
                and isinstance(unit["exercises"], dict) and set(unit["exercises"]) >= {e.name for e in exercises}
                and all(_sound_result(unit["exercises"][e.name]) for e in exercises))
    except (KeyError, TypeError):
        return False


def read_sound(path, exercises):
    """The unit in the file ``path`` if it can be read and :func:`unit_is_sound`, else None (it is graded again)."""
    try:
        found = json.loads(pathlib.Path(path).read_text())
    except (OSError, ValueError):
        return None
    return found if unit_is_sound(found, exercises) else None


def write_atomic(path, text):
    """Write ``text`` to ``path`` under a temporary name, then rename it: a reader sees the old file or the new."""
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)



# -- the reference values the units of a folder share ------------------------------------

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
