"""Gradient checking: compare gradients from three independent sources.

- hand-derived (whatever the caller computed, e.g. ``gradients.backprop``);
- ``tf.GradientTape`` on the same loss;
- central finite differences, always evaluated in float64 (a float32 loss cannot resolve
  the tiny differences a finite difference needs).

``loss_fn(params)`` must take a list of tensors and return a scalar, using the dtype of
the tensors it is given, so the same loss can be evaluated in float32 and float64.

Tolerances are elementwise: ``|a - b| <= atol + rtol * |b|`` with
``atol = rtol * max|b|`` over the variable, so elements near zero are compared on the
variable's own scale rather than with a relative error that explodes. Finite differences
also have a noise floor that no tolerance on the gradient can remove: each loss value is
rounded to about ``ε|C|`` (``ε`` = 2.2e-16 in float64), so a difference quotient with
step ``h`` is uncertain by about ``ε|C| / h``. ``atol`` for that comparison is never
below ten times that.
"""

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

#: Default relative tolerances by dtype.
#: Hand vs tape: the same arithmetic in a different order, so a few ulps.
#: Hand vs finite differences: limited by the five-point stencil's truncation
#: and round-off in float64 (about 1e-10 here), and in float32 by evaluating
#: the float32 gradients against a float64 reference.
RTOL = {
    "tape": {tf.float64: 1e-10, tf.float32: 1e-4},
    "finite differences": {tf.float64: 1e-10, tf.float32: 1e-4},
}


class GradientMismatchError(AssertionError):
    """Two gradient sources disagree beyond the tolerance."""


@dataclass
class GradientReport:
    """Worst scaled error per variable and reference; all below 1 means the check
    passed."""

    names: list
    # reference -> [max |a-b| / (atol + rtol|b|) per variable]
    errors: dict = field(default_factory=dict)

    def __str__(self):
        lines = []
        for reference, values in self.errors.items():
            worst = ", ".join(f"{n}: {v:.2g}" for n, v in zip(self.names, values))
            lines.append(
                f"hand-derived vs {reference}: worst error / tolerance = {worst}"
            )
        return "\n".join(lines)


def tape_gradients(loss_fn, params):
    """Gradients of ``loss_fn(params)`` with respect to every tensor in ``params``."""
    params = [tf.convert_to_tensor(p) for p in params]
    with tf.GradientTape() as tape:
        tape.watch(params)
        loss = loss_fn(params)
    return [np.asarray(g) for g in tape.gradient(loss, params)]


#: Step of the finite differences (in the parameters' units).
FD_STEP = 1e-3


def finite_difference_noise(loss_fn, params, eps=FD_STEP):
    """Ten times the round-off uncertainty ``ε|C| / h`` of a float64 difference
    quotient."""
    loss = float(loss_fn([tf.constant(np.array(p, dtype=np.float64)) for p in params]))
    return 10.0 * np.finfo(np.float64).eps * abs(loss) / eps


def finite_difference_gradients(loss_fn, params, eps=FD_STEP):
    """Five-point central differences of ``loss_fn``, in float64, one element at a time.

    ``(-C(x+2h) + 8C(x+h) - 8C(x-h) + C(x-2h)) / 12h`` has truncation error of order
    ``h^4``; with ``h = 1e-3`` that and the round-off ``ε/h`` are both about 1e-13 for
    losses of order 1. Costs four loss evaluations per element: use it on small
    networks.
    """
    values = [np.array(p, dtype=np.float64) for p in params]

    def loss_at(vals):
        return float(loss_fn([tf.constant(v) for v in vals]))

    grads = []
    for value in values:
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            shifted = []
            for offset in (2, 1, -1, -2):
                value[index] = original + offset * eps
                shifted.append(loss_at(values))
            value[index] = original
            grad[index] = (
                -shifted[0] + 8 * shifted[1] - 8 * shifted[2] + shifted[3]
            ) / (12 * eps)
        grads.append(grad)
    return grads


def compare_gradients(
    actual,
    expected,
    names,
    rtol,
    actual_label="hand-derived",
    expected_label="reference",
    atol_floor=0.0,
):
    """Raise ``GradientMismatchError`` naming the worst element if any variable
    disagrees.

    Returns the worst ``|a - b| / tolerance`` per variable (below 1 passes).
    ``atol_floor`` is the smallest absolute tolerance, for references with a noise floor
    of their own.
    """
    if len(actual) != len(expected) or len(actual) != len(names):
        raise ValueError(
            f"got {len(actual)} {actual_label} and {len(expected)} {expected_label} "
            f"gradients for {len(names)} names"
        )
    ratios = []
    for name, a, b in zip(names, actual, expected):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            raise GradientMismatchError(
                f"gradient of {name!r}: {actual_label} has shape {a.shape}, "
                f"{expected_label} has shape {b.shape}"
            )
        scale = float(np.max(np.abs(b[np.isfinite(b)]), initial=0.0))
        atol = max(rtol * scale, atol_floor, np.finfo(np.float64).tiny)
        tolerance = atol + rtol * np.abs(b)
        finite = np.isfinite(a) & np.isfinite(b)
        # NaN or inf on either side fails
        ratio = np.where(
            finite, np.abs(a - b) / np.where(finite, tolerance, 1.0), np.inf
        )
        worst = np.unravel_index(np.argmax(ratio), a.shape) if a.ndim else ()
        if ratio[worst] > 1.0:
            raise GradientMismatchError(
                f"gradient of {name!r} disagrees at element {[int(i) for i in worst]}: "
                f"{actual_label} = {float(a[worst])!r}, {expected_label} = "
                f"{float(b[worst])!r} "
                f"(|difference| = {abs(a[worst] - b[worst]):.3g}, "
                f"allowed {tolerance[worst]:.3g} = atol {atol:.3g} + rtol {rtol:g} x "
                f"|{expected_label}|)"
            )
        ratios.append(float(np.max(ratio, initial=0.0)))
    return ratios


def gradient_check(
    loss_fn, params, hand_grads, names=None, rtol=None, finite_differences=True
):
    """Check hand-derived gradients against the tape and (optionally) finite
    differences.

    ``rtol`` overrides the defaults in ``RTOL`` for both comparisons. Returns a
    ``GradientReport``; raises ``GradientMismatchError`` on the first variable that
    disagrees, with its name, worst element and both values.
    """
    params = [tf.convert_to_tensor(p) for p in params]
    dtype = params[0].dtype
    if dtype not in (tf.float32, tf.float64):
        raise ValueError(
            f"gradient_check supports float32 and float64 parameters; got {dtype.name}"
        )
    names = (
        list(names) if names is not None else [f"param{i}" for i in range(len(params))]
    )
    hand = [np.asarray(g) for g in hand_grads]
    report = GradientReport(names=names)
    references = {
        "tf.GradientTape": ("tape", lambda: tape_gradients(loss_fn, params), 0.0)
    }
    if finite_differences:
        references["finite differences"] = (
            "finite differences",
            lambda: finite_difference_gradients(loss_fn, params),
            finite_difference_noise(loss_fn, params),
        )
    for label, (kind, compute, floor) in references.items():
        tol = rtol if rtol is not None else RTOL[kind][dtype]
        report.errors[label] = compare_gradients(
            hand, compute(), names, tol, "hand-derived", label, atol_floor=floor
        )
    return report
