"""A Gradescope autograder that grades one submission with the kit's own checks.

:func:`bundle` writes the zip to upload as a Gradescope programming
assignment's autograder ("Zip file upload"):

- ``setup.sh``: installs the kit from the wheel in the zip (pip brings
  TensorFlow and the other dependencies from PyPI while Gradescope builds
  the image);
- ``mlpkit-VERSION-py3-none-any.whl``: the kit as installed here, without
  the exercise sources (no solution travels);
- ``autograder.json``: every check of the chosen chapters, public and
  hidden, with the reference solution's values and the limits;
- ``run_autograder``: runs ``python3 -m mlpkit.grading.gradescope``, which grades
  the ``.ipynb`` / ``.py`` files in ``$AUTOGRADER_ROOT/submission/``
  (default root ``/autograder``; the zip is unpacked in ``source/``) as
  `mlpkit grade` grades one, and writes ``results/results.json``: one test
  per check (hidden ones shown "after_published"), and the total as
  ``score``, the same total `mlpkit grade` gives.
"""

import base64
import dataclasses
import hashlib
import importlib.metadata
import io
import json
import os
import pathlib
import sys
import zipfile

import numpy as np

from mlpkit.grading import bank as bank_module
from mlpkit.grading import calls, checks, grader, sandbox, units, worker

DEFAULT_ROOT = "/autograder"
MAX_FILES = 50
SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, in /autograder/source, while it builds the autograder's image.
set -euo pipefail
cd "$(dirname "$0")"
if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update && apt-get install -y python3 python3-pip
fi
python3 -m pip install --no-cache-dir ./{wheel} \\
    || python3 -m pip install --no-cache-dir --break-system-packages ./{wheel}
"""
RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this as /autograder/run_autograder for each submission: it grades the files in
# $AUTOGRADER_ROOT/submission/ with the checks in $AUTOGRADER_ROOT/source/autograder.json and writes
# $AUTOGRADER_ROOT/results/results.json.
set -euo pipefail
export AUTOGRADER_ROOT="${AUTOGRADER_ROOT:-/autograder}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
cd "$AUTOGRADER_ROOT"
exec python3 -m mlpkit.grading.gradescope "$AUTOGRADER_ROOT"
"""


# -- the checks as data --------------------------------------------------------------------

def to_data(value):
    """A check's argument or setting as JSON data that :func:`from_data` turns back into the same Python value
    (types kept: ``int`` stays ``int``, a tuple a tuple, a NumPy scalar or array its dtype and shape)."""
    if isinstance(value, calls.Tensor):
        return {"tensor": to_data(value.value), "dtype": value.dtype}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"plain": value}
    if isinstance(value, (list, tuple)):
        return {"sequence": [to_data(item) for item in value], "tuple": isinstance(value, tuple)}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"mapping": {key: to_data(item) for key, item in value.items()}}
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "biuf":
        return {"array": np.asarray(value).tolist(), "dtype": str(value.dtype), "scalar": isinstance(value, np.generic)}
    raise TypeError(f"cannot write {type(value).__name__} {value!r:.60} into the autograder's checks")


def from_data(data):
    if "tensor" in data:
        return calls.Tensor(from_data(data["tensor"]), data["dtype"])
    if "plain" in data:
        return data["plain"]
    if "sequence" in data:
        items = [from_data(item) for item in data["sequence"]]
        return tuple(items) if data["tuple"] else items
    if "mapping" in data:
        return {key: from_data(item) for key, item in data["mapping"].items()}
    array = np.asarray(data["array"], dtype=data["dtype"])
    return array[()] if data["scalar"] else array


def checks_data(exercises, reference, limits):
    """Every check (public and hidden) with the reference's value, and the limits, as JSON data."""
    out = {"limits": dataclasses.asdict(limits), "exercises": []}
    for exercise in exercises:
        written = []
        for index, call in enumerate(exercise.calls):
            fields = {f.name: to_data(getattr(call, f.name)) for f in dataclasses.fields(call)}
            written.append({"call": fields, "expected": reference[exercise.name][index]})
        out["exercises"].append({"name": exercise.name, "chapter": exercise.chapter, "points": exercise.points,
                                 "title": exercise.title, "calls": written})
    return out


def load_checks(data):
    """``(exercises, reference, limits)`` from :func:`checks_data`'s result."""
    exercises, reference = [], {}
    names = {f.name for f in dataclasses.fields(calls.Call)}
    for item in data["exercises"]:
        read = [calls.Call(**{k: from_data(v) for k, v in call["call"].items() if k in names})
                for call in item["calls"]]
        exercises.append(checks.Exercise(item["name"], item["chapter"], item["points"], item["title"], read))
        reference[item["name"]] = [call["expected"] for call in item["calls"]]
    return exercises, reference, sandbox.Limits(**data["limits"])


# -- the bundle ---------------------------------------------------------------------------------

def _package_files():
    """``(name in the wheel, path)`` for the installed kit's modules and data, without the exercise sources."""
    package = pathlib.Path(grader.__file__).resolve().parents[1]
    files = [(f"mlpkit/{path.name}", path) for path in sorted(package.glob("*.py"))]
    for subpackage in ("cli", "grading", "runs"):
        files += [(f"mlpkit/{subpackage}/{path.name}", path) for path in sorted((package / subpackage).glob("*.py"))]
    for folder in ("grids", "results"):
        files += [(f"mlpkit/{folder}/{path.name}", path) for path in sorted((package / folder).glob("*.json"))]
    return files


def wheel_bytes():
    """``(file name, bytes)`` of a wheel of the kit as installed here (pure Python; its dependencies as declared)."""
    version = importlib.metadata.version("mlpkit")
    info = f"mlpkit-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", "Name: mlpkit", f"Version: {version}", "Requires-Python: >=3.10"]
    metadata += [f"Requires-Dist: {requirement}" for requirement in importlib.metadata.requires("mlpkit") or []]
    contents = [(name, path.read_bytes()) for name, path in _package_files()]
    contents += [(f"{info}/METADATA", ("\n".join(metadata) + "\n").encode()),
                 (f"{info}/WHEEL",
                  b"Wheel-Version: 1.0\nGenerator: mlpkit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
                 (f"{info}/entry_points.txt", b"[console_scripts]\nmlpkit = mlpkit.cli:main\n")]
    record = []
    for name, data in contents:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    contents.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in contents:
            wheel.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return f"mlpkit-{version}-py3-none-any.whl", buffer.getvalue()


def _entry(name, mode):
    info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def bundle(out_zip, chapters, limits=None, reference=None, bank=None):
    """Write the autograder zip for ``chapters`` to ``out_zip`` (atomically); return the names it holds.

    ``reference`` is the reference run's outcomes (`mlpkit.grading.grader.reference_outcomes`),
    computed here when not given (call from a process that may fork). ``bank``: default
    `mlpkit.grading.bank.default`; the zip holds its checks' drawn values, never the bank or its course key.
    """
    limits = limits or sandbox.Limits()
    bank = bank or bank_module.default()
    exercises = bank.load_exercises(chapters)
    if reference is None:
        reference = grader.reference_outcomes(exercises, bank.reference_cells(chapters), limits)
    wheel_name, wheel = wheel_bytes()
    files = [("setup.sh", SETUP_SH.format(wheel=wheel_name).encode(), 0o755),
             ("run_autograder", RUN_AUTOGRADER.encode(), 0o755),
             ("autograder.json", json.dumps(checks_data(exercises, reference, limits), indent=1).encode(), 0o644),
             (wheel_name, wheel, 0o644)]
    out_zip = pathlib.Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_zip.with_name(f".{out_zip.name}.tmp-{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w") as archive:
            for name, data, mode in files:
                archive.writestr(_entry(name, mode), data)
        os.replace(tmp, out_zip)
    finally:
        tmp.unlink(missing_ok=True)
    return [name for name, _, _ in files]


# -- grading one submission (in Gradescope's container) -----------------------------------------

def submission_files(folder):
    """The ``.ipynb`` / ``.py`` files in ``folder`` and its subfolders (no hidden ones, no links followed), sorted."""
    found = []
    for here, folders, files in os.walk(folder, followlinks=False):
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f != "__pycache__")
        for name in sorted(files):
            path = pathlib.Path(here) / name
            if not name.startswith(".") and name.endswith(grader.SUFFIXES) and path.is_file() and not path.is_symlink():
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())[:MAX_FILES]


def submission_cells(folder):
    """``(cells, notes)``: every statement of every submitted file, labelled with the file's name."""
    cells, notes = [], []
    for path in submission_files(folder):
        relative = path.relative_to(folder).as_posix()
        try:
            cells += [(f"{relative} {label}", source) for label, source in worker.submission_cells(path)]
        except worker.UnreadableSubmission as error:
            notes.append(str(error))
    return cells, notes


def results(unit, exercises):
    """Gradescope's ``results.json`` for a graded unit: a test per check, the total as the score."""
    tests = []
    for number, exercise in enumerate(exercises, 1):
        result = unit["exercises"][exercise.name]
        each = round(exercise.points / max(1, len(result["checks"])), 4)
        public = hidden = 0
        for check in result["checks"]:
            if check["public"]:
                public += 1
                name = f"{result['title']} ({exercise.name}): public check {public}"
                output = check["message"] + (f"\n{check['detail']}" if check["detail"] and not check["passed"] else "")
                visibility = "visible"
            else:
                hidden += 1
                name = f"{result['title']} ({exercise.name}): hidden check {hidden}"
                output, visibility = ("passed" if check["passed"] else "failed"), "after_published"
            tests.append({"name": name, "number": f"{number}.{public + hidden}",
                          "score": each if check["passed"] else 0.0, "max_score": each,
                          "status": "passed" if check["passed"] else "failed", "output": output,
                          "visibility": visibility})
    notes = unit.get("listing_notes", []) + unit["notes"]
    output = f"Total: {unit['total']:g} / {unit['maximum']:g} points." + "".join(f"\n- {note}" for note in notes)
    return {"score": unit["total"], "output": output, "visibility": "visible", "stdout_visibility": "hidden",
            "tests": tests}


def run(root=None):
    """Grade ``ROOT/submission/`` with ``ROOT/source/autograder.json``; write ``ROOT/results/results.json``."""
    root = pathlib.Path(root or os.environ.get("AUTOGRADER_ROOT", DEFAULT_ROOT))
    source, folder, out = root / "source", root / "submission", root / "results"
    exercises, reference, limits = load_checks(json.loads((source / "autograder.json").read_text()))
    cells, file_notes = submission_cells(folder)
    if not cells and not file_notes:
        file_notes.append("no notebook (.ipynb) or Python file (.py) in the submission")
    # In a worker of its own, which never holds the expected values this process has read: the submission's
    # process is a copy of that worker, so nothing it can find in its memory is an answer.
    with grader.worker_pool(1) as pool:
        denied = [source.resolve(), out.resolve(), folder.resolve()]
        raw = pool.submit(sandbox.run, cells, units.plan(exercises), denied=denied, limits=limits).result()
    unit = units.unit(folder, "", exercises, grader.run_models(raw, exercises), reference, "", "submission")
    unit["listing_notes"] = file_notes
    out.mkdir(parents=True, exist_ok=True)
    units.write_atomic(out / "results.json", json.dumps(results(unit, exercises), indent=1))
    return unit


if __name__ == "__main__":
    unit = run(sys.argv[1] if len(sys.argv) > 1 else None)
    print(f"graded: {unit['total']:g} / {unit['maximum']:g}")
