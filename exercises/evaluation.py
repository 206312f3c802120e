# %% [markdown]
# # Exercises: cross-validation
#
# Write each function where it says so, replacing `raise NotImplementedError`.
# Use NumPy and TensorFlow only (scikit-learn too, if you have it). Check your
# work with `mlpkit exercises check FILE`.

# %%
import numpy as np
import tensorflow as tf

# %% [markdown] exercise="stratified_folds"
# ## Stratified folds
#
# Write `stratified_folds(labels, k, seed)`: `labels` holds the integer class
# of each of `n` examples. Split the examples into `k` folds and return them
# as a list of `k` integer arrays of example indices (0 to `n - 1`), so that
# every example is in exactly one fold and every class is spread over the
# folds as evenly as it can be: a class with `n_c` examples has
# `floor(n_c / k)` or `ceil(n_c / k)` of them in each fold. Which example
# goes into which fold is shuffled by a random generator made from `seed`
# (the same seed, the same folds): the checks accept every split with these
# properties. For `k` below 2 or above `n`, raise a `ValueError` that says
# what `k` must be.

# %% exercise="stratified_folds"
def stratified_folds(labels, k, seed):
    ### BEGIN SOLUTION
    labels = np.asarray(labels)
    if not 2 <= k <= len(labels):
        raise ValueError(f"k must be from 2 to the number of labels, {len(labels)}; got {k}")
    rng = np.random.default_rng(seed)
    folds = [[] for _ in range(k)]
    dealt = 0  # dealt on from class to class: fold sizes differ by one at most
    for label in np.unique(labels):
        for index in rng.permutation(np.flatnonzero(labels == label)):
            folds[dealt % k].append(index)
            dealt += 1
    return [np.sort(np.array(fold, dtype=np.int64)) for fold in folds]
    ### END SOLUTION

# %% [markdown] exercise="fold_losses"
# ## A fresh network per fold
#
# Write `fold_losses(x, t, folds, lr, steps, seed)`: `x` has shape
# `(n, n_in)` and `t` (one-hot targets) shape `(n, n_out)`, both float64;
# `folds` is a list of `k` arrays of indices (each fold's validation rows).
# For each fold `i = 0, 1, ..., k - 1` in order:
#
# 1. build a *fresh* one-layer sigmoid network, `y = sigmoid(x @ w + b)`,
#    its weights `start_weights(n_in, n_out, 1000 * seed + i)` (given below:
#    each fold's network from its own seed, as `mlpkit study` seeds them);
# 2. train it with `steps` steps of gradient descent on all the rows *not*
#    in fold `i`, as one batch, with `train_step`'s cost
#    `reduce_mean((y - t) ** 2)` and update, learning rate `lr`;
# 3. its loss is that same cost on the rows of fold `i`.
#
# Return the `k` losses as a float64 array of shape `(k,)`. No fold's
# network may start from weights another fold trained.

# %% exercise="fold_losses"
def start_weights(n_in, n_out, seed):
    """A fresh network: w (n_in, n_out) normal with std 1 / sqrt(n_in), b zeros."""
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_out)), np.zeros(n_out)


def fold_losses(x, t, folds, lr, steps, seed):
    ### BEGIN SOLUTION
    x, t = np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64)
    losses = []
    for i, validation in enumerate(folds):
        train = np.setdiff1d(np.arange(len(x)), validation)
        x_train, t_train = x[train], t[train]
        w, b = start_weights(x.shape[1], t.shape[1], 1000 * seed + i)
        for _ in range(steps):
            y = 1 / (1 + np.exp(-(x_train @ w + b)))  # (rows, n_out)
            d_cost__d_z = 2 * (y - t_train) / y.size * y * (1 - y)
            w, b = w - lr * (x_train.T @ d_cost__d_z), b - lr * d_cost__d_z.sum(axis=0)
        y = 1 / (1 + np.exp(-(x[validation] @ w + b)))
        losses.append(np.mean((y - t[validation]) ** 2))
    return np.array(losses)
    ### END SOLUTION

# %% [markdown] exercise="mean_and_spread"
# ## Mean and spread of the folds
#
# Write `mean_and_spread(scores)`: for the `k >= 2` scores of a
# cross-validation (one per fold), return the pair `(mean, spread)`, the
# spread being the *sample* standard deviation, which divides the sum of
# squared deviations by `k - 1` (NumPy: `ddof=1`), as chapter 6's tables
# report it.

# %% exercise="mean_and_spread"
def mean_and_spread(scores):
    ### BEGIN SOLUTION
    scores = np.asarray(scores, dtype=np.float64)
    return float(scores.mean()), float(scores.std(ddof=1))
    ### END SOLUTION
