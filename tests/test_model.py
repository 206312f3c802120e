"""Chapter 4's network (mlpkit.model): its size, initialisations, shapes and untrained outputs."""

import numpy as np
import pytest

from mlpkit import training
from mlpkit.gradients import forward
from mlpkit.model import SigmoidMLP


def test_model_has_11935_parameters_and_uniform_init():
    net = SigmoidMLP()
    assert net.count_params() == 11_935 and len(net.trainable_variables) == 4
    assert [tuple(p.shape) for p in net.params] == [(784, 15), (15,), (15, 10), (10,)]
    values = np.concatenate([p.numpy().ravel() for p in net.params])
    assert values.min() > -1 and values.max() < 1 and values.min() < -0.99 and values.max() > 0.99
    assert abs(values.mean()) < 0.03  # mean of U(-1, 1) is 0; 11,935 draws
    assert repr(net) == "SigmoidMLP([784, 15, 10], init=uniform, 11,935 parameters)"


def test_glorot_init_follows_its_formula():
    net = SigmoidMLP([784, 100, 10], init="glorot", seed=1)
    w1, b1 = net.params[0].numpy(), net.params[1].numpy()
    limit = np.sqrt(6 / (784 + 100))
    assert np.abs(w1).max() <= limit and np.abs(w1).max() > 0.99 * limit
    np.testing.assert_allclose(w1.std(), limit / np.sqrt(3), rtol=0.02)  # std of U(-a, a) is a/sqrt(3)
    np.testing.assert_array_equal(b1, 0.0)


@pytest.mark.parametrize(
    "sizes, message",
    [([100, 15, 10], "must start at 784"), ([784, 15, 9], "end at 10"), ([784], "at least two"), ("abc", "integers")],
)
def test_bad_layer_sizes_are_named(sizes, message):
    with pytest.raises(ValueError, match=message):
        SigmoidMLP(sizes)


def test_model_runs_chapter_3s_forward_pass(embedded):
    x_train, _, x_test, _, _ = embedded
    net = SigmoidMLP(seed=3)
    np.testing.assert_array_equal(net(x_test[:5]), forward(net.params, x_test[:5])[-1])


def test_untrained_outputs_in_open_unit_interval_and_accuracy_near_chance(embedded):
    _, _, x_test, y_test, _ = embedded
    for seed in range(4):
        net = SigmoidMLP(seed=seed)
        out = net(x_test).numpy()
        assert out.shape == (1000, 10) and out.min() > 0 and out.max() < 1
        accuracy = training.evaluate(net, x_test, y_test).accuracy
        assert 0.02 < accuracy < 0.25  # chance is 0.10; seeds 0-7 gave 0.077-0.137
