"""Chapter 9, regularisation: the hand L2 penalty and AdamW equal Keras's, AdamW differs from Adam + L2,
and weight decay and dropout change overfitting on a small training set as the chapter says."""

import numpy as np
import pytest
import tensorflow as tf

keras = pytest.importorskip("keras")

from mlpkit import data, modern, modern_optimizers, regularisation  # noqa: E402

SIZES = [784, 32, 10]


@pytest.fixture(scope="module")
def digits():
    (x_train, t_train), (x_test, t_test) = data.load_data("mnist", download=False)
    return data.preprocess(x_train, t_train), data.preprocess(x_test, t_test)


def fit_keras(model, optimizer, x, t, batch_size=16):
    model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(x, t, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return model.get_weights()


def fit_hand(start, optimizer, x, t, lam=0.0, batch_size=16, epochs=1):
    model = modern.MLP(SIZES)
    model.set_weights(start)
    step = regularisation.make_step(model, optimizer, lam)
    for _ in range(epochs):
        for x_batch, t_batch in regularisation.batches(x, t, batch_size):
            step(x_batch, t_batch)
    return model.get_weights()


def largest_difference(a, b):
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b))


# -- the penalty and its gradient -----------------------------------------------------------

def test_l2_penalty_is_half_lambda_times_the_sum_of_squared_weights_biases_excluded():
    w, b = tf.constant([[1.0, -2.0], [3.0, 0.5]]), tf.constant([10.0, 10.0])
    assert float(regularisation.l2_penalty([w, b], 0.1)) == pytest.approx(0.05 * (1 + 4 + 9 + 0.25), rel=1e-6)


def test_the_penalty_gradient_is_lambda_w_as_the_tape_finds_in_float64():
    variables = [tf.Variable(tf.random.stateless_normal([5, 3], seed=[1, 2], dtype=tf.float64)),
                 tf.Variable(tf.ones([3], tf.float64))]
    with tf.GradientTape() as tape:
        penalty = regularisation.l2_penalty(variables, 0.3)
    taped = tape.gradient(penalty, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    for g, h in zip(taped, regularisation.l2_penalty_gradient(variables, 0.3)):
        np.testing.assert_allclose(g, h, rtol=1e-12, atol=1e-15)
    assert float(tf.reduce_max(tf.abs(taped[1]))) == 0.0  # the bias is not penalised


def test_keras_l2_adds_l2_times_the_sum_of_squares_so_l2_is_half_lambda():
    lam = 0.01
    model = regularisation.keras_mlp(SIZES, l2=regularisation.keras_l2(lam), seed=0)
    hand = modern.MLP(SIZES)
    hand.set_weights(model.get_weights())
    penalty = float(regularisation.l2_penalty(hand.params, lam))
    assert regularisation.keras_l2(lam) == lam / 2
    assert float(sum(model.losses)) == pytest.approx(penalty, rel=1e-5)  # float32 sums of ~25,000 squares
    assert len(model.losses) == 2  # one per kernel, none for the biases


# -- section 1: SGD with the L2 penalty, by hand and by Keras's fit -----------------------------

def test_sgd_with_the_hand_l2_gradient_equals_keras_fit_with_an_l2_regulariser(digits):
    (x, t), _ = digits
    x, t = x[:64], t[:64]
    lam, lr = 0.01, 0.1
    model = regularisation.keras_mlp(SIZES, l2=regularisation.keras_l2(lam), seed=0)
    start = model.get_weights()
    theirs = fit_keras(model, keras.optimizers.SGD(lr), x, t)
    mine = fit_hand(start, modern_optimizers.SGD(lr), x, t, lam)
    # float32: weights of size ~0.1 after 4 steps agree to a few roundings (measured: 3e-8)
    assert largest_difference(mine, theirs) < 1e-6
    # and the penalty mattered: without it the hand run ends elsewhere
    assert largest_difference(fit_hand(start, modern_optimizers.SGD(lr), x, t), theirs) > 1e-4


def test_with_sgd_decoupled_decay_and_the_l2_penalty_are_one_update():
    lam, lr = 0.01, 0.1
    w0, b0 = tf.random.stateless_normal([5, 3], seed=[3, 4]), tf.random.stateless_normal([3], seed=[5, 6])
    gw, gb = tf.random.stateless_normal([5, 3], seed=[7, 8]), tf.random.stateless_normal([3], seed=[9, 10])
    kernel, bias = keras.Variable(w0, name="kernel"), keras.Variable(b0, name="bias")
    decoupled = keras.optimizers.SGD(lr, weight_decay=lam)  # shrinks by lr * lam first, then steps
    decoupled.exclude_from_weight_decay(var_names=["bias"])
    decoupled.apply_gradients([(gw, kernel), (gb, bias)])
    mine = [tf.Variable(w0), tf.Variable(b0)]
    gradients = [g + p for g, p in zip([gw, gb], regularisation.l2_penalty_gradient(mine, lam))]
    modern_optimizers.SGD(lr).apply(gradients, mine)
    np.testing.assert_allclose(kernel.numpy(), mine[0].numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(bias.numpy(), mine[1].numpy(), rtol=1e-6, atol=1e-7)


# -- section 2: AdamW --------------------------------------------------------------------------------

def test_hand_adamw_equals_keras_adamw_with_the_biases_excluded(digits):
    (x, t), _ = digits
    x, t = x[:64], t[:64]
    lr, wd = 1e-3, 0.5  # a large decay, so that a wrong decay term would show
    model = regularisation.keras_mlp(SIZES, seed=0)
    start = model.get_weights()
    theirs = fit_keras(model, regularisation.keras_adamw(lr, wd), x, t)
    mine = fit_hand(start, regularisation.AdamW(lr, wd), x, t)
    moved = largest_difference(theirs, start)
    # Adam's steps are ~lr; float32 rounding of m / (sqrt(v) + eps) leaves ~1e-7 (measured 2.4e-7)
    assert largest_difference(mine, theirs) < 1e-6 < 1e-3 * moved
    assert largest_difference(fit_hand(start, modern_optimizers.Adam(lr), x, t), theirs) > 1e-6  # the decay is in there


def test_keras_adamw_decays_the_biases_unless_excluded():
    lr, wd = 1e-3, 0.5
    zero = [tf.zeros([2, 2]), tf.zeros([2])]  # no gradient: Adam's step is 0 and only the decay acts
    for optimizer, bias_factor in ((keras.optimizers.AdamW(lr, weight_decay=wd), 1 - lr * wd),
                                   (regularisation.keras_adamw(lr, wd), 1.0)):
        kernel, bias = keras.Variable(tf.ones([2, 2]), name="kernel"), keras.Variable(tf.ones([2]), name="bias")
        optimizer.apply_gradients(zip(zero, [kernel, bias]))
        np.testing.assert_allclose(kernel.numpy(), 1 - lr * wd, rtol=1e-6)
        np.testing.assert_allclose(bias.numpy(), bias_factor, rtol=1e-6)
    mine = [tf.Variable(tf.ones([2, 2])), tf.Variable(tf.ones([2]))]
    regularisation.AdamW(lr, wd).apply(zero, mine)
    np.testing.assert_allclose(mine[0].numpy(), 1 - lr * wd, rtol=1e-6)
    np.testing.assert_allclose(mine[1].numpy(), 1.0, rtol=1e-6)


def test_hand_adam_with_l2_equals_keras_adam_with_an_l2_regulariser(digits):
    (x, t), _ = digits
    lam = 0.01
    model = regularisation.keras_mlp(SIZES, l2=regularisation.keras_l2(lam), seed=0)
    start = model.get_weights()
    theirs = fit_keras(model, keras.optimizers.Adam(1e-3), x[:64], t[:64])
    assert largest_difference(fit_hand(start, modern_optimizers.Adam(1e-3), x[:64], t[:64], lam), theirs) < 1e-6


def test_adamw_is_not_adam_with_l2_a_weight_without_gradient_shows_why(digits):
    """The chapter's claims: 100 steps on 300 digits, lr 1e-3, lam = wd = 0.01, from the same start."""
    (x, t), _ = digits
    x, t = x[:300], t[:300]
    lr, decay = 1e-3, 0.01
    start = regularisation.keras_mlp(SIZES, seed=0).get_weights()
    dead = np.asarray(tf.reduce_max(x, axis=0)) == 0
    assert dead.sum() > 100  # the border pixels of these digits are blank
    runs = {"adamw": fit_hand(start, regularisation.AdamW(lr, decay), x, t, batch_size=30, epochs=10),
            "l2": fit_hand(start, modern_optimizers.Adam(lr), x, t, decay, batch_size=30, epochs=10),
            "l2 / 10": fit_hand(start, modern_optimizers.Adam(lr), x, t, decay / 10, batch_size=30, epochs=10)}
    w0 = start[0][dead]
    # AdamW: no gradient reaches a dead pixel's weight, so Adam's step is 0 and the decay alone acts
    np.testing.assert_allclose(runs["adamw"][0][dead], w0 * (1 - lr * decay) ** 100, rtol=1e-4)
    kept = {name: float(np.median(np.abs(w[0][dead]) / np.abs(w0))) for name, w in runs.items()}
    # Adam + L2: the penalty's gradient is all there is, and Adam scales it to a step of ~lr whatever
    # lam is: 100 steps of 1e-3 carry a weight of size < 0.086 (Glorot's limit) to zero (measured: 0.006 kept
    # for both lam), where AdamW keeps 0.999.
    assert kept["l2"] < 0.1 and kept["l2 / 10"] < 0.1 and kept["adamw"] > 0.99
    assert largest_difference(runs["adamw"][:1], runs["l2"][:1]) > 1e-2


# -- section 3: overfitting 300 digits ------------------------------------------------------------

@pytest.fixture(scope="module")
def overfitting(digits):
    """The chapter's three runs, seed 0: 784-256-10, Adam 1e-3, 30 epochs of batches of 30 on 300 digits."""
    (x, t), (x_test, t_test) = digits
    settings = {"none": (0.0, modern_optimizers.Adam(1e-3)),
                "decay": (0.0, regularisation.AdamW(1e-3, weight_decay=3.0)),
                "dropout": (0.5, modern_optimizers.Adam(1e-3))}
    return {
        name: regularisation.train(
            modern.MLP([784, 256, 10], dropout=rate, seed=0),
            x[:300],
            t[:300],
            x_test,
            t_test,
            optimizer,
            epochs=30,
            batch_size=30,
            seed=0,
        )
        for name, (rate, optimizer) in settings.items()
    }


# Seeds 0, 1, 2 (network and shuffling), measured: the test loss ends 4.4-6.0 % above its lowest without regularisation,
# lowest at epoch 13 for each seed; the final test-train loss gap with decay is 0.86-0.89 of the gap without, with
# dropout 0.97-1.00; dropout's training loss at epoch 5 is 1.62-1.67 times the unregularised one. The thresholds below
# leave room on both sides of that spread.


def test_without_regularisation_the_network_learns_its_300_digits_and_the_test_loss_turns_up(overfitting):
    none = overfitting["none"]
    test_loss = [row["test_loss"] for row in none.epochs]
    lowest = int(np.argmin(test_loss))
    assert none.final["train_accuracy"] == 1.0 and none.final["train_loss"] < 0.02
    assert 1 <= lowest < 30 and test_loss[-1] > 1.02 * test_loss[lowest]


def test_weight_decay_narrows_the_gap_between_test_and_training_loss(overfitting):
    assert regularisation.gap(overfitting["decay"]) < 0.95 * regularisation.gap(overfitting["none"])
    assert overfitting["decay"].final["train_loss"] > 3 * overfitting["none"].final["train_loss"]


def test_dropout_slows_the_memorising_but_leaves_the_final_gap_about_where_it_was(overfitting):
    none, dropped = overfitting["none"], overfitting["dropout"]
    assert dropped.epochs[5]["train_loss"] > 1.2 * none.epochs[5]["train_loss"]
    assert dropped.final["train_accuracy"] == 1.0
    assert 0.9 * regularisation.gap(none) < regularisation.gap(dropped) < 1.05 * regularisation.gap(none)


def test_no_regulariser_moves_the_test_accuracy_much_here(overfitting):
    accuracies = [history.final["test_accuracy"] for history in overfitting.values()]
    # seeds 0-2: the three runs' test accuracies lie within 0.9 percentage points, all 83.5-84.5 %
    assert max(accuracies) - min(accuracies) < 0.03 and min(accuracies) > 0.8


# -- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-0.1, float("nan"), "0.1", None])
def test_a_bad_strength_is_refused_by_name(value):
    with pytest.raises(ValueError, match="lam must be a number 0 or larger"):
        regularisation.l2_penalty([tf.ones([2, 2])], value)
    with pytest.raises(ValueError, match="weight_decay must be a number 0 or larger"):
        regularisation.AdamW(1e-3, value)


def test_bad_sizes_and_batches_are_refused():
    with pytest.raises(ValueError, match="layer_sizes"):
        regularisation.keras_mlp([784])
    with pytest.raises(ValueError, match="activation"):
        regularisation.keras_mlp([784, 10], activation="step")
    with pytest.raises(ValueError, match="batch_size"):
        regularisation.batches(tf.ones([4, 2]), tf.ones([4, 1]), 0)


# -- dropout by hand ------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_dropout_keeps_each_activation_in_expectation(rate):
    # Over seeds 0-5 and 30 columns the largest gap was under 3.5 standard errors; 6 are allowed.
    copies, row = 4000, tf.linspace(0.1, 3.0, 30)
    rows = tf.tile(row[None], [copies, 1])
    for seed in range(3):
        dropped = regularisation.dropout(rows, rate, [seed, 4])
        kept = dropped != 0
        assert abs(1 - float(tf.reduce_mean(tf.cast(kept, tf.float32))) - rate) < 6 * np.sqrt(
            rate * (1 - rate) / (copies * 30)
        )
        standard_error = row * np.sqrt(rate / (1 - rate) / copies)
        assert bool(tf.reduce_all(tf.abs(tf.reduce_mean(dropped, axis=0) - row) < 6 * standard_error))
        np.testing.assert_allclose(tf.where(kept, dropped * (1 - rate), rows), rows, rtol=1e-6)
    assert np.array_equal(regularisation.dropout(rows, rate, [1, 4]), regularisation.dropout(rows, rate, [1, 4]))


def test_dropout_at_rate_0_changes_nothing_and_refuses_a_rate_of_1():
    a = tf.constant([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_array_equal(regularisation.dropout(a, 0.0, [0, 0]), a)
    with pytest.raises(ValueError, match="rate"):
        regularisation.dropout(a, 1.0, [0, 0])
