"""Chapter 5: graphs compute what eager code computes, tracing rules, and `mlpkit bench`."""

import json
import os
import pathlib
import subprocess
import sys

import pytest
import tensorflow as tf

from mlpkit import bench, bench_peers, bench_variants, data


@pytest.fixture(scope="module")
def small():
    (x, y), _ = data.embedded_mnist()
    return data.preprocess(x[:203], y[:203])  # 203: batches of 10 leave a last batch of 3


@pytest.mark.parametrize("batch_size", [10, 7])
def test_every_variant_trains_to_the_same_weights(small, batch_size):
    x, y = small
    differences = bench.check_equivalence(x, y, batch_size=batch_size, epochs=2)
    assert set(differences) == set(bench.VARIANTS)
    for name, difference in differences.items():  # float32, 2 epochs of about 20-30 steps
        assert difference < 1e-5, f"{name} differs from eager by {difference}"


def test_python_number_argument_retraces_every_call_and_tensor_traces_once():
    @tf.function
    def scaled(x, epoch):
        return x * epoch

    x = tf.constant([1.0, 2.0])
    for epoch in range(5):
        scaled(x, epoch)  # a new Python int: a new trace
    assert scaled.experimental_get_tracing_count() == 5
    for epoch in range(5):
        scaled(x, tf.constant(epoch, tf.float32))  # a tensor of the same dtype and shape: one more trace in all
    assert scaled.experimental_get_tracing_count() == 6


def test_python_side_effects_run_only_while_tracing():
    calls = []

    @tf.function
    def step(x):
        calls.append("traced")  # Python: runs while tracing
        return x + 1

    for value in range(3):
        step(tf.constant(float(value)))
    assert calls == ["traced"]
    assert float(step(tf.constant(1.0))) == 2.0 and calls == ["traced"]


def test_variables_cannot_be_created_on_every_call():
    @tf.function
    def make_variable(x):
        return tf.Variable(x) * 2

    # Only the exception type is checked: TensorFlow's wording of the reason is its own and changes.
    with pytest.raises(ValueError):
        make_variable(tf.constant(1.0))
        make_variable(tf.constant(2.0))

    # The control: the same function creating its variable once, on the first call only, is accepted,
    # so what was refused is the new variable per call.
    created = []

    @tf.function
    def make_variable_once(x):
        if not created:
            created.append(tf.Variable(x))
        return created[0] * 2

    assert float(make_variable_once(tf.constant(1.0))) == 2.0  # 1 * 2, exact in float32
    assert float(make_variable_once(tf.constant(2.0))) == 2.0 and len(created) == 1  # still the first call's variable


def test_graph_epoch_is_much_faster_than_eager(small):
    # Conservative floor in one process; `mlpkit bench` measures the full figures (about 40-90x here).
    x, y = small
    # Five interleaved rounds, medians: another test process shares the 2 cores under `make test`.
    result = bench.run_benchmark(x, y, repeats=5, variants=["eager", "function_step", bench.DEFAULT_VARIANT])
    speeds = {name: row["steps_per_second"] for name, row in result["variants"].items()}
    assert speeds[bench.DEFAULT_VARIANT] > 3 * speeds["eager"]
    # The thesis's tf.function gain was 4.2x; under a parallel test run this machine measured 1.48x, so the floor is
    # 1.2x.
    assert speeds["function_step"] > 1.2 * speeds["eager"]


def test_run_benchmark_rejects_unknown_variants(small):
    with pytest.raises(ValueError, match="unknown variants \\['jax'\\]"):
        bench.run_benchmark(*small, variants=["jax"])


def test_mlpkit_bench_end_to_end(tmp_path):
    command = [str(pathlib.Path(sys.executable).parent / "mlpkit"), "bench", "--no-download", "--images", "200",
               "--repeats", "1", "--out", str(tmp_path)]
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "keras"), TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert (tmp_path / "bench.png").stat().st_size > 1000
    assert report["default"] == bench.DEFAULT_VARIANT and set(report["variants"]) == set(bench.VARIANTS)
    for name, row in report["variants"].items():
        assert row["steps_per_second"] > 0 and row["repeats"] == 1 and row["wall_seconds"] > 0
        assert row["tracing_seconds"] >= 0 and row["default"] == (name == bench.DEFAULT_VARIANT)
    assert report["variants"]["eager"]["ratio_to_eager"] == pytest.approx(1.0)
    assert report["cpu_count"] == os.cpu_count() and report["tensorflow_version"] == tf.__version__
    expected = {"layers": [784, 15, 10], "lr": 0.9, "batch_size": 10, "images": 200, "steps_per_epoch": 20}
    assert report["config"] == expected
    assert "<- the kit's default" in result.stdout and "steps/s" in result.stdout
    assert report["variants"][bench.DEFAULT_VARIANT]["ratio_to_default"] == pytest.approx(1.0)
    assert report["blas"] and len(report["load_average"]["start"]) == 3
    assert "load average" in result.stdout and "BLAS" in result.stdout
    modern = report["modern"]  # chapter 7's network, every way
    assert set(modern["variants"]) == set(bench_variants.MODERN_VARIANTS)
    assert modern["config"]["layers"] == [784, 700, 500, 10]
    assert all(row["steps_per_second"] > 0 for row in modern["variants"].values())
    assert modern["default"] == bench_variants.MODERN_DEFAULT and modern["matmul_gflops_per_second"] > 0
    assert "chapter 7 network" in result.stdout
    expected_peers = set(bench_peers.PEERS) if bench_peers.jax_available() else set()
    assert set(report["peers"]) == expected_peers and set(modern["peers"]) == expected_peers
    for row in [*report["variants"].values(), *report["peers"].values(), *modern["peers"].values()]:
        assert row["weight_difference"] < bench.SAME_WEIGHTS  # the same training: checked after the first epoch
    assert ("JAX peers: not installed" in result.stdout) == (not expected_peers)


def test_mlpkit_bench_rejects_bad_options(capsys):
    from mlpkit import cli

    with pytest.raises(SystemExit) as exited:
        cli.main(["bench", "--variants", "eager,jax"])
    assert exited.value.code == 2 and "mlpkit: error: unknown variants jax" in capsys.readouterr().err
