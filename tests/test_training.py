"""Chapter 4's training loop (mlpkit.training): the epochs, their results, divergence detection, the recipe's claims.

Training claims use the embedded default (4,000 train / 1,000 test MNIST
digits). Over seeds 0-7, lr 0.9 for 10 epochs gave 72.8-79.5 % test accuracy,
lr 0.1 gave 25.5-36.5 % and lr 0.01 gave 10.2-19.4 %; the floors and orderings
below leave room for that spread.
"""

import pathlib
import statistics
import time

import numpy as np
import pytest
import tensorflow as tf

from mlpkit import data, training
from mlpkit.gradients import backprop
from mlpkit.model import SigmoidMLP

FULL_FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")


def test_evaluate_loss_is_the_mse_convention(embedded):
    _, _, x_test, y_test, _ = embedded
    net = SigmoidMLP()
    result = training.evaluate(net, x_test, y_test, chunk=300)  # chunks that do not divide 1,000
    np.testing.assert_allclose(result.loss, float(tf.reduce_mean((net(x_test) - y_test) ** 2)), rtol=1e-5)
    assert result.saturated == 0.0


@pytest.mark.parametrize("jit_compile", [True, False])
def test_plain_and_compiled_epochs_equal_gradient_descent(embedded, jit_compile):
    # Chapter 4 shows the plain loop and chapter 5 the compiled one: after one epoch on the same
    # shuffle they hold the same weights, and both equal gradient descent with chapter 3's hand-derived
    # gradients. float32 throughout: rtol 1e-5, atol 1e-6 (differences seen: about 1e-7).
    x_train, y_train, _, _, _ = embedded
    x, y = x_train[:95], y_train[:95]  # 9 batches of 10 and a last one of 5
    order = np.random.default_rng(0).permutation(95)
    plain, compiled, reference = SigmoidMLP(seed=4), SigmoidMLP(seed=4), SigmoidMLP(seed=4)
    plain_loss = training.make_plain_epoch(plain, 0.9, 10)(x, y, order)
    compiled_loss = training.make_epoch_function(compiled, 0.9, 10, jit_compile=jit_compile)(x, y, order)
    for start in range(0, 95, 10):  # the same steps, eagerly, with chapter 3's hand-derived gradients
        index = order[start : start + 10]
        grads = backprop(reference.params, tf.gather(x, index), tf.gather(y, index))
        for param, grad in zip(reference.params, grads):
            param.assign_sub(0.9 * grad)
    for a, b, c in zip(plain.params, compiled.params, reference.params):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(plain_loss, compiled_loss, rtol=1e-5)  # both: the mean of the 10 batch losses
    assert (
        max(float(np.abs(a.numpy() - w).max()) for a, w in zip(plain.params, SigmoidMLP(seed=4).get_weights())) > 1e-3
    )


def test_validation_runs_never_touch_a_test_set(embedded):
    x_train, y_train, _, _, _ = embedded
    x_val, y_val, x_fit, y_fit = x_train[:500], y_train[:500], x_train[500:1500], y_train[500:1500]
    history = training.train(
        SigmoidMLP(seed=0), x_fit, y_fit, x_val, y_val, held_out="validation", epochs=1, progress=False
    )
    assert set(history.epochs[0]) == {
        "epoch",
        "train_loss",
        "train_accuracy",
        "validation_loss",
        "validation_accuracy",
        "saturated_outputs",
        "seconds",
    }
    assert np.array(history.confusion).sum() == 500  # the confusion matrix is the validation set's
    alone = training.train(SigmoidMLP(seed=0), x_fit, y_fit, epochs=1, progress=False)
    assert not any(key.startswith(("test", "validation")) for key in alone.epochs[0])
    assert alone.confusion is None and alone.test_predictions is None
    np.testing.assert_allclose(alone.final["train_loss"], history.final["train_loss"], rtol=1e-6)  # same run
    with pytest.raises(ValueError, match="both x_test and y_test"):
        training.train(SigmoidMLP(), x_fit, y_fit, x_val, progress=False)


def test_training_reaches_the_floor_and_records_everything(embedded):
    x_train, y_train, x_test, y_test, labels = embedded
    history = training.train(SigmoidMLP(seed=0), x_train, y_train, x_test, y_test, progress=False)
    assert history.config == {"lr": 0.9, "batch_size": 10, "epochs": 10, "seed": 0, "jit_compile": True}
    assert [row["epoch"] for row in history.epochs] == list(range(11))
    assert history.final["test_accuracy"] > 0.65
    assert history.final["train_loss"] < history.epochs[0]["train_loss"]
    confusion = np.array(history.confusion)
    assert confusion.shape == (10, 10) and confusion.sum() == 1000
    np.testing.assert_array_equal(confusion.sum(axis=1), np.bincount(labels))
    assert np.trace(confusion) / 1000 == pytest.approx(history.final["test_accuracy"])


def test_training_is_reproducible(embedded):
    x_train, y_train, x_test, y_test, _ = embedded
    runs = [
        training.train(
            SigmoidMLP(seed=5), x_train[:500], y_train[:500], x_test, y_test, epochs=2, seed=5, progress=False
        )
        for _ in range(2)
    ]
    np.testing.assert_allclose(runs[0].final["train_loss"], runs[1].final["train_loss"], rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_larger_learning_rate_is_better_at_this_budget(embedded, seed):
    # Thesis Figure 17 (full MNIST): lr 0.9 / 0.1 / 0.01 gave 89.12 / 58.42 / 16.51 %.
    x_train, y_train, x_test, y_test, _ = embedded
    accuracy = {
        lr: training.train(
            SigmoidMLP(seed=seed), x_train, y_train, x_test, y_test, lr=lr, seed=seed, progress=False
        ).final["test_accuracy"]
        for lr in (0.9, 0.1, 0.01)
    }
    assert accuracy[0.9] > accuracy[0.1] + 0.2 > accuracy[0.01] + 0.2


@pytest.mark.parametrize("lr", [1e3, 1e38])
def test_too_large_learning_rate_saturates_and_says_so(embedded, lr):
    # With sigmoid + MSE a huge rate does not give NaN: it pins the sigmoids at exactly 0 or 1,
    # where every gradient is 0 (seen for lr from 1e3 up to 3e38).
    x_train, y_train, x_test, y_test, _ = embedded
    with pytest.raises(
        training.TrainingDiverged,
        match=r"training stopped in epoch \d: \d+% of the network's outputs are exactly 0 or 1"
        r".* too large learning rate",
    ) as caught:
        training.train(SigmoidMLP(seed=0), x_train, y_train, x_test, y_test, lr=lr, epochs=5, progress=False)
    history = caught.value.history  # what was recorded is kept
    assert history.final["saturated_outputs"] >= training.SATURATION_LIMIT and len(history.epochs) >= 2


def test_saturated_outputs_pass_no_gradient_and_accuracy_stays_at_chance(embedded):
    # What chapter 4 states about a learning rate of 1,000 (seed 0, the embedded default's 3,334 fit and
    # 666 validation images; measured: 28 % of the fit images' outputs exactly 0 or 1 after each of
    # epochs 1-3, validation accuracy 10.8 %).
    x_train, y_train, _, _, _ = embedded
    x_val, y_val, x_fit, y_fit = x_train[:666], y_train[:666], x_train[666:], y_train[666:]
    net = SigmoidMLP(seed=0)
    history = training.train(
        net,
        x_fit,
        y_fit,
        x_val,
        y_val,
        held_out="validation",
        lr=1000.0,
        epochs=3,
        progress=False,
        stop_on_saturation=False,
    )
    saturated = [row["saturated_outputs"] for row in history.epochs]
    assert saturated[0] == 0.0 and min(saturated[1:]) >= training.SATURATION_LIMIT
    assert all(row["validation_accuracy"] < 0.2 for row in history.epochs[1:])  # chance is 0.1
    outputs = net(x_fit[:500])
    pinned = (outputs.numpy() == 0.0) | (outputs.numpy() == 1.0)
    slope = outputs * (1 - outputs)  # sigma'(z_L) = y (1 - y)
    assert pinned.any() and np.all(slope.numpy()[pinned] == 0.0)  # exactly: no gradient reaches z_L there


@pytest.mark.parametrize("lr", [0.01, 0.9, 10.0])
def test_usable_learning_rates_do_not_saturate(embedded, lr):
    x_train, y_train, x_test, y_test, _ = embedded
    history = training.train(
        SigmoidMLP(seed=1), x_train, y_train, x_test, y_test, lr=lr, epochs=3, seed=1, progress=False
    )
    assert max(row["saturated_outputs"] for row in history.epochs) < 0.01


def test_nan_loss_stops_training_and_restores_the_weights(embedded):
    x_train, y_train, x_test, y_test, _ = embedded
    x_bad = x_train[:200].numpy()
    x_bad[7, 300] = np.nan  # one corrupt pixel
    net = SigmoidMLP(seed=0)
    before = net.get_weights()
    with pytest.raises(
        training.TrainingDiverged,
        match=r"training diverged in epoch 1: the loss became nan .* keeps its weights from epoch 0",
    ):
        training.train(net, x_bad, y_train[:200], x_test, y_test, epochs=3, progress=False)
    for kept, original in zip(net.get_weights(), before):
        np.testing.assert_array_equal(kept, original)


@pytest.mark.parametrize(
    "options, message",
    [({"lr": -0.5}, "learning rate"), ({"lr": float("nan")}, "learning rate"), ({"batch_size": 0}, "batch size")],
)
def test_bad_training_options(options, message):
    with pytest.raises(ValueError, match=message):
        training.TrainConfig(**options)


def test_confusion_matrix_and_per_class_accuracy():
    confusion = training.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], classes=3)
    np.testing.assert_array_equal(confusion, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_allclose(training.per_class_accuracy(confusion), [0.5, 1.0, 2 / 3])


@pytest.mark.skipif(
    not FULL_FASHION.is_dir(), reason="full Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"
)
def test_one_epoch_on_full_fashion_mnist(monkeypatch):
    # Seeds 0-2 gave 71.5-73.5 % after one epoch.
    monkeypatch.setenv("KERAS_HOME", "/nonexistent-keras-home")
    (x_train, y_train), (x_test, y_test) = data.load_data("fashion_mnist", download=False)
    history = training.train(
        SigmoidMLP(seed=0),
        *data.preprocess(x_train, y_train),
        *data.preprocess(x_test, y_test),
        epochs=1,
        progress=False,
    )
    assert history.final["test_accuracy"] > 0.6


def test_config_and_keyword_options_are_not_mixed(embedded):
    x_train, y_train, x_test, y_test, _ = embedded
    with pytest.raises(ValueError, match="give either config or keyword options"):
        training.train(SigmoidMLP(), x_train, y_train, x_test, y_test, config=training.TrainConfig(), lr=0.1)


def test_clear_of_ties_marks_rows_no_rounding_can_flip():
    outputs = np.array([[0.1, 0.9, 0.3], [0.5, 0.5 + 1e-6, 0.0], [0.2, 0.2, 0.2], [0.7, 0.1, 0.69998]], np.float32)
    np.testing.assert_array_equal(training.clear_of_ties(outputs), [True, False, False, True])


def test_xla_epoch_lays_out_the_data_once_and_traces_once(embedded):
    # The compiled epoch gathers the epoch's shuffled data once, as (steps, batch, 784), before its loop: the loop
    # body reads a slice of it (no gather from the whole data set per step), and epochs of one shape share a trace.
    x_train, y_train, _, _, _ = embedded
    x, y = x_train[:200], y_train[:200]
    run_epoch = training.make_epoch_function(SigmoidMLP(seed=0), 0.9, 10)
    for seed in range(3):
        run_epoch(x, y, np.random.default_rng(seed).permutation(200))
    full_batches = run_epoch.full_batches
    assert full_batches.experimental_get_tracing_count() == 1
    batches = tf.TensorSpec([20, 10], tf.int32)
    graph = full_batches.get_concrete_function(x, y, batches).graph
    outer = {op.type for op in graph.get_operations()}
    assert "GatherV2" in outer and ("While" in outer or "StatelessWhile" in outer)
    body = [f for f in graph.as_graph_def().library.function if "body" in f.signature.name]
    assert body and not any(node.op == "GatherV2" for f in body for node in f.node_def)


def test_xla_epoch_is_not_slower_than_half_the_plain_epoch(embedded):
    # Conservative floor under a parallel test run; `mlpkit bench` measures the full figures.
    x_train, y_train, _, _, _ = embedded
    x, y = x_train[:300], y_train[:300]
    runs = {
        "plain": training.make_plain_epoch(SigmoidMLP(seed=0), 0.9, 10),
        "xla": training.make_epoch_function(SigmoidMLP(seed=0), 0.9, 10),
    }
    seconds = {name: [] for name in runs}
    for round_ in range(4):  # the first round warms up (tracing, compiling)
        order = np.random.default_rng(round_).permutation(300)
        for name, run in runs.items():
            start = time.perf_counter()
            run(x, y, order)
            seconds[name].append(time.perf_counter() - start)
    ratio = statistics.median(seconds["plain"][1:]) / statistics.median(seconds["xla"][1:])
    assert ratio > 0.5, f"the XLA epoch ran at {ratio:.2f}x the plain epoch's speed"
