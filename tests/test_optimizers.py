"""mlpkit.optimizers: the hand-written update rules and schedules equal Keras's, and chapter 7's claims hold."""

import keras
import numpy as np
import pytest

from mlpkit import optimizers

VALLEY = optimizers.Valley(a=50.0, b=1.0, angle=np.pi / 6)  # chapter 7's surface
CORNER = VALLEY.rotation @ np.array([0.4, 2.5])
RATES = {"sgd": 0.02, "momentum": 0.02, "nesterov": 0.02, "rmsprop": 0.05, "adam": 0.05}

# Keras stores the learning rate in a float32 variable, and TensorFlow's casts round the momentum and Adam's
# betas (in its bias correction) to float32: relative drifts of about 1e-7 a step on float64 weights. Measured
# over 60 steps from CORNER (weights of size 2): at most 2.8e-7 (momentum, Nesterov) and 3.3e-6 (Adam).
ATOL = 1e-5


def test_valley_gradient_is_the_derivative_of_the_valley():
    w, h = np.array([0.7, -1.3]), 1e-6
    central = [(VALLEY(w + e) - VALLEY(w - e)) / (2 * h) for e in np.eye(2) * h]
    np.testing.assert_allclose(VALLEY.gradient(w), central, rtol=1e-7)
    # the curvatures along the valley's axes are a and b
    np.testing.assert_allclose(np.linalg.eigvalsh(VALLEY.hessian), [1.0, 50.0], rtol=1e-12)
    assert VALLEY(np.zeros(2)) == 0


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_each_rule_takes_keras_path_step_by_step(name):
    mine = optimizers.trajectory(optimizers.OPTIMIZERS[name](RATES[name]), VALLEY, CORNER, 40)
    theirs = optimizers.keras_trajectory(optimizers.keras_optimizers(RATES[name])[name], VALLEY, CORNER, 40)
    assert np.abs(mine[-1] - mine[0]).max() > 0.5  # it moved
    np.testing.assert_allclose(mine, theirs, rtol=0, atol=ATOL)


def test_the_comparison_tells_the_rules_apart():
    # Negative control: every other rule at the same rate leaves the tolerance far behind.
    paths = {
        name: optimizers.trajectory(make(RATES[name]), VALLEY, CORNER, 40)
        for name, make in optimizers.OPTIMIZERS.items()
    }
    for name in paths:
        for other in paths:
            if other != name and RATES[other] == RATES[name]:
                assert np.abs(paths[name] - paths[other]).max() > 1000 * ATOL, (name, other)


def test_rmsprop_epsilon_sits_inside_the_root():
    # A tiny gradient: with g^2 (1 - rho) far below eps, the step is lr g / sqrt(eps), Keras's form.
    w = optimizers.RMSProp(1.0).step(np.array([0.0, 0.0]), np.array([1e-6, -1e-6]))
    np.testing.assert_allclose(w, -np.array([1e-6, -1e-6]) / np.sqrt(0.1 * 1e-12 + 1e-7), rtol=1e-12)


def test_momentum_and_nesterov_arrive_in_fewer_than_half_sgds_steps():
    # The valley is deterministic; the margin covers float rounding on any CPU (measured 194, 75, 57 steps).
    reached = {
        name: optimizers.steps_to_reach(
            optimizers.trajectory(optimizers.OPTIMIZERS[name](0.02), VALLEY, CORNER, 250), 0.05
        )
        for name in ("sgd", "momentum", "nesterov")
    }
    assert None not in reached.values()
    assert reached["momentum"] < reached["sgd"] / 2 and reached["nesterov"] < reached["sgd"] / 2
    assert reached["nesterov"] < reached["momentum"]  # it brakes the overshoot earlier


def test_sgd_is_stable_below_two_over_a_and_not_above():
    assert np.isfinite(optimizers.trajectory(optimizers.SGD(1.9 / VALLEY.a), VALLEY, CORNER, 200)).all()
    with pytest.raises(FloatingPointError, match="learning rate is too large"):
        optimizers.trajectory(optimizers.SGD(2.5 / VALLEY.a), VALLEY, CORNER, 2000)  # 1.5 times a step


def test_adams_first_step_is_the_learning_rate_in_each_weight():
    # m_hat / sqrt(v_hat) = g / |g| at t = 1, however different the two gradients are.
    w = optimizers.Adam(0.05).step(np.array([1.0, 1.0]), np.array([300.0, -0.03]))
    np.testing.assert_allclose(w, [0.95, 1.05], rtol=1e-4)


def test_steps_to_reach_counts_until_the_path_stays_inside():
    path = np.array([[2.0, 0.0], [0.01, 0.0], [0.5, 0.0], [0.01, 0.0], [0.0, 0.0]])
    assert optimizers.steps_to_reach(path, 0.05) == 3
    assert optimizers.steps_to_reach(path[:3], 0.05) is None


STEPS = np.arange(300)


@pytest.mark.parametrize(
    "mine, theirs",
    [
        (
            lambda k: optimizers.step_decay(k, 0.1, drop=0.5, every=40),
            lambda: keras.optimizers.schedules.ExponentialDecay(0.1, 40, 0.5, staircase=True),
        ),
        (
            lambda k: optimizers.step_decay(k, 0.3, drop=0.9, every=7),
            lambda: keras.optimizers.schedules.ExponentialDecay(0.3, 7, 0.9, staircase=True),
        ),
        (
            lambda k: optimizers.piecewise_constant(k, [50, 100, 150], [0.1, 0.05, 0.02, 0.01]),
            lambda: keras.optimizers.schedules.PiecewiseConstantDecay([50, 100, 150], [0.1, 0.05, 0.02, 0.01]),
        ),
        (
            lambda k: optimizers.cosine_decay(k, 0.1, 150, alpha=0.05),
            lambda: keras.optimizers.schedules.CosineDecay(0.1, 150, alpha=0.05),
        ),
        (lambda k: optimizers.cosine_decay(k, 1.0, 299), lambda: keras.optimizers.schedules.CosineDecay(1.0, 299)),
    ],
    ids=["step decay", "step decay 2", "piecewise", "cosine alpha", "cosine"],
)
def test_schedules_equal_keras_at_every_step(mine, theirs):
    # Keras computes in float32: relative 1e-6, and near a cosine's end, where 1 + cos is a difference of numbers
    # near 1, absolute float32 roundings of the initial rate (measured: at most 2.9e-8 for an initial rate of 1).
    # The boundaries fall on the same steps.
    schedule, initial = theirs(), float(mine(0))
    # all steps at once
    np.testing.assert_allclose(mine(STEPS), np.asarray(schedule(STEPS)), rtol=1e-6, atol=3e-7 * initial)


def test_schedule_boundaries_and_ends():
    assert optimizers.piecewise_constant(50, [50, 100], [1.0, 2.0, 3.0]) == 1.0  # up to and including the boundary
    assert optimizers.piecewise_constant(51, [50, 100], [1.0, 2.0, 3.0]) == 2.0
    assert optimizers.step_decay(39, 0.1, 0.5, 40) == 0.1 and optimizers.step_decay(40, 0.1, 0.5, 40) == 0.05
    assert optimizers.cosine_decay(0, 0.1, 100) == 0.1
    assert optimizers.cosine_decay(100, 0.1, 100, alpha=0.1) == pytest.approx(0.01, abs=1e-15)
    assert optimizers.cosine_decay(500, 0.1, 100, alpha=0.1) == pytest.approx(0.01, abs=1e-15)  # flat after
    assert optimizers.cosine_decay(50, 0.1, 100) == pytest.approx(0.05, rel=1e-12)  # half-way: half


def test_an_optimizer_with_a_schedule_takes_keras_path():
    mine = optimizers.trajectory(optimizers.Adam(lambda k: optimizers.cosine_decay(k, 0.1, 150)), VALLEY, CORNER, 40)
    theirs = optimizers.keras_trajectory(
        keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.1, 150)), VALLEY, CORNER, 40
    )
    np.testing.assert_allclose(mine, theirs, rtol=0, atol=ATOL)
    constant = optimizers.trajectory(optimizers.Adam(0.1), VALLEY, CORNER, 40)
    assert np.abs(constant - theirs).max() > 1000 * ATOL  # the schedule changed the path


def test_rmsprop_hovers_with_a_constant_rate_and_settles_with_cosine_decay():
    # Deterministic; measured: wanders up to 0.071 in the last 50 of 250 steps, ends 2.7e-5 away with cosine decay.
    constant = optimizers.trajectory(optimizers.RMSProp(0.1), VALLEY, CORNER, 250)
    cosine = optimizers.trajectory(
        optimizers.RMSProp(lambda k: optimizers.cosine_decay(k, 0.1, 250)), VALLEY, CORNER, 250
    )
    assert np.linalg.norm(constant[-50:], axis=1).max() > 0.03
    assert np.linalg.norm(cosine[-1]) < 1e-3


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="curvatures"):
        optimizers.Valley(a=-1.0)
    with pytest.raises(ValueError, match="learning rate"):
        optimizers.SGD(0.0)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.Momentum(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="the gradient must have the weights' shape"):
        optimizers.SGD(0.1).step(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="one value more than boundaries"):
        optimizers.piecewise_constant(3, [1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="decay_steps"):
        optimizers.cosine_decay(3, 0.1, 0)


def test_one_set_of_optimizer_names():
    """The rules on two weights (NumPy), on a network's variables (TensorFlow) and their default rates share names."""
    from mlpkit import modern_optimizers

    assert (
        list(modern_optimizers.OPTIMIZERS)
        == list(optimizers.OPTIMIZERS)
        == list(modern_optimizers.DEFAULT_LR)
        == list(optimizers.LABELS)
    )
