"""Chapter 1's activations (mlpkit.activations): the step function, vectorised and by map_fn."""

import timeit

import numpy as np
import pytest
import tensorflow as tf

from mlpkit.activations import step, step_map_fn


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_vectorised_step_equals_map_fn_step(shape, dtype):
    z = tf.cast(tf.random.stateless_uniform(shape, seed=[0, 1], minval=-3, maxval=3, dtype=tf.int32), dtype)
    fast, slow = step(z), step_map_fn(z)  # integers in [-3, 3) include exact zeros
    assert fast.dtype == dtype and fast.shape == shape
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast, (z.numpy() > 0).astype(float))


def test_step_of_zero_is_zero():
    np.testing.assert_array_equal(step([-1.0, 0.0, 1e-30]), [0.0, 0.0, 1.0])


def test_vectorised_step_is_much_faster():
    # The book prints the ratio (hundreds to thousands); assert only a conservative floor.
    z = tf.random.stateless_normal([1000], seed=[1, 2])
    loop = min(timeit.repeat(lambda: step_map_fn(z), number=1, repeat=3))
    vector = min(timeit.repeat(lambda: step(z), number=20, repeat=3)) / 20
    assert loop / vector > 10
