"""More right and wrong answers to chapter 7's exercises (see ``tests/test_exercise_solutions.py``)."""

import textwrap


def code(text):
    return textwrap.dedent(text).strip("\n") + "\n"


ALTERNATIVES = {
    "softmax_cross_entropy_gradient": [
        code("""
            def softmax_cross_entropy_gradient(logits, labels):  # NumPy, the one-hot made by indexing an identity
                z = np.asarray(logits)
                p = np.exp(z - z.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                return (p - np.eye(z.shape[1], dtype=z.dtype)[np.asarray(labels)]) / len(z)
        """),
        code("""
            def softmax_cross_entropy_gradient(logits, labels):  # the library's softmax, 1/B subtracted at the label
                batch = tf.cast(tf.shape(logits)[0], logits.dtype)
                grad = tf.nn.softmax(logits, axis=-1) / batch
                rows = tf.stack([tf.range(tf.shape(logits)[0]), tf.cast(labels, tf.int32)], axis=1)
                return tf.tensor_scatter_nd_sub(grad, rows, tf.fill([tf.shape(logits)[0]], 1 / batch))
        """),
        code("""
            def softmax_cross_entropy_gradient(logits, labels):  # exp of the stable log-softmax
                log_p = logits - tf.reduce_logsumexp(logits, axis=1, keepdims=True)
                t = tf.one_hot(labels, logits.shape[1], dtype=logits.dtype)
                return (tf.exp(log_p) - t) / logits.shape[0]
        """),
    ],
    "relu_backward": [
        code("""
            def relu_backward(z, grad_a):
                return tf.where(z > 0, grad_a, tf.zeros_like(grad_a))
        """),
        code("""
            def relu_backward(z, grad_a):  # NumPy: a copy with the off entries zeroed
                out = np.array(grad_a, copy=True)
                out[np.asarray(z) <= 0] = 0
                return out
        """),
        code("""
            def relu_backward(z, grad_a):  # sign(z) is 1, 0 or -1; clipped at 0 it is the mask
                return grad_a * tf.maximum(tf.sign(z), 0)
        """),
    ],
}

WRONG = {
    "softmax_cross_entropy_gradient": [
        (code("""
            def softmax_cross_entropy_gradient(logits, labels):
                t = tf.one_hot(labels, tf.shape(logits)[1], dtype=logits.dtype)
                return tf.nn.softmax(logits) - t
        """), "the gradient of the sum over the batch: not divided by B"),
        (code("""
            def softmax_cross_entropy_gradient(logits, labels):
                e = tf.exp(logits)
                t = tf.one_hot(labels, tf.shape(logits)[1], dtype=logits.dtype)
                return (e / tf.reduce_sum(e, axis=1, keepdims=True) - t) / tf.cast(tf.shape(logits)[0], logits.dtype)
        """), "exp of the raw logits: overflows for logits of 1000"),
        (code("""
            def softmax_cross_entropy_gradient(logits, labels):
                t = tf.one_hot(labels, tf.shape(logits)[1], dtype=logits.dtype)
                return (tf.nn.softmax(logits) - t) / tf.cast(tf.shape(logits)[1], logits.dtype)
        """), "divided by the number of classes, not the batch"),
    ],
    "relu_backward": [
        (code("""
            def relu_backward(z, grad_a):
                return grad_a * tf.cast(z >= 0, z.dtype)
        """), "derivative 1 at z = 0"),
        (code("""
            def relu_backward(z, grad_a):
                return tf.cast(z > 0, z.dtype)
        """), "the derivative of ReLU alone, grad_a forgotten"),
        (code("""
            def relu_backward(z, grad_a):
                return tf.nn.relu(grad_a)
        """), "masked by the sign of grad_a, not of z"),
    ],
}
