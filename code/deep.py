"""Chapter 9: why deep sigmoid networks train badly, measured, and what initialisation
does about it.

Everything here measures a network of ``mlpkit.modern.MLP`` (any activation, ``init``
one of ``modern.INITS``) or builds one; training reuses chapter 4's compiled epoch
(``mlpkit.training.make_epoch_function``: plain SGD on the mean squared error of a
sigmoid output, the thesis's recipe).

Notation as the book's: a batch ``x`` is ``(B, n_0)`` rows, layer ``l`` computes
``z_l = a_{l-1} W_l + b_l`` ``(B, n_l)`` and ``a_l = act(z_l)``, with ``a_0 = x`` and
output ``y = a_L``; ``W_l`` is ``(n_{l-1}, n_l)``. The cost is chapter 4's ``C = mean
over batch and outputs of (y - t)^2``. Backpropagation carries ``delta_l = dC/dz_l``
back as

    delta_l = (delta_{l+1} W_{l+1}^T) * act'(z_l)        (B, n_l) dC/dW_l = a_{l-1}^T
    delta_l                           (n_{l-1}, n_l)

(the chapter writes the first as ``(W_{l+1}^T delta_{l+1}) ⊙ σ'(z_l)`` for one example
as a column; with rows, the product is taken from the right). With the sigmoid every
factor ``σ'(z_l)`` is at most 1/4, so ``delta_l`` tends to shrink on its way back to the
first layer.
"""

import numpy as np
import tensorflow as tf

from mlpkit import modern
from mlpkit.defaults import THESIS_BATCH_SIZE, THESIS_LR
from mlpkit.gradients import mse
from mlpkit.study import (
    saturated_fraction,  # chapter 6's measure, on this chapter's sigmoid networks too
)
from mlpkit.training import evaluate, make_epoch_function

# : The four settings the chapter compares: (hidden activation, initialisation in
# ``modern.INITS``).
SETTINGS = (
    ("sigmoid", "uniform"),
    ("sigmoid", "glorot"),
    ("relu", "uniform"),
    ("relu", "he"),
)


def deep_network(layer_sizes, activation="sigmoid", init="uniform", seed=0):
    """A ``modern.MLP`` with ``activation`` hidden layers and chapter 4's sigmoid
    output, weights from ``init``."""
    return modern.MLP(layer_sizes, activation, output="sigmoid", seed=seed, init=init)


# -- one forward pass, every layer kept ------------------------------------------------


def check_model(model):
    """``model`` must be a ``mlpkit.modern.MLP``; raise ``TypeError`` saying so
    otherwise."""
    if not isinstance(model, modern.MLP):
        raise TypeError(f"expected a mlpkit.modern.MLP; got {type(model).__name__}")
    return model


def layer_outputs(model, x):
    """``(zs, activations)``: ``[z_1, ..., z_L]`` and ``[a_0 = x, a_1, ..., a_L]`` of
    ``model`` on the batch ``x``.

    ``z_l`` and ``a_l`` are ``(B, n_l)`` tensors; inference mode (no dropout)."""
    check_model(model)
    a = tf.convert_to_tensor(x, tf.float32)
    if a.shape.rank != 2 or int(a.shape[1]) != model.layer_sizes[0]:
        raise ValueError(
            f"expected a batch of shape (B, {model.layer_sizes[0]}); got "
            f"{tuple(a.shape)}"
        )
    zs, activations = [], [a]
    for layer in model.layers:
        z = a @ layer.w + layer.b
        a = layer.activation(z)
        zs.append(z)
        activations.append(a)
    return zs, activations


def activation_spread(model, x):
    """Standard deviation of ``a_l`` over the batch and units, for ``l = 1, ..., L`` (a
    list of floats)."""
    return [float(tf.math.reduce_std(a)) for a in layer_outputs(model, x)[1][1:]]


def sigmoid_slope(a):
    """``σ'(z) = σ(z)(1 - σ(z)) = a(1 - a)``, computed from the sigmoid's output ``a``;
    at most 1/4, at ``z = 0``."""
    return a * (1.0 - a)


def mean_slope(model, x):
    """Per sigmoid layer, the mean of ``σ'(z_l)`` on ``x``: the average factor
    ``delta_l`` picks up there (at most 1/4)."""
    saturated_fraction(model, x)  # the same check: sigmoid layers only
    return [
        float(tf.reduce_mean(sigmoid_slope(a))) for a in layer_outputs(model, x)[1][1:]
    ]


# -- gradients, layer by layer ---------------------------------------------------------


def gradient_norms(model, x, t):
    """``[‖dC/dW_1‖, ..., ‖dC/dW_L‖]``: the Frobenius norm of each weight matrix's
    gradient, as floats.

    ``C`` is chapter 4's mean squared error of ``model(x)`` against the one-hot targets
    ``t`` ``(B, n_L)``, so ``model`` should have a sigmoid output. The biases' gradients
    are left out."""
    check_model(model)
    weights = [layer.w for layer in model.layers]
    with tf.GradientTape() as tape:
        cost = mse(model(tf.convert_to_tensor(x, tf.float32)), t)
    return [float(tf.norm(g)) for g in tape.gradient(cost, weights)]


def activation_slope(model, z, a):
    """``act'(z_l)`` of the hidden activation from ``z_l`` and ``a_l = act(z_l)``:
    ``a(1 - a)`` for the sigmoid, ``1 - a^2`` for tanh, and for the ReLU 1 where
    ``z > 0``, else 0."""
    if model.activation == "sigmoid":
        return sigmoid_slope(a)
    if model.activation == "tanh":
        return 1.0 - tf.square(a)
    return tf.cast(z > 0, z.dtype)


# Shown in book/deep.md (literalinclude).
def deltas(model, x, t):
    """``[delta_1, ..., delta_L]``, ``delta_l = dC/dz_l`` ``(B, n_l)``, by the backward
    recursion, for chapter 4's cost.

    ``delta_L = dC/dy * σ'(z_L)`` at the sigmoid output, with
    ``dC/dy = 2 (y - t) / (B n_L)``; then ``delta_l = (delta_{l+1} W_{l+1}^T) *
    act'(z_l)`` layer by layer back to the first. From them
    ``dC/dW_l = a_{l-1}^T delta_l`` (``tests/test_deep.py`` checks this against
    ``tf.GradientTape``)."""
    if check_model(model).output != "sigmoid":
        raise ValueError(
            "chapter 4's mean squared error needs a sigmoid output; this network has "
            f"{model.output}"
        )
    zs, activations = layer_outputs(model, x)
    y = activations[-1]  # (B, n_L)
    t = tf.cast(t, y.dtype)
    if t.shape != y.shape:
        raise ValueError(
            f"expected one-hot targets of shape {tuple(y.shape)}; got {tuple(t.shape)}"
        )
    d_cost__d_y = 2.0 * (y - t) / float(y.shape[0] * y.shape[1])  # (B, n_L)
    out = [d_cost__d_y * sigmoid_slope(y)]  # delta_L
    # layer index l - 1 for l = L-1, ..., 1
    for layer in reversed(range(len(model.layers) - 1)):
        above = model.layers[layer + 1].w  # W_{l+1}, (n_l, n_{l+1})
        out.insert(
            0,
            (out[0] @ tf.transpose(above))
            * activation_slope(model, zs[layer], activations[layer + 1]),
        )
    return out


def delta_shrink(model, x, t):
    """``‖delta_l‖ / ‖delta_{l+1}‖`` for ``l = 1, ..., L - 1``: how much the backward
    signal changes in each layer."""
    norms = [float(tf.norm(d)) for d in deltas(model, x, t)]
    return [below / above for below, above in zip(norms[:-1], norms[1:])]


def train_recording_gradients(
    model,
    x_train,
    t_train,
    x_probe,
    t_probe,
    x_test,
    t_test,
    epochs=3,
    lr=THESIS_LR,
    batch_size=THESIS_BATCH_SIZE,
    seed=0,
    run_epoch=None,
):
    """Train ``model`` in place with chapter 4's SGD, measuring it before training and
    after every epoch.

    Returns ``{"norms": (epochs + 1, L) array, "test_accuracy": (epochs + 1,) array}``:
    row ``e`` holds ``gradient_norms(model, x_probe, t_probe)`` after epoch ``e`` (row
    0: before training) and the accuracy on ``x_test`` (one-hot ``t_test``) then. The
    data are shuffled every epoch from ``seed``. A saturated network's gradients are
    exactly 0, and a norm is NaN where the weights stopped being finite. ``run_epoch``
    is ``make_epoch_function(model, lr, batch_size)`` if not given (``compare`` passes
    one it made before, to reuse its compiled program)."""
    check_model(model)
    if model.output != "sigmoid":
        raise ValueError(
            "chapter 4's mean squared error needs a sigmoid output; this network has "
            f"{model.output}"
        )
    if int(epochs) < 0 or int(batch_size) < 1:
        raise ValueError(
            f"epochs must be 0 or more and the batch size at least 1; got {epochs} and "
            f"{batch_size}"
        )
    x_train, t_train = (
        tf.convert_to_tensor(x_train, tf.float32),
        tf.convert_to_tensor(t_train, tf.float32),
    )
    run_epoch = run_epoch or make_epoch_function(model, lr, batch_size)
    rng = np.random.default_rng(seed)
    norms, accuracy = [], []

    def measure():
        norms.append(gradient_norms(model, x_probe, t_probe))
        accuracy.append(evaluate(model, x_test, t_test).accuracy)

    measure()
    for _ in range(int(epochs)):
        run_epoch(x_train, t_train, rng.permutation(int(x_train.shape[0])))
        measure()
    return {
        "norms": np.array(norms, dtype=np.float64),
        "test_accuracy": np.array(accuracy, dtype=np.float64),
    }


def compare(
    layer_sizes,
    settings,
    seeds,
    x_train,
    t_train,
    x_probe,
    t_probe,
    x_test,
    t_test,
    epochs=3,
    lr=THESIS_LR,
    batch_size=THESIS_BATCH_SIZE,
):
    """``{(activation, init): [train_recording_gradients(...) for each seed]}`` for
    networks of ``layer_sizes``.

    Run ``seed`` of a setting starts from the weights of ``deep_network(layer_sizes,
    activation, init, seed)`` and shuffles from ``seed``. Compiling an epoch takes
    longer than training one here, so one network per activation is built and its epoch
    compiled once; every run loads its fresh starting weights into it."""
    settings, seeds = list(settings), [int(seed) for seed in seeds]
    for activation, init in settings:
        if activation not in modern.ACTIVATIONS or init not in modern.INITS:
            raise ValueError(
                "a setting is (activation, init) with an activation in "
                f"{sorted(modern.ACTIVATIONS)} and an "
                f"init in {sorted(modern.INITS)}; got "
                f"{(activation, init)!r}"
            )
    compiled, runs = {}, {}
    for activation, init in settings:
        if activation not in compiled:
            model = deep_network(layer_sizes, activation, "glorot", seed=0)
            compiled[activation] = model, make_epoch_function(model, lr, batch_size)
        model, run_epoch = compiled[activation]
        runs[activation, init] = []
        for seed in seeds:
            model.set_weights(
                deep_network(layer_sizes, activation, init, seed).get_weights()
            )
            runs[activation, init].append(
                train_recording_gradients(
                    model,
                    x_train,
                    t_train,
                    x_probe,
                    t_probe,
                    x_test,
                    t_test,
                    epochs,
                    lr,
                    batch_size,
                    seed,
                    run_epoch,
                )
            )
    return runs


def first_to_last(norms):
    """``‖dC/dW_1‖ / ‖dC/dW_L‖`` for one row of gradient norms (or each row of an array
    of them)."""
    norms = np.asarray(norms, dtype=np.float64)
    return norms[..., 0] / norms[..., -1]


# -- initialisation --------------------------------------------------------------------


def zero_init(model):
    """Set every weight and bias of ``model`` to 0, in place; return the model."""
    for param in check_model(model).params:
        param.assign(tf.zeros_like(param))
    return model


def column_spread(weights):
    """Largest difference between any column of ``weights`` ``(n_in, n_out)`` and the
    first: 0 when every unit it feeds is alike."""
    weights = np.asarray(weights, dtype=np.float64)
    return float(np.max(np.abs(weights - weights[:, :1])))


def glorot_variance(n_in, n_out):
    """``2 / (n_in + n_out)``: the harmonic mean of the forward condition's ``1 / n_in``
    and the backward's ``1 / n_out``."""
    return 2.0 / (n_in + n_out)


def he_variance(n_in):
    """``2 / n_in``: the forward condition doubled, since a ReLU passes on about half of
    its inputs' mean square."""
    return 2.0 / n_in


def uniform_limit(variance):
    """The ``a`` of ``U(-a, a)`` with the given variance: ``U(-a, a)`` has variance
    ``a^2 / 3``, so ``a = sqrt(3 variance)``."""
    return float(np.sqrt(3.0 * variance))


def variance_tolerance(size, sigmas=6.0):
    """Relative tolerance for the sample variance of ``size`` independent draws of
    ``U(-a, a)``.

    ``Var[w^2] = E[w^4] - E[w^2]^2 = a^4/5 - a^4/9 = 4a^4/45``, so the sample mean of
    ``w^2`` has a relative standard deviation of ``sqrt(4/45) * 3 / sqrt(size) =
    sqrt(0.8 / size)``; ``sigmas`` of those."""
    return sigmas * float(np.sqrt(0.8 / size))
