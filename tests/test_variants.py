"""Course keys (`mlpkit.grading.variants`): a course's own hidden inputs, stable for a key, never in a submission."""

import pickle
import stat

import pytest

from mlpkit.grading import bank, grader, variants
from mlpkit.grading.sandbox import Limits


def test_a_key_is_written_once_private_and_read_back(tmp_path):
    path = variants.new_key(tmp_path / "course.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(variants.read_key(path)) == variants.KEY_BYTES
    with pytest.raises(variants.CourseKeyError, match="never overwritten"):
        variants.new_key(path)
    (tmp_path / "bad.key").write_text("not a key\n")
    for bad in (tmp_path / "bad.key", tmp_path / "missing.key"):
        with pytest.raises(variants.CourseKeyError, match="new-key"):
            variants.read_key(bad)


def _hidden_inputs(course_bank, chapter="perceptron"):
    exercises = course_bank.load_exercises([chapter])
    return [repr(call.args) for exercise in exercises for call in exercise.calls if not call.public]


def test_two_keys_draw_other_hidden_inputs_and_one_key_the_same_twice(tmp_path):
    keys = [variants.read_key(variants.new_key(tmp_path / f"{name}.key")) for name in ("a", "b")]
    banks = [bank.Bank(bank.BANK_DIR, course_key=key) for key in (keys[0], keys[1], keys[0])]
    inputs = [_hidden_inputs(course) for course in [bank.BUILT_IN, *banks]]
    assert inputs[1] == inputs[3]  # the same key: the same inputs (regrades agree)
    assert len({tuple(i) for i in inputs[:3]}) == 3  # no key, key a, key b: three different sets
    # the drawn inputs are reproducible: loading again under key a gives them again
    assert _hidden_inputs(bank.Bank(bank.BANK_DIR, course_key=keys[0])) == inputs[1]
    assert len({course.source_key(["perceptron"]) for course in [bank.BUILT_IN, *banks]}) == 3  # units go stale


def test_the_expected_values_follow_the_key(tmp_path):
    keys = [variants.read_key(variants.new_key(tmp_path / f"{name}.key")) for name in ("a", "b")]
    chapters, limits = ["perceptron"], Limits(seconds=600, total_seconds=3600)
    values = []
    with grader.worker_pool(1) as pool:
        for key in (keys[0], keys[1], keys[0]):
            course = bank.Bank(bank.BANK_DIR, course_key=key)
            task = (grader._reference_task, course.load_exercises(chapters), course.reference_cells(chapters), limits)
            values.append(pool.submit(*task).result())
    exercises = bank.load_exercises(chapters)
    hidden = [(exercise.name, index) for exercise in exercises for index, call in enumerate(exercise.calls)
              if not call.public and call.args]
    assert hidden
    assert [values[0][name][i] for name, i in hidden] == [values[2][name][i] for name, i in hidden]
    assert [values[0][name][i] for name, i in hidden] != [values[1][name][i] for name, i in hidden]


def test_what_a_worker_is_sent_holds_no_key(tmp_path):
    key = variants.read_key(variants.new_key(tmp_path / "course.key"))
    course = bank.Bank(bank.BANK_DIR, course_key=key)
    sent = pickle.dumps((course.load_exercises(), course.reference_cells()))
    assert key not in sent and key.hex().encode() not in sent
    assert variants._drawing.get() is None  # the key is dropped once the checks are loaded


def test_variant_choice_is_the_first_option_without_a_key_and_the_keys_with_one():
    assert variants.variant_choice("rows", [4, 5, 6]) == 4
    picks = set()
    for index in range(20):
        with variants.drawing(bytes([index]) * variants.KEY_BYTES, "week1"):
            picks.add(variants.variant_choice("rows", [4, 5, 6]))
    assert picks == {4, 5, 6}
