"""Right and wrong answers for chapter 1's exercises (see tests/test_exercise_solutions.py)."""

from helpers import code

ALTERNATIVES = {
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
}


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
}
