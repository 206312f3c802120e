"""Chapter 7: the optimizers that train the modern MLP, on TensorFlow variables.

SGD, momentum, Nesterov, RMSProp and Adam, each written from its update rule in Keras's
formulation; ``tests/test_modern_optimizers.py`` proves each one equal to its Keras
counterpart on the same gradients. ``make_optimizer`` builds the ones
`mlpkit train --optimizer` offers, at the rates of ``DEFAULT_LR`` unless told otherwise.
(``mlpkit.optimizers`` has the same rules in NumPy, on a surface of two weights.)
"""

import numpy as np
import tensorflow as tf

from mlpkit.defaults import THESIS_LR

# : Each optimizer's learning rate when none is given.
DEFAULT_LR = {
    "sgd": THESIS_LR,
    "momentum": 0.1,
    "nesterov": 0.1,
    "rmsprop": 0.001,
    "adam": 0.001,
}


# -- optimizers, each in Keras's formulation -------------------------------------------


class Optimizer(tf.Module):
    """``apply(gradients, variables)`` updates the variables in place; slots are made on
    the first call."""

    def __init__(self, lr):
        super().__init__()
        self.lr = float(lr)
        self.slots = None
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False)

    def _make_slots(self, variables, count):
        self.slots = [
            [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
            for _ in range(count)
        ]

    def apply(self, gradients, variables):
        if self.slots is None:
            self._make_slots(variables, self.slot_count)
        self.iterations.assign_add(1)
        for index, (g, v) in enumerate(zip(gradients, variables)):
            self.update(g, v, [slot[index] for slot in self.slots])


class SGD(Optimizer):
    """``w -= lr * g``."""

    slot_count = 0

    def update(self, g, v, slots):
        v.assign_sub(self.lr * g)


class Momentum(Optimizer):
    """``m = mu m - lr g; w += m`` (Nesterov: ``w += mu m - lr g``), as
    ``keras.optimizers.SGD(momentum=mu)``."""

    slot_count = 1

    def __init__(self, lr, momentum=0.9, nesterov=False):
        super().__init__(lr)
        self.momentum, self.nesterov = momentum, nesterov

    def update(self, g, v, slots):
        (m,) = slots
        m.assign(self.momentum * m - self.lr * g)
        v.assign_add(self.momentum * m - self.lr * g if self.nesterov else m)


class RMSProp(Optimizer):
    """``s = rho s + (1 - rho) g^2; w -= lr g / sqrt(s + eps)``, as
    ``keras.optimizers.RMSprop``.

    ``eps`` sits inside the square root (Keras's choice); ``sqrt(s) + eps`` is a
    different step wherever ``s`` is comparable to ``eps``, which
    ``tests/test_modern_optimizers.py`` tells apart."""

    slot_count = 1

    def __init__(self, lr=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(lr)
        self.rho, self.epsilon = rho, epsilon

    def update(self, g, v, slots):
        (s,) = slots
        s.assign(self.rho * s + (1 - self.rho) * tf.square(g))
        v.assign_sub(self.lr * g / tf.sqrt(s + self.epsilon))


# Shown in book/modern.md (literalinclude).
class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias correction, in Keras's efficient form.

    At step ``t`` (1 for the first), ``m = b1 m + (1 - b1) g`` and
    ``v = b2 v + (1 - b2) g^2``. The paper's Algorithm 1 corrects both,
    ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``, and steps ``w -= lr m_hat /
    (sqrt(v_hat) + eps_paper)``. This class, like ``keras.optimizers.Adam``, folds the
    corrections into the learning rate and adds ``eps`` to the uncorrected ``sqrt(v)``::

        w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)

    which is the paper's step with ``eps_paper = eps / sqrt(1 - b2^t)``: at ``t = 1``
    (``b2 = 0.999``) about 32 times ``eps``, falling towards ``eps`` as ``t`` grows. The
    two differ only where ``sqrt(v_hat)`` is comparable to ``eps``;
    ``tests/test_modern_optimizers.py`` checks both statements.
    """

    slot_count = 2

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-7):
        super().__init__(lr)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def update(self, g, v, slots):
        m, s = slots
        t = tf.cast(self.iterations, g.dtype)
        m.assign(self.beta1 * m + (1 - self.beta1) * g)
        s.assign(self.beta2 * s + (1 - self.beta2) * tf.square(g))
        step = self.lr * tf.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        v.assign_sub(step * m / (tf.sqrt(s) + self.epsilon))


# : Constructors by name: ``OPTIMIZERS[name](lr)``; the names and rules of
# ``mlpkit.optimizers.OPTIMIZERS`` : (NumPy, on a surface of two weights), here on
# TensorFlow variables for training networks.
OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": lambda lr: Momentum(lr, nesterov=True),
    "rmsprop": RMSProp,
    "adam": Adam,
}


def make_optimizer(name, lr=None):
    """The optimizer ``name`` (a key of ``OPTIMIZERS``) at rate ``lr`` (default:
    ``DEFAULT_LR[name]``)."""
    if name not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}"
        )
    lr = DEFAULT_LR[name] if lr is None else lr
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be a positive number; got {lr}")
    return OPTIMIZERS[name](lr)
