"""Activation functions used in chapters 1-4, each beside its derivative.

Every function here is element-wise: it takes a tensor of any shape and returns a tensor
of the same shape and dtype.

- ``step``: the perceptron's hard threshold, 1 where ``z > 0`` and 0 elsewhere (so
  ``step(0) == 0``). It has no useful derivative: 0 almost everywhere and undefined at
  0, which is why gradient descent needs something smoother.
- ``step_map_fn``: the same step written the slow way, one Python ``if`` per element
  through ``tf.map_fn``. Kept only so chapter 1 can show that the two agree and measure
  the price of the loop.
- ``sigmoid`` and ``sigmoid_prime``: ``σ(z) = 1 / (1 + e^{-z})`` and
  ``σ'(z) = σ(z)(1 - σ(z))``.
"""

import tensorflow as tf


# Shown in book/perceptron.md (literalinclude).
def step(z):
    """Vectorised step: ``1`` where ``z > 0``, else ``0``, in ``z``'s dtype."""
    z = tf.convert_to_tensor(z)
    return tf.cast(z > 0, z.dtype)


def _step_scalar(value):
    # One element at a time, with Python control flow: the slow way.
    if value > 0:
        return tf.constant(1.0, value.dtype)
    return tf.constant(0.0, value.dtype)


def step_map_fn(z):
    """The step applied element by element with ``tf.map_fn``; the same as ``step``."""
    z = tf.convert_to_tensor(z)
    flat = tf.reshape(z, [-1])
    mapped = tf.map_fn(_step_scalar, flat)
    return tf.reshape(mapped, tf.shape(z))


def sigmoid(z):
    """Logistic sigmoid ``1 / (1 + exp(-z))``; values in ``(0, 1)``."""
    return tf.math.sigmoid(z)


def sigmoid_prime(z):
    """Derivative of the sigmoid with respect to its input: ``σ(z)(1 - σ(z))``."""
    s = tf.math.sigmoid(z)
    return s * (1.0 - s)
