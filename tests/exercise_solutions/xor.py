"""Right and wrong answers for chapter 2's exercises (see tests/test_exercise_solutions.py)."""

from helpers import code

ALTERNATIVES = {
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
}


WRONG = {
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
                return tf.sigmoid(tf.cast(z, tf.float64))
        """),
            "always float64, not z's dtype",
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
}
