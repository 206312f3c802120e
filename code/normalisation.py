"""Chapter 9: batch normalisation and residual (skip) connections, from TensorFlow's
core pieces, and the deep networks that use them.

- ``batch_norm`` and ``BatchNorm``: Ioffe and Szegedy's batch normalisation. In
  training mode a layer normalises each unit's ``z`` over the batch with the batch's
  mean and (biased) variance, then scales by ``gamma`` and shifts by ``beta``, and
  updates its moving averages, ``moving = momentum * moving + (1 - momentum) *
  batch``; in inference mode it uses the moving averages. ``epsilon`` and ``momentum``
  default to Keras's (``keras.layers.BatchNormalization``), which gives the same
  outputs with the same parameters (``tests/test_normalisation.py``).
- ``residual_block``: He and colleagues' skip connection, ``y = x + act(x W + b)``,
  which needs ``W`` square: the block's output has its input's width.
- ``DeepNet``: chapter 9's deep network in three kinds, ``"plain"`` (the same
  network as ``mlpkit.deep.deep_network``, weight for weight), ``"batchnorm"``
  (``a_l = act(BN(a_{l-1} W_l + b_l))`` in every hidden layer) and ``"residual"``
  (every hidden layer whose width equals its input's is a residual block); always
  chapter 4's sigmoid output.
- ``make_epoch`` and ``train``: chapter 4's recipe (plain SGD on the mean squared
  error), with the forward pass in training mode, so that batch normalisation uses and
  updates its batch statistics.

Shapes as the book's: a batch ``x`` is ``(B, n_0)``, ``W_l`` is ``(n_{l-1}, n_l)``.
"""

import numpy as np
import tensorflow as tf

from mlpkit import modern
from mlpkit.defaults import THESIS_BATCH_SIZE, THESIS_LR
from mlpkit.gradients import mse
from mlpkit.training import evaluate

# : Keras's defaults for ``keras.layers.BatchNormalization``.
EPSILON, MOMENTUM = 1e-3, 0.99
# : The kinds of ``DeepNet``.
KINDS = ("plain", "batchnorm", "residual")


# Shown in book/deep.md (literalinclude).
def batch_norm(z, gamma, beta, epsilon=EPSILON):
    """Batch normalisation in training mode: ``(y, mean, variance)``.

    ``mean`` and ``variance`` are each unit's over the batch (``(n,)``, the variance
    biased: divided by ``B``); ``y = gamma * (z - mean) / sqrt(variance + epsilon) +
    beta`` is ``(B, n)``."""
    mean, variance = tf.nn.moments(z, axes=[0])
    return gamma * (z - mean) / tf.sqrt(variance + epsilon) + beta, mean, variance


# Shown in book/deep.md (literalinclude).
class BatchNorm(tf.Module):
    """A batch-normalisation layer for ``units`` units: trainable ``gamma`` (ones) and
    ``beta`` (zeros), and moving averages of the mean (zeros) and variance (ones)."""

    def __init__(self, units, epsilon=EPSILON, momentum=MOMENTUM, name=None):
        super().__init__(name=name)
        self.epsilon, self.momentum = float(epsilon), float(momentum)
        self.gamma = tf.Variable(tf.ones([units]), name="gamma")
        self.beta = tf.Variable(tf.zeros([units]), name="beta")
        self.moving_mean = tf.Variable(tf.zeros([units]), trainable=False)
        self.moving_variance = tf.Variable(tf.ones([units]), trainable=False)

    def __call__(self, z, training=False):
        if training:  # the batch's statistics, and the moving averages follow them
            y, mean, variance = batch_norm(z, self.gamma, self.beta, self.epsilon)
            for moving, batch in (
                (self.moving_mean, mean),
                (self.moving_variance, variance),
            ):
                moving.assign(self.momentum * moving + (1.0 - self.momentum) * batch)
            return y
        scale = self.gamma / tf.sqrt(self.moving_variance + self.epsilon)
        return (z - self.moving_mean) * scale + self.beta

    def keras_weights(self):
        """``[gamma, beta, moving_mean, moving_variance]``, the order of
        ``keras.layers.BatchNormalization.get_weights()``."""
        return [
            v.numpy()
            for v in (self.gamma, self.beta, self.moving_mean, self.moving_variance)
        ]


# Shown in book/deep.md (literalinclude).
def residual_block(x, w, b, activation=tf.sigmoid):
    """``x + activation(x W + b)``: a layer whose input is added to its output, so the
    gradient reaches ``x`` through the sum unchanged as well as through the layer.
    ``W`` must be square, ``(n, n)`` for ``x`` ``(B, n)``."""
    if w.shape[0] != w.shape[1] or int(x.shape[-1]) != w.shape[0]:
        raise ValueError(
            "a residual block adds its input to its output, so W must be (n, n) for "
            f"inputs (B, n); got W {tuple(w.shape)} and x {tuple(x.shape)}"
        )
    return x + activation(x @ w + b)


class DeepNet(modern.WeightsMixin, tf.Module):
    """A deep network of ``layer_sizes``: ``activation`` hidden layers of ``kind`` (one
    of ``KINDS``) and a sigmoid output, the weights of ``deep.deep_network(layer_sizes,
    activation, init, seed)``.

    ``params`` are the trainable variables (weights, biases, and each hidden layer's
    ``gamma`` and ``beta`` for ``"batchnorm"``); ``weights`` the weight matrices
    ``[W_1, ..., W_L]``."""

    def __init__(
        self,
        layer_sizes,
        kind="plain",
        activation="sigmoid",
        init="glorot",
        seed=0,
        epsilon=EPSILON,
        momentum=MOMENTUM,
        name=None,
    ):
        super().__init__(name=name)
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        plain = modern.MLP(layer_sizes, activation, "sigmoid", seed=seed, init=init)
        self.layer_sizes, self.kind, self.activation = (
            plain.layer_sizes,
            kind,
            activation,
        )
        self.layers = plain.layers  # modern.Dense, built
        hidden = self.layer_sizes[1:-1]
        self.norms = (
            [BatchNorm(n, epsilon, momentum) for n in hidden]
            if "batchnorm" in kind
            else []
        )
        self.skips = [
            "residual" in kind and n_in == n_out
            for n_in, n_out in zip(self.layer_sizes[:-2], hidden)
        ]

    def __call__(self, x, training=False):
        a = tf.convert_to_tensor(x, tf.float32)
        act = modern.ACTIVATIONS[self.activation]
        for i, layer in enumerate(self.layers[:-1]):
            z = a @ layer.w + layer.b
            if self.norms:
                z = self.norms[i](z, training=training)
            a = a + act(z) if self.skips[i] else act(z)
        return tf.sigmoid(a @ self.layers[-1].w + self.layers[-1].b)

    @property
    def weights(self):
        return [layer.w for layer in self.layers]

    @property
    def params(self):
        out = [v for layer in self.layers for v in (layer.w, layer.b)]
        return out + [v for norm in self.norms for v in (norm.gamma, norm.beta)]

    @property
    def moving(self):
        """The moving averages of every batch-normalisation layer (none otherwise)."""
        return [v for n in self.norms for v in (n.moving_mean, n.moving_variance)]

    def load(self, other):
        """Copy every variable of ``other`` (a ``DeepNet`` of the same shape and kind),
        the moving averages too."""
        for mine, theirs in zip(self.params + self.moving, other.params + other.moving):
            mine.assign(theirs)
        return self


def gradient_norms(net, x, t):
    """``[‖dC/dW_1‖, ..., ‖dC/dW_L‖]`` for chapter 4's cost (the mean squared error
    against one-hot ``t``), the forward pass in training mode as a training step sees
    it. The moving averages are left as they were."""
    before = [v.numpy() for v in net.moving]
    with tf.GradientTape() as tape:
        cost = mse(net(tf.convert_to_tensor(x, tf.float32), training=True), t)
    norms = [float(tf.norm(g)) for g in tape.gradient(cost, net.weights)]
    for v, value in zip(net.moving, before):
        v.assign(value)
    return norms


def make_epoch(net, lr=THESIS_LR, batch_size=THESIS_BATCH_SIZE):
    """A compiled epoch ``run_epoch(x, t, order)`` of chapter 4's SGD on the mean
    squared error, every full batch of ``order`` (a permutation) in training mode."""
    params, lr, batch_size = net.params, tf.constant(lr, tf.float32), int(batch_size)

    @tf.function(jit_compile=True)
    def full_batches(x, t, batches):
        for i in tf.range(tf.shape(batches)[0]):
            x_batch, t_batch = tf.gather(x, batches[i]), tf.gather(t, batches[i])
            with tf.GradientTape() as tape:
                cost = mse(net(x_batch, training=True), t_batch)
            for param, grad in zip(params, tape.gradient(cost, params)):
                param.assign_sub(lr * grad)

    def run_epoch(x, t, order):
        order = np.asarray(order, dtype=np.int32)
        full = len(order) // batch_size
        full_batches(x, t, tf.constant(order[: full * batch_size].reshape(full, -1)))

    return run_epoch


def train(net, x, t, x_test, t_test, epochs=3, seed=0, run_epoch=None, **recipe):
    """Train ``net`` in place for ``epochs`` epochs (full batches, shuffled from
    ``seed``); return its test accuracy (inference mode) before training and after each
    epoch, a ``(epochs + 1,)`` array. ``recipe`` is ``make_epoch``'s ``lr`` and
    ``batch_size``; ``run_epoch``, one made before for ``net``."""
    x, t = tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(t, tf.float32)
    run_epoch = run_epoch or make_epoch(net, **recipe)
    rng = np.random.default_rng(seed)
    accuracy = [evaluate(net, x_test, t_test).accuracy]
    for _ in range(int(epochs)):
        run_epoch(x, t, rng.permutation(int(x.shape[0])))
        accuracy.append(evaluate(net, x_test, t_test).accuracy)
    return np.array(accuracy)


def compare(layer_sizes, kinds, seeds, data, probe, epochs=3, **options):
    """``{kind: {"norms": (seeds, L) array, "accuracy": (seeds, epochs + 1) array}}``.

    For each kind and seed, the network ``DeepNet(layer_sizes, kind, seed=seed,
    **options)``: its gradient norms at initialisation on ``probe`` (``(x, t)``), then
    its test accuracies through ``train`` on ``data`` (``(x, t, x_test, t_test)``)
    with chapter 4's recipe at its thesis values (learning rate 0.9, batches of 10).
    Each kind's epoch is compiled once and every seed's weights loaded into it."""
    out = {}
    for kind in kinds:
        net = DeepNet(layer_sizes, kind, **options)
        run_epoch = make_epoch(net)
        norms, accuracy = [], []
        for seed in seeds:
            net.load(DeepNet(layer_sizes, kind, seed=seed, **options))
            norms.append(gradient_norms(net, *probe))
            accuracy.append(train(net, *data, epochs, seed, run_epoch))
        out[kind] = {"norms": np.array(norms), "accuracy": np.array(accuracy)}
    return out
