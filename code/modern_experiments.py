"""Chapter 7's experiments with the modern MLP, each a function the chapter calls.

- initialisation: the size of the activations, layer after layer (``activation_rms``);
- from chapter 4's recipe to the tutorial's, one change at a time (``recipe_steps``,
  ``train_recipe``);
- a saturated start, trained with mean squared error and with cross-entropy
  (``saturate_outputs``, ``saturated_comparison``);
- batch size: how noisy a mini-batch's gradient is (``gradient_spread``) and how long an
  epoch takes (``epoch_seconds``);
- reading the results: a confusion matrix normalised by true class and accuracy keyed by
  class (``normalise_by_true_class``, ``accuracy_by_class``), two places where the
  tutorial's code goes wrong.

Networks and training come from ``mlpkit.modern``, the optimizers' default rates from
``mlpkit.modern_optimizers``.
"""

import numpy as np
import tensorflow as tf

from mlpkit.defaults import THESIS_BATCH_SIZE, THESIS_INIT, THESIS_LAYERS, THESIS_LR
from mlpkit.modern import MLP, cross_entropy, train
from mlpkit.modern_optimizers import DEFAULT_LR

# -- initialisation: how the activations' size changes from layer to layer -------------


def activation_rms(model, x):
    """Root mean square of ``a_0 = x`` and of each layer's output ``a_l`` of ``model``
    (an ``MLP``), in inference."""
    rms = [float(tf.sqrt(tf.reduce_mean(tf.square(x))))]
    for layer in model.layers:
        x = layer(x)
        rms.append(float(tf.sqrt(tf.reduce_mean(tf.square(x)))))
    return rms


# -- from chapter 4's recipe to the tutorial's, one change at a time -------------------

# : Each step changes the settings of the one before it in one respect (loss and output
# count as one: : a softmax output goes with cross-entropy). The first row is chapter
# 4's network; the row : "batch 128" is the tutorial's recipe on a 100-unit hidden
# layer; the last swaps Glorot for He.
RECIPE_STEPS = (
    (
        "chapter 4",
        {
            "layer_sizes": THESIS_LAYERS,
            "activation": "sigmoid",
            "output": "sigmoid",
            "init": THESIS_INIT,
            "loss": "mse",
            "optimizer": "sgd",
            "lr": THESIS_LR,
            "batch_size": THESIS_BATCH_SIZE,
        },
    ),
    ("width 100", {"layer_sizes": (784, 100, 10)}),
    ("Glorot init", {"init": "glorot"}),
    ("softmax + cross-entropy", {"output": "logits", "loss": "cross_entropy"}),
    ("Adam", {"optimizer": "adam", "lr": DEFAULT_LR["adam"]}),
    ("ReLU", {"activation": "relu"}),
    ("batch 128", {"batch_size": 128}),
    ("He init", {"init": "he"}),
)


def recipe_steps():
    """``[(name, settings)]``: the cumulative settings after each change of
    ``RECIPE_STEPS``."""
    settings, out = {}, []
    for name, change in RECIPE_STEPS:
        settings = {**settings, **change}
        out.append((name, settings))
    return out


def leave_one_out(end="batch 128"):
    """``[(name, settings)]``: the settings of row ``end`` of ``recipe_steps()`` with
    the change ``name`` undone, its settings back at chapter 4's; one row per change up
    to ``end``. Unlike the cumulative rows, each measures a change against all the
    others, whatever the order in which they were made."""
    rows = dict(recipe_steps())
    start, last = rows[RECIPE_STEPS[0][0]], rows[end]
    out = []
    for name, change in RECIPE_STEPS[1:]:
        out.append((name, {**last, **{key: start[key] for key in change}}))
        if name == end:
            break
    return out


def train_recipe(
    settings, x_train, y_train, x_test, y_test, epochs=5, validation=1000, seed=0
):
    """Train a fresh ``MLP`` built from one row of ``recipe_steps()``; return its
    history."""
    net = MLP(
        settings["layer_sizes"],
        settings["activation"],
        settings["output"],
        seed=seed,
        init=settings["init"],
    )
    return train(
        net,
        x_train,
        y_train,
        x_test,
        y_test,
        loss=settings["loss"],
        optimizer=settings["optimizer"],
        lr=settings["lr"],
        epochs=epochs,
        batch_size=settings["batch_size"],
        validation=validation,
        seed=seed,
        progress=False,
    )


# -- a saturated start: mean squared error against cross-entropy -----------------------


def saturate_outputs(model, bias=10.0, favoured=0):
    """Set the output biases of ``model`` to ``+bias`` for class ``favoured`` and
    ``-bias`` for the others.

    With small weights every input then gets the same answer, ``favoured``: sigmoid
    outputs sit near 1 there and near 0 elsewhere, saturated and wrong for every example
    of another class."""
    if not np.isfinite(bias) or bias <= 0:
        raise ValueError(f"bias must be a positive number; got {bias}")
    b = model.layers[-1].b
    b.assign(
        np.where(np.arange(b.shape[0]) == favoured, bias, -bias).astype(
            b.dtype.as_numpy_dtype
        )
    )
    return model


SATURATED_RUNS = {
    "sigmoid + MSE": ("sigmoid", "mse"),
    "softmax + cross-entropy": ("logits", "cross_entropy"),
}


def saturated_comparison(
    x_train,
    y_train,
    x_test,
    y_test,
    layer_sizes=(784, 30, 10),
    bias=10.0,
    lr=THESIS_LR,
    epochs=2,
    batch_size=20,
    seed=0,
):
    """``{name: History}``: the same sigmoid network, from the same saturated start
    (``saturate_outputs``), trained the same way (SGD, same rate, batches and order)
    with each output and loss of ``SATURATED_RUNS``."""
    runs = {}
    for name, (output, loss) in SATURATED_RUNS.items():
        net = saturate_outputs(MLP(layer_sizes, "sigmoid", output, seed=seed), bias)
        runs[name] = train(
            net,
            x_train,
            y_train,
            x_test,
            y_test,
            loss=loss,
            optimizer="sgd",
            lr=lr,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            progress=False,
        )
    return runs


def epoch_seconds(
    x_train, y_train, batch_size, layer_sizes=(784, 30, 10), epochs=2, seed=0
):
    """The shortest time of an epoch of SGD (cross-entropy) over ``x_train`` in batches
    of ``batch_size``, one ``tf.function`` step per batch called from Python (each step
    pays a fixed cost; ``train`` compiles the whole epoch instead, chapter 5), from
    epoch 2 on (the first also traces the step): a figure for this machine, now."""
    import time

    from mlpkit.modern import make_train_step, run_epoch
    from mlpkit.modern_optimizers import SGD

    x = tf.convert_to_tensor(x_train, tf.float32)
    y = tf.convert_to_tensor(y_train, tf.float32)
    step = make_train_step(MLP(layer_sizes, "relu", seed=seed), cross_entropy, SGD(0.1))
    rng, seconds = np.random.default_rng(seed), []
    for _ in range(max(int(epochs), 2)):
        start = time.perf_counter()
        run_epoch(step, x, y, rng.permutation(int(x.shape[0])), int(batch_size))
        seconds.append(time.perf_counter() - start)
    return min(seconds[1:])


# -- batch size: how noisy the gradient is, how long an epoch takes --------------------


def flat_gradient(model, x, y_onehot):
    """The gradient of the mean cross-entropy over ``(x, y_onehot)`` with respect to all
    of ``model.params``, flattened into one vector ``(number of parameters,)``."""
    with tf.GradientTape() as tape:
        value = cross_entropy(model(x), y_onehot)
    return tf.concat(
        [tf.reshape(g, [-1]) for g in tape.gradient(value, model.params)], axis=0
    )


def gradient_spread(
    model, x, y_onehot, batch_sizes=(8, 32, 128, 512), batches=32, seed=0
):
    """``{B: sqrt(mean |g_B - g|^2)}``: how far the gradient ``g_B`` of a mini-batch of
    ``B`` examples is, in root mean square over ``batches`` mini-batches, from the
    full-batch gradient ``g`` on all of ``x``. Mini-batches are consecutive slices of
    random orders of the examples, as in training (no example twice in one batch); with
    ``n`` examples the spread is ``s sqrt((n - B) / (B (n - 1)))`` for a per-example
    spread ``s`` (sampling without replacement)."""
    x, y_onehot = (
        tf.convert_to_tensor(x, tf.float32),
        tf.convert_to_tensor(y_onehot, tf.float32),
    )
    n, rng = int(x.shape[0]), np.random.default_rng(seed)
    if not all(1 <= int(b) < n for b in batch_sizes):
        raise ValueError(
            f"batch sizes must be between 1 and the {n:,} examples less one; got "
            f"{list(batch_sizes)}"
        )
    full = flat_gradient(model, x, y_onehot)
    step = tf.function(
        lambda xb, yb: flat_gradient(model, xb, yb), reduce_retracing=True
    )
    spread = {}
    for b in map(int, batch_sizes):
        squares = []
        while len(squares) < batches:
            order = rng.permutation(n)
            for start in range(0, n - b + 1, b):
                index = order[start : start + b]
                squares.append(
                    float(
                        tf.reduce_sum(
                            tf.square(
                                step(tf.gather(x, index), tf.gather(y_onehot, index))
                                - full
                            )
                        )
                    )
                )
                if len(squares) == batches:
                    break
        spread[b] = float(np.sqrt(np.mean(squares)))
    return spread


# -- reading the results ---------------------------------------------------------------


def normalise_by_true_class(confusion):
    """Each row of a confusion matrix divided by its own total: entry (i, j) is the
    fraction of class i predicted as j. (``confusion / confusion.sum(axis=1)`` would
    divide column j by the total of row j instead: NumPy broadcasts the row totals along
    the last axis.)"""
    confusion = np.asarray(confusion, dtype=np.float64)
    totals = confusion.sum(axis=1, keepdims=True)
    return np.divide(confusion, totals, out=np.zeros_like(confusion), where=totals > 0)


def accuracy_by_class(true, predicted, classes=10):
    """``{class: accuracy}`` keyed by the class, so classes with equal accuracy both
    stay."""
    true, predicted = np.asarray(true), np.asarray(predicted)
    return {
        c: float(np.mean(predicted[true == c] == c))
        if np.any(true == c)
        else float("nan")
        for c in range(classes)
    }
