"""Chapter 7: the modern MLP's pieces, each proven equal to TensorFlow's or Keras's own."""

import numpy as np
import pytest
import tensorflow as tf

keras = pytest.importorskip("keras")

from mlpkit import data, modern  # noqa: E402
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
    np.testing.assert_allclose(mine, tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)), rtol=1e-6)
    np.testing.assert_allclose(mine, keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits), rtol=1e-6)
    onehot = tf.one_hot(labels, 10)
    np.testing.assert_allclose(modern.cross_entropy(logits, onehot), mine, rtol=1e-6)
    np.testing.assert_allclose(keras.losses.CategoricalCrossentropy(from_logits=True)(onehot, logits), mine, rtol=1e-6)


def test_naive_log_softmax_overflows_and_the_stable_one_does_not():
    logits, labels = tf.constant([[1000.0, 0.0], [0.0, 1000.0]]), tf.constant([1, 1])
    assert not np.isfinite(float(modern.naive_cross_entropy(logits, labels)))  # exp(1000) = inf in float32
    np.testing.assert_allclose(modern.cross_entropy(logits, labels), 500.0, rtol=1e-6)  # (1000 + 0) / 2
    small = tf.constant([[2.0, 1.0, 0.1]])
    np.testing.assert_allclose(modern.naive_cross_entropy(small, [0]), modern.cross_entropy(small, [0]), rtol=1e-6)


KERAS_OPTIMIZERS = {
    "sgd": lambda lr: keras.optimizers.SGD(lr),
    "momentum": lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
    "nesterov": lambda lr: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
    "rmsprop": lambda lr: keras.optimizers.RMSprop(lr),
    "adam": lambda lr: keras.optimizers.Adam(lr),
}


@pytest.mark.parametrize("name", modern.OPTIMIZERS)
def test_hand_written_optimizers_equal_keras_on_the_same_gradients(name):
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(3,)).astype(np.float32)]
    mine, theirs = [tf.Variable(v) for v in start], [tf.Variable(v) for v in start]
    ours, keras_opt = modern.make_optimizer(name, 0.01), KERAS_OPTIMIZERS[name](0.01)
    for _ in range(7):
        gradients = [tf.constant(rng.normal(size=v.shape).astype(np.float32)) for v in start]
        ours.apply(gradients, mine)
        keras_opt.apply_gradients(zip(gradients, theirs))
    for a, b, s in zip(mine, theirs, start):
        assert not np.allclose(a, s)  # they moved
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_adam_defaults_are_the_papers():
    adam = modern.Adam()
    assert (adam.lr, adam.beta1, adam.beta2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        modern.make_optimizer("adagrad")
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
    (x_train, y_train), (x_test, y_test) = data.embedded_mnist()
    return (*data.preprocess(x_train, y_train), *data.preprocess(x_test, y_test))


def test_modern_network_beats_chapter_4_on_the_same_data_and_budget(embedded):
    # 3 epochs on the embedded 4,000 digits. Seeds 0-3: [784, 100, 10] with ReLU/cross-entropy/Adam
    # (batch 32) 91.2-92.0 %; the chapter-4 network with MSE, SGD 0.9 and batch 10 46.8-53.5 %.
    x_train, y_train, x_test, y_test = embedded
    for seed in (0, 1):
        modern_history = modern.train(modern.MLP([784, 100, 10], seed=seed), x_train, y_train, x_test, y_test,
                                      epochs=3, batch_size=32, seed=seed, progress=False)
        old = modern.train(SigmoidMLP([784, 15, 10], seed=seed), x_train, y_train, x_test, y_test, loss="mse",
                           optimizer="sgd", lr=0.9, epochs=3, batch_size=10, seed=seed, progress=False)
        assert modern_history.final["test_accuracy"] > 0.88
        assert modern_history.final["test_accuracy"] > old.final["test_accuracy"] + 0.2


def test_validation_split_is_the_first_images_and_recorded(embedded):
    x_train, y_train, x_test, y_test = embedded
    history = modern.train(modern.MLP([784, 30, 10]), x_train, y_train, x_test, y_test, epochs=1, validation=1000,
                           progress=False)
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


def test_erratum_confusion_normalised_by_true_class():
    # The tutorial divides by confusion.sum(axis=1) without keepdims: NumPy broadcasts the row totals
    # along the columns, so entry (i, j) is divided by the total of row j, not of row i.
    confusion = np.array([[8, 2, 0], [1, 1, 0], [0, 5, 45]])
    tutorial = confusion / confusion.sum(axis=1)
    np.testing.assert_allclose(tutorial[0], [8 / 10, 2 / 2, 0 / 50])  # row 0 divided by 10, 2 and 50
    assert not np.allclose(tutorial.sum(axis=1), 1)
    right = modern.normalise_by_true_class(confusion)
    np.testing.assert_allclose(right.sum(axis=1), 1)
    np.testing.assert_allclose(right[2], [0, 0.1, 0.9])


def test_erratum_per_class_table_keyed_by_accuracy_loses_classes():
    # The tutorial builds {accuracy: digit}; two digits with the same accuracy overwrite each other.
    true = np.repeat(np.arange(10), 10)
    predicted = true.copy()
    predicted[[0, 10, 20]] = 9  # digits 0, 1 and 2: 9 of 10 right each
    tutorial = {}
    for label in range(10):
        tutorial[float(np.mean(predicted[true == label] == label))] = label
    assert len(tutorial) == 2 and tutorial[0.9] == 2  # digits 0 and 1 are gone
    table = modern.accuracy_by_class(true, predicted)
    assert len(table) == 10 and [table[d] for d in (0, 1, 2, 3)] == [0.9, 0.9, 0.9, 1.0]
