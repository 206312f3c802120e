"""More right and wrong answers for chapter 4's exercises (see tests/test_exercise_solutions.py)."""

import textwrap


def code(text):
    return textwrap.dedent(text).strip("\n") + "\n"


ALTERNATIVES = {
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
