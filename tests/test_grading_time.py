"""A grade does not depend on how busy the machine is: the time limits count the submission's own CPU time.

Answers that are right but slow (each exercise spends about half its limit of CPU time) are graded on the
machine as it is, and again beside four times as many CPU-bound processes as it has cores: the totals and the
notes must be the same. The class is one chapter and its limit 2 s, so the test takes seconds, not minutes.
How a loop (the CPU-time limit) and a sleep (the wall-clock backstop) are stopped is checked with the
adversarial class in ``tests/test_grading.py``.
"""

import os
import re
import subprocess
import sys

from helpers import share_reference
from mlpkit.grading import bank, grader
from mlpkit.grading.sandbox import Limits

CHAPTERS = ["perceptron"]
FULL = 7
LIMITS = Limits(seconds=2, memory=int(1.5 * 2**30))
# CPU time each call spends: the exercise with the most calls (step, four) spends 0.9 s of its 2 s.
SECONDS_PER_CALL = 0.225
SPIN = (
    "    import time\n"
    "    _start = time.process_time()  # this process's CPU time: the same work whatever the machine's load\n"
    f"    while time.process_time() - _start < {SECONDS_PER_CALL}:\n"
    "        pass\n"
)


def slow_solution():
    """The reference solution of ``CHAPTERS``, each of its functions first spending CPU time."""
    source = "\n\n".join((bank.BANK_DIR / f"{chapter}.py").read_text() for chapter in CHAPTERS)
    slow, count = re.subn(r"^(def \w+\(.*?\):\n)", lambda m: m.group(1) + SPIN, source, flags=re.M)
    assert count >= 3
    return slow


def _grade(folder, out, reference):
    share_reference(out.with_name(out.stem + "_units"), CHAPTERS, reference)
    graded = grader.grade(folder, out, chapters=CHAPTERS, workers=2, limits=LIMITS, progress=False)
    return {unit["student"]: (unit["total"], unit["notes"]) for unit in graded}


def test_slow_answers_get_the_same_grades_beside_four_busy_processes_per_core(tmp_path, reference_values):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for student in ("slow_a", "slow_b"):
        (folder / f"{student}.py").write_text(slow_solution())
    reference = reference_values(CHAPTERS)
    idle = _grade(folder, tmp_path / "idle.csv", reference)  # also starts the server the workers are forked from
    assert idle == {"slow_a": (FULL, []), "slow_b": (FULL, [])}
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(4 * (os.cpu_count() or 1))]
    try:
        loaded = _grade(folder, tmp_path / "busy.csv", reference)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert loaded == idle
