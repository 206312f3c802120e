"""Right and wrong answers to chapter 3's backpropagation and gradient-check exercises.

Graded by ``tests/test_exercise_solutions.py`` with every other exercise: each
right answer must get full marks, each wrong one must lose points on a public
check. The other chapter-3 exercises keep their solutions in that file.
"""

from helpers import code

ALTERNATIVES = {
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
    "two_layer_backward": [
        code("""
            def two_layer_backward(x, w1, b1, w2, b2, t):  # the same chain rule in NumPy, with einsum
                x, w1, b1, w2, b2, t = (np.asarray(v) for v in (x, w1, b1, w2, b2, t))
                a1 = 1 / (1 + np.exp(-(x @ w1 + b1)))                     # (B, n1)
                y = 1 / (1 + np.exp(-(a1 @ w2 + b2)))                     # (B, n2)
                delta2 = (y - t) * (2 / y.size) * y * (1 - y)             # dC/dz2, (B, n2)
                delta1 = np.einsum("bo,ho->bh", delta2, w2) * a1 * (1 - a1)  # dC/dz1, (B, n1)
                return (np.einsum("bi,bh->ih", x, delta1), delta1.sum(axis=0),
                        np.einsum("bh,bo->ho", a1, delta2), delta2.sum(axis=0))
        """),
        code("""
            def two_layer_backward(x, w1, b1, w2, b2, t):  # one layer at a time, through a helper
                def layer_backward(inputs, weights, outputs, d_cost__d_outputs):
                    d_cost__d_z = d_cost__d_outputs * outputs * (1 - outputs)
                    return (tf.matmul(inputs, d_cost__d_z, transpose_a=True), tf.reduce_sum(d_cost__d_z, axis=0),
                            tf.matmul(d_cost__d_z, weights, transpose_b=True))

                a1 = tf.math.sigmoid(tf.matmul(x, w1) + b1)
                y = tf.math.sigmoid(tf.matmul(a1, w2) + b2)
                n = tf.cast(tf.reduce_prod(tf.shape(y)), y.dtype)
                grad_w2, grad_b2, d_cost__d_a1 = layer_backward(a1, w2, y, 2 * (y - t) / n)
                grad_w1, grad_b1, _ = layer_backward(x, w1, a1, d_cost__d_a1)
                return grad_w1, grad_b1, grad_w2, grad_b2
        """),
        code("""
            def two_layer_backward(x, w1, b1, w2, b2, t):  # the tape, which the checks cannot tell apart
                with tf.GradientTape() as tape:
                    tape.watch([w1, b1, w2, b2])
                    y = tf.sigmoid(tf.sigmoid(x @ w1 + b1) @ w2 + b2)
                    cost = tf.reduce_mean(tf.square(y - t))
                return tuple(tape.gradient(cost, [w1, b1, w2, b2]))
        """),
    ],
    "numerical_gradient_of_cost": [
        code("""
            def numerical_gradient_of_cost(w, x, t, h):  # every shifted weight vector at once, as rows
                w, x, t = (np.asarray(v, dtype=np.float64) for v in (w, x, t))
                shifts = h * np.eye(len(w))                                  # (n, n): row k is h e_k
                def costs(weights):                                          # (n, n) -> (n,)
                    y = 1 / (1 + np.exp(-(weights @ x.T)))                   # (n, B)
                    return np.mean((y - t) ** 2, axis=1)
                return (costs(w + shifts) - costs(w - shifts)) / (2 * h)
        """),
        code("""
            def numerical_gradient_of_cost(w, x, t, h):  # TensorFlow in float64
                w, x, t = (tf.cast(v, tf.float64) for v in (w, x, t))
                def cost(weights):
                    return tf.reduce_mean((tf.sigmoid(tf.linalg.matvec(x, weights)) - t) ** 2)
                grads = []
                for k in range(int(w.shape[0])):
                    e = tf.one_hot(k, int(w.shape[0]), dtype=tf.float64)
                    grads.append((cost(w + h * e) - cost(w - h * e)) / (2 * h))
                return tf.stack(grads)
        """),
    ],
    "relative_error": [
        code("""
            def relative_error(a, b):
                a, b = np.ravel(a).astype(float), np.ravel(b).astype(float)
                worst = 0.0
                for x, y in zip(a, b):
                    if x != 0 or y != 0:
                        worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
                return worst
        """),
        code("""
            def relative_error(a, b):
                a, b = tf.cast(a, tf.float64), tf.cast(b, tf.float64)
                scale = tf.maximum(tf.abs(a), tf.abs(b))
                return float(tf.reduce_max(tf.math.divide_no_nan(tf.abs(a - b), scale)))
        """),
    ],
    "softplus_op": [
        code("""
            def softplus(v):
                z = np.float64(v.data)
                slope = 0.5 * (1.0 + np.tanh(z / 2))  # the sigmoid, written with tanh
                return Value(float(np.logaddexp(0.0, z)), (v,), (float(slope),), "softplus")
        """),
        code("""
            def softplus(v):
                z = tf.constant(v.data, tf.float64)
                with tf.GradientTape() as tape:
                    tape.watch(z)
                    s = tf.math.softplus(z)
                return Value(float(s), (v,), (float(tape.gradient(s, z)),), "softplus")
        """),
    ],
}

WRONG = {
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
    "two_layer_backward": [
        (
            code("""
            def two_layer_backward(x, w1, b1, w2, b2, t):
                a1 = tf.sigmoid(x @ w1 + b1)
                y = tf.sigmoid(a1 @ w2 + b2)
                delta2 = 2 * (y - t) / x.shape[0] * y * (1 - y)
                delta1 = delta2 @ tf.transpose(w2) * a1 * (1 - a1)
                return (tf.transpose(x) @ delta1, tf.reduce_sum(delta1, 0),
                        tf.transpose(a1) @ delta2, tf.reduce_sum(delta2, 0))
        """),
            "the mean over the batch only, not over the outputs too",
        ),
        (
            code("""
            def two_layer_backward(x, w1, b1, w2, b2, t):
                a1 = tf.sigmoid(x @ w1 + b1)
                y = tf.sigmoid(a1 @ w2 + b2)
                delta2 = 2 * (y - t) / tf.cast(tf.size(y), y.dtype) * y * (1 - y)
                delta1 = delta2 @ tf.transpose(w2)
                return (tf.transpose(x) @ delta1, tf.reduce_sum(delta1, 0),
                        tf.transpose(a1) @ delta2, tf.reduce_sum(delta2, 0))
        """),
            "the hidden layer's sigmoid derivative missing",
        ),
        (
            code("""
            def two_layer_backward(x, w1, b1, w2, b2, t):
                a1 = tf.sigmoid(x @ w1 + b1)
                y = tf.sigmoid(a1 @ w2 + b2)
                delta2 = 2 * (y - t) / tf.cast(tf.size(y), y.dtype) * y * (1 - y)
                delta1 = delta2 @ tf.transpose(w2) * a1 * (1 - a1)
                return (tf.transpose(x) @ delta1, tf.reduce_mean(delta1, 0),
                        tf.transpose(a1) @ delta2, tf.reduce_mean(delta2, 0))
        """),
            "the bias gradients averaged over the batch instead of summed",
        ),
    ],
    "numerical_gradient_of_cost": [
        (
            code("""
            def numerical_gradient_of_cost(w, x, t, h):
                w, x, t = (np.asarray(v, dtype=np.float64) for v in (w, x, t))
                cost = lambda v: np.mean((1 / (1 + np.exp(-(x @ v))) - t) ** 2)
                return np.array([(cost(w + h * e) - cost(w)) / h for e in np.eye(len(w))])
        """),
            "a one-sided (forward) difference",
        ),
        (
            code("""
            def numerical_gradient_of_cost(w, x, t, h):
                w, x, t = (np.asarray(v, dtype=np.float64) for v in (w, x, t))
                y = 1 / (1 + np.exp(-(x @ w)))
                return x.T @ (2 * (y - t) * y * (1 - y)) / len(t)
        """),
            "the exact gradient, not the difference quotients",
        ),
        (
            code("""
            def numerical_gradient_of_cost(w, x, t, h):
                cost = lambda v: tf.reduce_mean((tf.sigmoid(tf.linalg.matvec(x, v)) - t) ** 2)
                eye = tf.eye(w.shape[0], dtype=w.dtype)
                return tf.stack([(cost(w + h * eye[k]) - cost(w - h * eye[k])) / (2 * h) for k in range(w.shape[0])])
        """),
            "computed in the inputs' dtype, float32 for float32 inputs",
        ),
    ],
    "relative_error": [
        (
            code("""
            def relative_error(a, b):
                a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
                return float(np.max(np.abs(a - b) / np.abs(b)))
        """),
            "divided by |b| only: 0 / 0 where both are 0",
        ),
        (
            code("""
            def relative_error(a, b):
                a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
                scale = np.maximum(np.abs(a), np.abs(b))
                return float(np.mean(np.divide(np.abs(a - b), scale, out=np.zeros_like(scale), where=scale > 0)))
        """),
            "the mean of the errors, not the largest",
        ),
    ],
    "softplus_op": [
        (code("""
            def softplus(v):
                return Value(math.log(1 + math.exp(v.data)), (v,), (1 / (1 + math.exp(-v.data)),))
        """), "ln(1 + e^z) as written overflows for large z"),
        (code("""
            def softplus(v):
                z = v.data
                data = max(z, 0.0) + math.log1p(math.exp(-abs(z)))
                return Value(data, (v,), (data,))
        """), "the softplus itself as its own slope"),
    ],
}
