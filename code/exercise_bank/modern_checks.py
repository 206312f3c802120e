"""Checks for the chapter 7 exercises (never released to students)."""
import numpy as np

from mlpkit.grading import Call, Tensor

rng = np.random.default_rng(707)


def moments(shape):
    return (rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape) * 0.1, rng.uniform(size=shape) * 0.01)


CHECKS = {
    "softmax": dict(points=2, calls=[
        Call("softmax", (Tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),), public=True,
             message="each row of softmax(logits) should be exp(z) / sum(exp(z)): [0.090, 0.245, 0.665] and [1/3, 1/3, 1/3]"),
        Call("softmax", (Tensor([[1000.0, 0.0], [-1000.0, 1000.0]]),), public=True, atol=1e-6,
             message="softmax must stay finite for logits of 1000: [[1, 0], [0, 1]]"),
        Call("softmax", (Tensor(rng.normal(0, 10, size=(6, 10)), "float64"),), rtol=1e-10, atol=1e-12),
    ]),
    "softmax_cross_entropy": dict(points=3, calls=[
        Call("softmax_cross_entropy", (Tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]]), np.array([0, 1])), public=True,
             message="the mean over the batch of -log(softmax(logits)[label]); tf.nn.sparse_softmax_cross_entropy_with_logits agrees"),
        Call("softmax_cross_entropy", (Tensor([[1000.0, 0.0], [0.0, 1000.0]]), np.array([1, 1])), public=True, rtol=1e-5,
             message="logits of 1000 must give a finite loss (here (1000 + 0) / 2 = 500)"),
        Call("softmax_cross_entropy", (Tensor(rng.normal(0, 5, size=(16, 10)), "float64"), rng.integers(0, 10, 16)),
             rtol=1e-9, atol=1e-12),
    ]),
    "adam_step": dict(points=3, calls=[
        Call("adam_step", (np.array([1.0, -2.0]), np.array([0.5, 0.1]), np.zeros(2), np.zeros(2), 1), public=True, rtol=1e-6,
             message="the first step from m = v = 0: (w, m, v) after one bias-corrected Adam update with lr 0.001"),
        Call("adam_step", (*moments((3, 4)), 7), rtol=1e-8, atol=1e-12),
        Call("adam_step", (*moments((5,)), 100), {"lr": 0.01, "beta1": 0.8}, rtol=1e-8, atol=1e-12),
    ]),
}
