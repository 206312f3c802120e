"""Chapter 5: how fast can the chapter-4 network train? Every way, measured alike.

Each variant trains the same sigmoid MLP (MSE, plain gradient descent) from
the same initial weights on the same data in the same order:

- ``eager``: chapter 4's plain loop (``mlpkit.training.make_plain_epoch``): a Python
  loop
  over batches, each step run op by op (``tf.GradientTape``);
- ``function_step``: the same step as a ``tf.function``, called from a Python
  loop over a ``tf.data`` pipeline;
- ``function_epoch``: one ``tf.function`` per epoch, its ``tf.range`` loop
  slicing each batch out of the permutation (batches of dynamic shape);
- ``function_epoch_static``: the kit's loop without XLA: batches as rows of a
  ``(batches, batch_size)`` index matrix, so every step has one static shape;
- ``function_epoch_xla``: the same, compiled by XLA (``jit_compile=True``):
  the kit's default (``mlpkit.training.make_epoch_function``);
- ``keras_fit``: Keras ``Sequential`` + ``SGD`` + ``fit``;
- ``numpy``: forward and backward pass written out in NumPy.

``run_benchmark`` times one warm-up epoch (tracing and compiling happen
there) and then ``repeats`` epochs, and reports the median.
"""

import os
import platform
import statistics
import time

import numpy as np
import tensorflow as tf

from mlpkit import quiet
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


def _start(layer_sizes, seed, examples, epochs):
    """The shared starting point of every variant: initial weights and one data order
    per epoch."""
    weights = SigmoidMLP(list(layer_sizes), seed=seed).get_weights()
    rng = np.random.default_rng(seed)
    return weights, [rng.permutation(examples).astype(np.int32) for _ in range(epochs)]


def _trainer(name, weights, layer_sizes, lr, batch_size):
    return VARIANTS[name]([w.copy() for w in weights], layer_sizes, lr, batch_size)


def _timed_epoch(trainer, x, y, order):
    start = time.perf_counter()
    trainer.run_epoch(x, y, order)
    return time.perf_counter() - start


def run_benchmark(
    x,
    y,
    layer_sizes=THESIS_LAYERS,
    lr=THESIS_LR,
    batch_size=THESIS_BATCH_SIZE,
    repeats=5,
    variants=None,
    seed=0,
    progress=None,
):
    """Time every variant; returns the ``bench.json`` dictionary.

    Every variant first runs one warm-up epoch (its tracing and compiling
    happen there). Then the timed epochs are interleaved, one epoch of each
    variant per round, so that a slow spell of the machine hits all variants
    alike; each variant's speed is the median over ``repeats`` rounds.
    """
    layer_sizes = list(layer_sizes)
    variants = list(variants or VARIANTS)
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise ValueError(
            f"unknown variants {unknown}; expected some of {', '.join(VARIANTS)}"
        )
    weights, orders = _start(layer_sizes, seed, len(x), repeats + 1)
    x_numpy, y_numpy = np.asarray(x), np.asarray(y)
    inputs = {
        name: (x_numpy, y_numpy) if name == "numpy" else (x, y) for name in variants
    }
    with quiet.errors_only():
        trainers = {
            name: _trainer(name, weights, layer_sizes, lr, batch_size)
            for name in variants
        }
        seconds = _time_epochs(trainers, inputs, orders, progress)
    steps = -(-len(x) // batch_size)
    results = {}
    for name in variants:
        median = statistics.median(seconds[name][1:])
        results[name] = {
            "steps_per_second": steps / median,
            "examples_per_second": len(x) / median,
            "median_epoch_seconds": median,
            "wall_seconds": sum(seconds[name]),
            "tracing_seconds": max(seconds[name][0] - median, 0.0),
            "repeats": repeats,
            "default": name == DEFAULT_VARIANT,
        }
    if "eager" in results:
        for row in results.values():
            row["ratio_to_eager"] = (
                row["steps_per_second"] / results["eager"]["steps_per_second"]
            )
    processor = platform.processor() or platform.system()
    return {
        "default": DEFAULT_VARIANT,
        "variants": results,
        "config": {
            "layers": layer_sizes,
            "lr": lr,
            "batch_size": batch_size,
            "images": len(x),
            "steps_per_epoch": steps,
        },
        "cpu_count": os.cpu_count(),
        "machine": f"{platform.machine()} {processor}".strip(),
        "tensorflow_version": tf.__version__,
        "numpy_version": np.__version__,
    }


def _time_epochs(trainers, inputs, orders, progress=None):
    """Seconds per epoch of each trainer: a warm-up epoch on ``orders[0]``, then
    interleaved rounds."""
    seconds = {}
    for name, trainer in trainers.items():
        if progress:
            progress(f"warming up {name}")
        seconds[name] = [_timed_epoch(trainer, *inputs[name], orders[0])]
    for round_, order in enumerate(orders[1:], start=1):
        if progress:
            progress(f"timed round {round_} of {len(orders) - 1}")
        for name, trainer in trainers.items():
            seconds[name].append(_timed_epoch(trainer, *inputs[name], order))
    return seconds


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
    trainer = _trainer(name, weights, list(layer_sizes), lr, batch_size)
    if name == "numpy":
        x, y = np.asarray(x), np.asarray(y)
    for order in orders:
        trainer.run_epoch(x, y, order)
    return trainer.get_weights()


def check_equivalence(
    x,
    y,
    layer_sizes=THESIS_LAYERS,
    lr=THESIS_LR,
    batch_size=THESIS_BATCH_SIZE,
    epochs=1,
    seed=0,
    variants=None,
):
    """Train every variant the same way; returns {name: max |weight - eager weight|}
    over all weights."""
    weights, orders = _start(layer_sizes, seed, len(x), epochs)
    final = {
        name: train_variant(name, weights, x, y, orders, layer_sizes, lr, batch_size)
        for name in variants or VARIANTS
    }
    reference = final.get("eager") or next(iter(final.values()))
    return {
        name: max(float(np.max(np.abs(a - b))) for a, b in zip(w, reference))
        for name, w in final.items()
    }


def format_table(result):
    """The benchmark as a text table, fastest first."""
    rows = sorted(
        result["variants"].items(), key=lambda item: -item[1]["steps_per_second"]
    )
    lines = [f"{'variant':24} {'steps/s':>9} {'x eager':>8} {'tracing s':>9}"]
    for name, row in rows:
        mark = "  <- the kit's default" if row["default"] else ""
        ratio = (
            f"{row['ratio_to_eager']:8.1f}" if "ratio_to_eager" in row else f"{'':8}"
        )
        lines.append(
            f"{name:24} {row['steps_per_second']:9.0f} {ratio} "
            f"{row['tracing_seconds']:9.2f}{mark}"
        )
    config = result["config"]
    lines.append(
        f"[{', '.join(map(str, config['layers']))}], batch {config['batch_size']}, "
        f"{config['images']:,} images, "
        f"median of {next(iter(result['variants'].values()))['repeats']} epochs; "
        f"{result['cpu_count']} CPUs, "
        f"TensorFlow {result['tensorflow_version']}"
    )
    return "\n".join(lines)


def plot_benchmark(result, ax=None):
    """Horizontal bars of steps per second (log scale), the default highlighted."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 3.5))
    rows = sorted(
        result["variants"].items(), key=lambda item: item[1]["steps_per_second"]
    )
    names = [name for name, _ in rows]
    speeds = [row["steps_per_second"] for _, row in rows]
    colors = ["C3" if row["default"] else "C0" for _, row in rows]
    ax.barh(names, speeds, color=colors)
    ax.set_xscale("log")
    ax.set_xlabel("training steps per second (log scale)")
    config = result["config"]
    ax.set_title(
        f"Training speed, batch {config['batch_size']} (red: the kit's default)"
    )
    for index, speed in enumerate(speeds):
        ax.text(speed, index, f" {speed:,.0f}", va="center", fontsize="small")
    _room_right_of_bars(ax)
    return ax


def _room_right_of_bars(ax, share=0.15):
    """Widen a log x axis by ``share`` of its span so the numbers after the longest bar
    stay inside the frame."""
    low, high = ax.get_xlim()
    ax.set_xlim(low, high * (high / low) ** share)


def batch_size_sweep(
    x,
    y,
    batch_sizes,
    variants=("eager", "function_step", DEFAULT_VARIANT),
    repeats=2,
    progress=None,
):
    """Steps and examples per second of ``variants`` at each batch size; one row per
    (variant, batch size)."""
    rows = []
    for batch_size in batch_sizes:
        if progress:
            progress(f"batch size {batch_size}")
        result = run_benchmark(
            x, y, batch_size=batch_size, repeats=repeats, variants=list(variants)
        )
        for name, row in result["variants"].items():
            rows.append(
                {
                    "variant": name,
                    "batch_size": batch_size,
                    "steps_per_second": row["steps_per_second"],
                    "examples_per_second": row["examples_per_second"],
                }
            )
    return rows


# -- chapter 7's network ---------------------------------------------------------------

MODERN_LAYERS = (784, 700, 500, 10)
MODERN_VARIANTS = ("scratch_eager", "scratch_function", "keras_fit")


def modern_benchmark(
    x, y, layer_sizes=MODERN_LAYERS, batch_size=128, repeats=3, seed=0, progress=None
):
    """Steps per second of chapter 7's network (ReLU, cross-entropy, Adam, batch 128)
    trained three ways:
    the kit's layers and Adam eagerly and in a ``tf.function`` step (as
    ``mlpkit.modern.train``), and
    Keras's ``fit``. A warm-up epoch each, then interleaved timed epochs; medians."""
    import keras

    from mlpkit import kerasnets, modern, modern_optimizers

    x, y = tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.float32)
    n, batch_size = int(x.shape[0]), int(batch_size)
    orders = [
        np.random.default_rng(seed + k).permutation(n) for k in range(repeats + 1)
    ]

    def scratch(compiled):
        net, adam = modern.MLP(layer_sizes, seed=seed), modern_optimizers.Adam()

        def step(xb, yb):
            with tf.GradientTape() as tape:
                loss = modern.cross_entropy(net(xb, training=True), yb)
            adam.apply(tape.gradient(loss, net.params), net.params)
            return loss

        step = tf.function(step) if compiled else step

        def epoch(order):
            for i in range(0, n, batch_size):
                index = order[i : i + batch_size]
                step(tf.gather(x, index), tf.gather(y, index))

        return epoch

    def keras_fit():
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

        return epoch

    epochs = {
        "scratch_eager": scratch(False),
        "scratch_function": scratch(True),
        "keras_fit": keras_fit(),
    }
    seconds = {name: [] for name in epochs}
    for round_, order in enumerate(orders):
        if progress:
            progress(
                "chapter 7 network: warming up"
                if round_ == 0
                else f"chapter 7 network: round {round_} of {repeats}"
            )
        for name, epoch in epochs.items():
            start = time.perf_counter()
            epoch(order)
            seconds[name].append(time.perf_counter() - start)
    steps = -(-n // batch_size)
    results = {
        name: {
            "steps_per_second": steps / statistics.median(s[1:]),
            "median_epoch_seconds": statistics.median(s[1:]),
            "repeats": repeats,
        }
        for name, s in seconds.items()
    }
    for row in results.values():
        row["ratio_to_eager"] = (
            row["steps_per_second"] / results["scratch_eager"]["steps_per_second"]
        )
    return {
        "variants": results,
        "config": {
            "layers": list(layer_sizes),
            "batch_size": batch_size,
            "images": n,
            "steps_per_epoch": steps,
            "optimizer": "adam",
            "loss": "cross_entropy",
        },
    }


def format_modern_table(result):
    lines = [f"{'chapter 7 network':24} {'steps/s':>9} {'x eager':>8}"]
    for name, row in sorted(
        result["variants"].items(), key=lambda item: -item[1]["steps_per_second"]
    ):
        lines.append(
            f"{name:24} {row['steps_per_second']:9.1f} {row['ratio_to_eager']:8.2f}"
        )
    config = result["config"]
    lines.append(
        f"[{', '.join(map(str, config['layers']))}], ReLU, cross-entropy, Adam, batch "
        f"{config['batch_size']}, "
        f"{config['images']:,} images, median of "
        f"{next(iter(result['variants'].values()))['repeats']} epochs"
    )
    return "\n".join(lines)
