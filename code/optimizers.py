"""Chapter 7: optimizers and learning-rate schedules, by hand, on a loss of two weights.

Every update rule here is a few lines of NumPy in float64, in Keras's exact form (where
its epsilon sits, how Nesterov's look-ahead is written), so that a trajectory can be
compared with ``keras.optimizers`` step by step. The weights ``w`` are a vector of shape
``(2,)``: the two axes of a contour plot. (The same rules, written with TensorFlow
variables for training networks, are the classes of ``mlpkit.modern_optimizers``.)

A learning rate ``lr`` is a number or a schedule: a function of the step counter, which
starts at 0 for the first update as Keras's ``iterations`` does. The schedules below are
such functions, each equal to its ``keras.optimizers.schedules`` class.
"""

import math

import numpy as np

# -- a loss surface --------------------------------------------------------------------


class Valley:
    """``C(w) = (a u^2 + b v^2) / 2`` with ``(u, v)`` the weights ``w = (w_1, w_2)``
    rotated by ``angle``.

    A quadratic valley, minimum 0 at ``w = 0``, whose curvatures along its axes are
    ``a`` (across the valley, steep) and ``b`` (along it, flat); ``a / b`` is its
    condition number. Gradient descent at rate ``lr`` is stable only for ``lr < 2 / a``
    and then creeps along the floor at ``1 - lr b`` per step.
    """

    def __init__(self, a=20.0, b=1.0, angle=0.0):
        if not (a > 0 and b > 0):
            raise ValueError(
                f"the curvatures a and b must be positive numbers; got a={a}, b={b}"
            )
        self.a, self.b, self.angle = float(a), float(b), float(angle)
        c, s = math.cos(self.angle), math.sin(self.angle)
        # columns: the valley's axes in (w_1, w_2)
        self.rotation = np.array([[c, -s], [s, c]])
        self.hessian = self.rotation @ np.diag([self.a, self.b]) @ self.rotation.T

    def __call__(self, w):
        """``C`` at ``w`` of shape ``(..., 2)`` (a grid works too): shape ``(...)``."""
        w = np.asarray(w, dtype=np.float64)
        return 0.5 * np.einsum("...i,ij,...j->...", w, self.hessian, w)

    def gradient(self, w):
        """``dC/dw = H w`` at ``w`` of shape ``(2,)``: shape ``(2,)``."""
        return self.hessian @ np.asarray(w, dtype=np.float64)

    def __repr__(self):
        condition = self.a / self.b
        return (
            f"Valley(a={self.a:g}, b={self.b:g}, angle={self.angle:g}): "
            f"condition number {condition:g}"
        )


# -- update rules, each in Keras's form ------------------------------------------------


class Optimizer:
    """``step(w, g)`` returns the new weights; the state (moving averages) lives in the
    object."""

    def __init__(self, lr):
        if not callable(lr) and not (np.isfinite(lr) and lr > 0):
            raise ValueError(
                f"learning rate must be a positive number or a schedule; got {lr!r}"
            )
        self.lr, self.iterations = lr, 0

    def rate(self):
        """The learning rate of the coming update: ``lr(iterations)`` for a schedule."""
        return float(self.lr(self.iterations)) if callable(self.lr) else float(self.lr)

    def step(self, w, g):
        w, g = np.asarray(w, dtype=np.float64), np.asarray(g, dtype=np.float64)
        if w.shape != g.shape:
            raise ValueError(
                f"the gradient must have the weights' shape {w.shape}; got {g.shape}"
            )
        new = self.update(w, g, self.rate())
        self.iterations += 1
        return new


class SGD(Optimizer):
    """``w - lr g``: ``keras.optimizers.SGD(lr)``."""

    def update(self, w, g, lr):
        return w - lr * g


# Shown in book/modern.md (literalinclude).
class Momentum(Optimizer):
    """A velocity ``m = mu m - lr g``, then ``w + m``: ``keras.optimizers.SGD(lr,
    momentum=mu)``.

    Nesterov's form (``nesterov=True``) steps ``w + mu m - lr g`` with the new ``m``:
    the gradient step taken again from where the velocity is about to carry the weights,
    Keras's rewriting of Nesterov's look-ahead gradient."""

    def __init__(self, lr, momentum=0.9, nesterov=False):
        super().__init__(lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1); got {momentum}")
        self.momentum, self.nesterov, self.m = float(momentum), bool(nesterov), None

    def update(self, w, g, lr):
        self.m = (
            np.zeros_like(w) if self.m is None else self.m
        ) * self.momentum - lr * g
        return w + (self.momentum * self.m - lr * g if self.nesterov else self.m)


class RMSProp(Optimizer):
    """``s = rho s + (1 - rho) g^2``, ``w - lr g / sqrt(s + eps)``:
    ``keras.optimizers.RMSprop(lr)``.

    Each weight's step is divided by the root mean square of its recent gradients, so a
    steep direction and a flat one move at similar speeds. Keras puts ``eps`` inside the
    root."""

    def __init__(self, lr, rho=0.9, epsilon=1e-7):
        super().__init__(lr)
        self.rho, self.epsilon, self.s = float(rho), float(epsilon), None

    def update(self, w, g, lr):
        self.s = (
            self.rho * (np.zeros_like(w) if self.s is None else self.s)
            + (1 - self.rho) * g**2
        )
        return w - lr * g / np.sqrt(self.s + self.epsilon)


class Adam(Optimizer):
    """Momentum's average ``m`` of ``g`` divided by RMSProp's root of the average ``v``
    of ``g^2``.

    At step ``t`` (1 for the first): ``m = b1 m + (1 - b1) g``,
    ``v = b2 v + (1 - b2) g^2``, ``w - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) +
    eps)``: Keras's efficient form of the bias-corrected step
    (``mlpkit.modern_optimizers.Adam`` explains how it differs from the paper's)."""

    def __init__(self, lr, beta1=0.9, beta2=0.999, epsilon=1e-7):
        super().__init__(lr)
        self.beta1, self.beta2, self.epsilon, self.m, self.v = (
            float(beta1),
            float(beta2),
            float(epsilon),
            None,
            None,
        )

    def update(self, w, g, lr):
        t = self.iterations + 1
        zeros = np.zeros_like(w)
        self.m = (
            self.beta1 * (zeros if self.m is None else self.m) + (1 - self.beta1) * g
        )
        self.v = (
            self.beta2 * (zeros if self.v is None else self.v) + (1 - self.beta2) * g**2
        )
        return w - lr * math.sqrt(1 - self.beta2**t) / (1 - self.beta1**t) * self.m / (
            np.sqrt(self.v) + self.epsilon
        )


# : Constructors by name: ``OPTIMIZERS[name](lr)``, with Keras's default constants. The
# names are the : ones ``mlpkit.modern_optimizers.OPTIMIZERS`` (the same rules on
# TensorFlow variables) and the commands use.
OPTIMIZERS = {
    "sgd": SGD,
    "momentum": lambda lr: Momentum(lr, 0.9),
    "nesterov": lambda lr: Momentum(lr, 0.9, nesterov=True),
    "rmsprop": RMSProp,
    "adam": Adam,
}
#: How the book's text and plots write each name.
LABELS = {
    "sgd": "SGD",
    "momentum": "momentum",
    "nesterov": "Nesterov",
    "rmsprop": "RMSProp",
    "adam": "Adam",
}


def trajectory(optimizer, surface, start, steps):
    """The weights before each update and after the last: array ``(steps + 1, 2)``, row
    0 = ``start``."""
    w = np.asarray(start, dtype=np.float64)
    path = [w]
    for _ in range(int(steps)):
        # a diverging run is reported below, by name
        with np.errstate(over="ignore", invalid="ignore"):
            w = optimizer.step(w, surface.gradient(w))
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(
                f"the weights left the finite numbers at step {len(path)}: the "
                "learning rate is too large"
            )
        path.append(w)
    return np.array(path)


def steps_to_reach(path, radius):
    """The first step count ``k`` after which every later point of ``path`` is within
    ``radius`` of the minimum ``w = 0`` (``None`` if the path never settles there)."""
    outside = np.flatnonzero(np.linalg.norm(path, axis=1) > radius)
    if len(outside) == 0:
        return 0
    k = int(outside[-1]) + 1
    return k if k < len(path) else None


# -- learning-rate schedules: functions of the step, 0 for the first update ------------


def step_decay(step, initial, drop=0.5, every=10):
    """``initial * drop ** floor(step / every)``: ``ExponentialDecay(initial, every,
    drop, staircase=True)``."""
    if not (every >= 1 and 0 < drop <= 1):
        raise ValueError(
            f"step decay needs every >= 1 and drop in (0, 1]; got every={every}, "
            f"drop={drop}"
        )
    return initial * drop ** (np.floor_divide(step, every))


def piecewise_constant(step, boundaries, values):
    """``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``:
    ``PiecewiseConstantDecay(boundaries, values)``."""
    if len(values) != len(boundaries) + 1:
        raise ValueError(
            "piecewise_constant needs one value more than boundaries; got "
            f"{len(boundaries)} and {len(values)}"
        )
    return np.asarray(values, dtype=np.float64)[
        np.searchsorted(boundaries, step, side="left")
    ]


# Shown in book/modern.md (literalinclude).
def cosine_decay(step, initial, decay_steps, alpha=0.0):
    """``initial ((1 - alpha) (1 + cos(pi s / decay_steps)) / 2 + alpha)``,
    ``s = min(step, decay_steps)``: ``CosineDecay(initial, decay_steps, alpha)``. From
    ``initial`` down to ``alpha * initial``, flat after."""
    if decay_steps < 1:
        raise ValueError(f"cosine_decay needs decay_steps >= 1; got {decay_steps}")
    s = np.minimum(step, decay_steps)
    return initial * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * s / decay_steps)) + alpha)


# -- the same runs with Keras, for comparison ------------------------------------------


def keras_optimizers(lr):
    """``{name: keras optimizer}`` matching ``OPTIMIZERS``, at learning rate (or
    schedule) ``lr``."""
    import keras  # here, not at import: the module itself needs NumPy only

    return {
        "sgd": keras.optimizers.SGD(lr),
        "momentum": keras.optimizers.SGD(lr, momentum=0.9),
        "nesterov": keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
        "rmsprop": keras.optimizers.RMSprop(lr),
        "adam": keras.optimizers.Adam(lr),
    }


def keras_trajectory(optimizer, surface, start, steps):
    """``trajectory`` with a Keras optimizer on a float64 variable: array
    ``(steps + 1, 2)``."""
    import tensorflow as tf

    w = tf.Variable(np.asarray(start, dtype=np.float64))
    path = [w.numpy()]
    for _ in range(int(steps)):
        optimizer.apply_gradients([(tf.constant(surface.gradient(w.numpy())), w)])
        path.append(w.numpy())
    return np.array(path)
