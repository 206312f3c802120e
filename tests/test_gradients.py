"""Chapter 3: hand-derived gradients against tf.GradientTape and finite differences."""

import pathlib

import numpy as np
import pytest
import tensorflow as tf

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


def _batch(sizes, batch, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (batch, sizes[0])), np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]


SHAPES = [([2, 2, 1], 4), ([3, 4, 2], 1), ([5, 7, 3, 4], 8), ([10, 1, 6], 3), ([6, 8, 5, 4, 3], 16)]


@pytest.mark.parametrize("sizes, batch", SHAPES)
@pytest.mark.parametrize("dtype", [tf.float64, tf.float32])
@pytest.mark.parametrize("seed", [0, 1])
def test_backprop_matches_tape_and_finite_differences(sizes, batch, dtype, seed):
    params = gradients.init_params(sizes, seed=seed, dtype=dtype)
    x, t = _batch(sizes, batch, seed + 100)
    hand = gradients.backprop(params, x, t)
    for grad, param in zip(hand, params):
        assert grad.shape == param.shape and grad.dtype == dtype
    report = gradcheck.gradient_check(
        lambda ps: gradients.mlp_loss(ps, x, t), params, hand, names=gradients.param_names(params)
    )
    assert set(report.errors) == {"tf.GradientTape", "finite differences"}
    assert all(ratio <= 1.0 for ratios in report.errors.values() for ratio in ratios)


def test_default_tolerances_are_the_stated_ones():
    assert gradcheck.RTOL["tape"] == {tf.float64: 1e-10, tf.float32: 1e-4}
    assert gradcheck.RTOL["finite differences"] == {tf.float64: 1e-10, tf.float32: 1e-4}


def test_backprop_on_the_mnist_network_matches_tape():
    params = gradients.init_params([784, 15, 10], seed=0, dtype=tf.float64)
    x, t = _batch([784, 15, 10], 10, 1)
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
    x, t = _batch([4, 5, 3], 6, 3)
    whole = gradients.backprop(params, x, t)
    per_example = [gradients.backprop(params, x[i : i + 1], t[i : i + 1]) for i in range(6)]
    for grad, parts in zip(whole, zip(*per_example)):
        np.testing.assert_allclose(grad, np.mean(parts, axis=0), rtol=1e-12, atol=1e-15)


def test_erratum_exact_equality_is_not_a_gradient_check():
    params = gradients.init_params([20, 30, 10], seed=3, dtype=tf.float32)
    x, t = _batch([20, 30, 10], 32, 4)
    hand = gradients.backprop(params, x, t)
    tape = gradcheck.tape_gradients(lambda ps: gradients.mlp_loss(ps, x, t), params)
    assert any(not np.array_equal(h, t) for h, t in zip(hand, tape))  # `==` would call this a failure
    ratios = gradcheck.compare_gradients(hand, tape, gradients.param_names(params), rtol=1e-4)
    assert max(ratios) <= 1.0


def test_check_catches_a_wrong_derivation_and_names_it():
    params = gradients.init_params([4, 5, 3], seed=1, dtype=tf.float64)
    x, t = _batch([4, 5, 3], 8, 5)
    hand = gradients.backprop(params, x, t)
    hand[2] = hand[2] * 1.01  # a 1% error in W2
    with pytest.raises(gradcheck.GradientMismatchError) as caught:
        gradcheck.gradient_check(lambda ps: gradients.mlp_loss(ps, x, t), params, hand, names=gradients.param_names(params))
    message = str(caught.value)
    assert "gradient of 'W2'" in message and "at element [" in message
    assert "hand-derived = " in message and "tf.GradientTape = " in message


def test_check_fails_on_nan():
    params = gradients.init_params([3, 2], seed=0, dtype=tf.float64)
    x, t = _batch([3, 2], 2, 0)
    hand = gradients.backprop(params, x, t)
    hand[1] = tf.constant([np.nan, 0.0], tf.float64)
    with pytest.raises(gradcheck.GradientMismatchError, match=r"gradient of 'b1' disagrees at element \[0\]"):
        gradcheck.gradient_check(lambda ps: gradients.mlp_loss(ps, x, t), params, hand, names=gradients.param_names(params))


def test_check_reports_shape_mismatch_and_bad_dtype():
    with pytest.raises(gradcheck.GradientMismatchError, match=r"has shape \(2,\), reference has shape \(3,\)"):
        gradcheck.compare_gradients([np.zeros(2)], [np.zeros(3)], ["v"], rtol=1e-6)
    with pytest.raises(ValueError, match="float32 and float64"):
        gradcheck.gradient_check(lambda ps: tf.reduce_sum(ps[0]), [tf.constant([1, 2])], [np.ones(2)])


def test_finite_differences_of_a_known_function():
    grads = gradcheck.finite_difference_gradients(lambda ps: tf.reduce_sum(ps[0] ** 3), [tf.constant([1.0, -2.0])])
    np.testing.assert_allclose(grads[0], [3.0, 12.0], rtol=1e-10)


def test_check_fails_when_the_reference_is_not_finite():
    with pytest.raises(gradcheck.GradientMismatchError, match=r"gradient of 'v' disagrees at element \[1\]"):
        gradcheck.compare_gradients([np.array([1.0, 2.0])], [np.array([1.0, np.nan])], ["v"], rtol=1e-6)


def _glossary_entry(term):
    text = (pathlib.Path(__file__).resolve().parents[1] / "book" / "glossary.md").read_text()
    entry = text.split(f"\n{term}\n", 1)[1]
    return entry.split("\n\n", 1)[0]


def test_glossary_uses_the_notation_page_symbols():
    # The notation page: learning rate eta, output y against target t, epochs from 1,
    # and the test set kept apart until the end (choices on a validation set).
    assert r"\eta" in _glossary_entry("learning rate") and "$r$" not in _glossary_entry("learning rate")
    assert r"\eta" in _glossary_entry("gradient descent")
    assert "(y - t)^2" in _glossary_entry("mean squared error")
    assert "counts epochs from 1" in _glossary_entry("epoch")
    assert "untouched until the end" in _glossary_entry("validation set")
    assert "once, at the end" in _glossary_entry("test set")


BOOK = pathlib.Path(__file__).resolve().parents[1] / "book"
# Symbols the notation page replaces: the thesis's target y-hat and learning rate r, and the input a.
OTHER_SYMBOLS = [r"\hat y", r"\hat{y}", "$r$", "$r =", "$f(w)$", "$a = 2", "$a_3"]


@pytest.mark.parametrize("page", ["perceptron", "xor", "gradients", "intro"])
def test_chapters_link_the_notation_page(page):
    assert "{doc}`notation`" in (BOOK / f"{page}.md").read_text()
    toc = (BOOK.parent / "_toc.yml").read_text()
    assert toc.index("file: book/glossary") < toc.index("file: book/notation") < toc.index("file: book/errata")


@pytest.mark.parametrize("page", ["perceptron", "xor", "gradients"])
def test_other_symbols_appear_only_where_a_source_is_quoted(page):
    text = (BOOK / f"{page}.md").read_text()
    prose = "\n".join(part for i, part in enumerate(text.split("```")) if i % 2 == 0)  # outside code fences
    for paragraph in prose.split("\n\n"):
        for sentence in paragraph.replace("\n", " ").split(". "):
            found = [symbol for symbol in OTHER_SYMBOLS if symbol in sentence]
            assert not found or "{cite}" in sentence, f"{page}: {found} outside a quoted source: {sentence[:120]}"
