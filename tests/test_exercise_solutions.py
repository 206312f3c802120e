"""Correct answers get full marks, wrong ones lose points: every exercise, graded as `mlpkit grade` grades.

For every exercise of every chapter, ALTERNATIVES (gathered from one module per
chapter, ``tests/exercise_solutions/CHAPTER.py``) holds at least two correct
solutions written differently from the reference (another formula or order,
NumPy for TensorFlow or the reverse, a hand-written backward pass for the
tape, the functional API for Sequential), and WRONG at least one plausible
mistake, each with what is wrong. Solution number ``i`` of every exercise goes
into one submission file (``alternative_i.py``, ``wrong_i.py``); exercises
with fewer solutions use the reference there. One grading run (module
fixture) grades them all, public and hidden checks, against the reference values
the test process computes once (``reference_values`` in conftest.py).
"""

import importlib.util
import json
import pathlib

import pytest

from helpers import share_reference
from mlpkit.grading import bank, grader
from mlpkit.grading.sandbox import Limits

HEADER = "import keras\nimport numpy as np\nimport tensorflow as tf\n"
SOLUTIONS = pathlib.Path(__file__).parent / "exercise_solutions"
ALTERNATIVES = {}  # name: [solution], from the chapters' modules below
WRONG = {}  # name: [(solution, what is wrong with it)]


def _load_solutions():
    """Solutions kept beside this file, one module per chapter: ``exercise_solutions/CHAPTER.py``.

    Each defines ``ALTERNATIVES`` (``{exercise: [source, ...]}``) and ``WRONG`` (``{exercise: [(source, what is
    wrong), ...]}``) for its chapter's exercises, each source written with ``helpers.code``.
    """
    for path in sorted(SOLUTIONS.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"exercise_solutions_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for ours, theirs in ((ALTERNATIVES, module.ALTERNATIVES), (WRONG, module.WRONG)):
            clash = set(ours) & set(theirs)
            assert not clash, f"{path.name} repeats solutions of {sorted(clash)}"
            ours.update(theirs)


_load_solutions()

EXERCISES = bank.load_exercises()
REFERENCE = {
    cell.exercise: cell.source
    for chapter in bank.CHAPTERS
    for cell in bank.chapter_cells(chapter)
    if cell.kind == "code" and cell.exercise
}


# The cells every student gets as they are (imports, helpers such as chapter 3's engine).
SHARED = "\n\n".join(
    cell.source
    for chapter in bank.CHAPTERS
    for cell in bank.chapter_cells(chapter)
    if cell.kind == "code" and not cell.exercise
)


def submission(solutions):
    """A file answering every exercise of every chapter: the shared cells, then ``solutions[name]`` where given,
    else the reference."""
    return HEADER + SHARED + "\n\n" + "\n\n".join(solutions.get(e.name, REFERENCE[e.name]) for e in EXERCISES)


FILES = {
    **{
        f"alternative_{i}": submission({name: found[i] for name, found in ALTERNATIVES.items() if i < len(found)})
        for i in range(max(map(len, ALTERNATIVES.values())))
    },
    **{
        f"wrong_{i}": submission({name: found[i][0] for name, found in WRONG.items() if i < len(found)})
        for i in range(max(map(len, WRONG.values())))
    },
}
ALTERNATIVE_CASES = [(name, i) for name, found in ALTERNATIVES.items() for i in range(len(found))]
WRONG_CASES = [(name, i) for name, found in WRONG.items() for i in range(len(found))]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, reference_values):
    folder = tmp_path_factory.mktemp("solutions")
    for student, text in FILES.items():
        (folder / f"{student}.py").write_text(text)
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    # The reference's values as the other tests of this process have them (graded once per process).
    share_reference(out.with_name("grades_units"), bank.CHAPTERS, reference_values(bank.CHAPTERS))
    units = grader.grade(folder, out, chapters=bank.CHAPTERS, workers=2, limits=Limits(seconds=120), progress=False)
    return {unit["student"]: unit for unit in units}


def test_every_exercise_has_two_other_right_answers_and_a_wrong_one():
    assert sorted(path.stem for path in SOLUTIONS.glob("*.py")) == sorted(bank.CHAPTERS)  # one module per chapter
    names = {e.name for e in EXERCISES}
    assert set(ALTERNATIVES) == names and set(WRONG) == names
    assert all(len(found) >= 2 for found in ALTERNATIVES.values()) and all(WRONG.values())
    for name, found in ALTERNATIVES.items():  # written differently from the reference and from each other
        bodies = {_body(text.split("\n", 1)[1]) for text in found}
        assert len(bodies) == len(found) and _body(REFERENCE[name].split(bank.BEGIN)[1]) not in bodies, name


def _body(text):
    """The code lines of a function body, without comments, markers or indentation."""
    return tuple(line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip())


def _result(unit, name):
    result = unit["exercises"][name]
    return result, json.dumps(result, indent=1)


@pytest.mark.parametrize("name, index", ALTERNATIVE_CASES, ids=[f"{n}-{i}" for n, i in ALTERNATIVE_CASES])
def test_a_right_answer_written_differently_gets_full_marks(graded, name, index):
    unit = graded[f"alternative_{index}"]
    result, shown = _result(unit, name)
    assert result["points"] == result["maximum"] and all(check["passed"] for check in result["checks"]), shown
    assert not unit["notes"], unit["notes"]


@pytest.mark.parametrize("name, index", WRONG_CASES, ids=[f"{n}-{i}" for n, i in WRONG_CASES])
def test_a_wrong_answer_loses_points_and_a_public_check_says_so(graded, name, index):
    result, shown = _result(graded[f"wrong_{index}"], name)
    assert result["points"] < result["maximum"], f"{WRONG[name][index][1]}: {shown}"
    assert any(not check["passed"] for check in result["checks"] if check["public"]), (
        f"{WRONG[name][index][1]}: {shown}"
    )


def test_wrong_files_lose_only_their_wrong_answers(graded):
    for index in range(max(map(len, WRONG.values()))):
        unit = graded[f"wrong_{index}"]
        for name, result in unit["exercises"].items():
            if index >= len(WRONG[name]):  # the reference
                assert result["points"] == result["maximum"], (index, name)


def test_the_efficient_adam_form_is_named_in_the_public_feedback(graded):
    result, shown = _result(graded["wrong_0"], "adam_step")
    public = [check for check in result["checks"] if check["public"]]
    assert not public[0]["passed"] and "efficient form" in public[0]["detail"], shown
    assert "efficient form" in public[0]["message"]


def test_an_overflow_the_result_hides_is_caught(graded):
    for index in (0, 1):  # the naive formula, and tf.where over both branches
        result, shown = _result(graded[f"wrong_{index}"], "sigmoid")
        overflow = [check for check in result["checks"] if check["public"]][1]
        assert not overflow["passed"] and overflow["detail"].startswith("FloatingPointError"), shown


def test_the_dropout_model_is_judged_by_behaviour(graded):
    misordered, shown = _result(graded["wrong_0"], "build_dropout_model")  # same in inference, not in training
    kinds = [(check["public"], check["passed"]) for check in misordered["checks"]]
    assert kinds == [(True, True), (True, False), (False, True), (False, False)], shown
    assert "a Dropout layer is missing, misplaced or has another rate" in misordered["checks"][1]["detail"]
    no_relu, shown = _result(graded["wrong_1"], "build_dropout_model")
    assert "in inference mode" in no_relu["checks"][0]["detail"] and no_relu["points"] == 0, shown
