"""The grader's main process trusts nothing that comes back from a submission.

- Results in the wrong form (forged by a submission that reached the grader's
  channel) become notes on that student: `units.validated` and `units.unit`
  never raise, whatever the values are (a 401-digit integer, NaN, a number
  where a message belongs, a huge list).
- A unit file on disk in the wrong form, or recorded as the grader's own
  failure, is graded again.
- Feedback shows text from a submission as text: no Markdown or HTML in it
  takes effect.
- A worker that dies does not cost anyone points: what it was running is
  graded again alone, what was queued behind it on a fresh pool; only a
  submission that stops its grading process again, alone, is recorded so.
- Entries of the submissions folder that are no submission (a folder named
  like one, a symbolic link) are listed in ``grades_skipped.csv``.
"""

import json
import os
import pathlib
import signal
import threading
import time

import pytest

from helpers import kill_all
from mlpkit.grading import bank, checks, grader, report, units
from mlpkit.grading.sandbox import Limits

CHAPTERS = ["perceptron"]
EXERCISES = bank.load_exercises(CHAPTERS)
PLAN = units.plan(EXERCISES)
MAXIMUM = sum(e.points for e in EXERCISES)


def _reference():
    # The reference's values as the judge sees them: the values each check expects.
    return {e.name: [None] * len(e.calls) for e in EXERCISES}


FORGED = [
    "not a dict",
    {"cells": "not a dict", "exercises": {}},
    {"cells": {}, "exercises": {"step": {"outcomes": []}}},  # too few outcomes
    {"cells": {}, "exercises": {"step": {"outcomes": [{"value": 1, "error": "x"}] * 9}}},
    {"cells": {}, "exercises": {"step": {"error": 12345}}},  # a number where a message belongs
    {"cells": {"<cell 1>": ["a", "list"], 7: "a label that is a number"}, "exercises": "nope"},
    {"cells": {f"<cell {i}>": "x" * 10**5 for i in range(1000)}, "exercises": {}},
]


@pytest.mark.parametrize("raw", FORGED, ids=range(len(FORGED)))
def test_results_in_the_wrong_form_become_notes_never_a_crash(raw):
    clean = units.validated(raw, PLAN)
    assert set(clean["exercises"]) == {name for name, _ in PLAN}
    assert all(isinstance(label, str) and isinstance(note, str) and len(note) <= units.MAX_NOTE + 10
               for label, note in clean["cells"].items())
    assert len(clean["cells"]) <= units.MAX_CELL_NOTES
    for name, calls in PLAN:
        result = clean["exercises"][name]
        assert isinstance(result.get("error"), str) or len(result["outcomes"]) == len(calls)
    unit = units.unit(pathlib.Path("s.py"), "0" * 64, EXERCISES, raw, _reference(), "k", "s")
    assert unit["total"] == 0 and units.unit_is_sound(unit, EXERCISES)


@pytest.mark.parametrize("value", [10**400, -(10**400), float("nan"), "1e999", [[[[]]]], {"parameters": 10**400},
                                   [10**400, 1.0], {"__tensor__": 1}, None, True],
                         ids=lambda v: type(v).__name__)
def test_a_forged_value_fails_its_check_and_nothing_else(value):
    # Any value where an answer belongs, judged by every predicate the bank uses: a failed check, no exception.
    for exercise in bank.load_exercises():
        for call in exercise.calls[:1]:
            passed, detail = checks.judge(call, {"value": value}, [0.25, 0.5])
            assert passed is False and isinstance(detail, str)


def test_a_unit_from_the_raw_values_of_a_forged_run_can_be_written_out(tmp_path):
    raw = {"cells": {"<cell 1>": "<img src=x onerror=alert(1)> **bold** [link](http://example.org)"},
           "exercises": {name: {"outcomes": [{"value": 10**400}] * len(calls)} for name, calls in PLAN}}
    unit = units.unit(
        tmp_path / "=cmd|' -C calc'!A0.py", "0" * 64, EXERCISES, raw, _reference(), "k", "=cmd|' -C calc'!A0"
    )
    report.write_outputs([unit], EXERCISES, tmp_path / "grades.csv", tmp_path / "feedback")
    row = (tmp_path / "grades.csv").read_text().splitlines()[1]
    assert row.startswith("'=cmd")  # a spreadsheet shows it as text, never runs it
    feedback = (tmp_path / "feedback" / "=cmd|' -C calc'!A0.md").read_text()
    html = pytest.importorskip("markdown_it").MarkdownIt().render(feedback)
    assert "<img" not in html and "<strong>bold" not in html and "<a " not in html
    assert "&lt;img src=x onerror=alert(1)&gt; **bold** [link](http://example.org)" in html  # shown as the text it is


def test_markdown_from_a_submission_renders_as_its_text():
    markdown_it = pytest.importorskip("markdown_it")
    text = "<b>x</b> *y* `z` [a](b) # h \\ _u_ ![i](j) | t |"
    html = markdown_it.MarkdownIt().render(report.as_text(text))
    assert (
        "<b>" not in html and "<em>" not in html and "<code>" not in html and "<a " not in html and "<img" not in html
    )
    import html as html_module

    assert html_module.unescape(html.strip().removeprefix("<p>").removesuffix("</p>")) == text
    for start in ("# h", "- item", "12. item", "> quote", "+ item", "==="):
        html = markdown_it.MarkdownIt().render(report.as_text(start))
        assert html_module.unescape(html.strip().removeprefix("<p>").removesuffix("</p>")) == start, html
    # What Markdown would not misread stays as it is, to read as text.
    assert report.as_text("s0000.py (<cell 2, line 27>, x = 1.5)") == r"s0000.py (\<cell 2, line 27\>, x = 1.5)"


def test_a_unit_on_disk_in_the_wrong_form_is_not_trusted():
    raw = {"cells": {}, "exercises": {}}
    unit = units.unit(pathlib.Path("s.py"), "0" * 64, EXERCISES, raw, _reference(), "k", "s")
    assert units.unit_is_sound(unit, EXERCISES)
    for change in [
        lambda u: u.update(total="22"),
        lambda u: u.update(total=float("inf")),
        lambda u: u.pop("notes"),
        lambda u: u["exercises"].pop("step"),
        lambda u: u["exercises"]["step"].update(points=[1]),
        lambda u: u.update(notes=[{"a": 1}]),
        lambda u: u["exercises"]["step"]["checks"].append("passed"),
    ]:
        forged = json.loads(json.dumps(unit))
        change(forged)
        assert not units.unit_is_sound(forged, EXERCISES)


# -- a worker that dies --------------------------------------------------------------------

SLOW = "import time\ntime.sleep(3)\n"  # long enough for the test to see which worker runs it


def _killer(running, name, stop):
    """Kill, every time, the worker that runs the submission ``name`` (its pid is in the grader's marker)."""
    killed = set()
    while not stop.is_set():
        try:
            pid = int((running / name).read_text())
        except (OSError, ValueError):
            pid = None
        if pid and pid not in killed:
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.02)
    return killed


def test_a_dead_worker_costs_only_the_submission_that_kills_it(tmp_path):
    solution = (bank.BANK_DIR / "perceptron.py").read_text()
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "a_culprit.py").write_text(SLOW + solution)
    for name in ("b_honest", "c_honest", "d_honest"):
        (folder / f"{name}.py").write_text(SLOW + solution)
    (folder / "e_folder.py").mkdir()  # a folder named like a submission
    (folder / "f_link.py").symlink_to(folder / "b_honest.py")  # a link to another's submission
    out = tmp_path / "grades.csv"
    stop = threading.Event()
    thread = threading.Thread(
        target=_killer, args=(tmp_path / "grades_units" / ".running", "a_culprit", stop), daemon=True
    )
    thread.start()
    try:
        graded = grader.grade(folder, out, chapters=CHAPTERS, workers=1, limits=Limits(seconds=30), progress=False)
    finally:
        stop.set()
        thread.join()
    by_student = {unit["student"]: unit for unit in graded}
    assert sorted(by_student) == ["a_culprit", "b_honest", "c_honest", "d_honest"]
    for name in ("b_honest", "c_honest", "d_honest"):  # queued behind it: graded in full, on a fresh worker
        assert by_student[name]["total"] == MAXIMUM and not by_student[name].get("infrastructure"), by_student[name]
    skipped = report.skipped_path(out).read_text()  # neither graded nor passed over in silence
    assert "e_folder.py,a folder" in skipped and "f_link.py,not a regular file" in skipped
    culprit = by_student["a_culprit"]
    assert culprit["total"] == 0 and any(grader.STOPPED_WORKER in note for note in culprit["notes"])


# -- no kernel confinement: refuse, unless the instructor accepts the weaker guard ---------------------------------


def test_grading_refuses_where_the_kernel_offers_no_confinement_and_names_the_way_out(tmp_path, monkeypatch, capsys):
    from mlpkit import cli
    from mlpkit.grading import confine

    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "ada.py").write_text("def step(z):\n    return z\n")
    monkeypatch.setattr(confine, "available", lambda: False)
    with pytest.raises(grader.GradingError, match="--allow-weak-guard"):
        grader.grade(tmp_path / "subs", tmp_path / "grades.csv", chapters=CHAPTERS, workers=1, progress=False)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "grades.csv"), "--chapters", "perceptron"])
    assert stopped.value.code == 2 and "--allow-weak-guard" in capsys.readouterr().err
    assert not (tmp_path / "grades.csv").exists() and not (tmp_path / "grades_units").exists()  # nothing graded


def test_feedback_says_when_a_submission_was_graded_with_the_weaker_guard():
    unit = units.unit(
        pathlib.Path("ada.py"), "0" * 64, EXERCISES, {"cells": [], "results": {}}, _reference(), "key", "ada"
    )
    assert "kernel" not in report.feedback_text(unit)
    unit["guard"] = report.WEAK_GUARD
    assert "Graded without the kernel" in report.feedback_text(unit)


# -- kill -9 of the grader: no worker or child survives it ---------------------------------------------------------


def _children():
    """{pid: parent pid} of every process, from /proc (zombies left out: they have ended)."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()  # after "(command name)": state, ppid, ...
            if fields[0] != "Z":
                table[int(entry)] = int(fields[1])
    return table


def _descendants(root):
    table, found, frontier = _children(), set(), {root}
    while frontier:
        frontier = {pid for pid, parent in table.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux's /proc to list processes")
def test_after_kill_9_of_the_grader_no_worker_or_submission_process_survives(tmp_path):
    import subprocess
    import sys

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "sleeper.py").write_text("import time\ntime.sleep(300)\n")
    mlpkit = os.path.join(os.path.dirname(sys.executable), "mlpkit")
    temporary = tmp_path / "tmp"  # the run's temporary folder: its submissions' working folders are made here
    temporary.mkdir()
    main = subprocess.Popen(
        [
            mlpkit,
            "grade",
            str(subs),
            "--out",
            str(tmp_path / "grades.csv"),
            "--chapters",
            "perceptron",
            "--workers",
            "1",
            "--time-limit",
            "600",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=dict(os.environ, TMPDIR=str(temporary)),
    )
    marker, seen = tmp_path / "grades_units" / ".running" / "sleeper", set()
    try:
        deadline = time.monotonic() + 240  # two TensorFlow imports on a busy machine
        while time.monotonic() < deadline and main.poll() is None:
            seen = _descendants(main.pid)
            if marker.is_file() and len(seen) >= 2:  # the worker and the submission's child, asleep in its cell
                break
            time.sleep(0.5)
        assert marker.is_file() and len(seen) >= 2, "the grader never reached the sleeping submission"
        time.sleep(1)
        seen = _descendants(main.pid)
        os.kill(main.pid, signal.SIGKILL)
        main.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and set(_children()) & seen:
            time.sleep(0.2)
        assert not set(_children()) & seen, f"processes survived the grader: {sorted(set(_children()) & seen)}"
        assert not list(temporary.glob("mlpkit-submission-*"))  # the worker removed its child's folder as it ended
    finally:
        kill_all([main.pid, *seen])


def _session(pid):
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[4])
    except (OSError, IndexError, ValueError):
        return None


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux's /proc to list processes")
def test_the_grader_exits_only_when_every_process_it_started_has_ended(tmp_path):
    import subprocess
    import sys

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "s0.py").write_text((bank.BANK_DIR / "perceptron.py").read_text())
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    mlpkit = os.path.join(os.path.dirname(sys.executable), "mlpkit")
    main = subprocess.Popen(
        [mlpkit, "grade", str(subs), "--out", str(tmp_path / "grades.csv"), "--chapters", "perceptron"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env=dict(os.environ, TMPDIR=str(temporary)),
    )
    _, err = main.communicate(timeout=600)
    left = [pid for pid in _children() if _session(pid) == main.pid]  # its session: everything it started
    assert main.returncode == 0, err[-2000:]
    assert left == [], f"still running after the grader exited: {left}"
    assert list(temporary.iterdir()) == []  # nothing left in the temporary folder


# -- a Keras-model exercise is judged on a real model ---------------------------------------------------------------

MODEL_LIMITS = Limits(seconds=180, memory=3 * 2**30, total_seconds=900)
DICT_ATTACK = """
import json
import numpy as np
_answers = iter(json.loads(ANSWERS))
def build_dropout_model():  # what a real model gave, as a dict that describes it
    answer = next(_answers)
    return {key: np.array(value) if key in ("inference", "training_mean", "training_std") else value
            for key, value in answer.items()}
"""
DUCK_ATTACK = """
class LooksLikeAModel:  # a real model inside, behind methods of the same names
    def __init__(self, inner):
        self.inner, self.layers = inner, inner.layers
    def count_params(self):
        return self.inner.count_params()
    def get_weights(self):
        return self.inner.get_weights()
    def set_weights(self, weights):
        self.inner.set_weights(weights)
    def __call__(self, x, training=False):
        return self.inner(x, training=training)
_real_model = build_dropout_model
def build_dropout_model():
    return LooksLikeAModel(_real_model())
"""

# The kit's own encoding patched in the submission's process, to send a model's run it never made.
PATCH_ATTACK = """
import gc
import json
import numpy as np
_answers = iter(json.loads(ANSWERS))
for _space in gc.get_objects():
    if isinstance(_space, dict) and "describe_model" in _space and "encode" in _space:  # the calls module's globals
        def _forged(value, probe=None, depth=0, _encode=_space["encode"]):
            if isinstance(value, dict) and value.get("forged"):
                return {"model": _encode({key: np.array(item) if isinstance(item, list) else item
                                          for key, item in value["run"].items()})}
            return _encode(value, probe, depth)
        _space["encode"] = _forged
def build_dropout_model():
    return {"forged": True, "run": next(_answers)}
"""
LAMBDA_ATTACK = """
_real_model = build_dropout_model
def build_dropout_model():  # a layer that runs code of its own: never rebuilt by the grader
    return keras.Sequential([keras.Input((28, 28)), keras.layers.Lambda(lambda x: x * 1.0),
                             *_real_model().layers])
"""


def _model_submissions():
    """In a grading worker: the reference's model, a dict holding exactly what that model gave, and an object
    that only looks like a model, each judged against the reference's values. Returns {variant: verdict}."""
    import numpy as np

    from mlpkit.grading import sandbox

    (exercise,) = [e for e in bank.load_exercises(["keras"]) if e.name == "build_dropout_model"]
    run_plan = units.plan([exercise])
    cells = bank.reference_cells(["keras"])
    real = sandbox.run(cells, run_plan, limits=MODEL_LIMITS)
    ran = grader.run_models(json.loads(json.dumps(real)), [exercise], here=False)  # in a process of its own
    values = [outcome["value"] for outcome in ran["exercises"][exercise.name]["outcomes"]]
    described = [dict(checks.decode(value)) for value in values]  # what the real model gave, as plain data
    forged = DICT_ATTACK.replace(
        "ANSWERS", repr(json.dumps(described, default=lambda array: np.asarray(array).tolist()))
    )
    patched = PATCH_ATTACK.replace(
        "ANSWERS", repr(json.dumps(described, default=lambda array: np.asarray(array).tolist()))
    )
    runs = {
        "model": real,
        "dict": sandbox.run(cells + [("<forged>", forged)], run_plan, limits=MODEL_LIMITS),
        "look-alike": sandbox.run(cells + [("<look-alike>", DUCK_ATTACK)], run_plan, limits=MODEL_LIMITS),
        "patched": sandbox.run(cells + [("<patched>", patched)], run_plan, limits=MODEL_LIMITS),
        "lambda": sandbox.run(cells + [("<lambda>", LAMBDA_ATTACK)], run_plan, limits=MODEL_LIMITS),
    }
    # every submission has run: only now may this process run the models (no fork after TensorFlow's first op)
    runs = {name: grader.run_models(raw, [exercise], here=True) for name, raw in runs.items()}
    values = [outcome["value"] for outcome in runs["model"]["exercises"][exercise.name]["outcomes"]]
    reference = {exercise.name: values}
    return {
        name: units.verdicts([exercise], units.validated(raw, run_plan), reference)[exercise.name]
        for name, raw in runs.items()
    }


def test_a_keras_model_exercise_scores_only_a_real_model():
    with grader.worker_pool(1) as pool:
        verdicts = pool.submit(_model_submissions).result(timeout=900)
    assert verdicts["model"]["points"] == verdicts["model"]["maximum"] == 3, verdicts["model"]
    for attack in ("dict", "look-alike", "patched", "lambda"):
        assert verdicts[attack]["points"] == 0, (attack, verdicts[attack])
    public = [check["detail"] for check in verdicts["lambda"]["checks"] if check["public"]]
    assert public and all("not one of Keras's own layers" in detail for detail in public), public
    public = [check["detail"] for check in verdicts["dict"]["checks"] if check["public"]]
    assert public and all("a dict that describes one" in detail for detail in public), public
    public = [check["detail"] for check in verdicts["look-alike"]["checks"] if check["public"]]
    assert public and all("LooksLikeAModel" in detail for detail in public), public


def _described(model_class, module, layer=("keras.layers", "Dense")):
    tensor = {"class_name": "__keras_tensor__", "config": {"shape": [None, 784]}}
    layer = {"module": layer[0], "class_name": layer[1], "config": {}, "registered_name": None,
             "inbound_nodes": [tensor]}
    return json.dumps({"module": module, "class_name": model_class, "registered_name": model_class,
                       "config": {"layers": [layer]}})


def test_a_model_of_keras_s_own_classes_is_built_whichever_way_it_was_written():
    """Sequential, functional (its ``Functional`` class and the tensors wiring it) pass; a class of the
    submission's own or a layer that runs code does not."""
    from mlpkit.grading import models

    models.check_config(_described("Sequential", "keras"))
    models.check_config(_described("Functional", "keras.src.models.functional"))
    for refused in (_described("MyModel", None), _described("Functional", "mymodule"),
                    _described("Sequential", "keras", layer=("keras.layers", "Lambda")),
                    _described("Sequential", "keras", layer=(None, "MyLayer"))):
        with pytest.raises(models.ConfigError):
            models.check_config(refused)


# -- names are hostile data ----------------------------------------------------------------------------------------


def test_names_of_any_bytes_or_length_are_graded_or_listed_never_a_crash(tmp_path, reference_values):
    from helpers import share_reference

    solution = (bank.BANK_DIR / "perceptron.py").read_text()
    folder = tmp_path / "submissions"
    folder.mkdir()
    names = [os.fsdecode(b"m\xfcller.py"), "s" + "x" * 245 + ".py", "=cmd|' ,\"x.py", "s0001.py"]
    for name in names:
        (folder / name).write_text(solution)
    (folder / os.fsdecode(b"dossier-\xe9t\xe9")).mkdir()  # a folder with a latin-1 name: listed, not graded
    out = tmp_path / "grades.csv"
    share_reference(out.with_name("grades_units"), CHAPTERS, reference_values(CHAPTERS))
    for _ in range(2):  # and again, resuming: the same
        graded = grader.grade(folder, out, chapters=CHAPTERS, workers=2, limits=Limits(seconds=60), progress=False)
        assert len(graded) == len(names) and all(unit["total"] == MAXIMUM for unit in graded), graded
    rows = out.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + len(names)
    assert "dossier-\ufffdt\ufffd,a folder" in report.skipped_path(out).read_text(encoding="utf-8")
    assert len({unit["student"] for unit in graded}) == len(names)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"cells": {"a": 1}}),  # cells a dict
        json.dumps({"cells": ["print(1)"]}),  # a cell that is a string
        json.dumps({"cells": [7]}),  # a cell that is a number
        json.dumps({"cells": [{"cell_type": "code", "source": {"x": 1}}]}),
        json.dumps([1, 2]),
        "[" * 100_000 + "]" * 100_000,  # deeper than Python's recursion limit
    ],
    ids=["dict", "string", "int", "source", "list", "deep"],
)
def test_a_notebook_of_any_shape_is_that_submission_s_note_never_a_crash(tmp_path, text):
    from mlpkit.grading import worker

    (tmp_path / "s.ipynb").write_text(text)
    with pytest.raises(worker.UnreadableSubmission, match="s.ipynb: not a readable notebook"):
        worker.submission_cells(tmp_path / "s.ipynb")


def test_a_note_that_concerns_every_exercise_is_said_once(tmp_path):
    from mlpkit.grading import worker

    (tmp_path / "s.ipynb").write_text("{not json")
    raw = worker.run_submission(tmp_path / "s.ipynb", PLAN, [], Limits())
    unit = units.unit(tmp_path / "s.ipynb", "0" * 64, EXERCISES, raw, _reference(), "k")
    assert len(unit["notes"]) == 1 and "not a readable notebook" in unit["notes"][0], unit["notes"]
    assert unit["total"] == 0
    shared = {"cells": {}, "exercises": {e.name: {"error": "the submission could not be run: it died"}
                                         for e in EXERCISES}}
    (note,) = units.unit(tmp_path / "s.py", "0" * 64, EXERCISES, shared, _reference(), "k")["notes"]
    assert note == f"{', '.join(e.name for e in EXERCISES)}: the submission could not be run: it died"


# -- clean-up never fails ------------------------------------------------------------------------------------------


def test_a_working_folder_is_removed_whatever_was_left_in_it(tmp_path):
    import fcntl
    import struct

    from mlpkit.grading import cleanup

    def make(root):
        root.mkdir()
        fd = os.open(root, os.O_RDONLY)
        for depth in range(1_500):  # deeper than Python's recursion limit
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.mkfifo("fifo", dir_fd=fd)  # opened by nothing: a reader would wait forever
        os.chmod(fd, 0)  # and no permission left on the deepest folder
        os.close(fd)
        (root / "stuck").write_text("x")
        with open(root / "stuck") as file:  # immutable where the file system has the flag
            try:
                fcntl.ioctl(file.fileno(), cleanup.FS_IOC_SETFLAGS, struct.pack("l", cleanup.FS_IMMUTABLE_FL))
            except OSError:
                pass

    make(tmp_path / "new")  # shutil.rmtree of Python 3.11 raises RecursionError on it, even with ignore_errors
    assert cleanup.remove_tree(tmp_path / "new") and not (tmp_path / "new").exists()
    assert cleanup.remove_tree(tmp_path / "missing")  # nothing there: nothing to do, no error


# -- what a submission's process inherits: no other student's work, no secret of the instructor's -----------------

SECRETS = {"CANVAS_API_TOKEN": "canvas-4c1d-token", "GITHUB_TOKEN": "ghp-9e2f-token",
           "AWS_SECRET_ACCESS_KEY": "aws-77ab-secret", "MOODLE_WS_TOKEN": "moodle-5d0c-token"}
MARKERS = ["planted-by-a-3f9e1c", "planted-by-b-8d2a47"]


def _halves(text):
    return (text[: len(text) // 2], text[len(text) // 2 :])


SCANNER = '''
import os

HALVES = {halves!r}  # each marker and secret in two halves: whole, it would be in this process's memory anyway


def _found():
    hits = set()
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    with open("/proc/self/mem", "rb", 0) as mem:
        for region in regions:
            if region[1][0] != "r" or (len(region) > 5 and region[5] in ("[vvar]", "[vsyscall]")):
                continue
            start, end = (int(x, 16) for x in region[0].split("-"))
            for offset in range(start, end, 2**26):
                try:
                    mem.seek(offset)
                    data = mem.read(min(2**26 + 64, end - offset))
                except (OSError, ValueError, OverflowError):
                    break
                for index, (first, second) in enumerate(HALVES):
                    first, second = first.encode(), second.encode()
                    at = data.find(first)
                    while at >= 0:
                        if data[at + len(first) : at + len(first) + len(second)] == second:
                            hits.add(index)
                        at = data.find(first, at + 1)
    return hits


FOUND = _found()
'''


def test_a_child_holds_no_earlier_submission_and_no_variable_of_the_caller(tmp_path):
    import subprocess
    import sys

    solution = (bank.BANK_DIR / "perceptron.py").read_text()
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name, marker in zip(("a_plants", "b_plants"), MARKERS):  # graded first: their code and errors hold it
        (folder / f"{name}.py").write_text(solution + f"\nMARKER = {marker!r}\nraise RuntimeError(MARKER)\n")
    halves = [_halves(text) for text in MARKERS + list(SECRETS.values())]
    scanner = SCANNER.format(halves=halves) + (  # any hit loses step's points and says which
        "\nif FOUND:\n    def step(z):\n        raise RuntimeError(f'found {sorted(FOUND)}')\n")
    (folder / "c_scans.py").write_text(solution + scanner)
    leak = "import os\nraise RuntimeError(repr(dict(os.environ)) + open('/proc/self/environ').read())\n"
    (folder / "d_leaks.py").write_text(solution + leak)
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_CPP")}
    env.update(SECRETS)
    out = tmp_path / "grades" / "grades.csv"
    mlpkit = pathlib.Path(sys.executable).parent / "mlpkit"
    result = subprocess.run([str(mlpkit), "grade", str(folder), "--out", str(out), "--chapters", "perceptron",
                             "--workers", "1"], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    units_of = {path.stem: json.loads(path.read_text()) for path in out.with_name("grades_units").glob("*.json")}
    assert units_of["c_scans"]["total"] == MAXIMUM, units_of["c_scans"]  # found nothing
    assert units_of["d_leaks"]["total"] == MAXIMUM and any("RuntimeError" in n for n in units_of["d_leaks"]["notes"])
    written = [path for path in out.parent.rglob("*") if path.is_file()]
    for path in written:
        text = path.read_text(errors="replace")
        assert not [value for value in SECRETS.values() if value in text], path
    assert not [value for value in SECRETS.values() if value in result.stdout + result.stderr]


def test_a_file_of_many_statements_costs_memory_in_proportion_to_its_size(tmp_path):
    from mlpkit.grading import worker

    text = "".join(f"x{i} = {i}\n" for i in range(40_000))  # 40,000 one-line statements
    (tmp_path / "many.py").write_text(text)
    cells = worker.submission_cells(tmp_path / "many.py")
    assert len(cells) == 40_000 and sum(len(source) for _, source in cells) <= len(text)  # no padding


def test_a_block_keeps_the_file_s_line_numbers():
    import linecache
    import traceback

    from mlpkit.grading import child

    namespace = {}
    exec(child._compiled("<line 40>", "def f():\n    return 1 / 0\n"), namespace)
    with pytest.raises(ZeroDivisionError) as raised:
        namespace["f"]()
    frame = traceback.extract_tb(raised.value.__traceback__)[-1]
    assert (frame.filename, frame.lineno, frame.line) == ("<file>", 41, "return 1 / 0")
    assert linecache.getline("<file>", 40).startswith("def f()")
    with pytest.raises(SyntaxError) as raised:
        child._compiled("<cell 3, line 7>", "x = 1\ny = (\n")
    assert raised.value.lineno >= 8 and raised.value.filename == "<cell 3>"


def test_a_submission_the_grader_fails_on_has_a_row_and_is_graded_again_a_bounded_number_of_times(
    tmp_path, reference_values, monkeypatch
):
    from helpers import share_reference

    solution = (bank.BANK_DIR / "perceptron.py").read_text()
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("a_trips", "b_honest"):
        (folder / f"{name}.py").write_text(solution + f"\n# {name}\n")
    out = tmp_path / "grades.csv"
    share_reference(out.with_name("grades_units"), CHAPTERS, reference_values(CHAPTERS))
    judged = units._judged_unit

    def failing(path, *args, **kwargs):  # the grader's own fault, on one submission only
        if "a_trips" in str(path) and args[2].get("exercises"):  # not the fallback, which judges nothing
            raise ZeroDivisionError("a bug of the grader's")
        return judged(path, *args, **kwargs)

    monkeypatch.setattr(units, "_judged_unit", failing)
    rows = []
    for _ in range(grader.MAX_ATTEMPTS + 1):
        graded = grader.grade(folder, out, chapters=CHAPTERS, workers=2, limits=Limits(seconds=60), progress=False)
        rows.append({unit["student"]: unit for unit in graded})
    for run in rows:  # every run, every student has a row
        assert sorted(run) == ["a_trips", "b_honest"] and run["b_honest"]["total"] == MAXIMUM
    assert [run["a_trips"].get("attempts") for run in rows] == [1, 2, 3, 3]  # the last run grades it no more
    assert [bool(run["a_trips"].get("infrastructure")) for run in rows] == [True, True, False, False]
    assert "not graded again" in rows[-1]["a_trips"]["notes"][-1]
    assert "a_trips" in out.read_text()
