"""Chapter 7: the modern MLP from TensorFlow's core pieces.

ReLU hidden layers, logits out, softmax cross-entropy computed from the logits and
Xavier/Glorot initialisation, each written here from its formula (following the
TensorFlow Core MLP tutorial); ``tests/test_modern.py`` proves each one equal to its
Keras or ``tf.nn`` counterpart. The optimizers, Adam among them, are in
``mlpkit.modern_optimizers``; the chapter's experiments in
``mlpkit.modern_experiments``.

``train`` trains any model here (or chapter 4's) with any of the losses and optimizers
and records the same per-epoch history as chapter 4's ``mlpkit.training.train``, with a
validation split if asked, so the command line, the plots and the export treat every
combination alike.
"""

import time

import numpy as np
import tensorflow as tf

from mlpkit.compiled import make_compiled_epoch, make_compiled_step
from mlpkit.model import WeightsMixin
from mlpkit.modern_optimizers import make_optimizer
from mlpkit.progress import bar as progress_bar
from mlpkit.training import History, TrainingDiverged, confusion_matrix, evaluate

ACTIVATIONS = {"relu": tf.nn.relu, "sigmoid": tf.sigmoid, "tanh": tf.tanh}
LOSSES = ("mse", "cross_entropy")


# -- pieces -------------------------------------------------------------------------


def xavier_uniform(n_in, n_out, seed=None, dtype=tf.float32):
    """Weights ``(n_in, n_out)`` uniform in ``±sqrt(6 / (n_in + n_out))`` (Glorot and
    Bengio, 2010).

    Variance ``2 / (n_in + n_out)``: the compromise between ``1 / n_in``, which keeps
    the variance of ``z_l`` from layer to layer (forward), and ``1 / n_out``, which
    keeps that of ``delta_l`` (backward)."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return tf.random.stateless_uniform(
        (n_in, n_out), seed=[seed or 0, 7], minval=-limit, maxval=limit, dtype=dtype
    )


def he_uniform(n_in, n_out, seed=None, dtype=tf.float32):
    """Weights ``(n_in, n_out)`` uniform in ``±sqrt(6 / n_in)`` (He et al., 2015):
    variance ``2 / n_in``.

    A ReLU zeroes about half of its inputs, halving the mean square of what it passes
    on; twice the forward variance ``1 / n_in`` makes up for it, layer after layer."""
    limit = np.sqrt(6.0 / n_in)
    return tf.random.stateless_uniform(
        (n_in, n_out), seed=[seed or 0, 7], minval=-limit, maxval=limit, dtype=dtype
    )


def thesis_uniform(n_in, n_out, seed=None, dtype=tf.float32):
    """Weights ``(n_in, n_out)`` uniform in ``(-1, 1)`` whatever the layer's size, as
    chapter 4's network."""
    return tf.random.stateless_uniform(
        (n_in, n_out), seed=[seed or 0, 7], minval=-1.0, maxval=1.0, dtype=dtype
    )


# : Weight initialisations by name; ``"uniform"`` also draws the biases from ``(-1, 1)``
# (the others set them to 0).
INITS = {"glorot": xavier_uniform, "he": he_uniform, "uniform": thesis_uniform}


def relu(x):
    return tf.maximum(x, tf.zeros_like(x))


def softmax(logits):
    """``exp(z_i) / sum_j exp(z_j)`` along the last axis, shifted by the maximum so no
    exponent overflows."""
    shifted = logits - tf.reduce_max(logits, axis=-1, keepdims=True)
    e = tf.exp(shifted)
    return e / tf.reduce_sum(e, axis=-1, keepdims=True)


def log_softmax(logits):
    """``z_i - log sum_j exp(z_j)``, computed as ``(z_i - m) - log sum_j exp(z_j - m)``
    with ``m = max z``."""
    shifted = logits - tf.reduce_max(logits, axis=-1, keepdims=True)
    return shifted - tf.math.log(tf.reduce_sum(tf.exp(shifted), axis=-1, keepdims=True))


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy from logits; ``labels`` are integer classes ``(n,)``
    or one-hot ``(n, classes)``."""
    labels = tf.convert_to_tensor(labels)
    if labels.shape.rank == 1:
        labels = tf.one_hot(
            tf.cast(labels, tf.int32), tf.shape(logits)[-1], dtype=logits.dtype
        )
    return tf.reduce_mean(
        -tf.reduce_sum(tf.cast(labels, logits.dtype) * log_softmax(logits), axis=-1)
    )


# Shown in book/modern.md (literalinclude).
def cross_entropy_gradient(logits, labels):
    """``dC/dz_L = (softmax(z_L) - t) / B`` for ``C = cross_entropy(logits, labels)``:
    shape ``(B, classes)``.

    The derivative of the function above, derived in chapter 7: the softmax's Jacobian
    and the logarithm's ``1 / y`` cancel, leaving no ``sigma'``-like factor that could
    vanish."""
    labels = tf.convert_to_tensor(labels)
    if labels.shape.rank == 1:
        labels = tf.one_hot(
            tf.cast(labels, tf.int32), tf.shape(logits)[-1], dtype=logits.dtype
        )
    batch = tf.cast(tf.shape(logits)[0], logits.dtype)
    return (softmax(logits) - tf.cast(labels, logits.dtype)) / batch


# Shown in book/modern.md (literalinclude).
def sigmoid_mse_gradient(z, targets):
    """``dC/dz_L = 2 (y - t) sigma'(z_L) / (B n_L)`` for ``y = sigmoid(z_L)`` and
    ``C = mean((y - t)^2)`` over all ``B n_L`` entries (``loss_function("mse")``): shape
    ``(B, n_L)``. With ``sigma'(z) = y (1 - y)``, it vanishes wherever an output is
    saturated, right or wrong."""
    y = tf.sigmoid(z)
    targets = tf.cast(targets, z.dtype)
    return 2 * (y - targets) * y * (1 - y) / tf.cast(tf.size(z), z.dtype)


def naive_cross_entropy(logits, labels):
    """The same, through ``log(exp(z) / sum exp(z))``: overflows to inf/NaN once a logit
    passes about 88 (float32)."""
    e = tf.exp(logits)
    probabilities = e / tf.reduce_sum(e, axis=-1, keepdims=True)
    picked = tf.gather(probabilities, tf.cast(labels, tf.int32), axis=1, batch_dims=1)
    return tf.reduce_mean(-tf.math.log(picked))


# Shown in book/modern.md (literalinclude).
class Dense(tf.Module):
    """``activation(x @ w + b)``; the input size is read from the first batch it sees
    (then fixed).

    ``init`` names the weights' initialisation in ``INITS`` (Glorot's by default)."""

    def __init__(self, units, activation=None, seed=0, init="glorot", name=None):
        super().__init__(name=name)
        if init not in INITS:
            raise ValueError(
                f"unknown init {init!r}; expected one of {', '.join(INITS)}"
            )
        self.units, self.activation, self.seed, self.init = (
            int(units),
            activation or tf.identity,
            seed,
            init,
        )
        self.w = self.b = None

    def build(self, n_in):
        self.w = tf.Variable(INITS[self.init](n_in, self.units, self.seed), name="w")
        if self.init == "uniform":
            bias = tf.random.stateless_uniform(
                [self.units], seed=[self.seed or 0, 8], minval=-1.0, maxval=1.0
            )
        else:
            bias = tf.zeros([self.units])
        self.b = tf.Variable(bias, name="b")

    def __call__(self, x):
        if self.w is None:
            self.build(int(x.shape[-1]))
        elif int(x.shape[-1]) != self.w.shape[0]:
            raise ValueError(
                f"this layer was built for inputs of size {self.w.shape[0]}; got shape "
                f"{tuple(x.shape)}"
            )
        return self.activation(x @ self.w + self.b)


class MLP(WeightsMixin, tf.Module):
    """Dense layers ``layer_sizes[1:]``: ``activation`` on the hidden ones, and on the
    output either nothing (logits, for cross-entropy) or the sigmoid (for MSE, as in
    chapter 4). ``dropout`` zeroes that fraction of each hidden layer's outputs in
    training (scaling the rest up), never in inference. ``init`` is one of ``INITS``:
    ``"glorot"`` (the tutorial's), ``"he"`` or ``"uniform"`` (chapter 4's)."""

    def __init__(
        self,
        layer_sizes=(784, 700, 500, 10),
        activation="relu",
        output="logits",
        dropout=0.0,
        seed=0,
        init="glorot",
        name=None,
    ):
        super().__init__(name=name)
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; expected one of "
                f"{', '.join(ACTIVATIONS)}"
            )
        if output not in ("logits", "sigmoid"):
            raise ValueError(f"output must be 'logits' or 'sigmoid'; got {output!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}")
        self.layer_sizes, self.activation, self.output, self.dropout = (
            [int(n) for n in layer_sizes],
            activation,
            output,
            dropout,
        )
        self.seed, self.init = seed, init
        hidden = [
            Dense(n, ACTIVATIONS[activation], seed=seed * 100 + i, init=init)
            for i, n in enumerate(self.layer_sizes[1:-1])
        ]
        self.layers = hidden + [
            Dense(
                self.layer_sizes[-1],
                tf.sigmoid if output == "sigmoid" else None,
                seed=seed * 100 + 99,
                init=init,
            )
        ]
        # build now: the variables exist before any call
        for n_in, layer in zip(self.layer_sizes[:-1], self.layers):
            layer.build(n_in)
        self._dropout_seed = tf.Variable(
            [seed, 0], dtype=tf.int64, trainable=False, name="dropout_seed"
        )

    def __call__(self, x, training=False):
        for layer in self.layers[:-1]:
            x = layer(x)
            if training and self.dropout:
                self._dropout_seed.assign_add([0, 1])
                x = tf.nn.experimental.stateless_dropout(
                    x, self.dropout, seed=self._dropout_seed
                )
        return self.layers[-1](x)

    @property
    def params(self):
        return [v for layer in self.layers for v in (layer.w, layer.b)]

    def __repr__(self):
        init = "" if self.init == "glorot" else f", init={self.init}"
        return (
            f"MLP({list(self.layer_sizes)}, {self.activation}, {self.output} out, "
            f"dropout {self.dropout:g}{init}, "
            f"{self.count_params():,} parameters)"
        )


# -- training --------------------------------------------------------------------------


def loss_function(name):
    if name == "mse":
        return lambda outputs, onehot: tf.reduce_mean(tf.square(outputs - onehot))
    if name == "cross_entropy":
        return cross_entropy
    raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}")


def split_validation(x, y, validation):
    """The first ``validation`` training examples for validation, the rest for training
    (as the tutorial)."""
    validation = int(validation)
    if not 0 <= validation < int(x.shape[0]):
        raise ValueError(
            f"--validation must be between 0 and the {int(x.shape[0]):,} training "
            f"images; got {validation}"
        )
    return (x[validation:], y[validation:]), (x[:validation], y[:validation])


def evaluation_splits(x_train, y_train, x_test, y_test, validation):
    """``{name: (x, y)}``, the sets evaluated after each epoch: ``"train"`` (the
    training examples ``split_validation`` leaves for training, as float32 tensors),
    ``"validation"`` if ``validation`` asks for one, and ``"test"``, last."""
    x_train, y_train = (
        tf.convert_to_tensor(x_train, tf.float32),
        tf.convert_to_tensor(y_train, tf.float32),
    )
    (x_fit, y_fit), (x_val, y_val) = split_validation(x_train, y_train, validation)
    splits = {"train": (x_fit, y_fit)}
    if validation:
        splits["validation"] = (x_val, y_val)
    splits["test"] = (x_test, y_test)
    return splits


def make_train_step(model, loss, optimizer):
    """A compiled step ``step(x, y) -> loss`` on one batch: forward pass (in training
    mode, for a model that has one), tape, and ``optimizer``'s update, as a
    ``tf.function`` without XLA. ``train`` runs whole epochs compiled by XLA
    (``mlpkit.compiled``); this step, called from ``run_epoch``, is the plain loop
    they are checked against."""
    return make_compiled_step(model, loss, optimizer, jit_compile=False)


def run_epoch(step, x, y, order, batch_size):
    """``step`` on each batch of ``batch_size`` examples of ``x, y`` taken in ``order``
    (the last may be smaller); the batches' losses."""
    return [
        float(
            step(
                tf.gather(x, order[i : i + batch_size]),
                tf.gather(y, order[i : i + batch_size]),
            )
        )
        for i in range(0, len(order), batch_size)
    ]


def record_epoch(history, model, splits, loss, epoch, seconds):
    """Append epoch ``epoch``'s row to ``history``: ``loss`` and accuracy on each of
    ``splits`` (``{name: (x, y)}``, the test set last) and the epoch's ``seconds``.
    Return the predictions on the test set."""
    row = {"epoch": epoch}
    for split, (x, y) in splits.items():
        result = evaluate(model, x, y, loss=loss)
        row[f"{split}_loss"], row[f"{split}_accuracy"] = result.loss, result.accuracy
    row["seconds"] = seconds
    history.epochs.append(row)
    return result.predictions


def stop_if_diverged(losses, model, saved, epoch, history):
    """If a loss of epoch ``epoch`` is not finite, give ``model`` back the weights
    ``saved`` before it and raise ``TrainingDiverged`` with the ``history`` so far
    (whose ``config`` names the optimizer and its rate)."""
    if np.all(np.isfinite(losses)):
        return
    model.set_weights(saved)
    optimizer, lr = history.config["optimizer"], history.config["lr"]
    raise TrainingDiverged(
        f"training diverged in epoch {epoch}: the loss stopped being finite "
        f"with {optimizer} at learning rate {lr:g}; try a smaller one. "
        f"The model keeps its weights from epoch {epoch - 1}.",
        history,
    )


def show_epoch(bar, history):
    """Move the progress ``bar`` on by an epoch, showing the last row's train loss and
    test accuracy."""
    bar.set_postfix(
        loss=history.final["train_loss"],
        test_acc=f"{history.final['test_accuracy']:.2%}",
    )
    bar.update()


def finish_history(history, start, predictions, y_test):
    """Complete ``history`` after the last epoch: the seconds since ``start``, the test
    set's ``predictions`` and their confusion matrix with the labels ``y_test``."""
    history.wall_seconds = time.perf_counter() - start
    history.test_predictions = predictions
    history.confusion = confusion_matrix(
        np.argmax(np.asarray(y_test), axis=1), predictions
    ).tolist()
    return history


def train(
    model,
    x_train,
    y_train,
    x_test,
    y_test,
    loss="cross_entropy",
    optimizer="adam",
    lr=None,
    epochs=10,
    batch_size=128,
    validation=0,
    seed=0,
    progress=True,
):
    """Train ``model`` (from this module or chapter 4's) in place; return a
    ``mlpkit.training.History``.

    Rows of ``history.epochs`` hold ``train_*``, ``test_*`` and, with ``validation``,
    ``validation_*`` loss and accuracy. Stops with ``TrainingDiverged`` (weights of the
    last finite epoch restored) when the loss stops being finite.
    """
    loss_name, optimizer_name = loss, optimizer
    loss, optimizer = loss_function(loss), make_optimizer(optimizer, lr)
    if int(batch_size) < 1 or int(epochs) < 0:
        raise ValueError(
            f"batch size must be at least 1 and epochs 0 or more; got {batch_size} and "
            f"{epochs}"
        )
    splits = evaluation_splits(x_train, y_train, x_test, y_test, validation)
    x_fit, y_fit = splits["train"]
    # the whole epoch compiled by XLA (mlpkit.compiled, chapter 5)
    run_compiled_epoch = make_compiled_epoch(model, loss, optimizer, batch_size)
    config = {
        "loss": loss_name,
        "optimizer": optimizer_name,
        "lr": optimizer.lr,
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "validation": int(validation),
        "seed": seed,
    }
    history = History(config=config)
    rng = np.random.default_rng(seed)
    predictions = record_epoch(history, model, splits, loss, 0, 0.0)
    start = time.perf_counter()
    bar = progress_bar(int(epochs), "training", "epoch") if progress else None
    for epoch in range(1, int(epochs) + 1):
        saved, epoch_start = model.get_weights(), time.perf_counter()
        order = rng.permutation(int(x_fit.shape[0]))
        losses = run_compiled_epoch(x_fit, y_fit, order)
        stop_if_diverged(losses, model, saved, epoch, history)
        seconds = time.perf_counter() - epoch_start
        predictions = record_epoch(history, model, splits, loss, epoch, seconds)
        if bar:
            show_epoch(bar, history)
    if bar:
        bar.close()
    return finish_history(history, start, predictions, y_test)
