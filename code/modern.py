"""Chapter 7: the modern MLP from TensorFlow's core pieces.

ReLU hidden layers, logits out, softmax cross-entropy computed from the
logits, Xavier/Glorot initialisation and Adam, each written here from its
formula (following the TensorFlow Core MLP tutorial), plus the optimizers
`mlpkit train --optimizer` offers. ``tests/test_modern.py`` proves each one
equal to its Keras or ``tf.nn`` counterpart.

``train`` trains any model here (or chapter 4's) with any of the losses and
optimizers and records the same per-epoch history as chapter 4's
``mlpkit.training.train``, with a validation split if asked, so the command
line, the plots and the export treat every combination alike.
"""

import time

import numpy as np
import tensorflow as tf

from mlpkit.defaults import THESIS_BATCH_SIZE, THESIS_INIT, THESIS_LAYERS, THESIS_LR
from mlpkit.model import WeightsMixin
from mlpkit.progress import bar as progress_bar
from mlpkit.training import History, TrainingDiverged, confusion_matrix, evaluate

ACTIVATIONS = {"relu": tf.nn.relu, "sigmoid": tf.sigmoid, "tanh": tf.tanh}
LOSSES = ("mse", "cross_entropy")
DEFAULT_LR = {
    "sgd": THESIS_LR,
    "momentum": 0.1,
    "nesterov": 0.1,
    "rmsprop": 0.001,
    "adam": 0.001,
}


# -- pieces -------------------------------------------------------------------------


def xavier_uniform(n_in, n_out, seed=None, dtype=tf.float32):
    """Weights ``(n_in, n_out)`` uniform in ``±sqrt(6 / (n_in + n_out))`` (Glorot and
    Bengio, 2010).

    Variance ``2 / (n_in + n_out)``: the compromise between ``1 / n_in``, which keeps
    the
    variance of ``z_l`` from layer to layer (forward), and ``1 / n_out``, which keeps
    that of
    ``delta_l`` (backward)."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return tf.random.stateless_uniform(
        (n_in, n_out), seed=[seed or 0, 7], minval=-limit, maxval=limit, dtype=dtype
    )


def he_uniform(n_in, n_out, seed=None, dtype=tf.float32):
    """Weights ``(n_in, n_out)`` uniform in ``±sqrt(6 / n_in)`` (He et al., 2015):
    variance ``2 / n_in``.

    A ReLU zeroes about half of its inputs, halving the mean square of what it passes
    on;
    twice the forward variance ``1 / n_in`` makes up for it, layer after layer."""
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
    and the
    logarithm's ``1 / y`` cancel, leaving no ``sigma'``-like factor that could
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
    """``dC/dz_L = 2 (y - t) sigma'(z_L) / (B n_L)`` for ``y = sigmoid(z_L)`` and ``C =
    mean((y - t)^2)``
    over all ``B n_L`` entries (``loss_function("mse")``): shape ``(B, n_L)``. With
    ``sigma'(z) =
    y (1 - y)``, it vanishes wherever an output is saturated, right or wrong."""
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
    output either
    nothing (logits, for cross-entropy) or the sigmoid (for MSE, as in chapter 4).
    ``dropout`` zeroes
    that fraction of each hidden layer's outputs in training (scaling the rest up),
    never in inference.
    ``init`` is one of ``INITS``: ``"glorot"`` (the tutorial's), ``"he"`` or
    ``"uniform"`` (chapter 4's)."""

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


def activation_rms(model, x):
    """Root mean square of ``a_0 = x`` and of each layer's output ``a_l`` of ``model``
    (an ``MLP``), in inference."""
    rms = [float(tf.sqrt(tf.reduce_mean(tf.square(x))))]
    for layer in model.layers:
        x = layer(x)
        rms.append(float(tf.sqrt(tf.reduce_mean(tf.square(x)))))
    return rms


# -- optimizers, each in Keras's formulation -------------------------------------------


class Optimizer(tf.Module):
    """``apply(gradients, variables)`` updates the variables in place; slots are made on
    the first call."""

    def __init__(self, lr):
        super().__init__()
        self.lr = float(lr)
        self.slots = None
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False)

    def _make_slots(self, variables, count):
        self.slots = [
            [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
            for _ in range(count)
        ]

    def apply(self, gradients, variables):
        if self.slots is None:
            self._make_slots(variables, self.slot_count)
        self.iterations.assign_add(1)
        for index, (g, v) in enumerate(zip(gradients, variables)):
            self.update(g, v, [slot[index] for slot in self.slots])


class SGD(Optimizer):
    """``w -= lr * g``."""

    slot_count = 0

    def update(self, g, v, slots):
        v.assign_sub(self.lr * g)


class Momentum(Optimizer):
    """``m = mu m - lr g; w += m`` (Nesterov: ``w += mu m - lr g``), as
    ``keras.optimizers.SGD(momentum=mu)``."""

    slot_count = 1

    def __init__(self, lr, momentum=0.9, nesterov=False):
        super().__init__(lr)
        self.momentum, self.nesterov = momentum, nesterov

    def update(self, g, v, slots):
        (m,) = slots
        m.assign(self.momentum * m - self.lr * g)
        v.assign_add(self.momentum * m - self.lr * g if self.nesterov else m)


class RMSProp(Optimizer):
    """``s = rho s + (1 - rho) g^2; w -= lr g / sqrt(s + eps)``, as
    ``keras.optimizers.RMSprop``.

    ``eps`` sits inside the square root (Keras's choice); ``sqrt(s) + eps`` is a
    different step
    wherever ``s`` is comparable to ``eps``, which ``tests/test_modern.py`` tells
    apart."""

    slot_count = 1

    def __init__(self, lr=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(lr)
        self.rho, self.epsilon = rho, epsilon

    def update(self, g, v, slots):
        (s,) = slots
        s.assign(self.rho * s + (1 - self.rho) * tf.square(g))
        v.assign_sub(self.lr * g / tf.sqrt(s + self.epsilon))


# Shown in book/modern.md (literalinclude).
class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias correction, in Keras's efficient form.

    At step ``t`` (1 for the first), ``m = b1 m + (1 - b1) g`` and ``v = b2 v + (1 - b2)
    g^2``.
    The paper's Algorithm 1 corrects both, ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1
    - b2^t)``,
    and steps ``w -= lr m_hat / (sqrt(v_hat) + eps_paper)``. This class, like
    ``keras.optimizers.Adam``, folds the corrections into the learning rate and adds
    ``eps`` to
    the uncorrected ``sqrt(v)``::

        w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)

    which is the paper's step with ``eps_paper = eps / sqrt(1 - b2^t)``: at ``t = 1``
    (``b2 = 0.999``)
    about 32 times ``eps``, falling towards ``eps`` as ``t`` grows. The two differ only
    where
    ``sqrt(v_hat)`` is comparable to ``eps``; ``tests/test_modern.py`` checks both
    statements.
    """

    slot_count = 2

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-7):
        super().__init__(lr)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def update(self, g, v, slots):
        m, s = slots
        t = tf.cast(self.iterations, g.dtype)
        m.assign(self.beta1 * m + (1 - self.beta1) * g)
        s.assign(self.beta2 * s + (1 - self.beta2) * tf.square(g))
        step = self.lr * tf.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        v.assign_sub(step * m / (tf.sqrt(s) + self.epsilon))


# : Constructors by name: ``OPTIMIZERS[name](lr)``; the names and rules of
# ``mlpkit.optimizers.OPTIMIZERS`` : (NumPy, on a surface of two weights), here on
# TensorFlow variables for training networks.
OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": lambda lr: Momentum(lr, nesterov=True),
    "rmsprop": RMSProp,
    "adam": Adam,
}


def make_optimizer(name, lr=None):
    """The optimizer ``name`` (a key of ``OPTIMIZERS``) at rate ``lr`` (default:
    ``DEFAULT_LR[name]``)."""
    if name not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}"
        )
    lr = DEFAULT_LR[name] if lr is None else lr
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be a positive number; got {lr}")
    return OPTIMIZERS[name](lr)


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
    x_train, y_train = (
        tf.convert_to_tensor(x_train, tf.float32),
        tf.convert_to_tensor(y_train, tf.float32),
    )
    (x_fit, y_fit), (x_val, y_val) = split_validation(x_train, y_train, validation)
    variables = model.params
    takes_training = "training" in model.__call__.__code__.co_varnames

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            outputs = model(x, training=True) if takes_training else model(x)
            value = loss(outputs, y)
        optimizer.apply(tape.gradient(value, variables), variables)
        return value

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

    def record(epoch, seconds):
        row = {"epoch": epoch}
        for split, (x, y) in (
            ("train", (x_fit, y_fit)),
            ("validation", (x_val, y_val)),
            ("test", (x_test, y_test)),
        ):
            if split == "validation" and not validation:
                continue
            result = evaluate(model, x, y, loss=loss)
            row[f"{split}_loss"], row[f"{split}_accuracy"], predictions = (
                result.loss,
                result.accuracy,
                result.predictions,
            )
        row["seconds"] = seconds
        history.epochs.append(row)
        return predictions

    predictions = record(0, 0.0)
    start, n = time.perf_counter(), int(x_fit.shape[0])
    bar = progress_bar(int(epochs), "training", "epoch") if progress else None
    for epoch in range(1, int(epochs) + 1):
        saved, epoch_start = model.get_weights(), time.perf_counter()
        order = rng.permutation(n)
        losses = [
            float(
                step(
                    tf.gather(x_fit, order[i : i + int(batch_size)]),
                    tf.gather(y_fit, order[i : i + int(batch_size)]),
                )
            )
            for i in range(0, n, int(batch_size))
        ]
        if not np.all(np.isfinite(losses)):
            model.set_weights(saved)
            raise TrainingDiverged(
                f"training diverged in epoch {epoch}: the loss stopped being finite "
                f"with {optimizer_name} "
                f"at learning rate {optimizer.lr:g}; try a smaller "
                "one. The model keeps its weights "
                f"from epoch {epoch - 1}.",
                history,
            )
        predictions = record(epoch, time.perf_counter() - epoch_start)
        if bar:
            bar.set_postfix(
                loss=history.final["train_loss"],
                test_acc=f"{history.final['test_accuracy']:.2%}",
            )
            bar.update()
    if bar:
        bar.close()
    history.wall_seconds = time.perf_counter() - start
    history.test_predictions = predictions
    history.confusion = confusion_matrix(
        np.argmax(np.asarray(y_test), axis=1), predictions
    ).tolist()
    return history


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
    outputs sit near 1
    there and near 0 elsewhere, saturated and wrong for every example of another
    class."""
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
    (``saturate_outputs``),
    trained the same way (SGD, same rate, batches and order) with each output and loss
    of ``SATURATED_RUNS``."""
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
    """The shortest time of an epoch of ``train`` (SGD, cross-entropy) over ``x_train``
    in batches of
    ``batch_size``, from epoch 2 on (the first also traces the step): a figure for this
    machine, now."""
    history = train(
        MLP(layer_sizes, "relu", seed=seed),
        x_train,
        y_train,
        x_train[:10],
        y_train[:10],
        optimizer="sgd",
        lr=0.1,
        epochs=max(int(epochs), 2),
        batch_size=batch_size,
        seed=seed,
        progress=False,
    )
    return min(row["seconds"] for row in history.epochs[2:])


# -- batch size: how noisy the gradient is, how long an epoch takes --------------------


def flat_gradient(model, x, y_onehot):
    """The gradient of the mean cross-entropy over ``(x, y_onehot)`` with respect to all
    of ``model.params``,
    flattened into one vector ``(number of parameters,)``."""
    with tf.GradientTape() as tape:
        value = cross_entropy(model(x), y_onehot)
    return tf.concat(
        [tf.reshape(g, [-1]) for g in tape.gradient(value, model.params)], axis=0
    )


def gradient_spread(
    model, x, y_onehot, batch_sizes=(8, 32, 128, 512), batches=32, seed=0
):
    """``{B: sqrt(mean |g_B - g|^2)}``: how far the gradient ``g_B`` of a mini-batch of
    ``B`` examples
    is, in root mean square over ``batches`` mini-batches, from the full-batch gradient
    ``g`` on all of
    ``x``. Mini-batches are consecutive slices of random orders of the examples, as in
    training (no
    example twice in one batch); with ``n`` examples the spread is ``s sqrt((n - B) / (B
    (n - 1)))``
    for a per-example spread ``s`` (sampling without replacement)."""
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
    fraction of
    class i predicted as j. (``confusion / confusion.sum(axis=1)`` would divide column j
    by the
    total of row j instead: NumPy broadcasts the row totals along the last axis.)"""
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
