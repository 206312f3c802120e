"""Checks for the chapter 4 exercises (never released to students)."""
import numpy as np

from mlpkit.grading import Call, Tensor, encode, variant_rng

rng = variant_rng(404)
images = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
scores = rng.uniform(size=(50, 10))

# x / 255 and x * (1 / 255) differ in the last bit of float32 for 126 of the 256 pixel values: both are right.
PIXELS = dict(compare="allclose", rtol=1e-6, atol=1e-7, options={"dtype": "float32"})

def numpy_epoch(w, b, x, y, lr, batch_size, skip_last=False, whole_set_mean=False):
    """train_epoch in NumPy (float64), or one of two mistakes: the smaller last batch skipped, or every
    step's cost divided by the size of the whole data set instead of its own batch."""
    for start in range(0, len(x), batch_size):
        x_batch, y_batch = x[start : start + batch_size], y[start : start + batch_size]
        if skip_last and len(x_batch) < batch_size:
            break
        a = 1 / (1 + np.exp(-(x_batch @ w + b)))  # (batch, n_out)
        size = y.size if whole_set_mean else a.size
        delta = 2 * (a - y_batch) / size * a * (1 - a)
        w, b = w - lr * (x_batch.T @ delta), b - lr * delta.sum(axis=0)
    return w, b


EPOCH_HINTS = {
    "skip_last": "the last, smaller batch was left out: it is one more step, so that every row is used",
    "whole_set_mean": "each step's cost is the mean over its own batch (rows and outputs), not over the whole data set",
}


def epoch_call(n, n_in, n_out, batch_size, lr, dtype="float64", tolerance=(1e-8, 1e-10), **call):
    """A check of train_epoch on random data of n rows that names the two mistakes above if it sees one."""
    w, b = rng.uniform(-1, 1, (n_in, n_out)), rng.uniform(-1, 1, n_out)
    x, y = rng.uniform(0, 1, (n, n_in)), np.eye(n_out)[rng.integers(0, n_out, n)]
    mistakes = [
        {"value": encode(numpy_epoch(w, b, x, y, lr, batch_size, **{name: True})), "hint": hint}
        for name, hint in EPOCH_HINTS.items()
        if (n % batch_size if name == "skip_last" else batch_size < n)
    ]
    return Call(
        "train_epoch",
        tuple(Tensor(v, dtype) for v in (w, b, x, y)) + (lr, batch_size),
        rtol=tolerance[0],
        atol=tolerance[1],
        options={"mistakes": mistakes},
        **call,
    )


CHECKS = {
    "preprocess": dict(
        points=2,
        calls=[
            Call(
                "preprocess",
                (np.arange(784, dtype=np.uint8).reshape(1, 28, 28),),
                public=True,
                **PIXELS,
                message="one 28x28 image holding every pixel value 0-255 should become float32 of shape (1, 784), "
                "each pixel divided by 255 (within 1e-6)",
            ),
            Call("preprocess", (images,), **PIXELS),
        ],
    ),
    "one_hot": dict(
        points=2,
        calls=[  # 0/1 values in float32: compared exactly, dtype included
            Call(
                "one_hot",
                (np.array([3, 0, 9]),),
                public=True,
                compare="exact",
                message="labels [3, 0, 9] should give three float32 rows of length 10 with a 1 at 3, 0 and 9",
            ),
            Call(
                "one_hot",
                (np.array([2, 0, 3]),),
                {"classes": 4},
                public=True,
                compare="exact",
                message="with classes=4, labels [2, 0, 3] should give three float32 rows of length 4",
            ),
            Call("one_hot", (np.array([1, 2, 0, 2]),), {"classes": 3}, compare="exact"),
        ],
    ),
    "train_step": dict(
        points=4,
        calls=[
            Call(
                "train_step",
                (
                    Tensor(np.full((2, 1), 0.5)),
                    Tensor(np.zeros(1)),
                    Tensor([[1.0, 0.0], [0.0, 1.0]]),
                    Tensor([[1.0], [0.0]]),
                    0.9,
                ),
                public=True,
                rtol=1e-5,
                atol=1e-7,
                message="(w, b) after one step with lr 0.9 on a batch of 2 should match plain gradient descent on the "
                        "MSE",
            ),
            Call(
                "train_step",
                (
                    Tensor([[0.5, -0.25], [0.0, 1.0], [-1.0, 0.75]], "float64"),
                    Tensor([0.1, -0.2], "float64"),
                    Tensor([[0.0, 0.5, 1.0], [1.0, 0.0, 0.25], [0.5, 0.5, 0.5], [1.0, 1.0, 0.0]], "float64"),
                    Tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], "float64"),
                    0.5,
                ),
                public=True,
                rtol=1e-8,
                atol=1e-10,
                message="in float64, a (3, 2) layer on a batch of 4 with lr 0.5: the MSE is the mean over all 8 "
                        "outputs "
                "(within 1e-8)",
            ),
            Call(
                "train_step",
                (
                    Tensor(rng.uniform(-1, 1, (6, 3)), "float64"),
                    Tensor(rng.uniform(-1, 1, (3,)), "float64"),
                    Tensor(rng.uniform(size=(10, 6)), "float64"),
                    Tensor(np.eye(3)[rng.integers(0, 3, 10)], "float64"),
                    0.5,
                ),
                rtol=1e-8,
                atol=1e-10,
            ),
            Call(
                "train_step",
                (
                    Tensor(rng.uniform(-1, 1, (784, 10)), "float64"),
                    Tensor(np.zeros(10), "float64"),
                    Tensor(rng.uniform(size=(4, 784)), "float64"),
                    Tensor(np.eye(10)[[1, 2, 3, 4]], "float64"),
                    3.0,
                ),
                rtol=1e-8,
                atol=1e-10,
            ),
        ],
    ),
    "train_epoch": dict(
        points=4,
        calls=[
            epoch_call(
                6,
                3,
                2,
                2,
                0.5,
                "float32",
                (1e-5, 1e-7),
                public=True,
                message="in float32, 6 rows in batches of 2 with lr 0.5: three steps of train_step, on rows 0-1, "
                "2-3 and 4-5 in that order",
            ),
            epoch_call(
                8,
                4,
                3,
                4,
                1.5,
                public=True,
                message="in float64, 8 rows in batches of 4 with lr 1.5: two steps, each on the mean cost of its own "
                "4 rows (within 1e-8)",
            ),
            epoch_call(
                7,
                3,
                2,
                3,
                0.5,
                public=True,
                case="last partial batch",
                message="in float64, 7 rows in batches of 3: three steps, on rows 0-2, 3-5 and the last row 6 alone "
                "(within 1e-8)",
            ),
            epoch_call(12, 5, 3, 5, 2.0, case="last partial batch"),
            epoch_call(10, 6, 4, 10, 3.0),
            epoch_call(9, 2, 2, 1, 0.25),
        ],
    ),
    "accuracy": dict(
        points=2,
        calls=[
            Call(
                "accuracy",
                (np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]), np.array([1, 0, 0, 0])),
                public=True,
                message="three of these four rows have their highest score at the true class: 0.75",
            ),
            Call(
                "accuracy",
                (scores, scores.argmax(axis=1)),
            ),
            Call(
                "accuracy",
                (scores, np.roll(scores.argmax(axis=1), 1)),
            ),
        ],
    ),
}
