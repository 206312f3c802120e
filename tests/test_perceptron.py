"""Chapter 1: tensors, matrix products and the step-function perceptron."""


import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import tensorflow as tf

from mlpkit import perceptron
from mlpkit.perceptron import LOGIC_INPUTS, TRUTH_TABLES, Perceptron
from mlpkit.plotting import plot_decision_lines

# Exact equality of the small products below is safe on every CPU: their inputs and every partial sum
# are small integers or halves, exactly representable in float32, so no rounding happens in any order.


def test_row_times_column_is_one_by_one():
    out = tf.matmul(tf.constant([[1.0, 0.0]]), tf.Variable([[0.5], [0.5]]))
    assert out.shape == (1, 1)
    np.testing.assert_array_equal(out, [[0.5]])


def test_swapped_operands_give_two_by_two_and_products_do_not_commute():
    a, b = tf.constant([[1.0, 0.0]]), tf.constant([[0.5], [0.5]])
    swapped = tf.matmul(b, a)
    assert swapped.shape == (2, 2)
    np.testing.assert_array_equal(swapped, [[0.5, 0.0], [0.5, 0.0]])
    assert tf.matmul(a, b).shape != swapped.shape


def test_erratum_matrix_times_vector():
    product = tf.matmul(tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([[10.0], [20.0]]))
    np.testing.assert_array_equal(product, [[50.0], [110.0]])
    assert not np.array_equal(product, [[30.0], [140.0]])  # what the thesis printed


def test_matmul_rejects_rank_one_input():
    # Only the exception type is checked. TensorFlow's wording depends on its version and on which
    # kernel runs: the thesis's said "In[0] is not a matrix"; 2.21 says "In[0] ndims must be >= 2"
    # with oneDNN on and "In[0] and In[1] has different ndims: [2] vs. [2,1]" with it off.
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.matmul(tf.constant([1.0, 0.0]), tf.constant([[0.5], [0.5]]))
    # The same numbers as a (1, 2) matrix are accepted: the rank alone was refused.
    assert tf.matmul(tf.constant([[1.0, 0.0]]), tf.constant([[0.5], [0.5]])).shape == (1, 1)


@pytest.mark.parametrize("bad", [[1.0, 0.0], [[1.0, 0.0, 1.0]], [[[1.0, 0.0]]]])
def test_perceptron_names_expected_shape(bad):
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 2\); got shape"):
        Perceptron([[1.0], [1.0]], -1.0)(bad)


def test_rank_one_error_says_how_to_fix_it():
    with pytest.raises(ValueError, match=r"Wrap a single example in a list: \[x\]"):
        Perceptron([[1.0], [1.0]], -1.0)([1.0, 0.0])


def test_perceptron_rejects_bad_parameters():
    with pytest.raises(ValueError, match=r"weights must have shape \(inputs, units\)"):
        Perceptron([1.0, 1.0], 0.0)
    with pytest.raises(ValueError, match="bias must have 2 entries"):
        Perceptron([[1.0, 1.0], [1.0, 1.0]], [0.0, 0.0, 0.0])


def test_perceptron_keeps_variables_in_a_module():
    p = Perceptron([[1.0], [1.0]], -1.5)
    assert len(p.trainable_variables) == 2
    assert repr(p) == "Perceptron(2 -> 1, activation=step)"


def test_and_weights_without_activation():
    z = Perceptron([[1.0], [1.0]], -1.0, activation=None)(LOGIC_INPUTS)
    np.testing.assert_allclose(z.numpy().ravel(), [-1.0, 0.0, 0.0, 1.0], atol=0)


@pytest.mark.parametrize("name, bias", [("AND", -1.5), ("OR", -0.5)])
def test_gates_share_weights_and_differ_in_bias(name, bias):
    weights, gate_bias = perceptron.GATE_WEIGHTS[name]
    assert weights == [[1.0], [1.0]] and gate_bias == bias
    np.testing.assert_array_equal(perceptron.truth_table(perceptron.gate(name)), TRUTH_TABLES[name])


def test_unknown_gate_is_named():
    with pytest.raises(ValueError, match="unknown gate 'XOR'"):
        perceptron.gate("XOR")


@pytest.mark.parametrize("name, offset", [("AND", 1.5), ("OR", 0.5)])
def test_decision_line_is_x_plus_y_equals_offset(name, offset):
    weights, bias = perceptron.GATE_WEIGHTS[name]
    ax = plot_decision_lines([(weights, bias, name)], TRUTH_TABLES[name], title=name)
    (line,) = ax.get_lines()
    xs, ys = line.get_data()
    np.testing.assert_allclose(xs + ys, offset, atol=1e-12)
    assert ax.get_title() == name and ax.get_xlabel() and ax.get_ylabel()


def test_eager_tensors_can_be_iterated():
    assert [float(v) for v in tf.constant([3.0, -1.0, 0.5])] == [3.0, -1.0, 0.5]


def _all_truth_tables():
    return [np.array([(i >> bit) & 1 for bit in (3, 2, 1, 0)]) for i in range(16)]


def test_exactly_fourteen_of_sixteen_tables_are_separable():
    separable = 0
    for targets in _all_truth_tables():
        found = perceptron.linear_separator(targets)
        if found is not None:
            separable += 1
            np.testing.assert_array_equal(perceptron.truth_table(Perceptron(*found)), targets)
    assert separable == 14


@pytest.mark.parametrize("name", ["XOR", "XNOR"])
def test_no_single_perceptron_computes_xor(name):
    assert perceptron.linear_separator(TRUTH_TABLES[name]) is None


@pytest.mark.parametrize("name", ["AND", "OR", "NAND", "NOR"])
@pytest.mark.parametrize("seed", range(5))
def test_learning_rule_learns_separable_gates(name, seed):
    w, b, errors = perceptron.learn_perceptron(TRUTH_TABLES[name], epochs=100, seed=seed)
    assert errors[-1] == 0
    np.testing.assert_array_equal(perceptron.truth_table(Perceptron(w, b)), TRUTH_TABLES[name])


@pytest.mark.parametrize("seed", range(5))
def test_learning_rule_never_settles_on_xor(seed):
    _, _, errors = perceptron.learn_perceptron(TRUTH_TABLES["XOR"], epochs=200, seed=seed)
    assert len(errors) == 200 and min(errors) >= 1


@pytest.mark.parametrize("x", [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -2.0]])
def test_rule_moves_weights_away_from_a_false_one_and_towards_a_missed_one(x):
    x = np.array(x)
    # t - y = -1: the perceptron fires (w @ x + b > 0) on an example whose target is 0.
    w, b = np.array([0.7, 0.4]) * np.sign(x + 0.1), 0.5
    assert x @ w + b > 0
    new_w, new_b, y = perceptron.perceptron_update(w, b, x, t=0.0, lr=0.5)
    assert y == 1.0
    assert new_w @ x < w @ x  # away from the example: w @ x falls by lr * |x|^2
    np.testing.assert_allclose(new_w @ x, w @ x - 0.5 * x @ x, rtol=1e-12)
    assert new_b == b - 0.5
    # t - y = +1: it stays silent on an example whose target is 1.
    new_w, new_b, y = perceptron.perceptron_update(-w, -b, x, t=1.0, lr=0.5)
    assert y == 0.0
    assert new_w @ x > -w @ x  # towards the example
    # t == y: no change.
    same_w, same_b, _ = perceptron.perceptron_update(w, b, x, t=1.0, lr=0.5)
    np.testing.assert_array_equal(same_w, w)
    assert same_b == b


def test_learning_rule_counts_epochs_from_one():
    # AND from seed 0: errors[e - 1] belongs to epoch e, and the last epoch has no mistake.
    _, _, errors = perceptron.learn_perceptron(TRUTH_TABLES["AND"], epochs=100, seed=0)
    assert errors[-1] == 0 and all(e > 0 for e in errors[:-1])
