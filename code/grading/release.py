"""The student materials: a release of the bank without its solutions, and the public checks it carries.

:func:`release` writes, per chapter, a notebook and a ``.py`` whose solutions
are ``raise NotImplementedError`` (from `mlpkit.grading.bank`), a README, and
``checks.json``: the public checks with the reference solution's values for
them only (the reference run: `mlpkit.grading.grader.reference_outcomes`).
:func:`load_public_checks` reads ``checks.json`` back for a student's
self-check (`mlpkit.grading.selfcheck`).

A release keeps a manifest of the files it wrote and their SHA-256
(``.mlpkit-release.json``): :func:`unsafe_to_overwrite` names the files of a
folder that a release did not write or that changed since, which a release
over that folder would overwrite or leave mixed with its own.
"""

import hashlib
import json
import pathlib

from mlpkit import colab
from mlpkit.grading import bank as bank_module
from mlpkit.grading import calls, checks, grader


def public_checks(exercises, reference):
    """The public checks as JSON data: arguments, comparison, options, message, case, the exception expected
    (``raises``) and the expected value (public calls only; None where an exception is expected)."""
    out = {"exercises": []}
    for exercise in exercises:
        public = []
        for index, call in enumerate(exercise.calls):
            if not call.public:
                continue
            expected = reference[exercise.name][index]
            public.append({"name": call.name, "variable": call.variable, **calls.encode_args(call),
                           "compare": call.compare, "rtol": call.rtol, "atol": call.atol, "options": call.options,
                           "message": call.message, "case": call.case, "raises": call.raises,
                           "expected": expected})
        out["exercises"].append({"name": exercise.name, "chapter": exercise.chapter, "title": exercise.title,
                                 "points": exercise.points, "checks": public})
    return out


def load_public_checks(path):
    """``(exercises, expected)`` from a ``checks.json`` written by :func:`release`."""
    try:
        data = json.loads(pathlib.Path(path).read_text())
        exercises, expected = [], {}
        for item in data["exercises"]:
            made = []
            for check in item["checks"]:
                args, kwargs = calls.decode_args(check)
                made.append(calls.Call(check["name"], args, kwargs, variable=check["variable"], public=True,
                                       compare=check["compare"], rtol=check["rtol"], atol=check["atol"],
                                       options=check["options"], message=check["message"],
                                       case=check.get("case", ""), raises=check.get("raises", "")))
            exercises.append(checks.Exercise(item["name"], item["chapter"], item["points"], item["title"], made))
            expected[item["name"]] = [check["expected"] for check in item["checks"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise bank_module.ExerciseError(
            f"{path}: not a checks file written by `mlpkit exercises release` ({error})"
        ) from None
    return exercises, expected


RELEASE_README = """# Exercises

One notebook per chapter (`CHAPTER.ipynb`, for Jupyter or Colab) and the
same as a Python file (`CHAPTER.py`). Replace each
`raise NotImplementedError` with your solution; use NumPy and TensorFlow.

Check your work (public checks only; the grade also uses hidden checks):

    mlpkit exercises check perceptron.ipynb

The check looks for `checks.json` beside the file you check. In Colab, the
notebook's first cell installs mlpkit (run it once per session); upload
`checks.json` and your saved notebook (File > Download > .ipynb) in the
Files pane, then run `!mlpkit exercises check perceptron.ipynb` in a cell.
Save a copy to your Drive first (File > Save a copy in Drive), and download
the notebook to hand it in.

Hand in one file, named with your student id (e.g. `s1234567.ipynb` or
`s1234567.py`); functions are found by name, so cells may be moved, but do
not rename the functions. Where an assignment covers several chapters, put
your functions of all of them in that one file (copy each chapter's cells
into one notebook, or its functions into one `.py` file).

A file may be at most 32 MB. A notebook that holds many plots or long
printed output can pass that: clear its outputs before handing it in
(Edit > Clear all outputs in Jupyter or Colab).
"""


def release(out_dir, chapters=None, reference=None, bank=None):
    """Write the student materials to ``out_dir``; return the paths written.

    ``reference`` is the reference run's outcomes (`mlpkit.grading.grader.reference_outcomes`),
    needed for the expected values of the public checks. ``bank``: default `mlpkit.grading.bank.default`.
    """
    bank = bank or bank_module.default()
    out_dir = pathlib.Path(out_dir)
    chapters = chapters or bank.chapters
    exercises = bank.load_exercises(chapters)
    if reference is None:
        reference = grader.reference_outcomes(exercises, bank.reference_cells(chapters))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters:
        cells = bank_module.numbered(bank.student_cells(chapter), exercises, bank.number(chapter))
        setup = bank_module.Cell("code", colab.install_cell())  # Colab: installs mlpkit, for `exercises check`
        notebook = json.dumps(bank_module.notebook_json([setup, *cells]), indent=1) + "\n"
        for path, text in ((out_dir / f"{chapter}.ipynb", notebook),
                           (out_dir / f"{chapter}.py", bank_module.python_text(cells))):
            path.write_text(text)
            written.append(path)
    checks_file = out_dir / "checks.json"
    checks_file.write_text(json.dumps(public_checks(exercises, reference), indent=1) + "\n")
    readme = out_dir / "README.md"
    readme.write_text(RELEASE_README)
    return written + [checks_file, readme]


MANIFEST = ".mlpkit-release.json"


def _sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def read_manifest(folder):
    """``{file name: sha256}`` of what the releases into ``folder`` wrote (empty if there is no manifest)."""
    try:
        manifest = json.loads((pathlib.Path(folder) / MANIFEST).read_text())
        return {str(name): str(digest) for name, digest in manifest["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def unsafe_to_overwrite(folder):
    """``[(name, why)]``: the entries of ``folder`` that no release wrote, or that changed since one did (hidden
    entries aside)."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return []
    manifest, found = read_manifest(folder), []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.name not in manifest or not entry.is_file() or entry.is_symlink():
            found.append((entry.name, "not written by a release"))
        elif _sha256(entry) != manifest[entry.name]:
            found.append((entry.name, "changed since the release wrote it"))
    return found


def write_manifest(stage, folder, written):
    """Write the manifest into ``stage`` (moved into ``folder`` with the files ``written`` there): those files'
    hashes, and those of earlier releases' files still in ``folder`` unchanged."""
    files = {name: digest for name, digest in read_manifest(folder).items()
             if (pathlib.Path(folder) / name).is_file() and _sha256(pathlib.Path(folder) / name) == digest}
    files.update({path.name: _sha256(path) for path in written})
    (pathlib.Path(stage) / MANIFEST).write_text(json.dumps({"files": dict(sorted(files.items()))}, indent=1) + "\n")
