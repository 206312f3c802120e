"""Chapter 9: other right answers and plausible wrong ones (see tests/test_exercise_solutions.py)."""

from helpers import code

ALTERNATIVES = {
    "glorot_limit": [
        code("""
            def glorot_limit(n_in, n_out):
                variance = 2 / (n_in + n_out)
                return (3 * variance) ** 0.5
        """),
        code("""
            def glorot_limit(n_in, n_out):
                return float(tf.sqrt(6.0 / tf.cast(n_in + n_out, tf.float64)))
        """),
    ],
    "he_uniform": [
        code("""
            def he_uniform(n_in, n_out, seed):
                limit = np.sqrt(6.0 / n_in)
                return tf.random.stateless_uniform((n_in, n_out), seed=[seed, 0], minval=-limit, maxval=limit)
        """),
        code("""
            def he_uniform(n_in, n_out, seed):  # U(0, 1) shifted and scaled to (-a, a)
                a = (6 / n_in) ** 0.5
                u = np.random.RandomState(seed).random_sample((n_in, n_out))
                return ((2 * u - 1) * a).astype("float32")
        """),
    ],
    "l2_decay_step": [
        code("""
            def l2_decay_step(w, grad, lr, lam):  # shrink first, then step
                return (1 - lr * lam) * w - lr * grad
        """),
        code("""
            def l2_decay_step(w, grad, lr, lam):
                w = tf.Variable(w, dtype=tf.float64)
                with tf.GradientTape() as tape:
                    penalty = lam / 2 * tf.reduce_sum(tf.square(w))
                total = tape.gradient(penalty, w) + tf.cast(grad, tf.float64)
                return (w - lr * total).numpy()
        """),
    ],
    "layer_gradient_norms": [
        code("""
            def layer_gradient_norms(weights, biases, x, t):  # backpropagation by hand, in NumPy
                activations = [np.asarray(x, dtype=np.float64)]
                for w, b in zip(weights, biases):
                    activations.append(1 / (1 + np.exp(-(activations[-1] @ w + b))))
                y = activations[-1]
                delta = 2 * (y - t) / y.size * y * (1 - y)  # delta_L
                norms = []
                for l in range(len(weights) - 1, -1, -1):
                    norms.append(np.sqrt(np.sum((activations[l].T @ delta) ** 2)))
                    delta = (delta @ weights[l].T) * activations[l] * (1 - activations[l])
                return np.array(norms[::-1])
        """),
        code("""
            def layer_gradient_norms(weights, biases, x, t):
                ws = [tf.constant(w, tf.float64) for w in weights]
                with tf.GradientTape() as tape:
                    tape.watch(ws)
                    a = tf.constant(x, tf.float64)
                    for w, b in zip(ws, biases):
                        a = 1 / (1 + tf.exp(-(tf.matmul(a, w) + b)))
                    cost = tf.reduce_mean((a - t) ** 2)
                grads = tape.gradient(cost, ws)
                return np.array([np.linalg.norm(g.numpy()) for g in grads])
        """),
    ],
    "batch_norm_forward": [
        code("""
            def batch_norm_forward(z, gamma, beta, epsilon):
                mean, variance = tf.nn.moments(tf.constant(z, tf.float64), axes=[0])
                return (gamma * (z - mean) / tf.sqrt(variance + epsilon) + beta).numpy()
        """),
        code("""
            def batch_norm_forward(z, gamma, beta, epsilon):  # sums written out
                b = z.shape[0]
                centred = z - np.sum(z, axis=0) / b
                variance = np.sum(centred**2, axis=0) / b
                return centred * (gamma / (variance + epsilon) ** 0.5) + beta
        """),
    ],
    "residual_forward": [
        code("""
            def residual_forward(x, w, b):
                return (tf.constant(x) + tf.sigmoid(tf.constant(x) @ tf.constant(w) + b)).numpy()
        """),
        code("""
            def residual_forward(x, w, b):  # the sigmoid through tanh
                layer = 0.5 * (1 + np.tanh(0.5 * (np.dot(x, w) + b)))
                return layer + x
        """),
    ],
}

WRONG = {
    "glorot_limit": [
        (code("""
            def glorot_limit(n_in, n_out):
                return float(np.sqrt(2.0 / (n_in + n_out)))
        """), "the standard deviation, not the limit of the uniform"),
        (code("""
            def glorot_limit(n_in, n_out):
                return float(np.sqrt(6.0 / n_in))
        """), "He's limit: only the inputs counted"),
    ],
    "he_uniform": [
        (code("""
            def he_uniform(n_in, n_out, seed):
                limit = np.sqrt(6.0 / (n_in + n_out))
                return np.random.default_rng(seed).uniform(-limit, limit, (n_in, n_out)).astype(np.float32)
        """), "Glorot's limit: the variance is 2 / (n_in + n_out), not 2 / n_in"),
        (code("""
            def he_uniform(n_in, n_out, seed):
                return np.random.default_rng(seed).normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_out)).astype(np.float32)
        """), "a normal distribution: the right variance, but weights beyond the uniform's limits"),
        (code("""
            def he_uniform(n_in, n_out, seed):
                limit = np.sqrt(6.0 / n_in)
                return np.random.default_rng(seed).uniform(-limit, limit, (n_in, n_out))
        """), "float64, not float32"),
    ],
    "l2_decay_step": [
        (code("""
            def l2_decay_step(w, grad, lr, lam):
                return w - lr * (grad + lam / 2 * w)
        """), "the penalty's derivative taken as lam / 2 * w"),
        (code("""
            def l2_decay_step(w, grad, lr, lam):
                return w - lr * grad - lam * w
        """), "the decay not scaled by the learning rate"),
    ],
    "layer_gradient_norms": [
        (code("""
            def layer_gradient_norms(weights, biases, x, t):
                weights = [tf.Variable(w) for w in weights]
                with tf.GradientTape() as tape:
                    a = tf.constant(x)
                    for w, b in zip(weights, biases):
                        a = tf.sigmoid(a @ w + b)
                    cost = tf.reduce_mean(tf.reduce_sum(tf.square(a - t), axis=1))
                return np.array([float(tf.norm(g)) for g in tape.gradient(cost, weights)])
        """), "the cost summed over the outputs: n_L times too large"),
        (code("""
            def layer_gradient_norms(weights, biases, x, t):
                weights = [tf.Variable(w) for w in weights]
                with tf.GradientTape() as tape:
                    a = tf.constant(x)
                    for w, b in zip(weights[:-1], biases[:-1]):
                        a = tf.sigmoid(a @ w + b)
                    y = a @ weights[-1] + biases[-1]
                    cost = tf.reduce_mean(tf.square(y - t))
                return np.array([float(tf.norm(g)) for g in tape.gradient(cost, weights)])
        """), "no sigmoid on the output layer"),
    ],
    "batch_norm_forward": [
        (code("""
            def batch_norm_forward(z, gamma, beta, epsilon):
                return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0, ddof=1) + epsilon) + beta
        """), "the unbiased variance, divided by B - 1"),
        (code("""
            def batch_norm_forward(z, gamma, beta, epsilon):
                mean, variance = z.mean(axis=1, keepdims=True), z.var(axis=1, keepdims=True)
                return gamma * (z - mean) / np.sqrt(variance + epsilon) + beta
        """), "normalised over each example's units (the rows), not over the batch"),
        (code("""
            def batch_norm_forward(z, gamma, beta, epsilon):
                return gamma * (z - z.mean(axis=0)) / (z.std(axis=0) + epsilon) + beta
        """), "epsilon added to the standard deviation, outside the square root"),
    ],
    "residual_forward": [
        (code("""
            def residual_forward(x, w, b):
                return 1 / (1 + np.exp(-(x @ w + b)))
        """), "no skip: the layer alone"),
        (code("""
            def residual_forward(x, w, b):
                return 1 / (1 + np.exp(-(x + x @ w + b)))
        """), "the input added inside the sigmoid"),
    ],
}
