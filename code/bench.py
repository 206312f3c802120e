"""Chapter 5: how fast can the chapter-4 network train? Every way, measured alike.

The ways are the variants of ``mlpkit.bench_variants``: chapter 4's eager loop,
``tf.function`` steps and epochs with and without XLA, Keras's ``fit`` and NumPy, each
training the same network from the same weights on the same data in the same order
(``check_equivalence`` checks that they agree).

``run_benchmark`` times one warm-up epoch (tracing and compiling happen there) and then
``repeats`` epochs, and reports the median.
"""

import os
import platform
import statistics
import time

import numpy as np
import tensorflow as tf

from mlpkit import quiet
from mlpkit.bench_variants import (
    DEFAULT_VARIANT,
    VARIANTS,
    make_trainer,
    modern_epochs,
    starting_point,
    train_variant,
)
from mlpkit.defaults import THESIS_BATCH_SIZE, THESIS_LAYERS, THESIS_LR


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

    Every variant first runs one warm-up epoch (its tracing and compiling happen there).
    Then the timed epochs are interleaved, one epoch of each variant per round, so that
    a slow spell of the machine hits all variants alike; each variant's speed is the
    median over ``repeats`` rounds.
    """
    layer_sizes = list(layer_sizes)
    variants = _check_variants(variants)
    weights, orders = starting_point(layer_sizes, seed, len(x), repeats + 1)
    x_numpy, y_numpy = np.asarray(x), np.asarray(y)
    inputs = {
        name: (x_numpy, y_numpy) if name == "numpy" else (x, y) for name in variants
    }
    with quiet.errors_only():
        trainers = {
            name: make_trainer(name, weights, layer_sizes, lr, batch_size)
            for name in variants
        }
        seconds = _time_epochs(trainers, inputs, orders, progress)
    steps = -(-len(x) // batch_size)
    return {
        "default": DEFAULT_VARIANT,
        "variants": _speeds(seconds, steps, len(x), repeats),
        "config": {
            "layers": layer_sizes,
            "lr": lr,
            "batch_size": batch_size,
            "images": len(x),
            "steps_per_epoch": steps,
        },
        **_machine(),
    }


def _check_variants(variants):
    """The names ``variants`` (all of ``VARIANTS`` if ``None``) as a list;
    ``ValueError`` for unknown names."""
    variants = list(variants or VARIANTS)
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise ValueError(
            f"unknown variants {unknown}; expected some of {', '.join(VARIANTS)}"
        )
    return variants


def _speeds(seconds, steps, examples, repeats):
    """Each variant's row of ``bench.json`` from its seconds per epoch (the warm-up
    first)."""
    results = {}
    for name, epochs in seconds.items():
        median = statistics.median(epochs[1:])
        results[name] = {
            "steps_per_second": steps / median,
            "examples_per_second": examples / median,
            "median_epoch_seconds": median,
            "wall_seconds": sum(epochs),
            "tracing_seconds": max(epochs[0] - median, 0.0),
            "repeats": repeats,
            "default": name == DEFAULT_VARIANT,
        }
    if "eager" in results:
        for row in results.values():
            row["ratio_to_eager"] = (
                row["steps_per_second"] / results["eager"]["steps_per_second"]
            )
    return results


def _machine():
    """What the timings were measured on: processors, machine and library versions."""
    processor = platform.processor() or platform.system()
    return {
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
    weights, orders = starting_point(layer_sizes, seed, len(x), epochs)
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

        _, ax = plt.subplots(figsize=(6.7, 3.5))
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


def modern_benchmark(
    x, y, layer_sizes=MODERN_LAYERS, batch_size=128, repeats=3, seed=0, progress=None
):
    """Steps per second of chapter 7's network (ReLU, cross-entropy, Adam, batch 128)
    trained three ways: the kit's layers and Adam eagerly and in a ``tf.function`` step
    (as ``mlpkit.modern.train``), and Keras's ``fit``. A warm-up epoch each, then
    interleaved timed epochs; medians."""
    x, y = tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.float32)
    n, batch_size = int(x.shape[0]), int(batch_size)
    orders = [
        np.random.default_rng(seed + k).permutation(n) for k in range(repeats + 1)
    ]
    epochs = modern_epochs(x, y, layer_sizes, batch_size, seed)
    seconds = _time_modern_rounds(epochs, orders, progress)
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


def _time_modern_rounds(epochs, orders, progress=None):
    """Seconds per epoch of each of ``epochs``, one round per order: the first is the
    warm-up."""
    repeats = len(orders) - 1
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
    return seconds


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
