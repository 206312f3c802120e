"""More right and wrong answers to chapter 7's exercises (see ``tests/test_exercise_solutions.py``)."""

from helpers import code

ALTERNATIVES = {
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
