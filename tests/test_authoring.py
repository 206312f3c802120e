"""An instructor's own bank: `mlpkit exercises new`, `validate` and `--bank` (`mlpkit.grading.authoring`)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from helpers import code
from mlpkit.grading import authoring, bank

MLPKIT = pathlib.Path(sys.executable).parent / "mlpkit"


def run(*args):
    env = {key: value for key, value in os.environ.items() if key != "MLPKIT_BANK"}
    return subprocess.run([str(MLPKIT), *map(str, args)], capture_output=True, text=True, timeout=600, env=env)


def test_a_new_chapter_validates_as_it_stands(tmp_path):
    made = run("exercises", "new", tmp_path / "bank", "week1")
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in (tmp_path / "bank").iterdir()) == ["week1.py", "week1_checks.py"]
    checks = bank.open_bank(tmp_path / "bank").load_exercises()[0].calls
    assert [call.public for call in checks] == [True, False]  # one public and one hidden check
    checked = run("exercises", "validate", tmp_path / "bank")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip().splitlines() == [f"{tmp_path / 'bank'}: 1 chapter, 1 exercise, 2 checks: valid"]
    again = run("exercises", "new", tmp_path / "bank", "week1")  # never replaces a chapter
    assert again.returncode == 2 and "exist" in again.stderr and "Traceback" not in again.stderr
    assert run("exercises", "new", tmp_path / "bank", "week-2").returncode == 2  # not an identifier


def test_the_built_in_bank_validates():
    problems, summary = authoring.validate(bank.BUILT_IN)
    assert not problems, "\n".join(problems)
    assert summary.endswith(": valid") and f"{len(bank.CHAPTERS)} chapters" in summary


BROKEN = code('''
    # %%
    import numpy as np

    # %% [markdown] exercise="free"
    # ## Free points

    # %% exercise="free"
    def free_helper():
        return 1.0

    def free(x):
        ### BEGIN SOLUTION
        return x
        ### END SOLUTION

    # %% [markdown] exercise="noisy"
    # ## Noisy

    # %% exercise="noisy"
    def noisy(x):
        ### BEGIN SOLUTION
        return np.random.default_rng().normal(size=3)
        ### END SOLUTION

    # %% [markdown] exercise="fails"
    # ## Fails its own check

    # %% exercise="fails"
    def fails(x):
        ### BEGIN SOLUTION
        return x + 0.5
        ### END SOLUTION
''')

BROKEN_CHECKS = code('''
    from mlpkit.grading import Call, Tensor

    CHECKS = {
        "free": dict(points=0, calls=[
            Call("free", (Tensor([1.0]),), public=True),
            Call("free_helper", public=True),
            Call("free", (Tensor([2.0]),), compare="exact"),
            Call("missing", public=True),
        ]),
        "noisy": dict(points=1, calls=[Call("noisy", (1,), public=True)]),
        "fails": dict(points=1, calls=[Call("fails", (Tensor([1.0]),), public=True, compare="integer")]),
    }
''')


def test_validate_names_the_chapter_exercise_and_check_of_every_problem(tmp_path):
    (tmp_path / "week1.py").write_text(BROKEN)
    (tmp_path / "week1_checks.py").write_text(BROKEN_CHECKS)
    problems, summary = authoring.validate(bank.open_bank(tmp_path))
    text = "\n".join(problems)
    expected = [
        "week1: exercise free: points=0; give it a positive",
        "week1: exercise free: check 3 (hidden, compare='exact') has no public check of its kind",
        "week1: exercise free: its checks call 'missing', which no code cell of the chapter defines",
        "week1: exercise free, check 2 (public): the released stub (the code without its solution) passes it",
        "week1: exercise noisy, check 1 (public): the reference solution gives another value on a second run",
        "week1: exercise fails, check 1 (public): the reference solution fails its own check",
    ]
    for line in expected:
        assert line in text, f"{line!r} not in:\n{text}"
    assert "check 1 (public): the released stub" not in text  # the stub raises NotImplementedError: no points
    assert summary.endswith(f"{len(problems)} problems") and len(problems) == 7  # the missing call also fails to run


def test_validate_refuses_names_that_collide_across_chapters(tmp_path):
    authoring.new_chapter(tmp_path, "week1")
    for name in ("week1.py", "week1_checks.py"):  # week2 is a copy: the same exercise name in two chapters
        (tmp_path / name.replace("week1", "week2")).write_text((tmp_path / name).read_text())
    problems, _ = authoring.validate(bank.open_bank(tmp_path))
    assert problems == ["exercise 'week1_mse' is in both week1 and week2; rename one (exercise names, and so "
                        "function names, are unique across a bank)"]


@pytest.mark.parametrize("action", ["release", "demo-class", "gradescope", "validate"])
def test_a_bank_that_is_not_a_folder_of_chapters_gets_one_line(tmp_path, action):
    (tmp_path / "empty").mkdir()
    for bank_dir in (tmp_path / "missing", tmp_path / "empty"):
        out = tmp_path / ("out.zip" if action == "gradescope" else "out")
        args = [bank_dir] if action == "validate" else [out, "--bank", bank_dir]
        result = run("exercises", action, *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert str(bank_dir) in result.stderr and "NAME.py and NAME_checks.py" in result.stderr


def test_release_and_demo_class_use_the_bank_they_are_given(tmp_path):
    authoring.new_chapter(tmp_path / "bank", "week1")
    released = run("exercises", "release", tmp_path / "handout", "--bank", tmp_path / "bank")
    assert released.returncode == 0, released.stderr
    assert {p.name for p in (tmp_path / "handout").iterdir()} == {"week1.ipynb", "week1.py", "checks.json",
                                                                   "README.md", ".mlpkit-release.json"}
    stub = (tmp_path / "handout" / "week1.py").read_text()
    assert "Exercise 1.1: Mean squared error (2 points" in stub and "reduce_mean" not in stub
    readme = (tmp_path / "handout" / "README.md").read_text()
    assert "at most 32 MB" in readme and "Clear all outputs" in readme and "several chapters" in readme
    public = json.loads((tmp_path / "handout" / "checks.json").read_text())
    assert [item["name"] for item in public["exercises"]] == ["week1_mse"]
    demo = run("exercises", "demo-class", tmp_path / "class", "--students", 4, "--bank", tmp_path / "bank")
    assert demo.returncode == 0, demo.stderr
    assert "chapters week1" in demo.stdout
    assert len(list((tmp_path / "class").glob("s000*"))) == 4


ALICE = code('''
    import tensorflow as tf


    def _check_shapes(first, second):
        """Both tensors must have one shape; returns how many entries they hold."""
        if first.shape != second.shape:
            raise ValueError(f"shapes differ: {first.shape} and {second.shape}")
        return tf.size(first)


    def _squared_differences(first, second):
        difference = tf.subtract(first, second)
        squared = tf.multiply(difference, difference)
        return squared


    def week1_mse(y_true, y_pred):
        count = _check_shapes(y_true, y_pred)
        total = tf.reduce_sum(_squared_differences(y_true, y_pred))
        return total / tf.cast(count, total.dtype)
''')

BOB = code('''
    # Alice's, with every name changed and the functions in another order
    import tensorflow as tf


    def week1_mse(labels, guesses):
        n = entries_of(labels, guesses)
        s = tf.reduce_sum(gaps_squared(labels, guesses))
        return s / tf.cast(n, s.dtype)


    def gaps_squared(u, v):
        gap = tf.subtract(u, v)
        sq = tf.multiply(gap, gap)
        return sq


    def entries_of(u, v):
        if u.shape != v.shape:
            raise ValueError(f"mismatch: {u.shape} vs {v.shape}")
        return tf.size(u)
''')

CAROL = code('''
    # correct, written independently
    import numpy as np


    def week1_mse(y_true, y_pred):
        errors = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
        return float(np.mean(errors**2))
''')

DAVE = code('''
    # wrong: the sum, not the mean
    import tensorflow as tf


    def week1_mse(y_true, y_pred):
        return tf.reduce_sum(tf.square(y_true - y_pred))
''')

MALLORY = code('''
    # reads the bank's checks to find the hidden values: the kernel refuses
    import pathlib

    BANK = pathlib.Path("{bank}")


    def week1_mse(y_true, y_pred):
        return float(len((BANK / "week1_checks.py").read_text()))
''')


def test_an_instructor_s_bank_from_an_empty_folder_to_a_graded_class(tmp_path):
    import csv

    bank_dir, key = tmp_path / "my-bank", tmp_path / "course.key"
    for args in (("exercises", "new", bank_dir, "week1"), ("exercises", "validate", bank_dir),
                 ("exercises", "new-key", key),
                 ("exercises", "release", tmp_path / "handout", "--bank", bank_dir, "--course-key", key)):
        result = run(*args)
        assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "handout" / "week1.ipynb").is_file()
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for student, text in {"alice": ALICE, "bob": BOB, "carol": CAROL, "dave": DAVE,
                          "mallory": MALLORY.replace("{bank}", str(bank_dir))}.items():
        (submissions / f"{student}.py").write_text(text)
    out = tmp_path / "grades" / "grades.csv"
    result = run("grade", submissions, "--out", out, "--bank", bank_dir, "--course-key", key, "--chapters", "week1",
                 "--workers", 2)
    assert result.returncode == 0, result.stdout + result.stderr
    totals = {row["student"]: float(row["total"]) for row in csv.DictReader(out.open())}
    assert totals == {"alice": 2, "bob": 2, "carol": 2, "dave": 0, "mallory": 0}
    pairs = {frozenset((row["student_a"], row["student_b"])): row
             for row in csv.DictReader(out.with_name("grades_similarity.csv").open())}
    assert pairs[frozenset(("alice", "bob"))]["flagged"] == "yes"
    assert pairs.get(frozenset(("alice", "carol")), {"flagged": "no"})["flagged"] == "no"
    assert not any(row["flagged"] == "yes" for pair, row in pairs.items() if "carol" in pair)
    report = out.with_name("grades_report.html").read_text()
    assert "alice" in report and "bob" in report and "<img" in report
    assert "PermissionError" in (out.with_name("grades_feedback") / "mallory.md").read_text()
    secret = key.read_text().split()[-1]  # the course key's digits are in no file the run wrote
    written = [path for path in (tmp_path / "grades").rglob("*") if path.is_file()]
    written += [path for path in (tmp_path / "handout").rglob("*") if path.is_file()]
    assert written and not [path for path in written if secret in path.read_text(errors="replace")]
