"""Ctrl-C and SIGTERM (`mlpkit.runs.interrupts`): one line, status 130 or 143, nothing left running or half-written.

The installed command runs in a session of its own, and the test presses
Ctrl-C as a terminal does: ``SIGINT`` to the whole process group, the
workers included, twice, at moments drawn from a seeded generator. Then no
process of the session is left, no working folder of a submission, and a
rerun keeps what the interrupted run finished and completes the rest.
Bounds on time are generous: CI machines are busy.
"""

import csv
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import pytest

from helpers import kill_all
from mlpkit import cli
from mlpkit.runs import interrupts, outputs

MLPKIT = pathlib.Path(sys.executable).parent / "mlpkit"
EXIT_WITHIN = 30  # seconds from the first Ctrl-C: "a few seconds", with room for a busy machine

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux's /proc to list processes")


def _environment(tmp_path):
    temporary = tmp_path / "tmp"  # where a submission's working folder is made
    temporary.mkdir(exist_ok=True)
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", MLPKIT_NO_DOWNLOAD="1", TMPDIR=str(temporary))


def _stat(pid):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else (int(fields[1]), int(fields[4]))  # (parent, session); zombies have ended


def _processes():
    return {int(pid): stat for pid in os.listdir("/proc") if pid.isdigit() and (stat := _stat(pid))}


def _of_run(leader, known=()):
    """The living processes of ``leader``'s session, and those of ``known`` still alive."""
    table = _processes()
    return sorted(pid for pid, (_, session) in table.items() if session == leader) + sorted(set(known) & set(table))


def _descendants(root):
    table, found, frontier = _processes(), set(), {root}
    while frontier:
        frontier = {pid for pid, (parent, _) in table.items() if parent in frontier} - found
        found |= frontier
    return found


def _press_ctrl_c_twice(argv, tmp_path, seed, first=(1.0, 8.0)):
    """Run ``mlpkit ARGV``; press Ctrl-C at a seeded moment, again a moment later; ``(status, stderr, seconds)``."""
    rng = random.Random(seed)
    delays = [rng.uniform(*first), rng.uniform(0.0, 1.5)]
    main = subprocess.Popen([str(MLPKIT), *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_environment(tmp_path), start_new_session=True)
    seen, pressed = set(), None
    try:
        for delay in delays:
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and main.poll() is None:
                seen |= _descendants(main.pid)
                time.sleep(0.1)
            if main.poll() is None:
                pressed = pressed or time.monotonic()
                os.killpg(main.pid, signal.SIGINT)
        _, err = main.communicate(timeout=EXIT_WITHIN + 30)
        seconds = time.monotonic() - pressed if pressed else 0.0
        deadline = time.monotonic() + 15  # the kernel ends a killed worker's children within moments
        while time.monotonic() < deadline and _of_run(main.pid, seen):
            time.sleep(0.2)
        assert pressed, f"the command ended before Ctrl-C was pressed: {err[-2000:]}"
        assert _of_run(main.pid, seen) == [], "processes of the interrupted run are still running"
        return main.returncode, err, seconds
    finally:
        kill_all([main.pid, *seen])


def _assert_interrupted(status, err, seconds):
    assert status == 130, err[-3000:]
    assert err.rstrip().splitlines()[-1] == "mlpkit: interrupted", err[-3000:]
    assert err.count("mlpkit: interrupted") == 1 and "Traceback" not in err and "Error" not in err, err[-3000:]
    assert seconds < EXIT_WITHIN


def _units(folder):
    """The unit files in ``folder`` (not the hidden reference values beside them: pathlib's glob lists those)."""
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.json")) if not path.name.startswith(".")}


@pytest.mark.parametrize("seed", [25])
def test_ctrl_c_twice_in_grade_exits_cleanly_and_the_rerun_resumes(tmp_path, seed, capsys):
    demo = tmp_path / "demo"
    cli.main(["exercises", "demo-class", str(demo), "--students", "60", "--seed", "3"])  # about 15 s on 2 idle cores
    expected = json.loads((demo / "expected.json").read_text())
    out = tmp_path / "grades.csv"
    argv = ["grade", demo, "--out", out, "--workers", "2"]
    status, err, seconds = _press_ctrl_c_twice(argv, tmp_path, seed, first=(2.0, 14.0))
    _assert_interrupted(status, err, seconds)
    if out.exists():  # pressed while the finished gradebook was being written, which is done whole or not at all
        assert len(out.read_text().splitlines()) == 1 + len(expected)
    assert list((tmp_path / "tmp").iterdir()) == []  # no submission's working folder left
    kept = _units(tmp_path / "grades_units")

    rerun = subprocess.run([str(MLPKIT), *map(str, argv)], capture_output=True, text=True, timeout=900,
                           env=_environment(tmp_path))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    if kept:
        assert f"({len(kept)} graded by an earlier run, kept)" in rerun.stderr
    assert {name: data for name, data in _units(tmp_path / "grades_units").items() if name in kept} == kept
    with out.open() as handle:
        totals = {row["student"]: float(row["total"]) for row in csv.DictReader(handle)}
    assert totals == pytest.approx(expected)  # every student, and the points the demo class says
    assert not (tmp_path / "grades_skipped.csv").exists()  # expected.json is the kit's own file, not an entry


@pytest.mark.parametrize("seed", [6])
def test_ctrl_c_twice_in_a_study_with_two_workers_exits_cleanly_and_the_rerun_resumes(tmp_path, seed):
    out = tmp_path / "study"
    argv = ["study", "--lr", "0.9,0.5", "--folds", "2", "--images", "400", "--epochs", "8", "--workers", "2",
            "--no-download", "--out", out]  # about 20 s of training on 2 idle cores: still running at 8 s
    status, err, seconds = _press_ctrl_c_twice(argv, tmp_path, seed, first=(1.0, 8.0))
    _assert_interrupted(status, err, seconds)
    assert not (out / "results.json").exists()
    assert not list(out.rglob("*.partial"))  # unit files are whole or absent
    kept = _units(out / "units")

    rerun = subprocess.run([str(MLPKIT), *map(str, argv)], capture_output=True, text=True, timeout=900,
                           env=_environment(tmp_path))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    units = _units(out / "units")
    assert len(units) == 4 and {name: units[name] for name in kept} == kept  # finished units reused as they were
    assert len(json.loads((out / "results.json").read_text())["results"]) == 2


# -- SIGTERM (`timeout`, Slurm) -------------------------------------------------------------------------------------

def test_sigterm_during_a_release_removes_its_unfinished_folder_and_says_so(tmp_path):
    handout = tmp_path / "handout"
    handout.mkdir()
    (handout / ".partial-old").mkdir()  # what a kill -9 of an older run left
    (handout / ".partial-old" / "perceptron.ipynb").write_text("half")
    main = subprocess.Popen([str(MLPKIT), "exercises", "release", str(handout)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_environment(tmp_path), start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and main.poll() is None and not list(handout.glob(".partial-*-*-*")):
        time.sleep(0.05)  # the stale folder is removed and the release's own is made before the reference runs
    main.send_signal(signal.SIGTERM)
    _, err = main.communicate(timeout=EXIT_WITHIN + 30)
    assert main.returncode == 143, err[-3000:]
    assert f"removed {handout / '.partial-old'}, the unfinished output of a run that was killed" in err
    assert err.rstrip().splitlines()[-1] == f"mlpkit: terminated; removed the unfinished output in {handout}"
    assert "Traceback" not in err
    assert list(handout.iterdir()) == []  # the folder as it was, without the stale stage


def test_sigterm_during_demo_class_removes_what_it_wrote(tmp_path, monkeypatch, capsys):
    from mlpkit.grading import demo

    def terminated(folder, *args, **kwargs):
        (pathlib.Path(folder) / "s0000.py").write_text("x = 1\n")
        raise interrupts.Terminated  # what the handler raises on SIGTERM, in the middle of writing

    monkeypatch.setattr(demo, "make_demo_class", terminated)
    with pytest.raises(SystemExit) as exited:
        cli.main(["exercises", "demo-class", str(tmp_path / "new" / "demo")])
    err = capsys.readouterr().err
    assert exited.value.code == 143
    assert err.strip() == f"mlpkit: terminated; removed the unfinished output in {tmp_path / 'new' / 'demo'}"
    assert list(tmp_path.iterdir()) == []


def test_a_stale_partial_folder_does_not_make_the_folder_not_empty(tmp_path, capsys):
    out = tmp_path / "demo"
    out.mkdir()
    stale = out / f"{outputs.STAGE}{os.uname().nodename}-999999999-abcdefgh"
    (stale / "deep").mkdir(parents=True)
    cli.main(["exercises", "demo-class", str(out), "--students", "2"])
    err = capsys.readouterr().err
    assert f"mlpkit: removed {stale}, the unfinished output of a run that was killed" in err
    assert sorted(p.name for p in out.iterdir()) == ["expected.json", "s0000.py", "s0001.ipynb"]


def test_a_stage_of_a_running_process_is_left_alone(tmp_path):
    alive = tmp_path / f"{outputs.STAGE}{os.uname().nodename}-{os.getpid()}-abcdefgh"
    alive.mkdir()
    outputs.check_folder(tmp_path, "OUT_DIR", empty=True)  # not counted as content either
    assert outputs.remove_stale(tmp_path) == [] and alive.is_dir()
