"""Chapter 9: regularisation, written by hand and checked against Keras.

Three pieces, each from its formula:

- an **L2 penalty** on the weight matrices, ``(lam / 2) * sum_l ||W_l||^2`` added to the
  cost, beside its gradient ``lam * W_l`` (the biases are not penalised). Keras's
  ``keras.regularizers.L2(l2)`` adds ``l2 * sum(W^2)``, without the half, so the same
  penalty there is ``l2 = lam / 2`` (``keras_l2``);
- **decoupled weight decay** (Loshchilov and Hutter's AdamW): ``AdamW`` shrinks each
  weight matrix by ``lr * weight_decay * W`` and then takes chapter 7's Adam step with
  the gradient of the cost alone, as ``keras.optimizers.AdamW`` does;
- ``train``: a training loop for ``mlpkit.modern.MLP`` (whose ``dropout`` argument gives
  dropout) with any of these, recording the history chapter 7's ``train`` records, so
  the plots treat every run alike.

Shapes follow the book: a batch ``x`` is ``(B, n_0)``, one-hot targets ``t`` are
``(B, n_L)``, ``W_l`` is ``(n_{l-1}, n_l)`` and a bias ``(n_l,)``. The cost is chapter
7's mean softmax cross-entropy over the batch; the losses this module records are that
cost without the penalty, so runs with and without a penalty compare on one scale.
"""

import time

import numpy as np
import tensorflow as tf

from mlpkit import modern, modern_optimizers, training
from mlpkit.training import History


def _check_strength(name, value):
    if not (
        isinstance(value, (int, float, np.floating, np.integer))
        and np.isfinite(value)
        and value >= 0
    ):
        raise ValueError(f"{name} must be a number 0 or larger; got {value!r}")
    return float(value)


def is_weight_matrix(variable):
    """True for a weight matrix ``W_l`` (rank 2), False for a bias ``b_l`` (rank 1):
    only the first is decayed."""
    return len(variable.shape) == 2


# -- the L2 penalty and its gradient, side by side -------------------------------------


def l2_penalty(variables, lam):
    """``(lam / 2) * sum ||W_l||^2`` over the weight matrices among ``variables``
    (biases skipped); a scalar."""
    lam = _check_strength("lam", lam)
    return (
        lam
        / 2
        * tf.add_n(
            [tf.reduce_sum(tf.square(v)) for v in variables if is_weight_matrix(v)]
        )
    )


# Shown in book/deep.md (literalinclude).
def l2_penalty_gradient(variables, lam):
    """``d penalty / d v`` for each of ``variables``: ``lam * W_l`` for a weight matrix,
    zeros for a bias."""
    lam = _check_strength("lam", lam)
    return [lam * v if is_weight_matrix(v) else tf.zeros_like(v) for v in variables]


def keras_l2(lam):
    """The ``l2`` argument of ``keras.regularizers.L2`` for this module's ``lam``: Keras
    adds ``l2 * sum(W^2)``."""
    return _check_strength("lam", lam) / 2


# -- decoupled weight decay ------------------------------------------------------------


# Shown in book/deep.md (literalinclude).
class AdamW(modern_optimizers.Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), in Keras's formulation.

    Each step first shrinks every weight matrix, ``W -= lr * weight_decay * W``, then
    takes chapter 7's Adam step with the gradient of the cost alone (computed before
    either change). The decay never passes through Adam's division by ``sqrt(v)``, so
    every weight shrinks by the same fraction ``lr * weight_decay`` per step. The paper
    writes the shrink as ``eta_t * lambda`` with ``eta_t`` a schedule multiplier (1
    here): its ``lambda`` is ``lr * weight_decay`` in Keras's terms. Biases are not
    decayed (Keras decays them unless told otherwise; ``keras_adamw`` tells it).
    """

    def __init__(
        self, lr=0.001, weight_decay=0.004, beta1=0.9, beta2=0.999, epsilon=1e-7
    ):
        super().__init__(lr, beta1, beta2, epsilon)
        self.weight_decay = _check_strength("weight_decay", weight_decay)

    def update(self, g, v, slots):
        if is_weight_matrix(v):
            v.assign_sub(self.lr * self.weight_decay * v)
        super().update(g, v, slots)


def keras_adamw(lr=0.001, weight_decay=0.004):
    """``keras.optimizers.AdamW`` decaying the kernels only, as ``AdamW`` here does."""
    import keras

    optimizer = keras.optimizers.AdamW(
        learning_rate=lr, weight_decay=_check_strength("weight_decay", weight_decay)
    )
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    return optimizer


def keras_mlp(layer_sizes, l2=0.0, activation="relu", seed=0):
    """A Keras ``Sequential`` MLP on ``(None, layer_sizes[0])`` inputs, logits out, each
    kernel with ``L2(l2)``.

    ``l2`` is Keras's factor (``l2 * sum(W^2)``); pass ``keras_l2(lam)`` for this
    module's ``lam``."""
    import keras

    if activation not in modern.ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; expected one of "
            f"{', '.join(modern.ACTIVATIONS)}"
        )
    sizes = [int(n) for n in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            f"layer_sizes must list at least two positive sizes; got {layer_sizes!r}"
        )
    regulariser = keras.regularizers.L2(_check_strength("l2", l2)) if l2 else None
    keras.utils.set_random_seed(seed)
    layers = [
        keras.layers.Dense(n, activation=activation, kernel_regularizer=regulariser)
        for n in sizes[1:-1]
    ]
    layers.append(keras.layers.Dense(sizes[-1], kernel_regularizer=regulariser))
    return keras.Sequential([keras.Input((sizes[0],)), *layers])


# -- dropout by hand -------------------------------------------------------------------


# Shown in book/deep.md (literalinclude).
def dropout(a, rate, seed):
    """Inverted dropout of the activations ``a`` in training: each entry is zeroed with
    probability ``rate`` (a random mask from the stateless ``seed``, two integers) and
    the others are scaled by ``1 / (1 - rate)``, so every entry keeps its expected
    value, ``E[dropout(a)] = (1 - rate) * a / (1 - rate) = a``. In inference the layer
    is left out."""
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1); got {rate}")
    a = tf.convert_to_tensor(a, tf.float32)
    keep = tf.random.stateless_uniform(tf.shape(a), seed) >= rate  # P = 1 - rate
    return tf.where(keep, a / (1.0 - rate), tf.zeros_like(a))


# -- training by hand ------------------------------------------------------------------


def batches(x, t, batch_size, order=None):
    """``[(x_batch, t_batch)]`` of ``batch_size`` rows in ``order`` (default: as given);
    the last may be shorter."""
    n, batch_size = int(x.shape[0]), int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    order = np.arange(n) if order is None else np.asarray(order)
    return [
        (
            tf.gather(x, order[i : i + batch_size]),
            tf.gather(t, order[i : i + batch_size]),
        )
        for i in range(0, n, batch_size)
    ]


def make_step(model, optimizer, lam=0.0):
    """A compiled training step ``step(x, t) -> cost`` for ``model`` (an
    ``mlpkit.modern.MLP``).

    The gradient of the cross-entropy comes from ``tf.GradientTape``; the penalty's,
    ``lam * W_l``, is added by hand (``l2_penalty_gradient``); ``optimizer`` (one of
    chapter 7's, or ``AdamW``) applies the sum. The cost returned excludes the penalty.
    """
    lam = _check_strength("lam", lam)
    variables = model.params

    @tf.function
    def step(x, t):
        with tf.GradientTape() as tape:
            cost = modern.cross_entropy(model(x, training=True), t)
        gradients = tape.gradient(cost, variables)
        if lam:
            gradients = [
                g + p for g, p in zip(gradients, l2_penalty_gradient(variables, lam))
            ]
        optimizer.apply(gradients, variables)
        return cost

    return step


def record_epoch(history, model, splits, epoch):
    """Append epoch ``epoch``'s row to ``history``: the cross-entropy without the
    penalty and the accuracy of ``model`` in inference on each of ``splits``
    (``{name: (x, t)}``)."""
    row = {"epoch": epoch}
    for split, (x, t) in splits.items():
        result = training.evaluate(model, x, t, loss=modern.cross_entropy)
        row[f"{split}_loss"], row[f"{split}_accuracy"] = result.loss, result.accuracy
    history.epochs.append(row)


def train(
    model,
    x_train,
    t_train,
    x_test,
    t_test,
    optimizer,
    lam=0.0,
    epochs=10,
    batch_size=32,
    seed=0,
):
    """Train ``model`` in place with ``optimizer`` and an L2 penalty ``lam``; return a
    ``mlpkit.training.History``.

    Rows of ``history.epochs`` (epoch 0 before training) hold ``train_loss``,
    ``train_accuracy``, ``test_loss`` and ``test_accuracy``: the cross-entropy without
    the penalty, and the accuracy, both in inference (no dropout). Examples are shuffled
    each epoch by ``numpy.random.default_rng(seed)``."""
    if int(epochs) < 0:
        raise ValueError(f"epochs must be 0 or more; got {epochs}")
    x_train, t_train = (
        tf.convert_to_tensor(x_train, tf.float32),
        tf.convert_to_tensor(t_train, tf.float32),
    )
    step, rng = make_step(model, optimizer, lam), np.random.default_rng(seed)
    history = History(
        config={
            "optimizer": type(optimizer).__name__,
            "lr": optimizer.lr,
            "lam": float(lam),
            "weight_decay": getattr(optimizer, "weight_decay", 0.0),
            "dropout": getattr(model, "dropout", 0.0),
            "epochs": int(epochs),
            "batch_size": int(batch_size),
            "seed": seed,
        }
    )
    splits = {"train": (x_train, t_train), "test": (x_test, t_test)}
    record_epoch(history, model, splits, 0)
    start = time.perf_counter()
    for epoch in range(1, int(epochs) + 1):
        for x, t in batches(
            x_train, t_train, batch_size, rng.permutation(int(x_train.shape[0]))
        ):
            step(x, t)
        record_epoch(history, model, splits, epoch)
    history.wall_seconds = time.perf_counter() - start
    return history


def gap(history, key="loss"):
    """Test minus train ``loss`` (or train minus test ``accuracy``) at the last epoch:
    how far the two have come apart."""
    final = history.final
    return (
        final[f"test_{key}"] - final[f"train_{key}"]
        if key == "loss"
        else final[f"train_{key}"] - final[f"test_{key}"]
    )
