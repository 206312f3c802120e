"""Chapter 7: the modern MLP's pieces, each proven equal to TensorFlow's or Keras's own, and its training loop."""

import numpy as np
import pytest
import tensorflow as tf

keras = pytest.importorskip("keras")

from helpers import embedded_splits  # noqa: E402
from mlpkit import modern  # noqa: E402
from mlpkit.model import SigmoidMLP  # noqa: E402


def test_tutorial_network_has_905010_parameters():
    net = modern.MLP([784, 700, 500, 10])
    assert net.count_params() == 905_010 == 784 * 700 + 700 + 700 * 500 + 500 + 500 * 10 + 10
    assert net(tf.zeros([3, 784])).shape == (3, 10)


def test_xavier_uniform_sample_statistics_match_its_formula():
    # U(-a, a) with a = sqrt(6 / (n_in + n_out)): mean 0, variance a^2 / 3 = 2 / (n_in + n_out).
    w = modern.xavier_uniform(784, 700, seed=1).numpy().astype(np.float64)
    limit = np.sqrt(6 / (784 + 700))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.999 * limit
    assert abs(w.mean()) < 3 * limit / np.sqrt(3 * w.size)  # within 3 standard errors of 0
    assert w.var() == pytest.approx(2 / (784 + 700), rel=0.01)


def test_dense_layer_infers_its_input_size_and_refuses_another():
    layer = modern.Dense(4)
    assert layer(tf.ones([2, 3])).shape == (2, 4) and layer.w.shape == (3, 4)
    with pytest.raises(ValueError, match="built for inputs of size 3"):
        layer(tf.ones([2, 5]))


def test_dense_layer_equals_keras_dense_outputs_and_gradients():
    x = tf.random.stateless_normal([6, 5], seed=[1, 2])
    mine = modern.Dense(3, tf.nn.relu, seed=4)
    mine(x)
    theirs = keras.layers.Dense(3, activation="relu")
    theirs.build((None, 5))
    theirs.set_weights([mine.w.numpy(), mine.b.numpy()])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a, b = mine(x), theirs(x)
        la, lb = tf.reduce_sum(a**2), tf.reduce_sum(b**2)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for g, h in zip(tape.gradient(la, [mine.w, mine.b, x]), tape.gradient(lb, [*theirs.trainable_variables, x])):
        np.testing.assert_allclose(g, h, rtol=1e-5, atol=1e-6)


def test_softmax_is_a_probability_distribution():
    logits = tf.random.stateless_normal([5, 10], seed=[3, 4]) * 20
    p = modern.softmax(logits)
    assert bool(tf.reduce_all(p >= 0))
    np.testing.assert_allclose(tf.reduce_sum(p, axis=1), np.ones(5), rtol=1e-6)
    np.testing.assert_allclose(p, tf.nn.softmax(logits), rtol=1e-5, atol=1e-7)


def test_cross_entropy_equals_tf_nn_and_keras_for_integer_and_one_hot_labels():
    logits = tf.random.stateless_normal([8, 10], seed=[5, 6]) * 4
    labels = tf.constant([0, 1, 2, 3, 4, 5, 6, 7])
    mine = modern.cross_entropy(logits, labels)
    # rtol 1e-6: each implementation is a float32 log-sum-exp over 10 logits per row, within about 13
    # roundings (eps 1.2e-7) of the exact loss, so two of them differ by at most ~5e-7 relative on the
    # mean of 8 rows; measured: bit-equal.
    np.testing.assert_allclose(
        mine, tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)), rtol=1e-6
    )
    np.testing.assert_allclose(
        mine, keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits), rtol=1e-6
    )
    onehot = tf.one_hot(labels, 10)
    np.testing.assert_allclose(modern.cross_entropy(logits, onehot), mine, rtol=1e-6)
    np.testing.assert_allclose(keras.losses.CategoricalCrossentropy(from_logits=True)(onehot, logits), mine, rtol=1e-6)


def test_naive_log_softmax_overflows_and_the_stable_one_does_not():
    logits, labels = tf.constant([[1000.0, 0.0], [0.0, 1000.0]]), tf.constant([1, 1])
    assert not np.isfinite(float(modern.naive_cross_entropy(logits, labels)))  # exp(1000) = inf in float32
    np.testing.assert_allclose(modern.cross_entropy(logits, labels), 500.0, rtol=1e-6)  # (1000 + 0) / 2
    small = tf.constant([[2.0, 1.0, 0.1]])
    np.testing.assert_allclose(modern.naive_cross_entropy(small, [0]), modern.cross_entropy(small, [0]), rtol=1e-6)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="unknown activation"):
        modern.MLP(activation="swish")
    with pytest.raises(ValueError, match="unknown loss"):
        modern.loss_function("hinge")
    with pytest.raises(ValueError, match="--validation"):
        modern.split_validation(tf.zeros([5, 784]), tf.zeros([5, 10]), 5)


def test_dropout_only_in_training():
    net = modern.MLP([784, 50, 10], dropout=0.5)
    x = tf.ones([4, 784])
    np.testing.assert_array_equal(net(x), net(x))  # inference: deterministic
    assert not np.allclose(net(x, training=True), net(x))


@pytest.fixture(scope="module")
def embedded():
    return embedded_splits()[:4]


def test_mlp_with_sigmoids_and_uniform_init_is_chapter_4s_network():
    old = SigmoidMLP([784, 15, 10], seed=0)
    new = modern.MLP([784, 15, 10], "sigmoid", "sigmoid", init="uniform", seed=0)
    for p in new.params:  # the thesis's draw: weights and biases uniform in (-1, 1)
        values = p.numpy()
        assert values.min() >= -1 and values.max() <= 1 and values.std() > 0.5
    new.set_weights(old.get_weights())
    x = tf.random.stateless_uniform([4, 784], seed=[5, 5])
    np.testing.assert_allclose(new(x), old(x), rtol=1e-5, atol=1e-6)


def test_he_uniform_sample_statistics_match_its_formula():
    # U(-a, a) with a = sqrt(6 / n_in): variance 2 / n_in, twice the forward condition 1 / n_in.
    w = modern.he_uniform(784, 700, seed=1).numpy().astype(np.float64)
    limit = np.sqrt(6 / 784)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.999 * limit
    assert w.var() == pytest.approx(2 / 784, rel=0.01)
    # wider than Glorot's
    assert modern.MLP([784, 30, 10], init="he").layers[0].w.numpy().max() > np.sqrt(6 / (784 + 30))


def test_relu_gradient_is_one_above_zero_and_zero_below():
    z = tf.constant([-3.0, -0.5, 0.5, 3.0, 300.0])
    with tf.GradientTape() as tape:
        tape.watch(z)
        a = modern.relu(z)
    np.testing.assert_array_equal(tape.gradient(a, z), [0, 0, 1, 1, 1])


def test_validation_split_is_the_first_images_and_recorded(embedded):
    x_train, y_train, x_test, y_test = embedded
    history = modern.train(
        modern.MLP([784, 30, 10]), x_train, y_train, x_test, y_test, epochs=1, validation=1000, progress=False
    )
    row = history.final
    assert {"train_loss", "validation_loss", "test_loss", "validation_accuracy"} <= set(row)
    assert history.config["validation"] == 1000 and len(history.test_predictions) == len(x_test)


def test_diverging_learning_rate_stops_with_a_clear_error(embedded):
    from mlpkit.training import TrainingDiverged

    x_train, y_train, x_test, y_test = embedded
    net = modern.MLP([784, 30, 10], activation="relu")
    with pytest.raises(TrainingDiverged, match="smaller one") as caught:
        modern.train(net, x_train, y_train, x_test, y_test, optimizer="sgd", lr=1e30, epochs=2, progress=False)
    assert all(np.all(np.isfinite(w)) for w in net.get_weights())
    assert caught.value.history.epochs  # epoch 0 was recorded


def central_differences(loss, z, h=1e-5):
    """``dC/dz`` one entry at a time, ``(C(z + h e) - C(z - h e)) / 2h``, for float64 ``z``."""
    bumps = np.eye(int(np.prod(z.shape))).reshape(-1, *z.shape) * h
    return np.array([(float(loss(z + e)) - float(loss(z - e))) / (2 * h) for e in bumps]).reshape(z.shape)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_entropy_gradient_is_softmax_minus_target_over_batch(seed):
    # float64: the tape differentiates the same function (agrees to rounding); central differences with
    # h = 1e-5 are within about 1e-10 (h^2 and eps/h), so rtol 1e-6, atol 1e-9.
    rng = np.random.default_rng(seed)
    z = tf.constant(rng.normal(0, 3, size=(6, 5)))
    labels = rng.integers(0, 5, 6)
    t = tf.one_hot(labels, 5, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(z)
        value = modern.cross_entropy(z, t)
    by_hand = modern.cross_entropy_gradient(z, t)
    np.testing.assert_allclose(by_hand, (tf.nn.softmax(z) - t) / 6, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(by_hand, tape.gradient(value, z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        by_hand, central_differences(lambda v: modern.cross_entropy(v, t), z), rtol=1e-6, atol=1e-9
    )
    np.testing.assert_allclose(modern.cross_entropy_gradient(z, labels), by_hand, rtol=1e-15)  # integer labels too
    np.testing.assert_allclose(tf.reduce_sum(by_hand, axis=1), 0, atol=1e-15)  # each row of y - t sums to 0


def test_cross_entropy_gradient_is_finite_for_huge_logits():
    z = tf.constant([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]], tf.float64)
    np.testing.assert_allclose(modern.cross_entropy_gradient(z, [2, 1]), [[0.5, 0, -0.5], [0, 0, 0]], atol=1e-12)


def test_sigmoid_mse_gradient_has_the_vanishing_sigma_prime_factor():
    rng = np.random.default_rng(3)
    z = tf.constant(rng.normal(0, 3, size=(4, 3)))
    t = tf.one_hot([0, 2, 1, 1], 3, dtype=tf.float64)
    loss = lambda v: tf.reduce_mean(tf.square(tf.sigmoid(v) - t))  # noqa: E731  (loss_function("mse") on sigmoid outputs)
    with tf.GradientTape() as tape:
        tape.watch(z)
        value = loss(z)
    np.testing.assert_allclose(modern.sigmoid_mse_gradient(z, t), tape.gradient(value, z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(modern.sigmoid_mse_gradient(z, t), central_differences(loss, z), rtol=1e-6, atol=1e-9)
    # Saturated on the wrong side (y = sigmoid(-10) where t = 1): the MSE delta is about 4.5e-5 times smaller
    # than the cross-entropy's, |2 (y - t) sigma'(z) / (B n_L)| against |(y - t) / B|.
    wrong = tf.constant([[-10.0, 10.0]], tf.float64)
    target = tf.constant([[1.0, 0.0]], tf.float64)
    mse = float(tf.reduce_max(tf.abs(modern.sigmoid_mse_gradient(wrong, target))))
    ce = float(tf.reduce_max(tf.abs(modern.cross_entropy_gradient(wrong, target))))
    assert mse < 1e-4 and ce > 0.99


def test_untrained_tutorial_network_starts_near_chance_cross_entropy_ln_10():
    # Chapter 7's sanity check: seeds 0-7 start at 2.296-2.359 on the embedded digits, within 0.06 of ln 10.
    x_train, y_train = embedded_splits()[:2]
    for seed in range(8):
        net = modern.MLP([784, 700, 500, 10], activation="relu", seed=seed)
        assert abs(float(modern.cross_entropy(net(x_train), y_train)) - np.log(10)) < 0.06, seed
