"""The Gradescope autograder bundle, run here as Gradescope runs it.

`mlpkit exercises gradescope` writes the zip for chapter 1; the test unpacks
it into a folder laid out as Gradescope's ``/autograder`` (``source/``,
``submission/``, ``run_autograder``) and runs ``run_autograder`` with that
folder as ``AUTOGRADER_ROOT`` and this environment's Python, for the
reference solution, a stub, a submission that crashes its process and one that
searches its memory for the answers, the four runs at once. Each
``results/results.json`` must be in Gradescope's format and give the total
`mlpkit grade` gives the same file. The limits are generous (120 s per cell or
exercise): no submission here hangs, and a busy machine must not fail one.
"""

import dataclasses
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from mlpkit import cli
from mlpkit.grading import bank, grader
from mlpkit.grading.sandbox import Limits

ROOT = pathlib.Path(__file__).resolve().parents[1]
FULL = 7  # chapter 1: step 2, nand_weights 2, perceptron_forward 3


def solution():
    return (bank.BANK_DIR / "perceptron.py").read_text()


def crashing():
    # Kills its process at import after defining nand_weights (the statements after it still run, in a fresh
    # process), and nand_weights kills its process when called.
    text = solution().replace("def nand_weights():\n", "def nand_weights():\n    import os\n    os._exit(3)\n", 1)
    assert text != solution()
    head, tail = text.split("def perceptron_forward", 1)
    return head + "import os\nos._exit(5)\n\ndef perceptron_forward" + tail


# Looks through its own process's memory for the expected values of step's first check (as the grader keeps them)
# and returns them if found: the process it runs in is a copy of one that never read them.
MEMORY_SEARCH = """
import gc

def step(z):
    for thing in gc.get_objects():
        if isinstance(thing, dict) and thing.get("shape") == [5] and "array" in thing:
            return tf.constant(thing["array"], dtype=z.dtype)
    raise NotImplementedError
"""

SUBMISSIONS = {
    "correct": solution(),
    "stub": bank.python_text(bank.student_cells("perceptron")),
    "crashing": crashing(),
    "memory_search": bank.python_text(bank.student_cells("perceptron")) + MEMORY_SEARCH,
}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    cli.main(["exercises", "gradescope", str(out), "--chapters", "perceptron", "--time-limit", "120",
              "--memory-limit", "1.5"])
    return out


def autograder_root(bundle, base, name, text):
    """A folder laid out as Gradescope's /autograder, with one submitted file."""
    root = base / name
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # extractall drops the modes
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "submission" / f"{name}.py").write_text(text)
    return root


@pytest.fixture(scope="module")
def runs(bundle, tmp_path_factory):
    """Each submission graded by its own ``run_autograder`` (a fresh Python each, as on Gradescope), all at once."""
    base = tmp_path_factory.mktemp("autograder")
    bin_dir = pathlib.Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", TF_CPP_MIN_LOG_LEVEL="2")
    started = {}
    for name, text in SUBMISSIONS.items():
        root = autograder_root(bundle, base, name, text)
        log = open(base / f"{name}.log", "w+")
        process = subprocess.Popen([str(root / "run_autograder")], env=dict(env, AUTOGRADER_ROOT=str(root)), cwd=base,
                                   stdout=log, stderr=subprocess.STDOUT, text=True)
        started[name] = (root, log, process)
    out = {}
    try:
        for name, (root, log, process) in started.items():
            returncode = process.wait(timeout=900)
            log.seek(0)
            assert returncode == 0, log.read()[-3000:]
            out[name] = json.loads((root / "results" / "results.json").read_text())
    finally:
        for root, log, process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    for name, text in SUBMISSIONS.items():
        (folder / f"{name}.py").write_text(text)
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    limits = Limits(seconds=120, memory=int(1.5 * 2**30))
    units = grader.grade(folder, out, chapters=["perceptron"], workers=1, limits=limits, progress=False)
    return {unit["student"]: unit for unit in units}


def test_bundle_holds_the_scripts_the_checks_and_a_wheel_without_solutions(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        assert {"setup.sh", "run_autograder", "autograder.json"} <= set(names)
        for script in ("setup.sh", "run_autograder"):
            assert (archive.getinfo(script).external_attr >> 16) & stat.S_IXUSR
        wheel = next(name for name in names if name.endswith(".whl"))
        assert f"./{wheel}" in archive.read("setup.sh").decode()
        checks = json.loads(archive.read("autograder.json"))
        archive.extract(wheel, tmp_path)
    calls = [call for exercise in checks["exercises"] for call in exercise["calls"]]
    assert [e["name"] for e in checks["exercises"]] == ["step", "nand_weights", "perceptron_forward"]
    public = [call["call"]["public"]["plain"] for call in calls]
    assert any(public) and not all(public)
    assert all("expected" in call for call in calls)
    with zipfile.ZipFile(tmp_path / wheel) as archive:
        inside = archive.namelist()
        assert "mlpkit/grading/gradescope.py" in inside and "mlpkit/grading/grader.py" in inside
        assert not any(name.startswith("exercises/") or name.endswith("_checks.py") for name in inside)  # no bank
        assert not any(b"### BEGIN SOLUTION" in archive.read(name) for name in inside if name.endswith(".py")
                       and name not in ("mlpkit/grading/bank.py", "mlpkit/grading/authoring.py"))  # markers, a sample
    # the wheel installs (offline, without its dependencies) with its command
    target = tmp_path / "installed"
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target),
                             str(tmp_path / wheel)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (target / "mlpkit" / "grading" / "gradescope.py").is_file() and (target / "bin" / "mlpkit").is_file()


def test_results_are_in_gradescopes_format(runs):
    for name, results in runs.items():
        assert set(results) >= {"score", "tests", "output"}
        for test in results["tests"]:
            assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
            assert test["visibility"] == ("after_published" if "hidden check" in test["name"] else "visible")
            assert 0 <= test["score"] <= test["max_score"]
        assert sum(test["max_score"] for test in results["tests"]) == pytest.approx(FULL, abs=0.01)


def test_hidden_checks_show_no_message(runs):
    hidden_messages = [call.message for e in bank.load_exercises(["perceptron"]) for call in e.calls
                       if not call.public and call.message]
    text = json.dumps(runs["stub"])
    assert not any(message in text for message in hidden_messages)
    assert any(t["output"] in ("passed", "failed") for t in runs["stub"]["tests"] if "hidden" in t["name"])


def test_scores_match_mlpkit_grade(runs, graded):
    assert runs["correct"]["score"] == graded["correct"]["total"] == FULL
    assert runs["stub"]["score"] == graded["stub"]["total"] == 0
    assert runs["memory_search"]["score"] == graded["memory_search"]["total"] == 0
    assert runs["crashing"]["score"] == graded["crashing"]["total"] == FULL - 2  # nand_weights lost
    assert all(t["status"] == "passed" for t in runs["correct"]["tests"])
    assert "os._exit" in runs["crashing"]["output"] or "exit" in runs["crashing"]["output"]


def test_checks_round_trip_as_json():
    from mlpkit.grading import gradescope

    every = bank.load_exercises()  # every chapter: probes, mistakes, keyword arguments
    reference = {e.name: [[index] for index, _ in enumerate(e.calls)] for e in every}
    limits = Limits(seconds=7, memory=2**30)
    sent = json.loads(json.dumps(gradescope.checks_data(every, reference, limits)))  # through JSON, as in the bundle
    back, expected, back_limits = gradescope.load_checks(sent)
    assert back_limits == limits and expected == reference
    for one, two in zip(every, back):
        assert (one.name, one.chapter, one.points, one.title) == (two.name, two.chapter, two.points, two.title)
        for a, b in zip(one.calls, two.calls, strict=True):
            for field in dataclasses.fields(a):  # the same values of the same types
                assert gradescope.to_data(getattr(a, field.name)) == gradescope.to_data(getattr(b, field.name)), (
                    field.name
                )
            assert [type(arg) for arg in a.args] == [type(arg) for arg in b.args]


def test_submission_files_skip_hidden_files_and_links(tmp_path):
    from mlpkit.grading import gradescope

    folder = tmp_path / "submission"
    (folder / "sub" / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / "b.py").write_text("def f():\n    return 1\n")
    (folder / "sub" / "a.ipynb").write_text("{not json")
    (folder / "sub" / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("{}")
    (folder / ".hidden.py").write_text("")
    (folder / "notes.txt").write_text("")
    (tmp_path / "outside.py").write_text("SECRET = 1\n")
    (folder / "link.py").symlink_to(tmp_path / "outside.py")
    assert [p.relative_to(folder).as_posix() for p in gradescope.submission_files(folder)] == ["b.py", "sub/a.ipynb"]
    cells, notes = gradescope.submission_cells(folder)
    assert [label for label, _ in cells] == ["b.py <line 1>"]
    assert len(notes) == 1 and "a.ipynb: not a readable notebook" in notes[0]
