"""More right and wrong answers for chapter 5's exercises (see tests/test_exercise_solutions.py)."""

from helpers import code

ALTERNATIVES = {
    "make_predict": [
        code("""
            def make_predict(w, b):
                w, b = tf.Variable(w), tf.Variable(b)

                @tf.function(input_signature=[tf.TensorSpec(shape=(None, None), dtype=w.dtype)])
                def predict(x):
                    return 1 / (1 + tf.exp(-(tf.matmul(x, w) + b)))

                return predict
        """),
        code("""
            def make_predict(w, b):
                w, b = np.asarray(w), np.asarray(b)

                def forward(x):
                    return tf.math.sigmoid(tf.nn.bias_add(x @ w, b))

                return tf.function(forward, input_signature=(tf.TensorSpec((None, w.shape[0]), tf.as_dtype(w.dtype)),))
        """),
    ],
    "make_train_step": [
        code("""
            def make_train_step(w, b):
                w, b = tf.Variable(w), tf.Variable(b)
                dtype = w.dtype

                @tf.function(input_signature=[tf.TensorSpec(None, dtype)] * 2 + [tf.TensorSpec((), dtype)])
                def step(x, y, lr):
                    a = tf.sigmoid(x @ w + b)                                    # (batch, n_out)
                    d_cost__d_z = 2 * (a - y) / tf.cast(tf.size(a), dtype) * a * (1 - a)
                    w.assign_sub(lr * tf.transpose(x) @ d_cost__d_z)
                    b.assign_sub(lr * tf.reduce_sum(d_cost__d_z, axis=0))
                    return w.read_value(), b.read_value()

                return step
        """),
        code("""
            def make_train_step(w, b):
                params = [tf.Variable(w), tf.Variable(b)]

                def step(x, y, lr):
                    with tf.GradientTape() as tape:
                        cost = tf.reduce_mean(tf.square(tf.sigmoid(tf.matmul(x, params[0]) + params[1]) - y))
                    for param, grad in zip(params, tape.gradient(cost, params)):
                        param.assign(param - lr * grad)
                    return params[0], params[1]

                spec = tf.TensorSpec(shape=None, dtype=params[0].dtype)
                return tf.function(step, input_signature=(spec, spec, tf.TensorSpec(shape=[], dtype=spec.dtype)))
        """),
    ],
    "make_epoch": [
        code("""
            def make_epoch(w, b, batch_size):
                w, b = tf.Variable(w), tf.Variable(b)
                dtype = w.dtype

                @tf.function(input_signature=[tf.TensorSpec([None, None], dtype)] * 2 + [tf.TensorSpec([], dtype)])
                def epoch(x, y, lr):
                    n = tf.shape(x)[0]
                    batches = (n + batch_size - 1) // batch_size
                    for i in tf.range(batches):
                        rows = tf.range(i * batch_size, tf.minimum((i + 1) * batch_size, n))
                        x_batch, y_batch = tf.gather(x, rows), tf.gather(y, rows)
                        a = tf.sigmoid(x_batch @ w + b)
                        d_cost__d_z = 2 * (a - y_batch) / tf.cast(tf.size(a), dtype) * a * (1 - a)
                        w.assign_sub(lr * tf.transpose(x_batch) @ d_cost__d_z)
                        b.assign_sub(lr * tf.reduce_sum(d_cost__d_z, axis=0))
                    return w.read_value(), b.read_value()

                return epoch
        """),
        code("""
            def make_epoch(w, b, batch_size):
                params = [tf.Variable(w), tf.Variable(b)]
                spec = tf.TensorSpec(None, params[0].dtype)

                def one_step(x_batch, y_batch, lr):
                    with tf.GradientTape() as tape:
                        cost = tf.reduce_mean((tf.sigmoid(x_batch @ params[0] + params[1]) - y_batch) ** 2)
                    for param, grad in zip(params, tape.gradient(cost, params)):
                        param.assign_sub(lr * grad)

                def epoch(x, y, lr):
                    start = tf.constant(0)
                    while start < tf.shape(x)[0]:  # AutoGraph: a tf.while_loop
                        one_step(x[start:start + batch_size], y[start:start + batch_size], lr)
                        start += batch_size
                    return params[0], params[1]

                return tf.function(epoch, input_signature=[spec, spec, tf.TensorSpec([], spec.dtype)])
        """),
    ],
}

# name: [(solution, what is wrong with it)]
WRONG = {
    "make_predict": [
        (code("""
            def make_predict(w, b):
                @tf.function
                def predict(x):
                    return tf.sigmoid(x @ w + b)

                return predict
        """), "no input_signature: traced again for every new batch size"),
        (code("""
            def make_predict(w, b):
                w, b = tf.cast(w, tf.float32), tf.cast(b, tf.float32)

                @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
                def predict(x):
                    return tf.sigmoid(x @ w + b)

                return predict
        """), "always float32"),
    ],
    "make_train_step": [
        (code("""
            def make_train_step(w, b):
                w, b = tf.Variable(w), tf.Variable(b)

                @tf.function
                def step(x, y, lr):
                    with tf.GradientTape() as tape:
                        cost = tf.reduce_mean((tf.sigmoid(x @ w + b) - y) ** 2)
                    grad_w, grad_b = tape.gradient(cost, [w, b])
                    w.assign_sub(lr * grad_w)
                    b.assign_sub(lr * grad_b)
                    return tf.identity(w), tf.identity(b)

                return step
        """), "no input_signature: each new Python lr is a new trace, so it retraces on every call"),
        (code("""
            def make_train_step(w, b):
                w0, b0 = tf.constant(w), tf.constant(b)

                @tf.function(input_signature=[tf.TensorSpec(None, w0.dtype)] * 2 + [tf.TensorSpec([], w0.dtype)])
                def step(x, y, lr):
                    with tf.GradientTape() as tape:
                        tape.watch([w0, b0])
                        cost = tf.reduce_mean((tf.sigmoid(x @ w0 + b0) - y) ** 2)
                    grad_w, grad_b = tape.gradient(cost, [w0, b0])
                    return w0 - lr * grad_w, b0 - lr * grad_b

                return step
        """), "the weights do not carry over: every call starts again from w and b"),
    ],
    "make_epoch": [
        (code("""
            def make_epoch(w, b, batch_size):
                w, b = tf.Variable(w), tf.Variable(b)

                @tf.function
                def epoch(x, y, lr):
                    for start in range(0, x.shape[0], batch_size):  # unrolled while tracing, for each number of rows
                        with tf.GradientTape() as tape:
                            cost = tf.reduce_mean((tf.sigmoid(x[start:start + batch_size] @ w + b)
                                                   - y[start:start + batch_size]) ** 2)
                        grad_w, grad_b = tape.gradient(cost, [w, b])
                        w.assign_sub(lr * grad_w)
                        b.assign_sub(lr * grad_b)
                    return tf.identity(w), tf.identity(b)

                return epoch
        """), "a Python loop over x.shape[0] and no input_signature: traced again for each number of rows"),
        (code("""
            def make_epoch(w, b, batch_size):
                w, b = tf.Variable(w), tf.Variable(b)
                signature = [tf.TensorSpec(None, w.dtype)] * 2 + [tf.TensorSpec([], w.dtype)]

                @tf.function(input_signature=signature)
                def epoch(x, y, lr):
                    for i in tf.range(tf.shape(x)[0] // batch_size):  # full batches only
                        rows = slice(i * batch_size, (i + 1) * batch_size)
                        with tf.GradientTape() as tape:
                            cost = tf.reduce_mean((tf.sigmoid(x[rows] @ w + b) - y[rows]) ** 2)
                        grad_w, grad_b = tape.gradient(cost, [w, b])
                        w.assign_sub(lr * grad_w)
                        b.assign_sub(lr * grad_b)
                    return tf.identity(w), tf.identity(b)

                return epoch
        """), "the last, smaller batch left out"),
    ],
}
