"""Chapter 3's gradient checks (mlpkit.gradcheck): tolerances, wrong derivations caught and named."""

import numpy as np
import pytest
import tensorflow as tf

from helpers import random_batch
from mlpkit import gradcheck, gradients


def test_default_tolerances_are_the_stated_ones():
    assert gradcheck.RTOL["tape"] == {tf.float64: 1e-10, tf.float32: 1e-4}
    assert gradcheck.RTOL["finite differences"] == {tf.float64: 1e-10, tf.float32: 1e-4}


def test_erratum_exact_equality_is_not_a_gradient_check():
    params = gradients.init_params([20, 30, 10], seed=3, dtype=tf.float32)
    x, t = random_batch([20, 30, 10], 32, 4)
    hand = gradients.backprop(params, x, t)
    tape = gradcheck.tape_gradients(lambda ps: gradients.mlp_loss(ps, x, t), params)
    assert any(not np.array_equal(h, t) for h, t in zip(hand, tape))  # `==` would call this a failure
    ratios = gradcheck.compare_gradients(hand, tape, gradients.param_names(params), rtol=1e-4)
    assert max(ratios) <= 1.0


def test_check_catches_a_wrong_derivation_and_names_it():
    params = gradients.init_params([4, 5, 3], seed=1, dtype=tf.float64)
    x, t = random_batch([4, 5, 3], 8, 5)
    hand = gradients.backprop(params, x, t)
    hand[2] = hand[2] * 1.01  # a 1% error in W2
    with pytest.raises(gradcheck.GradientMismatchError) as caught:
        gradcheck.gradient_check(
            lambda ps: gradients.mlp_loss(ps, x, t), params, hand, names=gradients.param_names(params)
        )
    message = str(caught.value)
    assert "gradient of 'W2'" in message and "at element [" in message
    assert "hand-derived = " in message and "tf.GradientTape = " in message


def test_check_fails_on_nan():
    params = gradients.init_params([3, 2], seed=0, dtype=tf.float64)
    x, t = random_batch([3, 2], 2, 0)
    hand = gradients.backprop(params, x, t)
    hand[1] = tf.constant([np.nan, 0.0], tf.float64)
    with pytest.raises(gradcheck.GradientMismatchError, match=r"gradient of 'b1' disagrees at element \[0\]"):
        gradcheck.gradient_check(
            lambda ps: gradients.mlp_loss(ps, x, t), params, hand, names=gradients.param_names(params)
        )


def test_check_reports_shape_mismatch_and_bad_dtype():
    with pytest.raises(gradcheck.GradientMismatchError, match=r"has shape \(2,\), reference has shape \(3,\)"):
        gradcheck.compare_gradients([np.zeros(2)], [np.zeros(3)], ["v"], rtol=1e-6)
    with pytest.raises(ValueError, match="float32 and float64"):
        gradcheck.gradient_check(lambda ps: tf.reduce_sum(ps[0]), [tf.constant([1, 2])], [np.ones(2)])


def test_finite_differences_of_a_known_function():
    grads = gradcheck.finite_difference_gradients(lambda ps: tf.reduce_sum(ps[0] ** 3), [tf.constant([1.0, -2.0])])
    np.testing.assert_allclose(grads[0], [3.0, 12.0], rtol=1e-10)


def test_check_fails_when_the_reference_is_not_finite():
    with pytest.raises(gradcheck.GradientMismatchError, match=r"gradient of 'v' disagrees at element \[1\]"):
        gradcheck.compare_gradients([np.array([1.0, 2.0])], [np.array([1.0, np.nan])], ["v"], rtol=1e-6)
