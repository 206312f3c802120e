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
        args = [bank_dir] if action == "validate" else [tmp_path / "out", "--bank", bank_dir]
        result = run("exercises", action, *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert str(bank_dir) in result.stderr and "NAME.py and NAME_checks.py" in result.stderr


def test_release_and_demo_class_use_the_bank_they_are_given(tmp_path):
    authoring.new_chapter(tmp_path / "bank", "week1")
    released = run("exercises", "release", tmp_path / "handout", "--bank", tmp_path / "bank")
    assert released.returncode == 0, released.stderr
    assert {p.name for p in (tmp_path / "handout").iterdir()} == {"week1.ipynb", "week1.py", "checks.json",
                                                                   "README.md"}
    stub = (tmp_path / "handout" / "week1.py").read_text()
    assert "Exercise 1.1: Mean squared error (2 points" in stub and "reduce_mean" not in stub
    public = json.loads((tmp_path / "handout" / "checks.json").read_text())
    assert [item["name"] for item in public["exercises"]] == ["week1_mse"]
    demo = run("exercises", "demo-class", tmp_path / "class", "--students", 4, "--bank", tmp_path / "bank")
    assert demo.returncode == 0, demo.stderr
    assert "chapters week1" in demo.stdout
    assert len(list((tmp_path / "class").glob("s000*"))) == 4
