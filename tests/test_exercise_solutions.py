"""Correct answers get full marks, wrong ones lose points: every exercise, graded as `mlpkit grade` grades.

For every exercise of every chapter, ALTERNATIVES holds at least two correct
solutions written differently from the reference (another formula or order,
NumPy for TensorFlow or the reverse, a hand-written backward pass for the
tape, the functional API for Sequential), and WRONG at least one plausible
mistake, each with what is wrong. Solution number ``i`` of every exercise goes
into one submission file (``alternative_i.py``, ``wrong_i.py``); exercises
with fewer solutions use the reference there. One grading run (module
fixture) grades them all, public and hidden checks, against the reference values
the test process computes once (``reference_values`` in conftest.py).
"""

import importlib.util
import json
import pathlib
import textwrap

import pytest
from conftest import share_reference

from mlpkit.grading import bank, grader
from mlpkit.grading.sandbox import Limits

# One worker runs the module, so its graded class (a module fixture) is graded once (make test: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("solutions")
HEADER = "import keras\nimport numpy as np\nimport tensorflow as tf\n"


def code(text):
    return textwrap.dedent(text).strip("\n") + "\n"


ALTERNATIVES = {
    # -- chapter 1 --
    "step": [
        code("""
            def step(z):
                return tf.where(z > 0, tf.ones_like(z), tf.zeros_like(z))
        """),
        code("""
            def step(z):
                z = np.asarray(z)
                return (z > 0).astype(z.dtype)
        """),
        code("""
            def step(z):
                return tf.maximum(tf.sign(z), tf.zeros_like(z))
        """),
    ],
    "nand_weights": [
        code("""
            def nand_weights():
                return np.array([-2.0, -2.0]), 3.0
        """),
        code("""
            def nand_weights():  # (1, 1) on the boundary: -0.1 - 0.2 + 0.3 = 0, and step(0) = 0
                return [-0.1, -0.2], 0.3
        """),
        code("""
            def nand_weights():
                return tf.constant([-1.0, -1.0]), tf.constant(2.0)
        """),
    ],
    "perceptron_forward": [
        code("""
            def perceptron_forward(x, w, b):
                z = np.asarray(x) @ np.asarray(w) + b
                return (z > 0).astype(np.float32)
        """),
        code("""
            def perceptron_forward(x, w, b):
                z = tf.reduce_sum(x * tf.transpose(w), axis=1) + b
                return tf.reshape(tf.cast(z > 0, tf.float32), (-1, 1))
        """),
    ],
    # -- chapter 2 --
    "xor_weights": [
        code("""
            def xor_weights():  # hidden: x1 and not x2, x2 and not x1; output: either
                return (np.array([[1.0, -1.0], [-1.0, 1.0]]), np.array([[-0.5, -0.5]]),
                        np.array([[1.0], [1.0]]), np.array([[-0.5]]))
        """),
        code("""
            def xor_weights():  # OR minus AND, every unit on its boundary somewhere (step(0) = 0)
                return np.array([[1, 1], [1, 1]]), np.array([[0, -1]]), np.array([[1], [-1]]), np.array([[0]])
        """),
        code("""
            def xor_weights():  # three hidden units, one never on
                w1 = tf.constant([[1.0, -1.0, 0.0], [1.0, -1.0, 0.0]])
                b1 = tf.constant([[-0.5, 1.5, -1.0]])
                return w1, b1, tf.constant([[1.0], [1.0], [5.0]]), tf.constant([[-1.5]])
        """),
    ],
    "sigmoid": [
        code("""
            def sigmoid(z):
                return 0.5 * (1.0 + tf.tanh(0.5 * z))
        """),
        code("""
            def sigmoid(z):
                z = np.asarray(z)
                e = np.exp(-np.abs(z))
                return np.where(z >= 0, 1 / (1 + e), e / (1 + e))
        """),
        code("""
            def sigmoid(z):
                return tf.exp(-tf.nn.softplus(-z))
        """),
    ],
    "parameter_count": [
        code("""
            def parameter_count(layers):
                total = 0
                for i in range(1, len(layers)):
                    total += layers[i - 1] * layers[i] + layers[i]
                return total
        """),
        code("""
            def parameter_count(layers):
                return int(np.dot(layers[:-1], layers[1:]) + np.sum(layers[1:]))
        """),
    ],
    # -- chapter 3 --
    "sigmoid_prime": [
        code("""
            def sigmoid_prime(z):
                with tf.GradientTape() as tape:
                    tape.watch(z)
                    s = tf.sigmoid(z)
                return tape.gradient(s, z)
        """),
        code("""
            def sigmoid_prime(z):
                e = tf.exp(-z)
                return e / (1 + e) ** 2
        """),
        code("""
            def sigmoid_prime(z):
                s = 1 / (1 + np.exp(-np.asarray(z)))
                return s - s * s
        """),
    ],
    "mse_gradient": [
        code("""
            def mse_gradient(a, y):
                with tf.GradientTape() as tape:
                    tape.watch(a)
                    cost = tf.reduce_mean((a - y) ** 2)
                return tape.gradient(cost, a)
        """),
        code("""
            def mse_gradient(a, y):
                a, y = np.asarray(a), np.asarray(y)
                return (a - y) * (2 / a.size)
        """),
    ],
    "sigmoid_layer_backward": [
        code("""
            def sigmoid_layer_backward(x, w, b, grad_a):
                with tf.GradientTape() as tape:
                    tape.watch([x, w, b])
                    a = tf.sigmoid(x @ w + b)
                grad_w, grad_b, grad_x = tape.gradient(a, [w, b, x], output_gradients=grad_a)
                return grad_w, grad_b, grad_x
        """),
        code("""
            def sigmoid_layer_backward(x, w, b, grad_a):
                x, w, b, grad_a = (np.asarray(t) for t in (x, w, b, grad_a))
                a = 1 / (1 + np.exp(-(x @ w + b)))          # (batch, n_out)
                d_cost__d_z = grad_a * a * (1 - a)           # (batch, n_out)
                d_cost__d_w = np.einsum("bi,bo->io", x, d_cost__d_z)
                d_cost__d_x = np.einsum("bo,io->bi", d_cost__d_z, w)
                return d_cost__d_w, d_cost__d_z.sum(axis=0), d_cost__d_x
        """),
    ],
    # -- chapter 4 --
    "preprocess": [
        code("""
            def preprocess(images):
                return tf.reshape(tf.cast(images, tf.float32) * (1 / 255), (len(images), 784))
        """),
        code("""
            def preprocess(images):
                return (np.asarray(images).reshape(len(images), -1) / 255.0).astype(np.float32)
        """),
        code("""
            def preprocess(images):
                return tf.reshape(tf.image.convert_image_dtype(images, tf.float32), (-1, 28 * 28))
        """),
    ],
    "one_hot": [
        code("""
            def one_hot(labels, classes=10):
                return np.eye(classes, dtype=np.float32)[np.asarray(labels)]
        """),
        code("""
            def one_hot(labels, classes=10):
                column = tf.reshape(tf.cast(labels, tf.int32), (-1, 1))
                return tf.cast(tf.equal(column, tf.range(classes)), tf.float32)
        """),
    ],
    "train_step": [
        code("""
            def train_step(w, b, x, y, lr):
                a = tf.sigmoid(x @ w + b)                                    # (batch, n_out)
                d_cost__d_a = 2 * (a - y) / tf.cast(tf.size(a), a.dtype)
                d_cost__d_z = d_cost__d_a * a * (1 - a)
                return w - lr * (tf.transpose(x) @ d_cost__d_z), b - lr * tf.reduce_sum(d_cost__d_z, axis=0)
        """),
        code("""
            def train_step(w, b, x, y, lr):
                w, b, x, y = (np.asarray(t) for t in (w, b, x, y))
                a = 1 / (1 + np.exp(-(x @ w + b)))
                delta = (a - y) * (2 / a.size) * a * (1 - a)
                return w - lr * (x.T @ delta), b - lr * delta.sum(axis=0)
        """),
    ],
    "accuracy": [
        code("""
            def accuracy(outputs, labels):
                return float(np.mean(np.argmax(outputs, axis=1) == np.asarray(labels)))
        """),
        code("""
            def accuracy(outputs, labels):
                hits = sum(int(np.argmax(row) == label) for row, label in zip(np.asarray(outputs), np.asarray(labels)))
                return hits / len(labels)
        """),
    ],
    # -- chapter 7 --
    "softmax": [
        code("""
            def softmax(logits):
                return tf.nn.softmax(logits, axis=1)
        """),
        code("""
            def softmax(logits):
                z = np.asarray(logits)
                e = np.exp(z - z.max(axis=1, keepdims=True))
                return e / e.sum(axis=1, keepdims=True)
        """),
        code("""
            def softmax(logits):
                return tf.exp(logits - tf.reduce_logsumexp(logits, axis=1, keepdims=True))
        """),
    ],
    "softmax_cross_entropy": [
        code("""
            def softmax_cross_entropy(logits, labels):
                return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        """),
        code("""
            def softmax_cross_entropy(logits, labels):
                z = np.asarray(logits)
                m = z.max(axis=1)
                log_sum = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
                return np.mean(log_sum - z[np.arange(len(z)), np.asarray(labels)])
        """),
        code("""
            def softmax_cross_entropy(logits, labels):
                picks = tf.one_hot(labels, tf.shape(logits)[1], dtype=logits.dtype)
                return -tf.reduce_mean(tf.reduce_sum(picks * tf.nn.log_softmax(logits), axis=1))
        """),
    ],
    "adam_step": [  # the paper's form only: the efficient form is a WRONG answer here
        code("""
            def adam_step(w, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
                m = beta1 * tf.constant(m) + (1 - beta1) * g
                v = beta2 * tf.constant(v) + (1 - beta2) * tf.square(g)
                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)
                return w - lr * m_hat / (tf.sqrt(v_hat) + eps), m, v
        """),
        code("""
            def adam_step(w, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
                m = m + (1 - beta1) * (g - m)
                v = v + (1 - beta2) * (g * g - v)
                step = lr / (1 - beta1**t) * m / (np.sqrt(v / (1 - beta2**t)) + eps)
                return w - step, m, v
        """),
    ],
    # -- chapter 8 --
    "build_dropout_model": [
        code("""
            def build_dropout_model():  # dropout before the ReLU is the same: ReLU(0) = 0, and the scale is positive
                inputs = keras.Input(shape=(28, 28))
                x = keras.layers.Flatten()(inputs)
                for _ in range(2):
                    x = keras.layers.Dense(50)(x)
                    x = keras.layers.Dropout(0.2)(x)
                    x = keras.layers.ReLU()(x)
                return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
        """),
        code("""
            def build_dropout_model():
                model = keras.Sequential()
                model.add(keras.Input((28, 28)))
                model.add(keras.layers.Reshape((784,)))
                model.add(keras.layers.Dense(50, activation="relu"))
                model.add(keras.layers.Dropout(rate=0.2))
                model.add(keras.layers.Dense(50, activation=keras.activations.relu))
                model.add(keras.layers.Dropout(rate=0.2))
                model.add(keras.layers.Dense(10))
                model.add(keras.layers.Activation("softmax"))
                return model
        """),
    ],
    "normalise_confusion": [
        code("""
            def normalise_confusion(confusion):
                c = np.asarray(confusion, dtype=float)
                return c / np.maximum(c.sum(axis=1, keepdims=True), 1)
        """),
        code("""
            def normalise_confusion(confusion):
                rows = []
                for row in np.asarray(confusion, dtype=np.float64):
                    total = row.sum()
                    rows.append(row / total if total else np.zeros_like(row))
                return np.array(rows)
        """),
        code("""
            def normalise_confusion(confusion):
                c = tf.cast(confusion, tf.float64)
                return tf.math.divide_no_nan(c, tf.reduce_sum(c, axis=1, keepdims=True))
        """),
    ],
    "early_stopping_epoch": [
        code("""
            def early_stopping_epoch(val_losses, patience):
                losses = list(val_losses)
                for epoch in range(1, len(losses) + 1):
                    best = int(np.argmin(losses[:epoch])) + 1  # the first of equal minima
                    if epoch - best >= patience:
                        return epoch, best
                return len(losses), int(np.argmin(losses)) + 1
        """),
        code("""
            def early_stopping_epoch(val_losses, patience):
                losses = np.asarray(val_losses, dtype=float)
                improved = np.r_[True, losses[1:] < np.minimum.accumulate(losses)[:-1]]
                best = 0
                for index in range(len(losses)):
                    if improved[index]:
                        best = index
                    elif index - best >= patience:
                        return index + 1, best + 1
                return len(losses), best + 1
        """),
    ],
}

# name: [(solution, what is wrong with it)]
WRONG = {
    "step": [
        (
            code("""
            def step(z):
                return tf.cast(z >= 0, z.dtype)
        """),
            "step(0) = 1",
        ),
        (
            code("""
            def step(z):
                return tf.cast(z > 0, tf.float32)
        """),
            "always float32",
        ),
    ],
    "nand_weights": [
        (
            code("""
            def nand_weights():
                return np.array([1.0, 1.0]), -1.5
        """),
            "AND, not NAND",
        ),
        (
            code("""
            def nand_weights():
                return np.array([-1.0, -1.0]), 0.5
        """),
            "NOR",
        ),
    ],
    "perceptron_forward": [
        (
            code("""
            def perceptron_forward(x, w, b):
                return tf.cast(tf.squeeze(x @ w) + b > 0, tf.float32)
        """),
            "shape (batch,), not (batch, 1)",
        ),
        (
            code("""
            def perceptron_forward(x, w, b):
                return tf.cast(x @ w - b > 0, tf.float32)
        """),
            "the bias subtracted",
        ),
    ],
    "xor_weights": [
        (
            code("""
            def xor_weights():
                return (np.array([[1.0, -1.0], [1.0, -1.0]]), np.array([[-0.5, 1.5]]),
                        np.array([[1.0], [1.0]]), np.array([[-0.5]]))
        """),
            "OR of OR and NAND: always 1",
        ),
    ],
    "sigmoid": [
        (
            code("""
            def sigmoid(z):
                return 1 / (1 + tf.exp(-z))
        """),
            "naive: exp(1000) = inf at z = -1000",
        ),
        (
            code("""
            def sigmoid(z):
                return tf.where(z >= 0, 1 / (1 + tf.exp(-z)), tf.exp(z) / (1 + tf.exp(z)))
        """),
            "tf.where computes both branches, and one overflows",
        ),
        (
            code("""
            def sigmoid(z):
                return tf.cast(tf.sigmoid(tf.cast(z, tf.float32)), z.dtype)
        """),
            "computed in float32 whatever the dtype",
        ),
    ],
    "parameter_count": [
        (
            code("""
            def parameter_count(layers):
                return layers[0] * layers[1] + layers[1] + layers[1] * layers[2] + layers[2]
        """),
            "two layers only",
        ),
        (
            code("""
            def parameter_count(layers):
                return sum(a * b for a, b in zip(layers[:-1], layers[1:]))
        """),
            "no biases",
        ),
    ],
    "sigmoid_prime": [
        (
            code("""
            def sigmoid_prime(z):
                return z * (1 - z)
        """),
            "the formula in terms of the activation, applied to z",
        ),
        (
            code("""
            def sigmoid_prime(z):
                s = tf.sigmoid(tf.cast(z, tf.float32))
                return s * (1 - s)
        """),
            "computed in float32 whatever the dtype",
        ),
    ],
    "mse_gradient": [
        (
            code("""
            def mse_gradient(a, y):
                return 2 * (a - y) / a.shape[0]
        """),
            "the mean over the batch only",
        ),
        (
            code("""
            def mse_gradient(a, y):
                return (a - y) / tf.cast(tf.size(a), a.dtype)
        """),
            "the factor 2 missing",
        ),
    ],
    "sigmoid_layer_backward": [
        (
            code("""
            def sigmoid_layer_backward(x, w, b, grad_a):
                delta = grad_a
                return tf.transpose(x) @ delta, tf.reduce_sum(delta, axis=0), delta @ tf.transpose(w)
        """),
            "the sigmoid's derivative missing",
        ),
        (
            code("""
            def sigmoid_layer_backward(x, w, b, grad_a):
                s = tf.sigmoid(x @ w + b)
                delta = grad_a * s * (1 - s)
                return tf.transpose(x) @ delta, tf.reduce_sum(delta, axis=1), delta @ tf.transpose(w)
        """),
            "grad_b summed over the wrong axis",
        ),
    ],
    "preprocess": [
        (
            code("""
            def preprocess(images):
                return np.asarray(images).reshape(-1, 784) / 255
        """),
            "float64",
        ),
        (
            code("""
            def preprocess(images):
                return tf.reshape(tf.cast(images, tf.float32) / 256.0, (-1, 784))
        """),
            "divided by 256",
        ),
    ],
    "one_hot": [
        (
            code("""
            def one_hot(labels, classes=10):
                return tf.one_hot(labels, 10, dtype=tf.float32)
        """),
            "classes ignored",
        ),
        (
            code("""
            def one_hot(labels, classes=10):
                return tf.one_hot(labels - 1, classes, dtype=tf.float32)
        """),
            "off by one",
        ),
    ],
    "train_step": [
        (
            code("""
            def train_step(w, b, x, y, lr):
                a = tf.sigmoid(x @ w + b)
                delta = 2 * (a - y) / x.shape[0] * a * (1 - a)
                return w - lr * (tf.transpose(x) @ delta), b - lr * tf.reduce_sum(delta, axis=0)
        """),
            "the mean over the batch only",
        ),
        (
            code("""
            def train_step(w, b, x, y, lr):
                a = tf.sigmoid(x @ w + b)
                delta = 2 * (a - y) / tf.cast(tf.size(a), a.dtype)
                return w - lr * (tf.transpose(x) @ delta), b - lr * tf.reduce_sum(delta, axis=0)
        """),
            "the sigmoid's derivative missing",
        ),
    ],
    "accuracy": [
        (
            code("""
            def accuracy(outputs, labels):
                return int(np.sum(np.argmax(outputs, axis=1) == labels))
        """),
            "a count, not a fraction",
        ),
        (
            code("""
            def accuracy(outputs, labels):
                return float(np.mean(np.argmax(outputs, axis=0) == labels))
        """),
            "the wrong axis",
        ),
    ],
    "softmax": [
        (
            code("""
            def softmax(logits):
                e = tf.exp(logits)
                return e / tf.reduce_sum(e, axis=1, keepdims=True)
        """),
            "naive: exp(1000) = inf",
        ),
        (
            code("""
            def softmax(logits):
                e = tf.exp(logits - tf.reduce_max(logits, axis=0, keepdims=True))
                return e / tf.reduce_sum(e, axis=0, keepdims=True)
        """),
            "normalised down the columns",
        ),
    ],
    "softmax_cross_entropy": [
        (
            code("""
            def softmax_cross_entropy(logits, labels):
                p = tf.nn.softmax(logits)
                return -tf.reduce_mean(tf.math.log(tf.gather(p, labels, axis=1, batch_dims=1)))
        """),
            "the log of a probability that underflows to 0",
        ),
        (
            code("""
            def softmax_cross_entropy(logits, labels):
                return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        """),
            "the sum over the batch, not the mean",
        ),
    ],
    "adam_step": [
        (
            code("""
            def adam_step(w, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
                m = beta1 * m + (1 - beta1) * g
                v = beta2 * v + (1 - beta2) * g**2
                return w - lr * np.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (np.sqrt(v) + eps), m, v
        """),
            "Keras's efficient form: eps outside the bias correction",
        ),
        (
            code("""
            def adam_step(w, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
                m = beta1 * m + (1 - beta1) * g
                v = beta2 * v + (1 - beta2) * g**2
                return w - lr * m / (np.sqrt(v) + eps), m, v
        """),
            "no bias correction",
        ),
    ],
    "build_dropout_model": [
        (
            code("""
            def build_dropout_model():
                return keras.Sequential([
                    keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dropout(0.2),
                    keras.layers.Dense(50, activation="relu"), keras.layers.Dense(50, activation="relu"),
                    keras.layers.Dropout(0.2), keras.layers.Dense(10, activation="softmax"),
                ])
        """),
            "misordered: the first Dropout on the inputs",
        ),
        (
            code("""
            def build_dropout_model():
                return keras.Sequential([
                    keras.Input((28, 28)), keras.layers.Flatten(),
                    keras.layers.Dense(50, activation="relu"), keras.layers.Dropout(0.2),
                    keras.layers.Dense(50), keras.layers.Dropout(0.2),
                    keras.layers.Dense(10, activation="softmax"),
                ])
        """),
            "the second hidden layer's ReLU missing",
        ),
        (
            code("""
            def build_dropout_model():
                return keras.Sequential([
                    keras.Input((28, 28)), keras.layers.Flatten(),
                    keras.layers.Dense(50, activation="relu"), keras.layers.Dropout(0.5),
                    keras.layers.Dense(50, activation="relu"), keras.layers.Dropout(0.5),
                    keras.layers.Dense(10, activation="softmax"),
                ])
        """),
            "dropout rate 0.5",
        ),
    ],
    "normalise_confusion": [
        (
            code("""
            def normalise_confusion(confusion):
                c = np.asarray(confusion, dtype=float)
                totals = c.sum(axis=0, keepdims=True)
                return np.divide(c, totals, out=np.zeros_like(c), where=totals > 0)
        """),
            "divided by the column totals",
        ),
        (
            code("""
            def normalise_confusion(confusion):
                c = np.asarray(confusion, dtype=float)
                return c / c.sum(axis=1, keepdims=True)
        """),
            "NaN for a row of zeros",
        ),
    ],
    "early_stopping_epoch": [
        (
            code("""
            def early_stopping_epoch(val_losses, patience):
                best, best_loss, waited = 1, float("inf"), 0
                for epoch, loss in enumerate(val_losses, start=1):
                    if loss <= best_loss:
                        best, best_loss, waited = epoch, loss, 0
                    else:
                        waited += 1
                        if waited >= patience:
                            return epoch, best
                return len(val_losses), best
        """),
            "a tie counted as an improvement",
        ),
        (
            code("""
            def early_stopping_epoch(val_losses, patience):
                best, best_loss, waited = 0, float("inf"), 0
                for epoch, loss in enumerate(val_losses):
                    if loss < best_loss:
                        best, best_loss, waited = epoch, loss, 0
                    else:
                        waited += 1
                        if waited >= patience:
                            return epoch, best
                return len(val_losses) - 1, best
        """),
            "epochs counted from 0",
        ),
        (
            code("""
            def early_stopping_epoch(val_losses, patience):
                best, best_loss, waited = 1, float("inf"), 0
                for epoch, loss in enumerate(val_losses, start=1):
                    if loss < best_loss:
                        best, best_loss, waited = epoch, loss, 0
                    else:
                        waited += 1
                        if waited > patience:
                            return epoch, best
                return len(val_losses), best
        """),
            "one epoch too patient",
        ),
    ],
}


def _more_solutions():
    """Solutions kept beside this file, one module per chapter: ``exercise_solutions/CHAPTER.py``.

    Each defines ``ALTERNATIVES`` and ``WRONG`` as above (using ``code`` from this module's pattern).
    """
    for path in sorted((pathlib.Path(__file__).parent / "exercise_solutions").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"exercise_solutions_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for ours, theirs in ((ALTERNATIVES, module.ALTERNATIVES), (WRONG, module.WRONG)):
            clash = set(ours) & set(theirs)
            assert not clash, f"{path.name} repeats solutions of {sorted(clash)}"
            ours.update(theirs)


_more_solutions()

EXERCISES = bank.load_exercises()
REFERENCE = {
    cell.exercise: cell.source
    for chapter in bank.CHAPTERS
    for cell in bank.chapter_cells(chapter)
    if cell.kind == "code" and cell.exercise
}


def submission(solutions):
    """A file answering every exercise of every chapter: ``solutions[name]`` where given, else the reference."""
    return HEADER + "\n\n".join(solutions.get(e.name, REFERENCE[e.name]) for e in EXERCISES)


FILES = {
    **{
        f"alternative_{i}": submission({name: found[i] for name, found in ALTERNATIVES.items() if i < len(found)})
        for i in range(max(map(len, ALTERNATIVES.values())))
    },
    **{
        f"wrong_{i}": submission({name: found[i][0] for name, found in WRONG.items() if i < len(found)})
        for i in range(max(map(len, WRONG.values())))
    },
}
ALTERNATIVE_CASES = [(name, i) for name, found in ALTERNATIVES.items() for i in range(len(found))]
WRONG_CASES = [(name, i) for name, found in WRONG.items() for i in range(len(found))]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, reference_values):
    folder = tmp_path_factory.mktemp("solutions")
    for student, text in FILES.items():
        (folder / f"{student}.py").write_text(text)
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    # The reference's values as the other tests of this process have them (graded once per process).
    share_reference(out.with_name("grades_units"), bank.CHAPTERS, reference_values(bank.CHAPTERS))
    units = grader.grade(folder, out, chapters=bank.CHAPTERS, workers=2, limits=Limits(seconds=120), progress=False)
    return {unit["student"]: unit for unit in units}


def test_every_exercise_has_two_other_right_answers_and_a_wrong_one():
    names = {e.name for e in EXERCISES}
    assert set(ALTERNATIVES) == names and set(WRONG) == names
    assert all(len(found) >= 2 for found in ALTERNATIVES.values()) and all(WRONG.values())
    for name, found in ALTERNATIVES.items():  # written differently from the reference and from each other
        bodies = {_body(text.split("\n", 1)[1]) for text in found}
        assert len(bodies) == len(found) and _body(REFERENCE[name].split(bank.BEGIN)[1]) not in bodies, name


def _body(text):
    """The code lines of a function body, without comments, markers or indentation."""
    return tuple(line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip())


def _result(unit, name):
    result = unit["exercises"][name]
    return result, json.dumps(result, indent=1)


@pytest.mark.parametrize("name, index", ALTERNATIVE_CASES, ids=[f"{n}-{i}" for n, i in ALTERNATIVE_CASES])
def test_a_right_answer_written_differently_gets_full_marks(graded, name, index):
    unit = graded[f"alternative_{index}"]
    result, shown = _result(unit, name)
    assert result["points"] == result["maximum"] and all(check["passed"] for check in result["checks"]), shown
    assert not unit["notes"], unit["notes"]


@pytest.mark.parametrize("name, index", WRONG_CASES, ids=[f"{n}-{i}" for n, i in WRONG_CASES])
def test_a_wrong_answer_loses_points_and_a_public_check_says_so(graded, name, index):
    result, shown = _result(graded[f"wrong_{index}"], name)
    assert result["points"] < result["maximum"], f"{WRONG[name][index][1]}: {shown}"
    assert any(not check["passed"] for check in result["checks"] if check["public"]), (
        f"{WRONG[name][index][1]}: {shown}"
    )


def test_wrong_files_lose_only_their_wrong_answers(graded):
    for index in range(max(map(len, WRONG.values()))):
        unit = graded[f"wrong_{index}"]
        for name, result in unit["exercises"].items():
            if index >= len(WRONG[name]):  # the reference
                assert result["points"] == result["maximum"], (index, name)


def test_the_efficient_adam_form_is_named_in_the_public_feedback(graded):
    result, shown = _result(graded["wrong_0"], "adam_step")
    public = [check for check in result["checks"] if check["public"]]
    assert not public[0]["passed"] and "efficient form" in public[0]["detail"], shown
    assert "efficient form" in public[0]["message"]


def test_an_overflow_the_result_hides_is_caught(graded):
    for index in (0, 1):  # the naive formula, and tf.where over both branches
        result, shown = _result(graded[f"wrong_{index}"], "sigmoid")
        overflow = [check for check in result["checks"] if check["public"]][1]
        assert not overflow["passed"] and overflow["detail"].startswith("FloatingPointError"), shown


def test_the_dropout_model_is_judged_by_behaviour(graded):
    misordered, shown = _result(graded["wrong_0"], "build_dropout_model")  # same in inference, not in training
    kinds = [(check["public"], check["passed"]) for check in misordered["checks"]]
    assert kinds == [(True, True), (True, False), (False, True), (False, False)], shown
    assert "a Dropout layer is missing, misplaced or has another rate" in misordered["checks"][1]["detail"]
    no_relu, shown = _result(graded["wrong_1"], "build_dropout_model")
    assert "in inference mode" in no_relu["checks"][0]["detail"] and no_relu["points"] == 0, shown
