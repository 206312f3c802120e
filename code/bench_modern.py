"""Chapter 5: chapter 7's network (784-700-500-10, ReLU, cross-entropy, Adam, batch
128) measured as ``mlpkit.bench`` measures chapter 4's: every way of training it of
``mlpkit.bench_variants.MODERN_VARIANTS`` and, when JAX is installed, the peers of
``mlpkit.bench_peers``, from the same initial weights in the same order (their weights
compared after the warm-up epoch), beside TensorFlow's own rate on the step's matrix
products alone.
"""

import os
import statistics
import time

import numpy as np
import tensorflow as tf

from mlpkit import bench_peers, quiet
from mlpkit.bench import ratio_text, speed_rows, weight_differences
from mlpkit.bench_variants import MODERN_DEFAULT, modern_epochs

MODERN_LAYERS = (784, 700, 500, 10)


def modern_benchmark(
    x,
    y,
    layer_sizes=MODERN_LAYERS,
    batch_size=128,
    repeats=3,
    seed=0,
    progress=None,
    peers=None,
):
    """Steps per second of chapter 7's network (ReLU, cross-entropy, Adam, batch 128)
    trained every way of ``MODERN_VARIANTS`` and by the ``peers`` (JAX, when
    installed), beside TensorFlow's own rate on the step's matrix products alone
    (``"matmul"``). A warm-up epoch each, then interleaved timed epochs; medians, and
    ratios to the kit's way (``MODERN_DEFAULT``) round by round."""
    x, y = tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.float32)
    n, batch_size = int(x.shape[0]), int(batch_size)
    if peers is None:
        peers = bench_peers.MODERN_PEERS if bench_peers.jax_available() else ()
    orders = [
        np.random.default_rng(seed + k).permutation(n) for k in range(repeats + 1)
    ]
    load = os.getloadavg()
    with quiet.errors_only():
        epochs = modern_epochs(x, y, layer_sizes, batch_size, seed, peers)
        matmuls = bench_peers.matmul_program(layer_sizes, batch_size)
        steps = -(-n // batch_size)
        seconds, differences = _time_modern_rounds(
            epochs, orders, (matmuls, steps), progress
        )
    rows = speed_rows(seconds, steps, n, repeats, MODERN_DEFAULT)
    for name, difference in differences.items():
        rows[name]["weight_difference"] = difference
    flops = bench_peers.step_flops(layer_sizes, batch_size)
    matmul = steps * flops / statistics.median(seconds.pop("matmul")[1:])
    for name, row in rows.items():
        row["gflops_per_second"] = row["steps_per_second"] * flops / 1e9
        row["share_of_matmul_rate"] = row["steps_per_second"] * flops / matmul
    return {
        "default": MODERN_DEFAULT,
        "variants": {name: rows[name] for name in seconds if name not in peers},
        "peers": {name: rows[name] for name in peers},
        "matmul_gflops_per_second": matmul / 1e9,
        "config": {
            "layers": list(layer_sizes),
            "batch_size": batch_size,
            "images": n,
            "steps_per_epoch": steps,
            "step_flops": flops,
            "optimizer": "adam",
            "loss": "cross_entropy",
        },
        "load_average": {"start": list(load), "end": list(os.getloadavg())},
    }


def _time_modern_rounds(epochs, orders, matmuls, progress=None):
    """Seconds per epoch of each of ``epochs`` (``{name: (epoch, model)}``) and of
    ``matmuls`` (a ``matmul_program`` and its calls per epoch: ``"matmul"``), one round
    per order: the first is the warm-up."""
    repeats = len(orders) - 1
    seconds = {name: [] for name in [*epochs, "matmul"]}
    for round_, order in enumerate(orders):
        if progress:
            progress(
                "chapter 7 network: warming up"
                if round_ == 0
                else f"chapter 7 network: round {round_} of {repeats}"
            )
        for name, (epoch, _) in epochs.items():
            start = time.perf_counter()
            epoch(order)
            seconds[name].append(time.perf_counter() - start)
        seconds["matmul"].append(bench_peers.time_matmuls(*matmuls))
        if round_ == 0:
            models = {name: model for name, (_, model) in epochs.items()}
            differences = weight_differences(models, MODERN_DEFAULT)
    return seconds, differences


def format_modern_table(result):
    """Chapter 7's network as a text table, fastest first, the peers with the kit's
    ways."""
    rows = {**result["variants"], **result.get("peers", {})}
    lines = [
        f"{'chapter 7 network':24} {'steps/s':>9} {'GFLOP/s':>8} {'of matmul':>9}  "
        "x default (range)  max |w - default's w|, epoch 1"
    ]
    for name, row in sorted(
        rows.items(), key=lambda item: -item[1]["steps_per_second"]
    ):
        mark = "  <- the kit's way" if row["default"] else ""
        lines.append(
            f"{name:24} {row['steps_per_second']:9.1f} "
            f"{row['gflops_per_second']:8.1f} {row['share_of_matmul_rate']:9.0%}  "
            f"{ratio_text(row)}{mark}"
        )
    config = result["config"]
    lines.append(
        f"TensorFlow's matrix products alone, the step's shapes: "
        f"{result['matmul_gflops_per_second']:.1f} GFLOP/s"
    )
    lines.append(
        f"[{', '.join(map(str, config['layers']))}], ReLU, cross-entropy, Adam, batch "
        f"{config['batch_size']}, {config['images']:,} images, median of "
        f"{next(iter(rows.values()))['repeats']} interleaved rounds; load average "
        f"{result['load_average']['start'][0]:.1f} at the start"
    )
    return "\n".join(lines)
