"""Chapter 5: the ways the benchmark trains the chapter-4 network, and chapter 7's.

Each variant trains the same sigmoid MLP (MSE, plain gradient descent) from the same
initial weights on the same data in the same order:

- ``eager``: chapter 4's plain loop (``mlpkit.training.make_plain_epoch``): a Python
  loop over batches, each step run op by op (``tf.GradientTape``);
- ``function_step``: the same step as a ``tf.function``, called from a Python loop over
  a ``tf.data`` pipeline;
- ``function_epoch``: one ``tf.function`` per epoch, its ``tf.range`` loop slicing each
  batch out of the permutation (batches of dynamic shape);
- ``function_epoch_static``: the kit's loop without XLA: batches as rows of a
  ``(batches, batch_size)`` index matrix, so every step has one static shape;
- ``function_epoch_xla``: the same, compiled by XLA (``jit_compile=True``): the kit's
  default (``mlpkit.training.make_epoch_function``);
- ``keras_fit``: Keras ``Sequential`` + ``SGD`` + ``fit``;
- ``numpy``: forward and backward pass written out in NumPy.

Each is a trainer with ``run_epoch(x, y, order)`` and ``get_weights()``
(``make_trainer``). ``modern_epochs`` gives chapter 7's network (ReLU, cross-entropy,
Adam) trained each way of ``MODERN_VARIANTS``: eagerly, by a ``tf.function`` step, by
an XLA-compiled step and by the XLA-compiled epoch of ``mlpkit.modern.train``, and by
Keras's ``fit``. ``mlpkit.bench`` and ``mlpkit.bench_modern`` time them.
"""

import numpy as np
import tensorflow as tf

from mlpkit.defaults import THESIS_BATCH_SIZE, THESIS_LAYERS, THESIS_LR
from mlpkit.model import SigmoidMLP
from mlpkit.training import make_epoch_function, make_plain_epoch, make_step

DEFAULT_VARIANT = "function_epoch_xla"


class _TensorFlowVariant:
    """A SigmoidMLP with given weights and its eager step; subclasses define
    ``run_epoch(x, y, order)``."""

    def __init__(self, weights, layer_sizes, lr, batch_size):
        self.model = SigmoidMLP(layer_sizes)
        self.model.set_weights(weights)
        self.lr, self.batch_size = lr, batch_size
        self.step = make_step(self.model, tf.constant(lr, tf.float32))

    def get_weights(self):
        return self.model.get_weights()


class Eager(_TensorFlowVariant):
    def __init__(self, *args):
        super().__init__(*args)
        # chapter 4's loop
        self.run_epoch = make_plain_epoch(self.model, self.lr, self.batch_size)


class FunctionStep(_TensorFlowVariant):
    def __init__(self, *args):
        super().__init__(*args)
        self.step = tf.function(self.step)

    def run_epoch(self, x, y, order):
        dataset = tf.data.Dataset.from_tensor_slices(
            (tf.gather(x, order), tf.gather(y, order))
        )
        for x_batch, y_batch in dataset.batch(self.batch_size):
            self.step(x_batch, y_batch)


class FunctionEpoch(_TensorFlowVariant):
    def __init__(self, *args):
        super().__init__(*args)
        step, batch_size = self.step, self.batch_size

        @tf.function
        def run(x, y, order):
            n = tf.shape(order)[0]
            for i in tf.range((n + batch_size - 1) // batch_size):
                index = order[i * batch_size : tf.minimum((i + 1) * batch_size, n)]
                step(tf.gather(x, index), tf.gather(y, index))

        self.run = run

    def run_epoch(self, x, y, order):
        self.run(x, y, tf.constant(order, tf.int32))


class FunctionEpochStatic(_TensorFlowVariant):
    jit_compile = False

    def __init__(self, *args):
        super().__init__(*args)
        self.run_epoch = make_epoch_function(
            self.model, self.lr, self.batch_size, jit_compile=self.jit_compile
        )


class FunctionEpochXLA(FunctionEpochStatic):
    jit_compile = True


class KerasFit:
    def __init__(self, weights, layer_sizes, lr, batch_size):
        import keras

        layers = [keras.Input((layer_sizes[0],))]
        layers += [keras.layers.Dense(n, activation="sigmoid") for n in layer_sizes[1:]]
        self.model = keras.Sequential(layers)
        # Keras's "mse" is the mean over outputs, then over the batch: the same number
        # as `mse`.
        self.model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse")
        self.model.set_weights(weights)
        self.batch_size = batch_size

    def run_epoch(self, x, y, order):
        self.model.fit(
            tf.gather(x, order),
            tf.gather(y, order),
            batch_size=self.batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
        )

    def get_weights(self):
        return [np.asarray(w) for w in self.model.get_weights()]


class NumPy:
    """Forward and backward pass in NumPy, float32, the same arithmetic as
    ``gradients.backprop``."""

    def __init__(self, weights, layer_sizes, lr, batch_size):
        self.params = [np.array(w, dtype=np.float32) for w in weights]
        self.lr, self.batch_size = np.float32(lr), batch_size

    def run_epoch(self, x, y, order):
        x, y = np.asarray(x), np.asarray(y)
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            activations = [x[index]]
            for weights, bias in zip(self.params[0::2], self.params[1::2]):
                activations.append(
                    1.0 / (1.0 + np.exp(-(activations[-1] @ weights + bias)))
                )
            # (B, n_L)
            d_cost__d_a = 2.0 * (activations[-1] - y[index]) / activations[-1].size
            for layer in reversed(range(len(self.params) // 2)):
                a_out, a_in = activations[layer + 1], activations[layer]
                d_cost__d_z = d_cost__d_a * a_out * (1.0 - a_out)  # (B, n_l)
                if layer:  # the inputs need no gradient
                    # (B, n_{l-1}), before W_l changes
                    d_cost__d_a = d_cost__d_z @ self.params[2 * layer].T
                self.params[2 * layer] -= self.lr * (a_in.T @ d_cost__d_z)
                self.params[2 * layer + 1] -= self.lr * d_cost__d_z.sum(axis=0)

    def get_weights(self):
        return [p.copy() for p in self.params]


VARIANTS = {
    "eager": Eager,
    "function_step": FunctionStep,
    "function_epoch": FunctionEpoch,
    "function_epoch_static": FunctionEpochStatic,
    "function_epoch_xla": FunctionEpochXLA,
    "keras_fit": KerasFit,
    "numpy": NumPy,
}


def starting_point(layer_sizes, seed, examples, epochs):
    """The shared starting point of every variant: initial weights and one data order
    per epoch."""
    weights = SigmoidMLP(list(layer_sizes), seed=seed).get_weights()
    rng = np.random.default_rng(seed)
    return weights, [rng.permutation(examples).astype(np.int32) for _ in range(epochs)]


def make_trainer(name, weights, layer_sizes, lr, batch_size):
    """A trainer of variant ``name`` starting from a copy of ``weights``."""
    return VARIANTS[name]([w.copy() for w in weights], layer_sizes, lr, batch_size)


def train_variant(
    name,
    weights,
    x,
    y,
    orders,
    layer_sizes=THESIS_LAYERS,
    lr=THESIS_LR,
    batch_size=THESIS_BATCH_SIZE,
):
    """Train variant ``name`` from ``weights`` for one epoch per order; returns the
    final weights."""
    trainer = make_trainer(name, weights, list(layer_sizes), lr, batch_size)
    if name == "numpy":
        x, y = np.asarray(x), np.asarray(y)
    for order in orders:
        trainer.run_epoch(x, y, order)
    return trainer.get_weights()


# -- chapter 7's network ---------------------------------------------------------------

MODERN_VARIANTS = (
    "scratch_eager",
    "scratch_function",
    "scratch_xla_step",
    "scratch_xla_epoch",
    "keras_fit",
)
# : The kit's way of training chapter 7's network (``mlpkit.modern.train``).
MODERN_DEFAULT = "scratch_xla_epoch"


def _scratch_epoch(x, y, layer_sizes, batch_size, seed, how):
    """``(epoch(order), net)`` training chapter 7's network with the kit's layers and
    Adam: ``how`` is ``"eager"``, ``"function"`` (a ``tf.function`` step),
    ``"xla_step"`` (the step compiled by XLA) or ``"xla_epoch"`` (the whole epoch, as
    ``mlpkit.modern.train``)."""
    from mlpkit import compiled, modern, modern_optimizers

    net, adam = modern.MLP(layer_sizes, seed=seed), modern_optimizers.Adam()
    loss = modern.cross_entropy
    if how == "xla_epoch":
        run_epoch = compiled.make_compiled_epoch(net, loss, adam, batch_size)
        return (lambda order: run_epoch(x, y, order)), net
    if how == "xla_step":
        step = compiled.make_compiled_step(net, loss, adam)
    else:
        step = compiled.make_compiled_step(net, loss, adam, jit_compile=False)
        step = step if how == "function" else step.python_function

    def epoch(order):
        for i in range(0, len(order), batch_size):
            index = order[i : i + batch_size]
            step(tf.gather(x, index), tf.gather(y, index))

    return epoch, net


def _keras_fit_epoch(x, y, layer_sizes, batch_size, seed):
    """``(epoch(order), None)`` training chapter 7's network in Keras: ``fit`` with
    Adam."""
    import keras

    from mlpkit import kerasnets

    model = kerasnets.build_model(layer_sizes, seed=seed)
    model.compile(
        optimizer=keras.optimizers.Adam(), loss=kerasnets.make_loss("cross_entropy")
    )

    def epoch(order):
        model.fit(
            tf.gather(x, order),
            tf.gather(y, order),
            batch_size=batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
        )

    return epoch, None


def modern_epochs(x, y, layer_sizes, batch_size, seed, peers=()):
    """``{name: (epoch(order), model)}`` of chapter 7's network, one per
    ``MODERN_VARIANTS`` and one per name in ``peers`` (of
    ``mlpkit.bench_peers.MODERN_PEERS``); ``x`` and ``y`` are float32 tensors. The model
    (``None`` for Keras) has ``get_weights()``."""
    epochs = {
        f"scratch_{how}": _scratch_epoch(x, y, layer_sizes, batch_size, seed, how)
        for how in ("eager", "function", "xla_step", "xla_epoch")
    }
    epochs["keras_fit"] = _keras_fit_epoch(x, y, layer_sizes, batch_size, seed)
    for name in peers:
        from mlpkit import bench_peers, modern

        weights = modern.MLP(layer_sizes, seed=seed).get_weights()
        trainer = bench_peers.modern_trainer(name, weights, batch_size)
        epochs[name] = (lambda order, t=trainer: t.run_epoch(x, y, order), trainer)
    return epochs
