"""Chapter 5: how fast can the chapter-4 network train? Every way, measured alike.

The ways are the variants of ``mlpkit.bench_variants``: chapter 4's eager loop,
``tf.function`` steps and epochs with and without XLA, Keras's ``fit`` and NumPy, each
training the same network from the same weights on the same data in the same order
(``check_equivalence`` checks that they agree).

``run_benchmark`` times one warm-up epoch (tracing and compiling happen there) and then
``repeats`` epochs, and reports the median. The peers of ``mlpkit.bench_peers`` (JAX,
when installed) are timed in the same rounds, and every row carries its speed as a ratio
to the kit's default measured round by round: the median of those ratios and their
spread (lowest and highest).
"""

import os
import platform
import statistics
import time

import numpy as np
import tensorflow as tf

from mlpkit import bench_peers, quiet
from mlpkit.bench_variants import (
    DEFAULT_VARIANT,
    VARIANTS,
    make_trainer,
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
    peers=None,
):
    """Time every variant and peer; returns the ``bench.json`` dictionary.

    Every variant first runs one warm-up epoch (its tracing and compiling happen there).
    Then the timed epochs are interleaved, one epoch of each variant per round, so that
    a slow spell of the machine hits all variants alike; each variant's speed is the
    median over ``repeats`` rounds. ``peers`` are names of ``bench_peers.PEERS`` (by
    default all of them if JAX is installed, else none); they go to ``"peers"``.
    """
    layer_sizes = list(layer_sizes)
    variants = _check_variants(variants)
    if peers is None:
        peers = bench_peers.PEERS if bench_peers.jax_available() else ()
    weights, orders = starting_point(layer_sizes, seed, len(x), repeats + 1)
    x_numpy, y_numpy = np.asarray(x), np.asarray(y)
    inputs = {
        name: (x_numpy, y_numpy) if name == "numpy" else (x, y) for name in variants
    }
    inputs.update({name: (x, y) for name in peers})
    load = os.getloadavg()
    with quiet.errors_only():
        trainers = {
            name: make_trainer(name, weights, layer_sizes, lr, batch_size)
            for name in variants
        }
        for name in peers:
            trainers[name] = bench_peers.sigmoid_trainer(name, weights, lr, batch_size)
        seconds, differences = _time_epochs(trainers, inputs, orders, progress)
    steps = -(-len(x) // batch_size)
    rows = speed_rows(seconds, steps, len(x), repeats, DEFAULT_VARIANT)
    for name, difference in differences.items():
        rows[name]["weight_difference"] = difference
    return {
        "default": DEFAULT_VARIANT,
        "variants": {name: rows[name] for name in variants},
        "peers": {name: rows[name] for name in peers},
        "peers_note": peers_note(),
        "config": {
            "layers": layer_sizes,
            "lr": lr,
            "batch_size": batch_size,
            "images": len(x),
            "steps_per_epoch": steps,
        },
        **_machine(load),
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


def _ratios(seconds, reference):
    """Per round, the speed of each of ``seconds`` (seconds per epoch, warm-up first) as
    a ratio to ``reference``'s in the same round: ``{name: (median, lowest,
    highest)}``."""
    if reference not in seconds:
        return {}
    result = {}
    for name, epochs in seconds.items():
        ratios = [ref / own for own, ref in zip(epochs[1:], seconds[reference][1:])]
        result[name] = (statistics.median(ratios), min(ratios), max(ratios))
    return result


def speed_rows(seconds, steps, examples, repeats, default=DEFAULT_VARIANT):
    """Each row of ``bench.json`` from its seconds per epoch (the warm-up first)."""
    results = {}
    ratios = _ratios(seconds, default)
    for name, epochs in seconds.items():
        median = statistics.median(epochs[1:])
        results[name] = {
            "steps_per_second": steps / median,
            "steps_per_second_range": [
                steps / max(epochs[1:]),
                steps / min(epochs[1:]),
            ],
            "examples_per_second": examples / median,
            "median_epoch_seconds": median,
            "wall_seconds": sum(epochs),
            "tracing_seconds": max(epochs[0] - median, 0.0),
            "repeats": repeats,
            "default": name == default,
        }
        if name in ratios:
            results[name]["ratio_to_default"] = ratios[name][0]
            results[name]["ratio_to_default_range"] = list(ratios[name][1:])
    if "eager" in results:
        for row in results.values():
            row["ratio_to_eager"] = (
                row["steps_per_second"] / results["eager"]["steps_per_second"]
            )
    return results


def _machine(load=None):
    """What the timings were measured on: processors, load, BLAS, library versions."""
    processor = platform.processor() or platform.system()
    machine = {
        "cpu_count": os.cpu_count(),
        "machine": f"{platform.machine()} {processor}".strip(),
        "tensorflow_version": tf.__version__,
        "numpy_version": np.__version__,
        # 1, 5 and 15 minutes' load averages, when the run began and when it ended
        "load_average": {
            "start": list(load or os.getloadavg()),
            "end": list(os.getloadavg()),
        },
        "blas": bench_peers.blas_in_use(),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0",
    }
    if bench_peers.jax_available():
        import jax

        machine["jax_version"] = jax.__version__
    return machine


def _time_epochs(trainers, inputs, orders, progress=None):
    """Seconds per epoch of each trainer (a warm-up epoch on ``orders[0]``, then
    interleaved rounds), and ``weight_differences`` after the warm-up epoch."""
    seconds = {}
    for name, trainer in trainers.items():
        if progress:
            progress(f"warming up {name}")
        seconds[name] = [_timed_epoch(trainer, *inputs[name], orders[0])]
    differences = weight_differences(trainers, DEFAULT_VARIANT)
    for round_, order in enumerate(orders[1:], start=1):
        if progress:
            progress(f"timed round {round_} of {len(orders) - 1}")
        for name, trainer in trainers.items():
            seconds[name].append(_timed_epoch(trainer, *inputs[name], order))
    return seconds, differences


# : The largest weight difference from the kit's default after one epoch that counts as
# the same training (float32; a peer's fused kernels round differently).
SAME_WEIGHTS = 1e-4


def weight_differences(models, reference):
    """``{name: max |weight - reference's weight|}`` of ``models`` (``{name: model}``,
    each ``None`` or with ``get_weights()``) against ``models[reference]``; empty
    without it."""
    if models.get(reference) is None:
        return {}
    base = models[reference].get_weights()
    return {
        name: max(
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            for a, b in zip(model.get_weights(), base)
        )
        for name, model in models.items()
        if model is not None
    }


def peers_note():
    """One line when JAX is not installed (no peer is timed then), else ``""``."""
    if bench_peers.jax_available():
        return ""
    return (
        "JAX peers: not installed, not timed "
        '(pip install "mlpkit[jax]" to measure the kit against JAX)'
    )


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


def ratio_text(row):
    """``0.93 (0.90-0.97)``: the median ratio to the default and its range; then, if
    measured, the largest weight difference from the default after one epoch, flagged
    when it is too large for the same training."""
    text = ""
    if "ratio_to_default" in row:
        low, high = row["ratio_to_default_range"]
        text = f"{row['ratio_to_default']:5.2f} ({low:.2f}-{high:.2f})"
    if "weight_difference" in row:
        difference = row["weight_difference"]
        flag = "" if difference < SAME_WEIGHTS else " NOT THE SAME WEIGHTS"
        text += f"  {difference:7.1e}{flag}"
    return text


def machine_line(result):
    """The load, the BLAS and the versions the timings were measured with."""
    start, end = result["load_average"]["start"], result["load_average"]["end"]
    jax = f", JAX {result['jax_version']}" if "jax_version" in result else ""
    return (
        f"{result['cpu_count']} CPUs, load average {start[0]:.1f} at the start and "
        f"{end[0]:.1f} at the end; NumPy's BLAS: {result['blas']}; "
        f"TensorFlow {result['tensorflow_version']}{jax}"
    )


def format_table(result):
    """The benchmark as a text table, fastest first, the peers with the variants."""
    rows = {**result["variants"], **result.get("peers", {})}
    lines = [
        f"{'variant':24} {'steps/s':>9} {'x eager':>8} {'tracing s':>9}  "
        "x default (range)  max |w - default's w|, epoch 1"
    ]
    for name, row in sorted(
        rows.items(), key=lambda item: -item[1]["steps_per_second"]
    ):
        mark = "  <- the kit's default" if row["default"] else ""
        eager = row.get("ratio_to_eager")
        lines.append(
            f"{name:24} {row['steps_per_second']:9.0f} "
            f"{'' if eager is None else f'{eager:.1f}':>8} "
            f"{row['tracing_seconds']:9.2f}  {ratio_text(row)}{mark}"
        )
    config = result["config"]
    lines.append(
        f"[{', '.join(map(str, config['layers']))}], batch {config['batch_size']}, "
        f"{config['images']:,} images, "
        f"median of {next(iter(rows.values()))['repeats']} interleaved rounds"
    )
    lines.append(machine_line(result))
    if result.get("peers_note"):
        lines.append(result["peers_note"])
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
