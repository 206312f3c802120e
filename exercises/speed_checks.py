"""Checks for the chapter 5 exercises (never released to students).

Each check makes the function (``options["calls"]``: the last argument is the list of argument tuples it is
then called with), and judges every output and the number of traces (``traced_calls``: at most one).
"""
import numpy as np

from mlpkit.grading import Call, Tensor, variant_rng

rng = variant_rng(505)
TRACED_ONCE = {"calls": True, "traces": 1}
FLOAT32, FLOAT64 = dict(rtol=1e-5, atol=1e-7), dict(rtol=1e-8, atol=1e-10)


def layer(n_in, n_out, dtype):
    return Tensor(rng.uniform(-1, 1, (n_in, n_out)), dtype), Tensor(rng.uniform(-1, 1, n_out), dtype)


def batch(n, n_in, n_out, dtype):
    """``(x, y)``: n rows of inputs in [0, 1) and one-hot targets."""
    return Tensor(rng.uniform(0, 1, (n, n_in)), dtype), Tensor(np.eye(n_out)[rng.integers(0, n_out, n)], dtype)


def predict_call(n_in, n_out, sizes, dtype="float64", **call):
    return Call("make_predict", (*layer(n_in, n_out, dtype), [(batch(n, n_in, n_out, dtype)[0],) for n in sizes]),
                compare="traced_calls", options=TRACED_ONCE, **(FLOAT32 if dtype == "float32" else FLOAT64), **call)


def step_call(n_in, n_out, rows, rates, dtype="float64", **call):
    calls = [(*batch(rows, n_in, n_out, dtype), lr) for lr in rates]
    return Call("make_train_step", (*layer(n_in, n_out, dtype), calls), compare="traced_calls", options=TRACED_ONCE,
                **(FLOAT32 if dtype == "float32" else FLOAT64), **call)


def epoch_call(n_in, n_out, batch_size, sizes, rates, dtype="float64", **call):
    calls = [(*batch(n, n_in, n_out, dtype), lr) for n, lr in zip(sizes, rates)]
    return Call("make_epoch", (*layer(n_in, n_out, dtype), batch_size, calls), compare="traced_calls",
                options=TRACED_ONCE, **(FLOAT32 if dtype == "float32" else FLOAT64), **call)


CHECKS = {
    "make_predict": dict(
        points=2,
        calls=[
            predict_call(
                3,
                2,
                [1, 4, 2],
                "float32",
                public=True,
                message="in float32, predict on batches of 1, 4 and 2 rows should give sigmoid(x @ w + b) "
                "(within 1e-5), traced once: give it an input_signature with None rows",
            ),
            predict_call(
                5,
                3,
                [2, 6, 3],
                public=True,
                message="in float64, w of shape (5, 3), batches of 2, 6 and 3 rows: float64 values (within 1e-8), "
                "traced once (the input_signature takes its dtype and n_in from w)",
            ),
            predict_call(784, 10, [5, 1, 8, 2]),
        ],
    ),
    "make_train_step": dict(
        points=4,
        calls=[
            step_call(
                3,
                2,
                4,
                [0.5, 0.25, 0.125],
                "float32",
                public=True,
                message="in float32, three steps on batches of 4 rows with lr 0.5, 0.25, 0.125 (Python floats): "
                "(w, b) after each step as train_step gives them, each step starting from the last one's "
                "weights, and traced once: a Python float that changes retraces unless the input_signature "
                "turns it into a tensor",
            ),
            step_call(
                4,
                3,
                5,
                [2.0, 1.0, 0.5, 0.1],
                public=True,
                message="in float64, four steps with lr 2.0, 1.0, 0.5, 0.1: float64 weights after each (within 1e-8), "
                "traced once",
            ),
            step_call(6, 4, 8, [3.0, 1.5, 0.75]),
        ],
    ),
    "make_epoch": dict(
        points=4,
        calls=[
            epoch_call(
                3,
                2,
                2,
                [6, 5, 4],
                [0.5, 0.5, 0.25],
                "float32",
                public=True,
                message="in float32, batches of 2, epochs over 6, 5 and 4 rows (5 rows: batches of 2, 2 and 1): "
                "(w, b) after each epoch, continuing from the last one's, traced once for all three sizes",
            ),
            epoch_call(
                4,
                3,
                3,
                [7, 9, 3],
                [1.0, 0.5, 2.0],
                public=True,
                message="in float64, batches of 3, epochs over 7, 9 and 3 rows with lr 1.0, 0.5, 2.0: float64 "
                "weights after each epoch (within 1e-8), traced once",
            ),
            epoch_call(5, 2, 4, [10, 4, 13], [1.5, 1.0, 0.5]),
        ],
    ),
}
