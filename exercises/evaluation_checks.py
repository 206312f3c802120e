"""Checks for the chapter 6 exercises (never released to students).

Folds are judged by their properties (``stratified_folds``: disjoint, covering, each class within one example
of an even share), never against the reference's own split.
"""
import numpy as np

from mlpkit.grading import Call, encode, variant_rng

rng = variant_rng(606)


def folds_call(labels, k, seed, **call):
    return Call("stratified_folds", (np.asarray(labels, dtype=np.int64), k, seed), compare="stratified_folds", **call)


def interleaved(n, k):
    """Fold i: rows i, i + k, i + 2k, ... (the checks' own folds for fold_losses)."""
    return [np.arange(i, n, k) for i in range(k)]


def start_weights(n_in, n_out, seed):  # as the exercise's cell gives it
    return np.random.default_rng(seed).normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_out)), np.zeros(n_out)


def numpy_fold_losses(x, t, folds, lr, steps, seed, reuse=False, same_seed=False):
    """fold_losses in NumPy, or one of two mistakes: one network carried from fold to fold (``reuse``), or
    every fold's network from ``start_weights(..., seed)`` (``same_seed``)."""
    losses, (w, b) = [], start_weights(x.shape[1], t.shape[1], 1000 * seed)
    for i, validation in enumerate(folds):
        train = np.setdiff1d(np.arange(len(x)), validation)
        if not reuse:
            w, b = start_weights(x.shape[1], t.shape[1], seed if same_seed else 1000 * seed + i)
        for _ in range(steps):
            a = 1 / (1 + np.exp(-(x[train] @ w + b)))
            delta = 2 * (a - t[train]) / a.size * a * (1 - a)
            w, b = w - lr * x[train].T @ delta, b - lr * delta.sum(axis=0)
        losses.append(np.mean((1 / (1 + np.exp(-(x[validation] @ w + b))) - t[validation]) ** 2))
    return np.array(losses)


FOLD_HINTS = {"reuse": "every fold after the first started from the weights the fold before it trained: build a fresh "
                       "network from start_weights for each fold",
              "same_seed": "every fold's network started from the same weights: fold i's seed is 1000 * seed + i"}


def losses_call(n, n_in, n_out, k, lr, steps, seed, **call):
    x, t = rng.uniform(0, 1, (n, n_in)), np.eye(n_out)[rng.integers(0, n_out, n)]
    folds = interleaved(n, k)
    mistakes = [{"value": encode(numpy_fold_losses(x, t, folds, lr, steps, seed, **{name: True})), "hint": hint}
                for name, hint in FOLD_HINTS.items()]
    return Call(
        "fold_losses", (x, t, folds, lr, steps, seed), rtol=1e-8, atol=1e-10, options={"mistakes": mistakes}, **call
    )


def spread_call(scores, **call):
    """A check of mean_and_spread that recognises the population standard deviation (ddof=0) and says so."""
    scores = np.asarray(scores, dtype=np.float64)
    mistake = {
        "value": encode((float(scores.mean()), float(scores.std()))),
        "hint": "the spread divides by k, not k - 1: use the sample standard deviation (ddof=1)",
    }
    return Call("mean_and_spread", (scores,), rtol=1e-9, atol=1e-12, options={"mistakes": [mistake]}, **call)


CHECKS = {
    "stratified_folds": dict(
        points=3,
        calls=[
            folds_call(
                [0] * 6 + [1] * 3 + [2] * 3,
                3,
                0,
                public=True,
                message="labels sorted by class (six 0s, three 1s, three 2s), k = 3: three folds holding every "
                "index 0-11 once, each with two 0s, one 1 and one 2",
            ),
            folds_call(
                rng.permutation([0] * 10 + [1] * 7 + [2] * 4),
                3,
                1,
                public=True,
                message="21 shuffled labels (ten 0s, seven 1s, four 2s), k = 3: each fold holds 3 or 4 of the 0s, "
                "2 or 3 of the 1s and 1 or 2 of the 2s, and every index is in exactly one fold",
            ),
            folds_call(rng.integers(0, 10, 200), 5, 3),
            folds_call(np.repeat([4, 1, 3], [9, 14, 5]), 4, 7),
            # the seed: the same folds for the same seed, others for another (Call's options["seed"])
            folds_call(
                rng.permutation([0] * 9 + [1] * 8 + [2] * 7),
                3,
                4,
                public=True,
                options={"seed": 2},
                message="24 shuffled labels, k = 3, seed 4: called twice with seed 4 it returns the same folds, "
                "with seed 5 other folds (shuffle with a random generator made from seed)",
            ),
            folds_call(rng.integers(0, 4, 60), 4, 9, options={"seed": 2}),
            # k out of range: a ValueError
            folds_call(
                [0, 1, 0, 1, 0],
                1,
                0,
                public=True,
                raises=ValueError,
                case="invalid k",
                message="k = 1 (fewer than 2 folds): raise a ValueError that says what k must be",
            ),
            folds_call(
                [0, 1, 1, 0],
                5,
                0,
                public=True,
                raises=ValueError,
                case="invalid k",
                message="k = 5 for 4 examples (more folds than examples): raise a ValueError",
            ),
            folds_call([2, 2, 0, 1, 1, 0, 2], 0, 3, raises=ValueError, case="invalid k"),
            folds_call([0, 0, 1, 1, 2, 2], 7, 1, raises=ValueError, case="invalid k"),
        ],
    ),
    "fold_losses": dict(
        points=4,
        calls=[
            losses_call(
                12,
                3,
                2,
                3,
                0.5,
                5,
                0,
                public=True,
                message="12 rows, 3 folds (rows 0, 3, 6, 9 the first), 5 steps with lr 0.5, seed 0: each fold's "
                "validation loss from a fresh network started from start_weights(3, 2, 1000 * 0 + i) "
                "(within 1e-8)",
            ),
            losses_call(
                10,
                4,
                3,
                4,
                2.0,
                3,
                2,
                public=True,
                message="10 rows, 4 folds of 3, 3, 2 and 2 rows, 3 steps with lr 2.0, seed 2: fold i's network "
                "starts from start_weights(4, 3, 2000 + i), never from another fold's trained weights "
                "(within 1e-8)",
            ),
            losses_call(30, 5, 4, 5, 1.0, 8, 1),
        ],
    ),
    "mean_and_spread": dict(
        points=2,
        calls=[
            spread_call(
                [80.0, 82.0, 84.0],
                public=True,
                message="scores 80, 82, 84: mean 82 and sample standard deviation 2 (squared deviations summed, "
                "divided by k - 1 = 2)",
            ),
            spread_call(rng.uniform(60, 95, 10)),
            spread_call([91.25, 90.5]),
        ],
    ),
}
