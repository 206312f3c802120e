"""Chapter 2: the hand-weighted XOR network, the sigmoid and parameter counts."""

import numpy as np
import pytest
import tensorflow as tf

from mlpkit import xor
from mlpkit.activations import sigmoid, sigmoid_prime
from mlpkit.gradients import init_params
from mlpkit.perceptron import LOGIC_INPUTS, TRUTH_TABLES


def test_weights_are_the_thesis_weights():
    assert xor.XOR_WEIGHTS == {
        "w1": [[2.0, -2.0], [2.0, -2.0]],
        "b1": [[-1.0, 3.0]],
        "w2": [[2.0], [2.0]],
        "b2": [[-3.0]],
    }


def test_batch_of_four_gives_xor_column():
    out = xor.xor_network()(LOGIC_INPUTS)
    assert out.shape == (4, 1)
    np.testing.assert_array_equal(out, [[0.0], [1.0], [1.0], [0.0]])


def test_hidden_units_are_or_and_nand_and_output_is_their_and():
    hidden, output = xor.xor_network().activations(LOGIC_INPUTS)
    table = np.column_stack([hidden.numpy(), output.numpy()]).astype(int)
    np.testing.assert_array_equal(table, [[0, 1, 0], [1, 1, 1], [1, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(table[:, 0], TRUTH_TABLES["OR"])
    np.testing.assert_array_equal(table[:, 1], TRUTH_TABLES["NAND"])


def test_shapes_layer_by_layer_for_one_example():
    network = xor.xor_network()
    hidden, output = network.activations(LOGIC_INPUTS[:1])
    assert LOGIC_INPUTS[:1].shape == (1, 2)
    assert network.layers[0].weights.shape == (2, 2) and network.layers[0].bias.shape == (2,)
    assert hidden.shape == (1, 2)
    assert network.layers[1].weights.shape == (2, 1) and network.layers[1].bias.shape == (1,)
    assert output.shape == (1, 1)


def test_repr_lists_layers():
    assert repr(xor.xor_network()) == (
        "MLP of [Perceptron(2 -> 2, activation=step), Perceptron(2 -> 1, activation=step)]"
    )


# The book prints these scores (float32's, to 7-8 digits). They agree with the exact values
# (float64, below) within 2e-7 (5e-8 measured), so they do not depend on one machine's rounding.
SIGMOID_SCORES = [0.3642491, 0.48106766, 0.48106766, 0.3642491]
# float32 against the exact values: each sigmoid is within a few ulp (float32 eps 1.2e-7) on any CPU;
# through the two layers (hidden sigmoids, a sum of two scaled by 2, the output sigmoid) that is at
# most about 8e-7 relative. Measured: 8e-8.
FLOAT32_RTOL = 1e-6


def _exact_sigmoid_scores():
    """The sigmoid network's outputs in float64 NumPy, from the weights alone."""
    def sigma(z):
        return 1.0 / (1.0 + np.exp(-z))

    w = {name: np.array(value, dtype=np.float64) for name, value in xor.XOR_WEIGHTS.items()}
    hidden = sigma(np.array(LOGIC_INPUTS, dtype=np.float64) @ w["w1"] + w["b1"])
    return sigma(hidden @ w["w2"] + w["b2"]).ravel()


def test_sigmoid_outputs_float32():
    scores = xor.xor_network(activation=sigmoid)(LOGIC_INPUTS)
    assert scores.dtype == tf.float32
    exact = _exact_sigmoid_scores()
    np.testing.assert_allclose(SIGMOID_SCORES, exact, rtol=2e-7)
    np.testing.assert_allclose(scores.numpy().ravel(), exact, rtol=FLOAT32_RTOL)


def test_erratum_sigmoid_xor_is_not_classified_at_one_half():
    scores = xor.xor_network(activation=sigmoid)(LOGIC_INPUTS).numpy().ravel()
    np.testing.assert_array_equal(scores > 0.5, [False] * 4)  # all class 0 at the usual threshold
    low, high = xor.separating_thresholds(scores, TRUTH_TABLES["XOR"])
    np.testing.assert_allclose([low, high], _exact_sigmoid_scores()[:2], rtol=FLOAT32_RTOL)
    for threshold in (0.37, 0.42, 0.48):
        np.testing.assert_array_equal((scores > threshold).astype(int), TRUTH_TABLES["XOR"])


def test_separating_thresholds_none_when_classes_overlap():
    assert xor.separating_thresholds([0.2, 0.9, 0.1, 0.95], [0, 1, 1, 0]) is None
    with pytest.raises(ValueError, match="at least one positive and one negative"):
        xor.separating_thresholds([0.2, 0.3], [1, 1])


def test_scaling_by_100_approaches_the_step():
    out = xor.xor_network(activation=sigmoid, scale=100.0)(LOGIC_INPUTS).numpy().ravel()
    np.testing.assert_allclose(out, [0.0, 1.0, 1.0, 0.0], atol=1e-6)


def _closed_form_sigmoid_derivative(z):
    # e^{-z} / (1 + e^{-z})^2 in NumPy float64, computed without TensorFlow's sigmoid or s(1 - s),
    # so it shares no code with the tape's gradient or with sigmoid_prime.
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))  # the derivative is even in z; |z| keeps exp from overflowing
    return e / (1.0 + e) ** 2


def _check_against_closed_form(derivative, dtype, rtol, atol):
    z = tf.linspace(tf.constant(-10.0, dtype), 10.0, 101)
    np.testing.assert_allclose(derivative(z), _closed_form_sigmoid_derivative(z.numpy()), rtol=rtol, atol=atol)


def _tape_derivative(z):
    with tf.GradientTape() as tape:
        tape.watch(z)
        s = sigmoid(z)
    return tape.gradient(s, z)


# float32: sigma(z)(1 - sigma(z)) loses relative precision where sigma is near 1 (1 - sigma cancels),
# so the check there is absolute, a few float32 roundings of the peak value 0.25.
@pytest.mark.parametrize("dtype, rtol, atol", [(tf.float64, 1e-12, 0.0), (tf.float32, 1e-5, 1e-7)])
def test_sigmoid_derivative_formula_matches_tape(dtype, rtol, atol):
    # The tape's derivative and sigmoid_prime, each against the independent closed form.
    _check_against_closed_form(_tape_derivative, dtype, rtol, atol)
    _check_against_closed_form(sigmoid_prime, dtype, rtol, atol)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda z: tf.math.sigmoid(z),  # sigma(z) alone: the factor (1 - sigma) forgotten
        lambda z: tf.math.sigmoid(z) * (1.0 + tf.math.sigmoid(z)),  # a sign slip
        lambda z: 0.25 * tf.ones_like(z),  # the peak value everywhere
        lambda z: _tape_derivative(z) * (1.0 + 1e-9),  # a relative error of 1e-9 in float64
    ],
)
def test_sigmoid_derivative_check_fails_on_a_wrong_derivative(wrong):
    with pytest.raises(AssertionError):
        _check_against_closed_form(wrong, tf.float64, 1e-12, 0.0)


def test_sigmoid_derivative_matches_finite_differences():
    z, h = np.linspace(-6, 6, 25), 1e-5
    numeric = (sigmoid(z + h) - sigmoid(z - h)) / (2 * h)
    np.testing.assert_allclose(sigmoid_prime(z), numeric, rtol=1e-8)
    assert float(tf.reduce_max(sigmoid_prime(z))) == pytest.approx(0.25, rel=1e-12)


def test_parameter_count_of_the_mnist_network():
    assert xor.parameter_count([784, 15, 10]) == 11_935
    params = init_params([784, 15, 10])
    assert sum(int(np.prod(p.shape)) for p in params) == 11_935
    assert xor.parameter_count([2, 2, 1]) == 9


@pytest.mark.parametrize("bad", [[784], [784, 0, 10], []])
def test_parameter_count_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="at least two positive integers"):
        xor.parameter_count(bad)
