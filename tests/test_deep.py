"""Chapter 9: what the chapter claims about deep networks, gradients and initialisation, checked over seeds."""

import numpy as np
import pytest
import tensorflow as tf

from mlpkit import data, deep, modern, study
from mlpkit.gradients import mse
from mlpkit.grading.checks import Call, _uniform_weights

DEEPEST = [784, 400, 200, 100, 50, 25, 10]  # thesis Figure 27, model 12
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def digits():
    (x_raw, y_raw), (x_test_raw, y_test_raw) = data.embedded_mnist()
    x, t = data.preprocess(x_raw, y_raw)
    x_test, t_test = data.preprocess(x_test_raw, y_test_raw)
    return x, t, x_test, t_test


def probe(digits):
    x, t, _, _ = digits
    return x[:300], t[:300]  # the chapter measures on 1,000; the ratios change little


# -- the backward recursion ---------------------------------------------------------------------

@pytest.mark.parametrize("activation, init", [("sigmoid", "uniform"), ("relu", "he"), ("tanh", "glorot")])
def test_hand_deltas_give_the_tapes_weight_gradients(activation, init):
    # dC/dW_l = a_{l-1}^T delta_l with delta_l from the recursion, against tf.GradientTape (float32: relative 1e-4).
    x = tf.random.stateless_uniform([20, 784], seed=[3, 4])
    t = tf.one_hot(tf.range(20) % 10, 10)
    net = deep.deep_network([784, 30, 15, 12, 10], activation, init, seed=1)
    with tf.GradientTape() as tape:
        cost = mse(net(x), t)
    tape_grads = tape.gradient(cost, [layer.w for layer in net.layers])
    _, activations = deep.layer_outputs(net, x)
    for a_before, delta, tape_grad in zip(activations[:-1], deep.deltas(net, x, t), tape_grads):
        hand = tf.transpose(a_before) @ delta
        assert float(tf.reduce_max(tf.abs(hand - tape_grad))) <= 1e-4 * float(tf.reduce_max(tf.abs(tape_grad)))
    norms = deep.gradient_norms(net, x, t)
    assert norms == pytest.approx([float(tf.norm(g)) for g in tape_grads], rel=1e-5)


def test_delta_shrinks_by_about_a_quarter_a_sigmoid_layer_and_not_at_all_with_relu_and_he(digits):
    # Seeds 0-2 on the chapter's 1,000 digits: Glorot sigmoid 0.25-0.30 a layer, U(-1, 1) sigmoid 0.43-1.32,
    # ReLU + He 0.90-1.14, ReLU + U(-1, 1) 1.9-8.5 (on 300 digits its last factor can fall to 1.4).
    x, t = digits[0][:1000], digits[1][:1000]
    for seed in SEEDS:
        shrink = {
            s: np.array(deep.delta_shrink(deep.deep_network(DEEPEST, *s, seed=seed), x, t)) for s in deep.SETTINGS
        }
        assert ((shrink["sigmoid", "glorot"] > 0.2) & (shrink["sigmoid", "glorot"] < 0.35)).all(), seed
        assert (shrink["sigmoid", "uniform"] > shrink["sigmoid", "glorot"] + 0.1).all(), seed
        assert ((shrink["relu", "he"] > 0.8) & (shrink["relu", "he"] < 1.25)).all(), seed
        assert (shrink["relu", "uniform"] > 1.5).all(), seed


def test_first_layer_gradient_vanishes_with_sigmoids_and_not_with_relu_and_he(digits):
    # Seeds 0-7 while writing: U(-1, 1) sigmoid 0.06-0.15, Glorot sigmoid 0.002-0.004, ReLU + He 0.95-3.1.
    x, t = probe(digits)
    for seed in SEEDS:
        ratio = {
            s: deep.first_to_last(deep.gradient_norms(deep.deep_network(DEEPEST, *s, seed=seed), x, t))
            for s in deep.SETTINGS
        }
        assert ratio["sigmoid", "uniform"] < 1 / 4, seed
        assert ratio["sigmoid", "glorot"] < 1 / 100, seed
        assert 1 / 2 < ratio["relu", "he"] < 4, seed


def test_every_deep_thesis_network_starts_with_a_smaller_first_layer_gradient(digits):
    # The fifteen networks of thesis Figures 25-27 with U(-1, 1) sigmoids (seed 0 in the chapter): at most 0.29.
    x, t = probe(digits)
    layers = {
        tuple(r["layers"]) for f in ("figure25", "figure26", "figure27") for r in study.published_results(f)["results"]
    }
    assert len(layers) == 12  # fifteen models, three of them the same widths trained differently
    for sizes in layers:
        for seed in SEEDS:
            assert (
                deep.first_to_last(
                    deep.gradient_norms(deep.deep_network(list(sizes), "sigmoid", "uniform", seed), x, t)
                )
                < 0.4
            )


# -- activations ----------------------------------------------------------------------------------


def test_uniform_weights_saturate_the_sigmoid_layers_and_glorot_weights_do_not(digits):
    # Seeds 0-2 (1,000 digits): 38-56 % of the units of hidden layers 1-3 saturated under U(-1, 1), none under Glorot.
    x, _ = probe(digits)
    for seed in SEEDS:
        uniform = deep.deep_network(DEEPEST, "sigmoid", "uniform", seed)
        glorot = deep.deep_network(DEEPEST, "sigmoid", "glorot", seed)
        assert min(deep.saturated_fraction(uniform, x)[:3]) > 0.3 and max(deep.saturated_fraction(glorot, x)) < 0.01
        assert max(deep.mean_slope(uniform, x)[:3]) < 0.1 and min(deep.mean_slope(glorot, x)) > 0.2
        spread = np.array(deep.activation_spread(glorot, x)[:-1])
        assert spread.max() / spread.min() < 2 and min(deep.activation_spread(uniform, x)[:-1]) > 2 * spread.max()


def test_relu_spread_is_kept_by_he_and_grows_or_fades_with_the_others(digits):
    x, _ = probe(digits)
    for seed in SEEDS:
        growth = {}
        for init in ("uniform", "glorot", "he"):
            spread = np.array(deep.activation_spread(deep.deep_network(DEEPEST, "relu", init, seed), x)[:-1])
            growth[init] = spread[1:] / spread[:-1]
        # Seeds 0-7: U(-1, 1) at least 2.2 a layer; Glorot 0.1-0.4 over the four steps; He 0.76-1.22 a layer.
        assert (growth["uniform"] > 2).all() and np.prod(growth["glorot"]) < 0.6, seed
        assert ((growth["he"] > 0.7) & (growth["he"] < 1.4)).all(), seed


def test_saturation_is_measured_on_sigmoid_networks_only():
    with pytest.raises(ValueError, match="sigmoid layers"):
        deep.saturated_fraction(deep.deep_network([784, 5, 10], "relu", "he"), tf.zeros([2, 784]))
    with pytest.raises(TypeError, match="mlpkit.modern.MLP"):
        deep.gradient_norms(object(), tf.zeros([2, 784]), tf.zeros([2, 10]))
    with pytest.raises(ValueError, match=r"shape \(B, 784\)"):
        deep.layer_outputs(deep.deep_network([784, 5, 10]), tf.zeros([2, 28, 28]))
    with pytest.raises(ValueError, match="one-hot targets of shape"):
        deep.deltas(deep.deep_network([784, 5, 10]), tf.zeros([2, 784]), tf.zeros([2, 3]))
    with pytest.raises(ValueError, match="activation in"):
        deep.compare([784, 5, 10], [("sigmoid", "zeros")], (0,), *([None] * 6))


# -- training -------------------------------------------------------------------------------------


def test_a_short_run_ranks_relu_he_above_uniform_sigmoids_above_glorot_sigmoids(digits):
    # Two epochs, seeds 0-2 (the chapter trains three): ReLU + He 0.87-0.90, U(-1, 1) sigmoid 0.36-0.39,
    # Glorot sigmoid 0.10 (chance); He's first/last gradient ratio stays in (1/2, 4) after every epoch.
    x, t, x_test, t_test = digits
    settings = [("sigmoid", "uniform"), ("sigmoid", "glorot"), ("relu", "he")]
    runs = deep.compare(DEEPEST, settings, SEEDS, x, t, x[:1000], t[:1000], x_test, t_test, epochs=2)
    accuracy = {s: np.array([run["test_accuracy"][-1] for run in runs[s]]) for s in settings}
    assert accuracy["relu", "he"].min() > accuracy["sigmoid", "uniform"].max() + 0.2
    assert accuracy["sigmoid", "uniform"].min() > accuracy["sigmoid", "glorot"].max() + 0.15
    assert accuracy["sigmoid", "glorot"].max() < 0.2
    he_ratio = np.array([deep.first_to_last(run["norms"]) for run in runs["relu", "he"]])
    assert ((he_ratio > 1 / 2) & (he_ratio < 4)).all()
    assert all(run["norms"].shape == (3, len(DEEPEST) - 1) for r in runs.values() for run in r)


def test_zero_weights_keep_every_hidden_unit_alike(digits):
    x, t, x_test, t_test = digits
    net = deep.zero_init(deep.deep_network([784, 30, 15, 10], "sigmoid", "glorot", seed=0))
    deep.train_recording_gradients(net, x[:1000], t[:1000], x[:100], t[:100], x_test, t_test, epochs=1, seed=0)
    gaps = [deep.column_spread(layer.w) for layer in net.layers]
    sizes = [float(np.abs(layer.w.numpy()).max()) for layer in net.layers]
    assert min(sizes) > 1e-5  # every layer trained
    assert max(gaps[:2]) <= 1e-6 * max(sizes[:2]) and gaps[2] > 1e-4  # hidden columns equal, output columns not


# -- initialisation -------------------------------------------------------------------------------


def test_the_variances_follow_from_the_conditions():
    forward, backward = 1 / 784, 1 / 400  # n_in Var[W] = 1 and n_out Var[W] = 1
    assert deep.glorot_variance(784, 400) == pytest.approx(2 / (1 / forward + 1 / backward))  # their harmonic mean
    assert deep.glorot_variance(300, 300) == pytest.approx(1 / 300)  # both conditions hold when n_in = n_out
    assert deep.he_variance(784) == pytest.approx(2 / 784)
    assert deep.uniform_limit(deep.glorot_variance(784, 400)) == pytest.approx(np.sqrt(6 / 1184))


def test_sampled_weights_have_the_formula_variance_within_the_stated_tolerance():
    for n_in, n_out in zip(DEEPEST[:-1], DEEPEST[1:]):
        for seed in SEEDS:
            for draw, variance in (
                (modern.xavier_uniform, deep.glorot_variance(n_in, n_out)),
                (modern.he_uniform, deep.he_variance(n_in)),
            ):
                w = draw(n_in, n_out, seed=seed).numpy().astype(np.float64)
                assert abs(np.mean(w**2) / variance - 1) < deep.variance_tolerance(w.size)
                assert np.abs(w).max() <= deep.uniform_limit(variance) * (1 + 1e-6)


def test_the_variance_tolerance_is_six_sampling_standard_deviations():
    # 4,000 samples of 250 uniform weights: the relative error of mean(w^2) has standard deviation sqrt(0.8 / 250).
    rng = np.random.default_rng(0)
    w = rng.uniform(-1, 1, (4000, 250))
    errors = np.mean(w**2, axis=1) / (1 / 3) - 1
    assert errors.std() == pytest.approx(np.sqrt(0.8 / 250), rel=0.05)
    assert deep.variance_tolerance(250) == pytest.approx(6 * np.sqrt(0.8 / 250))


# -- the exercise predicate ---------------------------------------------------------------------


def _he_call(n_in=784, n_out=100):
    variance = 2 / n_in
    return Call(
        "he_uniform",
        (n_in, n_out, 0),
        compare="uniform_weights",
        options={
            "shape": [n_in, n_out],
            "dtype": "float32",
            "variance": variance,
            "limit": float(np.sqrt(3 * variance)),
        },
    )


def test_uniform_weights_predicate_accepts_he_draws_and_refuses_near_misses():
    call, rng = _he_call(), np.random.default_rng(5)
    limit = np.sqrt(6 / 784)
    passed = [
        _uniform_weights(rng.uniform(-limit, limit, (784, 100)).astype(np.float32), None, call)[0] for _ in range(20)
    ]
    assert all(passed)
    glorot = np.sqrt(6 / 884)
    assert not _uniform_weights(rng.uniform(-glorot, glorot, (784, 100)).astype(np.float32), None, call)[0]
    normal = np.clip(rng.normal(0, np.sqrt(2 / 784), (784, 100)), -limit, limit).astype(np.float32)
    ok, detail = _uniform_weights(normal, None, call)
    assert not ok and detail
    assert not _uniform_weights(rng.uniform(-limit, limit, (784, 100)), None, call)[0]  # float64
    assert not _uniform_weights(rng.uniform(-limit, limit, (100, 784)).astype(np.float32), None, call)[0]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "weights",
        3.0,
        np.array(["a"]),
        np.full((784, 100), np.nan, np.float32),
        np.zeros((784, 100), np.float32),
        [1.0, 2.0],
        {"w": 1},
    ],
)
def test_uniform_weights_predicate_fails_hostile_values_without_raising(value):
    ok, detail = _uniform_weights(value, None, _he_call())
    assert not ok and isinstance(detail, str) and detail
