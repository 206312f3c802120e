"""Chapters 5 and 7: the XLA-compiled step and epoch (mlpkit.compiled) train as the plain loop does.

The plain loop is ``mlpkit.modern.make_train_step`` (a ``tf.function`` without XLA) called once per batch by
``mlpkit.modern.run_epoch``. The tolerance is chapter 5's for a compiled epoch against the plain one (float32:
rtol 1e-5, atol 1e-6); the differences seen here are about 3e-7.
"""

import statistics
import time

import numpy as np
import pytest
import tensorflow as tf

from helpers import embedded_splits
from mlpkit import compiled, modern, modern_optimizers


@pytest.fixture(scope="module")
def small():
    x_train, y_train, _, _, _ = embedded_splits()
    x, y = tf.constant(x_train[:600], tf.float32), tf.constant(y_train[:600], tf.float32)
    return x, y, np.random.default_rng(0).permutation(600)  # batches of 128: four full and a last one of 88


def plain_epoch(net, optimizer, x, y, order, batch_size=128):
    step = modern.make_train_step(net, modern.cross_entropy, optimizer)
    return np.asarray(modern.run_epoch(step, x, y, order, batch_size))


def assert_same_weights(a, b):
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "momentum", "rmsprop"])
def test_xla_epoch_equals_the_plain_loop(small, optimizer):
    x, y, order = small
    plain, xla = modern.MLP([784, 64, 32, 10], seed=1), modern.MLP([784, 64, 32, 10], seed=1)
    plain_losses = plain_epoch(plain, modern_optimizers.make_optimizer(optimizer), x, y, order)
    adam_or_other = modern_optimizers.make_optimizer(optimizer)
    run_epoch = compiled.make_compiled_epoch(xla, modern.cross_entropy, adam_or_other, 128)
    xla_losses = run_epoch(x, y, order)
    assert len(xla_losses) == len(plain_losses) == 5
    np.testing.assert_allclose(xla_losses, plain_losses, rtol=1e-5, atol=1e-6)
    assert_same_weights(xla, plain)
    start = modern.MLP([784, 64, 32, 10], seed=1).get_weights()
    assert max(float(np.abs(a - b).max()) for a, b in zip(xla.get_weights(), start)) > 1e-3  # it did train


def test_chapter_7_network_xla_step_and_epoch_equal_the_plain_loop(small):
    x, y, order = small
    nets = {how: modern.MLP([784, 700, 500, 10], seed=0) for how in ("plain", "step", "epoch")}
    adams = {how: modern_optimizers.Adam() for how in nets}
    plain_epoch(nets["plain"], adams["plain"], x, y, order)
    step = compiled.make_compiled_step(nets["step"], modern.cross_entropy, adams["step"])
    modern.run_epoch(step, x, y, order, 128)
    compiled.make_compiled_epoch(nets["epoch"], modern.cross_entropy, adams["epoch"], 128)(x, y, order)
    assert_same_weights(nets["step"], nets["plain"])
    assert_same_weights(nets["epoch"], nets["plain"])
    assert int(adams["epoch"].iterations.numpy()) == 5  # Adam's step count: one per batch


def test_train_runs_the_compiled_epoch_on_its_shuffle(small):
    # modern.train's first epoch is the plain loop on default_rng(seed).permutation(n), to float32 precision
    x, y, _ = small
    trained, plain = modern.MLP([784, 64, 10], seed=2), modern.MLP([784, 64, 10], seed=2)
    modern.train(trained, x, y, x[:50], y[:50], epochs=1, seed=3, progress=False)
    plain_epoch(plain, modern_optimizers.Adam(), x, y, np.random.default_rng(3).permutation(600))
    assert_same_weights(trained, plain)


def test_compiled_epoch_traces_once_for_every_epoch_of_one_shape(small):
    x, y, order = small
    net, sgd = modern.MLP([784, 32, 10]), modern_optimizers.SGD(0.1)
    run_epoch = compiled.make_compiled_epoch(net, modern.cross_entropy, sgd, 128)
    for seed in range(3):
        run_epoch(x, y, np.random.default_rng(seed).permutation(600))
    assert run_epoch.full_batches.experimental_get_tracing_count() == 1
    assert run_epoch.last_batch.experimental_get_tracing_count() == 1
    assert len(run_epoch(x[:512], y[:512], order[order < 512])) == 4  # no last batch: only full ones


def test_compiled_dropout_is_reproducible_and_drops(small):
    # XLA draws its own masks (not the plain loop's), from the same seed every run
    x, y, order = small
    weights = []
    for dropout in (0.5, 0.5, 0.0):
        net = modern.MLP([784, 64, 10], dropout=dropout, seed=0)
        compiled.make_compiled_epoch(net, modern.cross_entropy, modern_optimizers.Adam(), 128)(x, y, order)
        weights.append(net.get_weights())
    for a, b in zip(weights[0], weights[1]):
        np.testing.assert_array_equal(a, b)
    assert max(float(np.abs(a - b).max()) for a, b in zip(weights[0], weights[2])) > 1e-3


def test_xla_epoch_is_not_slower_than_half_the_plain_loop(small):
    # Conservative floor under a parallel test run; `mlpkit bench` measures the full figures.
    x, y, order = small
    plain_net, xla_net = modern.MLP([784, 64, 10], seed=0), modern.MLP([784, 64, 10], seed=0)
    plain_step = modern.make_train_step(plain_net, modern.cross_entropy, modern_optimizers.Adam())
    xla = compiled.make_compiled_epoch(xla_net, modern.cross_entropy, modern_optimizers.Adam(), 32)
    runs = {"plain": lambda: modern.run_epoch(plain_step, x, y, order, 32), "xla": lambda: xla(x, y, order)}
    seconds = {name: [] for name in runs}
    for round_ in range(6):  # the first round warms up (tracing, compiling)
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    ratio = statistics.median(seconds["plain"][1:]) / statistics.median(seconds["xla"][1:])
    assert ratio > 0.5, f"the XLA epoch ran at {ratio:.2f}x the plain loop's speed"
