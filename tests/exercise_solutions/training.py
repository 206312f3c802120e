"""More right and wrong answers for chapter 4's exercises (see tests/test_exercise_solutions.py)."""

from helpers import code

ALTERNATIVES = {
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
    "train_epoch": [
        code("""
            def train_epoch(w, b, x, y, lr, batch_size):
                n = int(x.shape[0])
                for start in range(0, n, batch_size):
                    stop = min(start + batch_size, n)
                    w, b = train_step(w, b, x[start:stop], y[start:stop], lr)
                return w, b
        """),
        code("""
            def train_epoch(w, b, x, y, lr, batch_size):
                w, b, x, y = (np.asarray(t) for t in (w, b, x, y))
                batches = int(np.ceil(len(x) / batch_size))
                for x_batch, y_batch in zip(np.array_split(x, np.arange(1, batches) * batch_size),
                                            np.array_split(y, np.arange(1, batches) * batch_size)):
                    a = 1 / (1 + np.exp(-(x_batch @ w + b)))                 # (batch, n_out)
                    d_cost__d_z = 2 * (a - y_batch) / a.size * a * (1 - a)
                    w = w - lr * x_batch.T @ d_cost__d_z
                    b = b - lr * d_cost__d_z.sum(axis=0)
                return w, b
        """),
    ],
}

# name: [(solution, what is wrong with it)]
WRONG = {
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
    "train_epoch": [
        (code("""
            def train_epoch(w, b, x, y, lr, batch_size):
                w, b = tf.Variable(w), tf.Variable(b)
                for batch in range(int(x.shape[0]) // batch_size):
                    rows = slice(batch * batch_size, (batch + 1) * batch_size)
                    with tf.GradientTape() as tape:
                        cost = tf.reduce_mean((tf.sigmoid(x[rows] @ w + b) - y[rows]) ** 2)
                    grad_w, grad_b = tape.gradient(cost, [w, b])
                    w.assign_sub(lr * grad_w)
                    b.assign_sub(lr * grad_b)
                return w.numpy(), b.numpy()
        """), "the last, smaller batch left out"),
        (code("""
            def train_epoch(w, b, x, y, lr, batch_size):
                w, b, x, y = (np.asarray(t) for t in (w, b, x, y))
                for start in range(0, len(x), batch_size):
                    x_batch, y_batch = x[start:start + batch_size], y[start:start + batch_size]
                    a = 1 / (1 + np.exp(-(x_batch @ w + b)))
                    delta = 2 * (a - y_batch) / y.size * a * (1 - a)
                    w, b = w - lr * x_batch.T @ delta, b - lr * delta.sum(axis=0)
                return w, b
        """), "each step's cost averaged over the whole data set, not its batch"),
        (code("""
            def train_epoch(w, b, x, y, lr, batch_size):
                return train_step(w, b, x, y, lr)
        """), "one step on all the rows: batch_size ignored"),
    ],
}
