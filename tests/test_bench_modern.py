"""Chapter 5: chapter 7's network in `mlpkit bench` (mlpkit.bench_modern): every way of training it, and JAX's when
installed, from the same weights to the same weights; the table reads as ratios to the kit's way."""

import numpy as np
import pytest
import tensorflow as tf

from mlpkit import bench, bench_modern, bench_peers, bench_variants, data


@pytest.fixture(scope="module")
def small():
    (x, y), _ = data.embedded_mnist()
    return data.preprocess(x[:203], y[:203])  # batches of 64: three full ones and a last one of 11


def test_jax_modern_peer_trains_to_the_kits_weights(small):
    pytest.importorskip("jax")
    from mlpkit import modern

    x, y = (tf.constant(v, tf.float32) for v in small)
    order = np.random.default_rng(0).permutation(len(x))
    start = modern.MLP(seed=0)
    epochs = bench_variants.modern_epochs(x, y, (784, 700, 500, 10), 64, 0, peers=bench_peers.MODERN_PEERS)
    for name in (bench_variants.MODERN_DEFAULT, *bench_peers.MODERN_PEERS):
        epochs[name][0](order)
    models = {name: epochs[name][1] for name in (bench_variants.MODERN_DEFAULT, *bench_peers.MODERN_PEERS)}
    differences = bench.weight_differences(models, bench_variants.MODERN_DEFAULT)
    assert set(differences) == {bench_variants.MODERN_DEFAULT, *bench_peers.MODERN_PEERS}
    assert max(differences.values()) < 1e-5  # Adam, 4 steps of 64 (the last of 11) from the same weights
    moved = max(float(np.abs(a - b).max()) for a, b in zip(epochs["jax_step"][1].get_weights(), start.get_weights()))
    assert moved > 1e-3


def test_modern_benchmark_rows_and_table(small):
    result = bench_modern.modern_benchmark(*small, layer_sizes=(784, 32, 10), batch_size=64, repeats=1, peers=())
    assert set(result["variants"]) == set(bench_variants.MODERN_VARIANTS) and result["peers"] == {}
    default = result["variants"][bench_variants.MODERN_DEFAULT]
    assert default["default"] and default["ratio_to_default"] == pytest.approx(1.0)
    assert default["weight_difference"] == 0.0
    for name, row in result["variants"].items():
        assert row["steps_per_second"] > 0 and row["share_of_matmul_rate"] > 0
        if name != "keras_fit":  # Keras keeps its own weights: not compared
            assert row["weight_difference"] < bench.SAME_WEIGHTS, name
    table = bench_modern.format_modern_table(result)
    assert "<- the kit's way" in table and "GFLOP/s" in table and "load average" in table
