"""Graded exercises: release, self-check and the grader, against honest and adversarial submissions.

One grading run (module fixture) grades a folder holding the reference
solution, a released stub, a partly solved file, a reordered and retyped
notebook, and one submission for each way a submission can misbehave or
attack the grader (with plain Python and TensorFlow: around the audit hook,
at the file system, processes, the network, memory, the disk and the channel
back to the grader). Each must get the points and the note listed in CASES,
and the honest ones beside them full marks; no file outside the work folders
may change, no packet arrive, no process survive, and the main process's
memory must stay within MAIN_MEMORY_BOUND. Its limits (20 s of CPU time per
cell or exercise, 1.5 GB) are what its heaviest honest work keeps within; its
hangs are graded apart, with a short limit: a loop is stopped by the CPU-time
limit, a sleep by the wall-clock backstop and graded again alone. Then: the layout keeps
what runs beside a submission apart from what judges it, and the shared
reference values are used only while they match their hash.
"""

import ast
import csv
import hashlib
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from helpers import share_reference
from mlpkit.grading import bank, checks, grader, units, worker
from mlpkit.grading.sandbox import Limits

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = ["perceptron", "xor", "gradients"]
POINTS = {"step": 2, "nand_weights": 2, "perceptron_forward": 3, "xor_weights": 3, "sigmoid": 2, "parameter_count": 2,
          "sigmoid_prime": 2, "mse_gradient": 2, "sigmoid_layer_backward": 4,
          "two_layer_backward": 4, "numerical_gradient_of_cost": 3, "relative_error": 2, "softplus_op": 3}
FULL = sum(POINTS.values())
# The adversarial class's limits. The time limit (CPU time) is well above what its heaviest honest work (writing
# the disk full, a thousand files, the largest answers) uses; its wall-clock backstop, four times that, what such
# work keeps within on a busy machine (at most 1,000 files: creating one takes up to a millisecond here).
LIMITS = Limits(seconds=20, memory=int(1.5 * 2**30), files=1000)
# The class's hangs wait out their limit, however long it is: they are graded in a run of their own, with a
# short one (their other exercises are the reference's, quick however busy the machine). The loops use 3 s of CPU
# time; the sleep waits out the wall-clock backstop (12 s) beside them, then again alone.
HANGS = ("infinite_loop", "loop_in_function", "sleep")
HANG_LIMITS = Limits(seconds=3, memory=int(1.5 * 2**30))
# For honest submissions only: generous, so that a busy machine cannot make one exceed them.
HONEST_LIMITS = Limits(seconds=120, memory=int(1.5 * 2**30))


def solution():
    return "\n\n".join((bank.BANK_DIR / f"{chapter}.py").read_text() for chapter in CHAPTERS)


def stub():
    return "\n\n".join(bank.python_text(bank.student_cells(chapter)) for chapter in CHAPTERS)


def replace_body(source, name, body):
    """``source`` with the function ``name``'s solution replaced by ``body`` (indented lines)."""
    pattern = re.compile(rf"(def {name}\(.*?\):\n)    ### BEGIN SOLUTION\n.*?    ### END SOLUTION\n", re.S)
    assert pattern.search(source), name
    return pattern.sub(lambda m: m.group(1) + "".join(f"    {line}\n" for line in body.splitlines()), source, count=1)


def lose(*names):
    return FULL - sum(POINTS[name] for name in names)


def reordered_notebook():
    # The solution as a notebook whose cells are reversed (imports last), retyped with other comments and
    # spacing, with the markdown cells deleted: functions are found by name.
    code = [cell.source for chapter in CHAPTERS for cell in bank.chapter_cells(chapter) if cell.kind == "code"]
    retyped = [
        "# my answer\n" + source.replace("    ", "  ").replace("### BEGIN SOLUTION", "# here") for source in code
    ]
    cells = [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": source}
        for source in reversed(retyped)
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


# name: (file text, expected points, a substring of the notes or None)
CASES = {
    "honest": (solution(), FULL, None),
    "stub": (stub(), 0, None),
    "partial": (
        solution().split("# %% [markdown]\n# # Exercises: the hand-weighted XOR network")[0]
        + stub().split("# %% [markdown]\n# # Exercises: the hand-weighted XOR network")[1],
        lose(*list(POINTS)[3:]),
        None,
    ),
    "syntax_error": (replace_body(solution(), "step", "return tf.cast(z > 0 z.dtype)"), lose("step"), "SyntaxError"),
    "import_error": ("import no_such_module\nraise RuntimeError('boom')\n" + solution(), FULL, "ModuleNotFoundError"),
    "infinite_loop": (
        solution() + "\nwhile True:\n    pass\n", FULL, f"used more than {HANG_LIMITS.seconds:g} s of CPU time"
    ),
    "loop_in_function": (
        replace_body(solution(), "sigmoid", "while True:\n    pass"),
        lose("sigmoid"),
        "sigmoid: used more than 3 s of CPU time",
    ),
    "sleep": (
        replace_body(solution(), "nand_weights", "import time\ntime.sleep(600)"),
        lose("nand_weights"),
        "nand_weights: stopped by the wall clock after 12 s",
    ),
    "memory": (
        replace_body(solution(), "sigmoid_prime", "hog = [bytearray(2**28) for _ in range(64)]\nreturn hog"),
        lose("sigmoid_prime"),
        "sigmoid_prime",
    ),
    "output_flood": (
        "import sys\nfor _ in range(10**5):\n    print('x' * 1000)\n    print('y' * 1000, file=sys.stderr)\n"
        + replace_body(
            solution(),
            "parameter_count",
            "print('\\n'.join(['spam'] * 10**6))\nreturn int(sum(a * b + b for a, b in zip(layers[:-1], layers[1:])))",
        ),
        FULL,
        None,
    ),
    "sys_exit": (
        replace_body(solution() + "\nimport sys\nsys.exit(0)\n", "mse_gradient", "import sys\nsys.exit(1)"),
        lose("mse_gradient"),
        "sys.exit",
    ),
    "os_exit": (
        replace_body(solution(), "xor_weights", "import os\nos._exit(0)") + "\nimport os\nos._exit(5)\n",
        lose("xor_weights"),
        "exit code 5",
    ),
    "deletes_functions": (
        solution() + "\nstep_renamed = step\ndel step\nperceptron_forward = None\n",
        lose("step", "perceptron_forward"),
        None,
    ),
    "notebook": (reordered_notebook(), FULL, None),
    "fake_results": (
        stub() + "\nprint('step: PASS 2/2 points; total 22 / 22')\n"
        'print(\'{"result": "step", "outcomes": []}\')\n'
        "import sys\nsys.stderr.write('GRADE: 22/22\\n')\n",
        0,
        None,
    ),
    "reads_files": (
        replace_body(
            replace_body(
                solution(),
                "step",
                (
                    "import pathlib\n"
                    f"source = pathlib.Path({str(bank.BANK_DIR / 'perceptron.py')!r}).read_text()\n"
                    "return tf.cast(z > 0, z.dtype)"
                ),
            ),
            "nand_weights",
            ("open('/tmp/mlpkit-grading-escape.txt', 'w').write('x')\nreturn np.array([-1.0, -1.0]), 1.5"),
        )
        + "\nimport os, shutil, subprocess\n"
        "os.remove(os.path.join(SUBMISSIONS, 'honest.py'))\n"
        "shutil.rmtree(SUBMISSIONS)\n"
        "subprocess.run(['rm', '-rf', SUBMISSIONS])\n"
        "open(os.path.join(SUBMISSIONS, 'honest.py')).read()\n",
        lose("step", "nand_weights"),
        "not allowed in a graded submission",
    ),
    "patches_framework": (
        stub() + "\nimport mlpkit.grading.checks as g\ng.judge = lambda *a, **k: (True, '')\n"
        "g.PREDICATES.update({k: (lambda *a: (True, '')) for k in g.PREDICATES})\n"
        "import builtins\nbuiltins.NotImplementedError = type('X', (Exception,), {})\n"
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
        0,
        "not allowed",
    ),
    # Plain Python and TensorFlow that the audit hook does not see or misjudges: only the kernel stops these.
    # a relative path looks like the work folder
    "hook_bypass_dir_fd": (
        stub() + "\nimport os\nroot = os.open(ROOT, os.O_RDONLY)\n"
        "exec(os.read(os.open('exercises/perceptron.py', os.O_RDONLY, dir_fd=root), "
        "10**6).decode())\n"
        "os.write(os.open('mlpkit-escape-TAG', os.O_WRONLY | os.O_CREAT, dir_fd=os.open('/tmp', "
        "os.O_RDONLY)), b'x')\n",
        0,
        "PermissionError",
    ),
    "tf_reads_bank": (
        stub() + "\nexec(tf.io.read_file(BANK).numpy().decode())\nexec(tf.io.read_file(REFERENCE).numpy().decode())\n",
        0,
        "PermissionDenied",
    ),
    "tf_overwrites_others": (
        solution() + "\ntf.io.write_file(SUBMISSIONS + '/honest.py', 'def step(z):\\n    return z\\n')\n"
        "tf.io.write_file('/tmp/mlpkit-escape-TAG', 'x')\n",
        FULL,
        "PermissionDenied",
    ),
    "poisons_reference": (
        solution() + "\ntf.io.write_file(REFERENCE, '{}')\nopen(REFERENCE, 'w').write('{}')\n"
        "import os\nos.replace(os.path.abspath('x'), REFERENCE)\n",
        FULL,
        "PermissionDenied",
    ),
    "spawns_survivor": (
        solution() + "\nimport _posixsubprocess, os\n"  # what subprocess does, without its audit event
        "pid = _posixsubprocess.fork_exec([b'/bin/sh', b'-c', b'sleep 1000 || echo TAG'], [b'/bin/sh'], "
        "True, (), None, "
        "None, -1, -1, -1, -1, -1, -1, *os.pipe(), True, True, -1, None, None, None, -1, None, "
        "False)\n",
        FULL,
        "PermissionError",
    ),
    "sends_packet": (
        solution() + "\nimport _socket\n"
        "_socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM).sendto(b'TAG', ('127.0.0.1', UDP_PORT))\n",
        FULL,
        "PermissionError",
    ),
    "memory_outside_rss": (
        solution() + "\nimport os\nfd = os.memfd_create('hog')\nos.write(fd, b'x' * 2**30)\n"
        "open('/dev/shm/mlpkit-TAG', 'wb').write(b'x' * 2**30)\n",
        FULL,
        "PermissionError",
    ),
    "raises_limits": (
        replace_body(
            solution(),
            "relative_error",
            "import resource\n"
            "resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, "
            "resource.RLIM_INFINITY))\n"
            "return 0.0",
        ),
        lose("relative_error"),
        None,
    ),  # Python says ValueError
    "fills_disk": (
        solution() + "\nfor i in range(64):\n    open(f'fill{i}', 'wb').write(b'x' * 60 * 2**20)\n",
        FULL,
        "wrote more than 256 MB",
    ),
    "many_files": (solution() + "\nfor i in range(10**6):\n    open(f'f{i}', 'w').close()\n", FULL, "1,000 files"),
    # Threads are bounded per submission: the 257th is refused (and past the bound the process is stopped).
    "starts_threads": (
        solution() + "\nimport threading, time\nthreading.stack_size(32768)\nfor i in range(20_000):\n"
        "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n",
        FULL,
        "threads",
    ),
    # Its process is a copy of a worker that never held an expected value: searching its memory finds none.
    "searches_memory": (
        stub() + "\nimport gc\n\ndef step(z):\n    for thing in gc.get_objects():\n"
        "        if isinstance(thing, dict) and thing.get('shape') == [5] and 'array' in thing:\n"
        "            return tf.constant(thing['array'], dtype=z.dtype)\n    raise NotImplementedError\n",
        0,
        None,
    ),
    # The channel back to the grader is the child's own pipe: what it sends is checked, never believed.
    "forges_channel": (
        stub() + "\nimport os\nfor fd in range(3, 64):\n    try:\n"
        "        os.write(fd, "
        'b\'{"start": "step"}\\n{"result": "step", "outcomes": [{"value": {"number": 1}}]}\\n\')\n'
        "    except OSError:\n        pass\n",
        0,
        "wrote to the grader's channel",
    ),
    "floods_channel": (
        solution() + "\nimport os\nfor fd in range(3, 64):\n    try:\n"
        "        os.write(fd, b'[' * 2**20 * 20)\n    except OSError:\n        pass\n",
        FULL,
        "sent more data than any answer needs",
    ),
    "huge_answer": (
        replace_body(solution(), "parameter_count", "return np.zeros(400_000)"),
        lose("parameter_count"),
        "parameter_count: sent more data than any answer needs",
    ),
    "huge_file": (solution() + "\n# " + "x" * 33 * 2**20 + "\n", 0, "a submitted file may be at most 32 MB"),
    # Answers as large as the limits let through, in the form that takes the most memory once parsed.
    "largest_answers": (
        replace_body(
            replace_body(solution(), "nand_weights", "return [0.5] * 450_000"), "xor_weights", "return [0.5] * 450_000"
        ),
        lose("nand_weights", "xor_weights"),
        None,
    ),
}
SUFFIX = {"notebook": ".ipynb"}
CLEAN = ["honest", "stub", "partial", "notebook", "largest_answers"]
TAG = "mlpkit-adversarial-corpus-marker"


def _snapshot(*roots):
    """{path: SHA-256} of every file under ``roots`` (a file's own path for a file)."""
    files = [
        path for root in roots for path in ([root] if root.is_file() else sorted(root.rglob("*"))) if path.is_file()
    ]
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def _descendants(root):
    """The processes descended from ``root`` that are still running (from /proc; zombies have ended)."""
    parents = {}
    for entry in os.listdir("/proc"):
        try:
            fields = (
                pathlib.Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split() if entry.isdigit() else None
            )
        except OSError:
            continue
        if fields and fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    # Python's own helpers (the server the workers are forked from, and the one for the pools' semaphores) live as
    # long as this process, and end with it.
    return {pid for pid in found if not any(helper in _cmdline(pid) for helper in (b"resource_tracker", b"forkserver"))}


def _cmdline(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _processes_with(marker):
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and marker.encode() in _cmdline(entry)]


# The main process's memory (Python's allocations, as tracemalloc counts them) may grow by at most this while it
# grades the corpus: what a submission's process may send is capped (sandbox.MAX_SENT, MAX_MESSAGE) and
# the main process holds one submission's values at a time.
MAIN_MEMORY_BOUND = 300 * 2**20


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    reference = out.parent / "grades_units" / f".reference-{bank.source_key(CHAPTERS)}.json"
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.setblocking(False)
    places = {
        "SUBMISSIONS": repr(str(folder)),
        "ROOT": repr(str(ROOT)),
        "BANK": repr(str(bank.BANK_DIR / "perceptron.py")),
        "REFERENCE": repr(str(reference)),
        "UDP_PORT": str(listener.getsockname()[1]),
        "TAG": TAG,
    }
    hangs = tmp_path_factory.mktemp("hangs")
    hang_out = tmp_path_factory.mktemp("hang-grades") / "grades.csv"
    for name, (text, _, _) in CASES.items():
        for place, value in places.items():
            text = text.replace(place, value)
        ((hangs if name in HANGS else folder) / f"{name}{SUFFIX.get(name, '.py')}").write_text(text)
    outside = [folder, hangs, ROOT / "code", ROOT / "book", ROOT / ".git" / "HEAD", ROOT / ".git" / "refs"]
    before = _snapshot(*outside)
    tracemalloc.start()
    graded_units = grader.grade(folder, out, chapters=CHAPTERS, workers=2, limits=LIMITS, progress=False)
    # The hangs' run uses the reference values the first run computed and stored.
    share_reference(hang_out.with_name("grades_units"), CHAPTERS, json.loads(reference.read_text())["values"])
    graded_units += grader.grade(hangs, hang_out, chapters=CHAPTERS, workers=2, limits=HANG_LIMITS, progress=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    try:
        packets = [listener.recv(100)]
    except BlockingIOError:
        packets = []
    listener.close()
    after = {
        "files": _snapshot(*outside),
        "reference": _snapshot(reference),
        "packets": packets,
        "peak": peak,
        "processes": _processes_with(TAG),
        "descendants": _descendants(os.getpid()),
        "hang_csv": hang_out,
    }
    return folder, out, {unit["student"]: unit for unit in graded_units}, before, after


@pytest.mark.parametrize("name", list(CASES))
def test_each_submission_gets_its_points_and_note(graded, name):
    _, _, graded_units, _, _ = graded
    _, points, note = CASES[name]
    unit = graded_units[name]
    assert unit["total"] == pytest.approx(points, abs=1e-9), json.dumps(unit, indent=1)[:3000]
    assert unit["maximum"] == FULL
    if note:
        assert any(note in text for text in unit["notes"]), unit["notes"]
    if name in CLEAN:  # a submission that does nothing odd gets no note
        assert unit["notes"] == []


def test_a_loop_is_stopped_by_the_cpu_time_limit_and_a_sleep_by_the_wall_clock_then_graded_alone(graded):
    _, _, graded_units, _, _ = graded
    for name in ("infinite_loop", "loop_in_function"):
        notes = " ".join(graded_units[name]["notes"])
        assert "CPU time" in notes and "wall clock" not in notes, notes
    (note,) = graded_units["sleep"]["notes"]
    assert "stopped by the wall clock" in note and "graded again with no other submission beside it" in note, note


def test_nothing_escaped_the_sandbox(graded):
    folder, out, graded_units, before, after = graded
    assert (folder / "honest.py").is_file() and graded_units["honest"]["total"] == FULL
    assert after["files"] == before  # the submissions, the kit's source and its git repository are as they were
    for path in ["/tmp/mlpkit-grading-escape.txt", f"/tmp/mlpkit-escape-{TAG}", f"/dev/shm/mlpkit-{TAG}"]:
        assert not os.path.exists(path), path
    assert after["packets"] == []  # no datagram reached the listening socket
    assert after["processes"] == [], "a process a submission started is still running"
    assert after["descendants"] == set(), "a worker or a submission's process outlived grading"


def test_the_shared_reference_values_are_intact_and_verified(graded):
    _, out, graded_units, _, after = graded
    (data,) = [json.loads(pathlib.Path(path).read_text()) for path in after["reference"]]
    assert units.reference_digest(data["values"]) == data["sha256"]
    assert {unit["reference"] for unit in graded_units.values()} == {data["sha256"]}


def test_the_main_process_memory_stays_within_its_bound(graded):
    *_, after = graded
    assert after["peak"] < MAIN_MEMORY_BOUND, f"{after['peak'] / 2**20:.0f} MiB"


def test_csv_has_one_row_per_student_with_points_per_exercise(graded):
    _, out, *_, after = graded
    rows = list(csv.DictReader(out.open()))
    assert [row["student"] for row in rows] == sorted(set(CASES) - set(HANGS))
    assert [row["student"] for row in csv.DictReader(after["hang_csv"].open())] == sorted(HANGS)
    assert list(rows[0]) == ["student", *POINTS, "total", "maximum", "notes"]
    for row in rows:
        assert float(row["total"]) == pytest.approx(sum(float(row[name]) for name in POINTS))  # partial credit adds up
        assert float(row["maximum"]) == FULL


def test_feedback_shows_public_messages_only(graded):
    _, out, *_ = graded
    feedback = (out.parent / "grades_feedback" / "stub.md").read_text()
    assert "Public check FAILED: step(z) should be 1.0 where z > 0" in feedback
    assert "Hidden checks: 0 of 2 passed" in feedback
    hidden_messages = [
        call.message for e in bank.load_exercises(CHAPTERS) for call in e.calls if not call.public and call.message
    ]
    assert not any(message in feedback for message in hidden_messages)
    for line in solution_lines():
        assert line not in feedback


def solution_lines():
    """Every substantial line inside a solution region of the bank."""
    lines = []
    for path in sorted(bank.BANK_DIR.glob("*.py")):
        if path.stem.endswith("_checks"):
            continue
        for region in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", path.read_text(), re.S):
            lines += [line.strip() for line in region.splitlines() if len(line.strip()) > 12]
    assert len(lines) > 20
    return lines


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    result = subprocess.run(
        [sys.executable, "-m", "mlpkit.cli", "exercises", "release", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return out


def test_release_has_a_notebook_and_a_stub_per_chapter(released):
    for chapter in bank.CHAPTERS:
        notebook = json.loads((released / f"{chapter}.ipynb").read_text())
        assert notebook["nbformat"] == 4 and any(
            "NotImplementedError" in "".join(c["source"]) for c in notebook["cells"]
        )
        compile((released / f"{chapter}.py").read_text(), f"{chapter}.py", "exec")
    assert (released / "checks.json").is_file() and (released / "README.md").is_file()


def test_released_notebooks_begin_with_the_chapters_set_up_cell_and_grade_with_it(released, tmp_path):
    """The README tells Colab users to run `mlpkit exercises check`: the notebook installs mlpkit as a chapter's
    does (the same cell), and a solved notebook that keeps the cell passes with no note on it."""
    chapter_cell = json.loads((ROOT / "book" / "perceptron.ipynb").read_text())["cells"][0]
    for chapter in bank.CHAPTERS:
        first = json.loads((released / f"{chapter}.ipynb").read_text())["cells"][0]
        assert first["cell_type"] == "code" and first["source"] == chapter_cell["source"]
    notebook = json.loads((released / "perceptron.ipynb").read_text())
    solved = bank.parse_cells((bank.BANK_DIR / "perceptron.py").read_text())
    notebook["cells"] = notebook["cells"][:1] + bank.notebook_json(solved)["cells"]
    (tmp_path / "solved.ipynb").write_text(json.dumps(notebook))  # not in `released`, which other tests read
    (tmp_path / "checks.json").write_text((released / "checks.json").read_text())
    result = _check(tmp_path / "solved.ipynb")
    assert result.returncode == 0 and "note:" not in result.stdout, result.stdout + result.stderr
    assert "3 of 3 exercises pass their public checks" in result.stdout


def test_release_contains_no_solution_or_hidden_test_text(released):
    text = "\n".join(path.read_text() for path in released.iterdir())
    for line in solution_lines():
        assert line not in text, line
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "default_rng", "Call(", "CHECKS"):
        assert marker not in text
    public_file = json.loads((released / "checks.json").read_text())
    public = {e.name: len(e.public_calls) for e in bank.load_exercises()}
    assert {item["name"]: len(item["checks"]) for item in public_file["exercises"]} == public
    hidden_messages = [
        call.message for e in bank.load_exercises() for call in e.calls if not call.public and call.message
    ]
    assert not any(message in text for message in hidden_messages)


def _check(path):
    return subprocess.run(
        [sys.executable, "-m", "mlpkit.cli", "exercises", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_self_check_of_the_released_stub_fails_helpfully(released):
    result = _check(released / "perceptron.ipynb")
    assert result.returncode == 1
    assert "FAIL  The step activation (`step`)" in result.stdout
    assert "step(z) should be 1.0 where z > 0" in result.stdout and "not written yet" in result.stdout
    assert "0 of 3 exercises pass" in result.stdout


def test_self_check_says_a_syntax_error_at_the_function_it_breaks(released):
    stub = (released / "perceptron.py").read_text()
    broken = released / "broken.py"
    broken.write_text(stub.replace('    raise NotImplementedError("nand_weights: write your solution here")',
                                   "    return tf.constant([-1.0, -1.0]), tf.constant(1.5\n"))
    result = _check(broken)
    assert result.returncode == 1
    (line,) = [line for line in result.stdout.splitlines() if "should give 1, 1, 1, 0" in line]
    assert "SyntaxError" in line and "where nand_weights is written" in line and "no function named" not in line
    assert "not written yet" in result.stdout  # the other exercises, unaffected


def test_self_check_of_a_solved_copy_passes(released):
    solved = released / "solved.py"
    solved.write_text((bank.BANK_DIR / "perceptron.py").read_text())
    result = _check(solved)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 of 3 exercises pass their public checks" in result.stdout
    for line in solution_lines():
        assert line not in result.stdout


def test_reference_passes_its_own_checks_for_every_chapter(reference_values):
    # grader.reference_outcomes raises if the reference fails any check; it runs in a grading worker (conftest.py).
    # The answers compared exactly must be truly discrete (0/1 outputs, whole numbers).
    every = bank.load_exercises()
    out = reference_values(bank.CHAPTERS)
    assert sorted(out) == sorted(e.name for e in every)
    exact = {
        f"{e.name}[{i}]": set(np.asarray(checks.decode(out[e.name][i]), dtype=float).ravel().tolist())
        for e in every
        for i, call in enumerate(e.calls)
        if call.compare == "exact"
    }
    assert exact
    for check, values in exact.items():
        assert values <= {0.0, 1.0}, f"{check} compares floats exactly: give it a tolerance"


def test_at_least_three_exercises_per_chapter_with_public_and_hidden_checks():
    loaded = bank.load_exercises()
    for chapter in bank.CHAPTERS:
        mine = [e for e in loaded if e.chapter == chapter]
        assert len(mine) >= 3, chapter
        for exercise in mine:
            assert exercise.public_calls and all(call.message for call in exercise.public_calls), exercise.name
    # Hidden checks for every exercise whose answer is one function of its inputs; weights for
    # NAND and XOR have many right answers and one behavioural check, which is public.
    for exercise in loaded:
        if exercise.name not in ("nand_weights", "xor_weights"):
            assert any(not call.public for call in exercise.calls), exercise.name


def requirement(call):
    """What a check asks beyond its values: how it compares, the kinds and dtypes of its arguments,
    its options (a probe's values aside) and its case."""

    def kind(arg):
        if isinstance(arg, checks.Tensor):
            return f"tensor of {arg.dtype}"
        if isinstance(arg, np.ndarray):
            return f"array of kind {arg.dtype.kind}"
        return type(arg).__name__

    # values the predicate compares with (like a call's arguments) are not requirements
    options = {
        key: value
        for key, value in call.options.items()
        if key not in ("probe", "mistakes", "table", "shape", "limit", "variance")
    }
    return (
        call.compare,
        call.variable,
        tuple(map(kind, call.args)),
        tuple(sorted((k, kind(v)) for k, v in call.kwargs.items())),
        repr(sorted(options.items())),
        "probe" in call.options,
        call.case,
        call.raises,
    )


def test_every_requirement_a_hidden_check_tests_has_a_public_check():
    # A student sees each requirement fail in the self-check before the grade: a dtype, a keyword,
    # a comparison, an overflow check, an edge case. Hidden checks differ only in their values,
    # and no public check is looser than a hidden one like it.
    for exercise in bank.load_exercises():
        for hidden in (call for call in exercise.calls if not call.public):
            alike = [call for call in exercise.public_calls if requirement(call) == requirement(hidden)]
            assert alike, f"{exercise.name}: no public check like the hidden one {requirement(hidden)}"
            assert any(call.rtol <= hidden.rtol and call.atol <= hidden.atol for call in alike), (
                f"{exercise.name}: the public checks like {requirement(hidden)} are looser than the hidden one"
            )
            assert all(values(call) != values(hidden) for call in alike), (
                f"{exercise.name}: a hidden check repeats a public one"
            )


def values(call):
    return json.dumps([checks.encode_args(call), call.options], sort_keys=True)


# -- what the statements require: an exception, a seed honoured, the boundary z = 0 ------------------------------

REQUIRED = ["perceptron", "evaluation", "deep"]
REQUIRED_EXERCISES = ["perceptron_forward", "stratified_folds", "he_uniform"]


def required_solution():
    return "\n\n".join((bank.BANK_DIR / f"{chapter}.py").read_text() for chapter in REQUIRED)


UNSEEDED_FOLDS = """labels = np.asarray(labels)
if not 2 <= k <= len(labels):
    raise ValueError(f"k must be from 2 to {len(labels)}")
rng = np.random.default_rng(GENERATOR)
folds = [[] for _ in range(k)]
dealt = 0
for label in np.unique(labels):
    for index in rng.permutation(np.flatnonzero(labels == label)):
        folds[dealt % k].append(index)
        dealt += 1
return [np.array(fold, dtype=np.int64) for fold in folds]"""
# name: (the exercises' wrong bodies, the cases of the checks it must fail)
WRONG_ANSWERS = {
    "greater_or_equal": ({"perceptron_forward": "z = tf.matmul(x, w) + b\nreturn tf.cast(z >= 0, z.dtype)"},
                         {"perceptron_forward": "boundary"}),
    "unseeded": ({"he_uniform": "a = np.sqrt(6.0 / n_in)\n"
                                "return np.random.default_rng().uniform(-a, a, (n_in, n_out)).astype(np.float32)",
                  "stratified_folds": UNSEEDED_FOLDS.replace("GENERATOR", "")},
                 {"he_uniform": "seed", "stratified_folds": "seed"}),
    "seed_ignored": ({"he_uniform": "a = np.sqrt(6.0 / n_in)\n"
                                    "return np.random.uniform(-a, a, (n_in, n_out)).astype(np.float32)",
                      "stratified_folds": UNSEEDED_FOLDS.replace("GENERATOR", "0")},
                     {"he_uniform": "seed", "stratified_folds": "seed"}),
    "no_value_error": ({"stratified_folds": "\n".join(UNSEEDED_FOLDS.replace("GENERATOR", "seed").splitlines()[:1]
                                                      + UNSEEDED_FOLDS.replace("GENERATOR", "seed").splitlines()[3:])},
                       {"stratified_folds": "invalid k"}),
}


def _kind(call):
    return "seed" if "seed" in call.options else call.case


@pytest.fixture(scope="module")
def graded_requirements(tmp_path_factory, reference_values):
    folder = tmp_path_factory.mktemp("required")
    (folder / "reference.py").write_text(required_solution())
    for name, (bodies, _) in WRONG_ANSWERS.items():
        text = required_solution()
        for exercise, body in bodies.items():
            text = replace_body(text, exercise, body)
        (folder / f"{name}.py").write_text(text)
    out = tmp_path_factory.mktemp("required-grades") / "grades.csv"
    share_reference(out.with_name("grades_units"), REQUIRED, reference_values(REQUIRED))
    graded_units = grader.grade(folder, out, chapters=REQUIRED, workers=2, limits=HONEST_LIMITS, progress=False)
    return {unit["student"]: unit for unit in graded_units}


def test_the_reference_keeps_full_marks_on_the_required_cases(graded_requirements):
    unit = graded_requirements["reference"]
    assert unit["total"] == unit["maximum"] and not unit["notes"], json.dumps(unit, indent=1)[:3000]


@pytest.mark.parametrize("name", list(WRONG_ANSWERS))
def test_an_answer_that_misses_a_stated_requirement_loses_those_points(graded_requirements, name):
    unit = graded_requirements[name]
    _, failing = WRONG_ANSWERS[name]
    exercises = {e.name: e for e in bank.load_exercises(REQUIRED)}
    for exercise_name in REQUIRED_EXERCISES:
        result = unit["exercises"][exercise_name]
        shown = json.dumps(result, indent=1)
        kinds = [_kind(call) for call in exercises[exercise_name].calls]
        if exercise_name not in failing:
            assert result["points"] == result["maximum"], shown
            continue
        # exactly the checks of the requirement it misses fail, public ones among them, with a message that says so
        failed = {kind for kind, check in zip(kinds, result["checks"]) if not check["passed"]}
        assert failed == {failing[exercise_name]} and result["points"] < result["maximum"], shown
        public = [check for kind, check in zip(kinds, result["checks"]) if check["public"] and not check["passed"]]
        assert public and all(check["detail"] for check in public), shown
    assert unit["total"] < unit["maximum"]


def test_the_public_failures_say_what_was_expected(graded_requirements):
    def details(name, exercise):
        return " ".join(c["detail"] for c in graded_requirements[name]["exercises"][exercise]["checks"] if c["public"])

    assert "returned a value; expected it to raise ValueError" in details("no_value_error", "stratified_folds")
    assert "same seed it returned different values" in details("unseeded", "he_uniform")
    assert "another seed gave the same values" in details("seed_ignored", "stratified_folds")
    assert "got 1, expected 0" in details("greater_or_equal", "perceptron_forward")


def test_an_expected_exception_passes_as_itself_or_a_subclass_only():
    call = checks.Call("f", (1,), raises=ValueError, public=True)
    assert call.raises == "ValueError"  # plain data: the name
    mro = ["UnicodeError", "ValueError", "Exception", "BaseException", "object"]
    assert checks.judge(call, {"error": "UnicodeError: no", "raised": mro}) == (True, "")
    passed, detail = checks.judge(call, {"error": "TypeError: bad (cell 1, line 2)", "raised": ["TypeError"]})
    assert not passed and detail.startswith("TypeError: bad") and "expected ValueError" in detail
    assert checks.judge(call, {"value": checks.encode([1, 2])}) == (
        False, "returned a value; expected it to raise ValueError")
    assert not checks.judge(call, {"error": "ValueError: forged, without the classes"})[0]
    with pytest.raises(TypeError, match="Call.raises"):
        checks.Call("f", raises=3)


def test_a_seeded_call_passes_only_if_the_same_seed_gives_the_same_value_and_another_another():
    call = checks.Call("f", (3,), options={"seed": 0})

    def outcome(first, again, other):
        return {"value": checks.encode({"value": first, "same_seed": again, "other_seed": other})}

    a, b = np.arange(4.0), np.arange(4.0) + 1
    reference = checks.decode(outcome(a, a, b)["value"])
    assert checks.judge(call, outcome(a, a, b), reference) == (True, "")
    assert "different values" in checks.judge(call, outcome(a, b, b), reference)[1]
    assert "another seed gave the same values" in checks.judge(call, outcome(a, a, a), reference)[1]
    assert "values differ" in checks.judge(call, outcome(b, b, a), reference)[1]  # the value itself is judged first
    assert "could not check" in checks.judge(call, {"value": checks.encode(a)}, reference)[1]


def test_a_differing_number_shows_the_expected_value_only_in_a_public_check():
    public, hidden = checks.Call("f", public=True, rtol=1e-5), checks.Call("f", rtol=1e-5)
    got, want = {"value": checks.encode(0.5)}, checks.decode(checks.encode(0.75))
    assert checks.judge(public, got, want) == (False, "values differ beyond rtol=1e-05, atol=1e-06: got 0.5, "
                                                      "expected 0.75")
    passed, detail = checks.judge(hidden, got, want)
    assert not passed and "got 0.5" in detail and "0.75" not in detail
    array = checks.judge(public, {"value": checks.encode(np.array([1.0, 2.0]))}, np.array([1.0, 3.0]))[1]
    assert "at index (1,): got 2, expected 3" in array


def test_a_float32_answer_to_a_tight_tolerance_is_told_why_it_fails():
    call = checks.Call("glorot_limit", public=True, rtol=1e-9, atol=0.0)
    want = checks.decode(checks.encode(float(np.sqrt(6 / 35))))
    passed, detail = checks.judge(call, {"value": checks.encode(np.float32(np.sqrt(6 / 35)))}, want)
    assert not passed and "your value is float32" in detail and "rtol=1e-09" in detail and "float64" in detail
    far = checks.judge(call, {"value": checks.encode(np.float32(0.5))}, want)[1]
    assert "float32" not in far and "got 0.5" in far


def test_public_checks_keep_their_case_exception_and_options_through_checks_json(tmp_path):
    from mlpkit.grading import release

    exercises = bank.load_exercises(REQUIRED)
    reference = {e.name: [None if c.raises else checks.encode(0.0) for c in e.calls] for e in exercises}
    path = tmp_path / "checks.json"
    path.write_text(json.dumps(release.public_checks(exercises, reference)))
    back, expected = release.load_public_checks(path)
    for one, two in zip(exercises, back, strict=True):
        for a, b in zip(one.public_calls, two.calls, strict=True):
            assert (a.name, a.compare, a.case, a.raises, a.rtol, a.atol, a.message) == (
                b.name, b.compare, b.case, b.raises, b.rtol, b.atol, b.message)
            assert json.dumps(a.options, sort_keys=True) == json.dumps(b.options, sort_keys=True)
            assert values(a) == values(b)
    assert any(c.raises == "ValueError" for e in back for c in e.calls)
    assert any(c.options.get("seed") == 2 for e in back for c in e.calls)
    assert any(c.case == "boundary" for e in back for c in e.calls)


def test_solution_markers_are_checked():
    with pytest.raises(bank.ExerciseError, match="without"):
        bank.strip_solutions("def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    assert (
        bank.strip_solutions("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", "f")
        == 'def f():\n    raise NotImplementedError("f: write your solution here")'
    )


def test_values_cross_the_boundary_as_json_only():
    assert checks.decode(checks.encode((1, 2.5, [True, None]))) == (1, 2.5, [True, None])
    with pytest.raises(checks.ValueEncodingError, match="not numbers"):
        checks.encode(object())


def _merge_only_with_two_missing(folder, tmp_path):
    """`mlpkit grade --merge-only` with b and c ungraded refuses, naming them; --allow-missing merges a, saying so."""
    import contextlib
    import io

    from mlpkit import cli

    merged = tmp_path / "merged.csv"
    argv = ["grade", str(folder), "--out", str(merged), "--units", str(tmp_path / "grades_units"), "--chapters",
            "perceptron", "--merge-only"]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2 and "--merge-only: 2 of 3 submissions have no finished unit" in err.getvalue()
    assert "(b, c)" in err.getvalue() and "--allow-missing" in err.getvalue() and not merged.exists()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        cli.main([*argv, "--allow-missing"])
    assert "partial gradebook: 2 submissions" in err.getvalue() and "missing" in err.getvalue()
    assert [row["student"] for row in csv.DictReader(merged.open())] == ["a"]


def test_interrupted_grading_keeps_the_csv_and_resumes(tmp_path, monkeypatch):
    folder = tmp_path / "subs"
    folder.mkdir()
    for student in ("a", "b", "c"):
        (folder / f"{student}.py").write_text(solution())
    out = tmp_path / "grades.csv"
    grader.grade(folder, out, chapters=["perceptron"], workers=1, limits=HONEST_LIMITS, progress=False, only=["a.py"])
    before = out.read_text()
    unit_a = tmp_path / "grades_units" / "a.json"
    stamp = unit_a.stat().st_mtime_ns
    _merge_only_with_two_missing(folder, tmp_path)

    real_unit, calls = units.unit, []

    def interrupted(*args):
        calls.append(args[0].name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_unit(*args)

    monkeypatch.setattr(units, "unit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        grader.grade(folder, out, chapters=["perceptron"], workers=1, limits=HONEST_LIMITS, progress=False)
    assert out.read_text() == before  # the previous CSV, intact
    monkeypatch.setattr(units, "unit", real_unit)
    graded_units = grader.grade(folder, out, chapters=["perceptron"], workers=1, limits=HONEST_LIMITS, progress=False)
    assert sorted(u["student"] for u in graded_units) == ["a", "b", "c"]
    assert all(u["total"] == 7 for u in graded_units)
    assert unit_a.stat().st_mtime_ns == stamp  # not regraded
    assert len(list(csv.DictReader(out.open()))) == 3
    out.unlink()  # the batch-system way: units graded elsewhere, merged here
    merged = grader.grade(folder, out, chapters=["perceptron"], progress=False, merge_only=True)
    assert len(merged) == 3 and len(list(csv.DictReader(out.open()))) == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["grade", "no-such-folder", "--out", "g.csv"], "no such folder of submissions"),
        (["grade", ".", "--out", "g.csv", "--chapters", "nonsense"], "no exercises for chapter 'nonsense'"),
        (["exercises", "check", "README.md"], "expected a notebook (.ipynb) or Python file (.py)"),
        (["grade", ".", "--out", "g.csv", "--time-limit", "0"], "--time-limit"),
    ],
)
def test_bad_grading_options_get_one_line_errors(tmp_path, argv, message):
    (tmp_path / "README.md").write_text("not a submission")
    result = subprocess.run(
        [sys.executable, "-m", "mlpkit.cli", *argv], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()[-1]) > 0 and "Traceback" not in result.stderr


def test_unreadable_notebook_is_named(tmp_path):
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(worker.UnreadableSubmission, match="not a readable notebook"):
        worker.submission_cells(tmp_path / "broken.ipynb")


def test_book_blocks_show_solutions_only_in_the_instructor_build():
    for chapter in bank.CHAPTERS:
        public, instructor = bank.book_markdown(chapter), bank.book_markdown(chapter, solutions=True)
        regions = [line for line in solution_lines() if line in (bank.BANK_DIR / f"{chapter}.py").read_text()]
        assert "write your solution here" in public and "Solution:" not in public
        assert not any(line in public for line in regions)
        assert all(line in instructor for line in regions) and instructor.count("Solution:") == public.count(
            "Exercise "
        )


@pytest.mark.parametrize("points, said", [(1, "1 point"), (2, "2 points"), (0.5, "0.5 points"), (1.5, "1.5 points")])
def test_exercise_heading_says_point_for_one_and_points_otherwise(points, said):
    exercise = checks.Exercise("f", "xor", points, "A title", [])
    heading = bank._heading("2.1", exercise)
    assert heading == f"Exercise 2.1: A title ({said}, `f`)" and "1 points" not in heading


# -- the layout shows the trust boundary ------------------------------------------------------------------------

# what runs in a worker and a submission's process
INSIDE = ["preloaded", "worker", "sandbox", "child", "confine", "calls", "cleanup", "models", "procstat"]
MAY_LOAD_INSIDE = {
    "mlpkit",
    "mlpkit.grading",
    "mlpkit.runs",
    "mlpkit.runs.lifetime",
    "mlpkit.quiet",
    *(f"mlpkit.grading.{name}" for name in INSIDE),
}


def _kit_imports(path):
    """The kit's modules that the file ``path`` imports, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.startswith("mlpkit")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlpkit"):
            package = node.module in ("mlpkit", "mlpkit.grading")
            names |= {f"{node.module}.{alias.name}" if package else node.module for alias in node.names}
    return names


def test_what_runs_beside_a_submission_imports_nothing_that_judges_it():
    for name in INSIDE:
        imports = _kit_imports(ROOT / "code" / "grading" / f"{name}.py")
        assert imports <= MAY_LOAD_INSIDE, f"grading/{name}.py imports {sorted(imports - MAY_LOAD_INSIDE)}"
    judges = ["checks", "bank", "release", "grader", "units", "report", "selfcheck", "demo", "lms", "gradescope",
              "authoring", "variants", "similarity", "report_plots", "html_report", "pools"]
    assert sorted(p.stem for p in (ROOT / "code" / "grading").glob("*.py")) == sorted(["__init__", *INSIDE, *judges])


def test_the_grading_modules_import_one_another_without_a_cycle():
    # Imports inside functions count: a cycle hidden in a function is still a cycle for whoever reads the code.
    modules = {
        f"mlpkit.grading.{path.stem}": path
        for path in (ROOT / "code" / "grading").glob("*.py")
        if path.stem != "__init__"
    }
    graph = {name: sorted(_kit_imports(path) & set(modules) - {name}) for name, path in modules.items()}
    assert graph["mlpkit.grading.grader"] and graph["mlpkit.grading.release"]  # the graph is read, not empty
    done, path = set(), []

    def visit(name):
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(name) :] + [name]))
        if name not in done:
            path.append(name)
            for imported in graph[name]:
                visit(imported)
            path.pop()
            done.add(name)

    for name in sorted(graph):
        visit(name)


def test_a_grading_worker_has_loaded_nothing_that_judges(tmp_path):
    (tmp_path / "s.py").write_text(solution())
    with grader.worker_pool(1) as pool:
        raw = pool.submit(
            worker.run_submission,
            str(tmp_path / "s.py"),
            units.plan(bank.load_exercises(["perceptron"])),
            [],
            HONEST_LIMITS,
        ).result(timeout=300)
        loaded = pool.submit(
            eval, "sorted(name for name in __import__('sys').modules if name.startswith('mlpkit'))"
        ).result()
    assert not raw["cells"] and all("outcomes" in result for result in raw["exercises"].values())
    assert set(loaded) <= MAY_LOAD_INSIDE, sorted(set(loaded) - MAY_LOAD_INSIDE)
    assert "mlpkit.grading.checks" not in loaded and "mlpkit.grading.bank" not in loaded


def test_a_reference_file_is_used_only_if_it_matches_its_hash_and_the_graded_units(tmp_path):
    values = {"step": [{"array": [0.0, 1.0], "dtype": "float32", "shape": [2]}]}
    path = tmp_path / ".reference-key.json"
    assert units.shared_reference(path) == (None, None, None)  # none yet: computed, without a warning
    digest = units.reference_digest(values)
    path.write_text(json.dumps({"sha256": digest, "values": values}))
    assert units.shared_reference(path, {digest, None}) == (values, digest, None)
    poisoned = {"step": [{"array": [1.0, 0.0], "dtype": "float32", "shape": [2]}]}
    path.write_text(json.dumps({"sha256": digest, "values": poisoned}))
    assert units.shared_reference(path)[2] == "do not match the SHA-256 recorded with them"
    path.write_text(json.dumps({"sha256": units.reference_digest(poisoned), "values": poisoned}))
    assert units.shared_reference(path, {digest})[2] == "are not those the graded units were judged against"
    path.write_text("{not json")
    assert units.shared_reference(path)[2] == "cannot be read"


def test_shared_reference_values_that_changed_are_computed_again(tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    perceptron = (bank.BANK_DIR / "perceptron.py").read_text()
    (folder / "a.py").write_text(perceptron)
    (folder / "b.py").write_text(bank.python_text(bank.student_cells("perceptron")))
    out = tmp_path / "grades.csv"

    def grade():
        graded_units = grader.grade(
            folder, out, chapters=["perceptron"], workers=1, limits=HONEST_LIMITS, progress=False
        )
        return {unit["student"]: unit["total"] for unit in graded_units}

    assert grade() == {"a": 7, "b": 0}
    (path,) = (tmp_path / "grades_units").glob(".reference-*.json")
    original = json.loads(path.read_text())
    # step's expected outputs turned around, with a SHA-256 to match: the units graded so far disagree with it
    poisoned = json.loads(json.dumps(original))
    poisoned["values"]["step"][0]["array"] = [1.0 - x for x in poisoned["values"]["step"][0]["array"]]
    poisoned["sha256"] = units.reference_digest(poisoned["values"])
    path.write_text(json.dumps(poisoned))
    capsys.readouterr()
    (folder / "c.py").write_text(perceptron)
    assert grade() == {"a": 7, "b": 0, "c": 7}
    assert "are not those the graded units were judged against" in capsys.readouterr().err
    assert json.loads(path.read_text()) == original


def test_the_demo_class_answer_key_is_not_an_entry_to_report(tmp_path):
    (tmp_path / "s0000.py").write_text(solution())
    (tmp_path / "expected.json").write_text('{"s0000": 7.0}')
    assert grader.find_submissions(tmp_path).stray == []
    (tmp_path / "expected.json").write_text('["a student\'s file of that name"]')
    assert [name for name, _ in grader.find_submissions(tmp_path).stray] == ["expected.json"]
