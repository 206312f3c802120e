"""Chapter 3: hand-derived gradients against tf.GradientTape and finite differences."""


import numpy as np
import pytest
import tensorflow as tf

from helpers import random_batch
from mlpkit import gradcheck, gradients


def test_one_weight_network_values():
    (first,) = gradients.one_weight_descent(steps=0)
    np.testing.assert_allclose([first["y"], first["cost"], first["hand dC/dw"]], [1.6, 0.36, 2.4], rtol=1e-12)
    np.testing.assert_allclose(first["tape dC/dw"], first["hand dC/dw"], rtol=1e-12)


def test_updates_without_learning_rate_diverge():
    rows = gradients.one_weight_descent(lr=1.0, steps=5)
    np.testing.assert_allclose([r["w"] for r in rows], [0.8, -1.6, 15.2, -102.4, 720.8, -5041.6], rtol=1e-12)
    np.testing.assert_allclose([r["y"] for r in rows], [1.6, -3.2, 30.4, -204.8, 1441.6, -10083.2], rtol=1e-12)
    distances = np.abs(np.array([r["w"] for r in rows]) - 0.5)
    np.testing.assert_allclose(distances[1:] / distances[:-1], 7.0, rtol=1e-9)


def test_updates_with_learning_rate_converge():
    rows = gradients.one_weight_descent(lr=0.1, steps=25)
    ws = np.array([r["w"] for r in rows])
    np.testing.assert_allclose(ws[:5], [0.8, 0.56, 0.512, 0.5024, 0.50048], rtol=1e-12)
    np.testing.assert_allclose(ws, [0.5 + 0.3 * 0.2**k for k in range(26)], rtol=1e-12)
    np.testing.assert_allclose(ws, [gradients.one_weight_closed_form(k) for k in range(26)], rtol=1e-12)
    np.testing.assert_allclose([rows[-1]["w"], rows[-1]["y"]], [0.5, 1.0], atol=1e-12)
    np.testing.assert_allclose([r["hand dC/dw"] for r in rows], [r["tape dC/dw"] for r in rows], rtol=1e-12)


def test_chain_of_two_weights():
    rows = gradients.chain_descent(x=2.0, w1=0.8, w2=3.0, t=1.0, lr=0.01, steps=25, dtype=tf.float32)
    assert len(rows) == 26
    assert rows[0]["y"] == pytest.approx(4.8, rel=1e-6)
    for row in rows:  # hand and tape agree at every step (float32)
        assert row["hand dC/dw1"] == pytest.approx(row["tape dC/dw1"], rel=1e-5, abs=1e-6)
        assert row["hand dC/dw2"] == pytest.approx(row["tape dC/dw2"], rel=1e-5, abs=1e-6)
    # The printed end point (the book shows it) is float32's to 8 digits. The float64 run agrees with
    # it within 1e-7 (5e-8 measured), so it is the true end point, not one machine's rounding. The
    # float32 run uses only +, - and *, each correctly rounded (IEEE 754), so it is the same on every
    # CPU; 1e-6 is a margin of about ten float32 roundings (eps 1.2e-7).
    exact = gradients.chain_descent(x=2.0, w1=0.8, w2=3.0, t=1.0, lr=0.01, steps=25, dtype=tf.float64)[-1]
    np.testing.assert_allclose([exact["w1"], exact["w2"], exact["y"]], [0.17478575, 2.8606453, 1.0], rtol=1e-7)
    np.testing.assert_allclose([rows[-1]["w1"], rows[-1]["w2"], rows[-1]["y"]], [0.17478575, 2.8606453, 1.0], rtol=1e-6)


def test_chain_partials_formulas():
    d_w1, d_w2 = gradients.chain_grads(2.0, 0.8, 3.0, 1.0)
    assert d_w2 == pytest.approx(1.6 * 2 * 3.8)  # a1 * 2(y - t)
    assert d_w1 == pytest.approx(2.0 * 3.0 * 2 * 3.8)  # x * w2 * 2(y - t)


@pytest.mark.parametrize("x, w, b, t", [(1.5, 0.7, -0.2, 0.0), (-2.0, 0.3, 0.9, 1.0), (0.1, -4.0, 2.0, 0.5)])
def test_sigmoid_neuron_with_bias(x, w, b, t):
    w_var, b_var = tf.Variable(w, dtype=tf.float64), tf.Variable(b, dtype=tf.float64)
    with tf.GradientTape() as tape:
        cost = (tf.math.sigmoid(x * w_var + b_var) - t) ** 2
    expected = tape.gradient(cost, [w_var, b_var])
    np.testing.assert_allclose(gradients.sigmoid_neuron_grads(x, w_var, b_var, t), expected, rtol=1e-12)


SHAPES = [([2, 2, 1], 4), ([3, 4, 2], 1), ([5, 7, 3, 4], 8), ([10, 1, 6], 3), ([6, 8, 5, 4, 3], 16)]


@pytest.mark.parametrize("sizes, batch", SHAPES)
@pytest.mark.parametrize("dtype", [tf.float64, tf.float32])
@pytest.mark.parametrize("seed", [0, 1])
def test_backprop_matches_tape_and_finite_differences(sizes, batch, dtype, seed):
    params = gradients.init_params(sizes, seed=seed, dtype=dtype)
    x, t = random_batch(sizes, batch, seed + 100)
    hand = gradients.backprop(params, x, t)
    for grad, param in zip(hand, params):
        assert grad.shape == param.shape and grad.dtype == dtype
    report = gradcheck.gradient_check(
        lambda ps: gradients.mlp_loss(ps, x, t), params, hand, names=gradients.param_names(params)
    )
    assert set(report.errors) == {"tf.GradientTape", "finite differences"}
    assert all(ratio <= 1.0 for ratios in report.errors.values() for ratio in ratios)


def test_backprop_on_the_mnist_network_matches_tape():
    params = gradients.init_params([784, 15, 10], seed=0, dtype=tf.float64)
    x, t = random_batch([784, 15, 10], 10, 1)
    report = gradcheck.gradient_check(
        lambda ps: gradients.mlp_loss(ps, x, t), params, gradients.backprop(params, x, t), finite_differences=False
    )
    assert max(report.errors["tf.GradientTape"]) <= 1.0


def test_layers_take_a_batch_of_rows():
    # The notation of the chapter and of the module docstring: x is (B, n_0), W_l is (n_{l-1}, n_l),
    # z_l = a_{l-1} W_l + b_l. Column vectors (z = W a + b, W of shape (n_l, n_{l-1})) are not used.
    sizes, batch = [5, 7, 3], 4
    params = gradients.init_params(sizes, seed=0, dtype=tf.float64)
    assert [tuple(p.shape) for p in params] == [(5, 7), (7,), (7, 3), (3,)]
    x = np.random.default_rng(0).uniform(0, 1, (batch, sizes[0]))
    a = x
    for weights, bias in zip(params[0::2], params[1::2]):
        a = 1.0 / (1.0 + np.exp(-(a @ weights.numpy() + bias.numpy())))
    activations = gradients.forward(params, x)
    assert [tuple(act.shape) for act in activations] == [(4, 5), (4, 7), (4, 3)]
    np.testing.assert_allclose(activations[-1], a, rtol=1e-12)
    doc = gradients.__doc__
    assert "z_l = a_{l-1} @ W_l + b_l" in doc and "(B, n_0)" in doc
    assert "W_l a" not in doc  # the column-vector form the chapter does not use


def test_mse_convention_is_mean_over_batch_and_outputs():
    y, t = tf.constant([[0.0, 1.0], [1.0, 1.0]]), tf.constant([[1.0, 1.0], [1.0, 0.0]])
    assert float(gradients.mse(y, t)) == pytest.approx(2.0 / 4.0)


def test_batch_gradient_is_mean_of_per_example_gradients():
    params = gradients.init_params([4, 5, 3], seed=2, dtype=tf.float64)
    x, t = random_batch([4, 5, 3], 6, 3)
    whole = gradients.backprop(params, x, t)
    per_example = [gradients.backprop(params, x[i : i + 1], t[i : i + 1]) for i in range(6)]
    for grad, parts in zip(whole, zip(*per_example)):
        np.testing.assert_allclose(grad, np.mean(parts, axis=0), rtol=1e-12, atol=1e-15)


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_T = np.array([[0], [1], [1], [0]], dtype=float)


def test_gradient_descent_takes_the_steps_backprop_gives():
    params = gradients.init_params([2, 2, 1], seed=3, dtype=tf.float64)
    by_hand = [tf.Variable(p) for p in params]
    costs = gradients.gradient_descent(params, XOR_X, XOR_T, lr=0.5, steps=3)
    expected = []
    for _ in range(3):
        expected.append(float(gradients.mlp_loss(by_hand, XOR_X, XOR_T)))
        for param, grad in zip(by_hand, gradients.backprop(by_hand, XOR_X, XOR_T)):
            param.assign_sub(0.5 * grad)
    expected.append(float(gradients.mlp_loss(by_hand, XOR_X, XOR_T)))
    np.testing.assert_allclose(costs, expected, rtol=1e-12)
    for mine, theirs in zip(params, by_hand):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12)


def _xor_run(seed, steps=3000, lr=2.0, params=None):
    params = params or gradients.init_params([2, 2, 1], seed=seed, dtype=tf.float64)
    costs = gradients.gradient_descent(params, XOR_X, XOR_T, lr, steps)
    y = gradients.forward(params, XOR_X)[-1].numpy()
    return params, costs, bool(((y > 0.5) == (XOR_T > 0.5)).all())


def test_xor_from_random_weights_gets_stuck_in_three_to_seven_runs_of_every_twenty_seeds():
    # Chapter 3: seeds 0-99 in blocks of 20, 3,000 steps of size 2; measured 4, 3, 7, 4, 5 stuck runs.
    stuck = []
    for seed in range(100):
        _, costs, right = _xor_run(seed)
        assert costs[-1] < 0.01 if right else abs(costs[-1] - 1 / 8) < 0.005, (seed, costs[-1])
        if not right:
            stuck.append(seed)
    per_block = [sum(first <= seed < first + 20 for seed in stuck) for first in range(0, 100, 20)]
    assert all(3 <= count <= 7 for count in per_block), per_block


def test_more_steps_leave_a_stuck_xor_run_stuck():
    # Chapter 3's stuck runs (seeds 0-19): a further 5,000 steps, and the cost still sits just above 1/8.
    for seed in range(20):
        params, costs, right = _xor_run(seed)
        if right:
            continue
        _, more, right = _xor_run(seed, steps=5000, params=params)
        assert not right and 1 / 8 < more[-1] < costs[-1] < 1 / 8 + 0.005, (seed, costs[-1], more[-1])


@pytest.mark.parametrize("sizes", [[2, 2, 1], [3, 4, 2], [4, 5, 3, 2]])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bp1_to_bp4_by_index_match_the_tape(sizes, seed):
    """The four equations as chapter 3 writes them, one number at a time: each δ_l against the tape's dC/dz_l
    (BP1, BP2) and each gradient against the tape's (BP3, BP4), float64, rtol 1e-10 of the largest."""
    params = gradients.init_params(sizes, seed=seed, dtype=tf.float64)
    rng = np.random.default_rng(seed)
    x, t = rng.uniform(0, 1, (3, sizes[0])), rng.uniform(0, 1, (3, sizes[-1]))
    deltas, grads = gradients.backprop_by_index(params, x, t)
    tape_deltas = gradients.tape_deltas(params, x, t)
    tape = gradcheck.tape_gradients(lambda ps: gradients.mlp_loss(ps, x, t), params)
    assert len(deltas) == len(tape_deltas) == len(sizes) - 1
    for mine, reference in zip(deltas + grads, [d.numpy() for d in tape_deltas] + list(tape)):
        assert mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, rtol=0, atol=1e-10 * np.abs(reference).max())
    for mine, matrix in zip(grads, gradients.backprop(params, x, t)):
        np.testing.assert_allclose(mine, matrix, rtol=0, atol=1e-10 * np.abs(matrix).max())


@pytest.mark.parametrize("seed", range(4))
def test_a_small_step_against_the_gradient_lowers_the_cost_by_eta_times_the_squared_norm(seed):
    """ΔC ≈ -η‖∇C‖², to first order: every step lowers the cost, the ratio tends to 1 and its error shrinks about
    tenfold with η (measured 8-12 for seeds 0-3; the first-order error is proportional to η)."""
    rng = np.random.default_rng(seed)
    params = gradients.init_params([4, 5, 3], seed=seed, dtype=tf.float64)
    x, t = rng.uniform(0, 1, (6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    ratios = []
    for lr in (1.0, 0.1, 0.01, 0.001):
        change, predicted = gradients.first_order_change(params, x, t, lr)
        assert change < 0 and predicted < 0
        ratios.append(change / predicted)
    errors = np.abs(1 - np.array(ratios))
    assert errors[0] < 0.05 and errors[-1] < 1e-4
    assert all(5 < big / small < 20 for big, small in zip(errors, errors[1:]))
