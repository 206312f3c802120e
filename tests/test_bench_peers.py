"""Chapter 5: `mlpkit bench`'s peers (mlpkit.bench_peers): JAX, when installed, trains chapter 4's network to the
kit's weights, and without JAX the bench says so in one line."""

import numpy as np
import pytest

from mlpkit import bench, bench_peers, data


@pytest.fixture(scope="module")
def small():
    (x, y), _ = data.embedded_mnist()
    return data.preprocess(x[:203], y[:203])  # 203: batches of 10 leave a last batch of 3


def test_without_jax_the_bench_says_so_in_one_line(small, monkeypatch):
    monkeypatch.setattr(bench_peers, "jax_available", lambda: False)
    result = bench.run_benchmark(*small, repeats=1, variants=["numpy", bench.DEFAULT_VARIANT])
    assert result["peers"] == {} and "jax_version" not in result
    table = bench.format_table(result)
    assert [line for line in table.splitlines() if "JAX" in line] == [result["peers_note"]]
    assert "not installed" in result["peers_note"] and 'pip install "mlpkit[jax]"' in result["peers_note"]


def test_jax_peers_train_to_the_kits_weights(small):
    pytest.importorskip("jax")
    x, y = small
    result = bench.run_benchmark(x, y, repeats=2, variants=[bench.DEFAULT_VARIANT])
    assert set(result["peers"]) == set(bench_peers.PEERS) and result["peers_note"] == ""
    for name, row in result["peers"].items():
        # same weights, data and order: after one epoch (21 steps, the last of 3 images) float32 rounding apart
        assert row["weight_difference"] < 1e-5, name
        low, high = row["ratio_to_default_range"]
        assert 0 < low <= row["ratio_to_default"] <= high
    for name, difference in bench_peers.check_peers(x, y, batch_size=7).items():
        assert difference < 1e-5, name


def test_step_flops_count_the_matrix_products():
    # forward 784x15 + 15x10, weight gradients the same, inputs' gradients 15x10 only; 2 FLOP per multiply-add
    assert bench_peers.step_flops([784, 15, 10], 10) == 2 * 10 * (2 * (784 * 15 + 15 * 10) + 15 * 10)
    assert np.isfinite(float(bench_peers.matmul_program([784, 15, 10], 10)()))


def test_blas_in_use_names_a_library():
    assert bench_peers.blas_in_use().strip()
