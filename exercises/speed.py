# %% [markdown]
# # Exercises: graphs and speed with `tf.function`
#
# Write each function where it says so, replacing `raise NotImplementedError`.
# Use NumPy and TensorFlow only. Check your work with
# `mlpkit exercises check FILE`.
#
# Each function here returns a `tf.function`. The checks call it several
# times and read `experimental_get_tracing_count()` afterwards: besides
# computing the right numbers, it must be traced only once. A `tf.function`
# is traced again for every new shape or dtype of a tensor argument and for
# every new value of a Python argument, unless it is given an
# `input_signature`: a list with one `tf.TensorSpec(shape, dtype)` per
# argument, where `None` in a shape stands for any size, e.g.
# `tf.TensorSpec([None, n_in], w.dtype)` for a batch of any number of rows
# (and `tf.TensorSpec([], w.dtype)` for a scalar; a Python number passed for
# it is converted to a tensor of that dtype).

# %%
import numpy as np
import tensorflow as tf

# %% [markdown] exercise="make_predict"
# ## A forward pass for any batch size
#
# Write `make_predict(w, b)`: `w` has shape `(n_in, n_out)` and `b` shape
# `(n_out,)`, float32 or float64. Return a `tf.function` `predict(x)` that
# gives `sigmoid(x @ w + b)` for a batch `x` of shape `(batch, n_in)` in the
# dtype of `w`, for any number of rows, and is traced only once however many
# different batch sizes it is called with.

# %% exercise="make_predict"
def make_predict(w, b):
    ### BEGIN SOLUTION
    w, b = tf.constant(w), tf.constant(b)

    @tf.function(input_signature=[tf.TensorSpec([None, w.shape[0]], w.dtype)])
    def predict(x):
        return tf.sigmoid(x @ w + b)

    return predict
    ### END SOLUTION

# %% [markdown] exercise="make_train_step"
# ## A compiled step with a learning-rate schedule
#
# Write `make_train_step(w, b)`, returning a `tf.function` `step(x, y, lr)`
# that does one step of chapter 4's `train_step` (cost
# `reduce_mean((sigmoid(x @ w + b) - y) ** 2)`, update `w - lr * dC/dw`,
# `b - lr * dC/db`) on its own weights, and returns them, `(w, b)`, after the
# update. Its weights start as `w` and `b` and carry over from call to call:
# make them `tf.Variable`s in `make_train_step` (a `tf.function` may not
# create new variables on each call) and update them with `assign_sub`.
# Compute in the dtype of `w`.
#
# The caller follows a schedule: `lr` arrives as a *Python float* that changes
# from call to call, and the batches all have one shape. The function must be
# traced only once.

# %% exercise="make_train_step"
def make_train_step(w, b):
    ### BEGIN SOLUTION
    w, b = tf.Variable(w), tf.Variable(b)
    batch, scalar = tf.TensorSpec(None, w.dtype), tf.TensorSpec([], w.dtype)

    @tf.function(input_signature=[batch, batch, scalar])
    def step(x, y, lr):
        with tf.GradientTape() as tape:
            cost = tf.reduce_mean((tf.sigmoid(x @ w + b) - y) ** 2)
        grad_w, grad_b = tape.gradient(cost, [w, b])
        w.assign_sub(lr * grad_w)
        b.assign_sub(lr * grad_b)
        return tf.identity(w), tf.identity(b)

    return step
    ### END SOLUTION

# %% [markdown] exercise="make_epoch"
# ## A whole epoch as one graph
#
# Write `make_epoch(w, b, batch_size)`, returning a `tf.function`
# `epoch(x, y, lr)` that runs one epoch of chapter 4's `train_epoch` on its
# own weights (variables, as in `make_train_step`, carried over from call to
# call) and returns them, `(w, b)`, after the epoch: the rows in the order
# given, in consecutive batches of `batch_size` rows, the last batch the
# smaller rest if the number of rows is not a multiple of `batch_size`, each
# step's cost the mean over its own batch. Compute in the dtype of `w`; `lr`
# is a Python float.
#
# The loop over the batches runs inside the graph, and the function is traced
# only once, although each call brings a data set with another number of
# rows. With a shape of `None` rows, `x.shape[0]` is unknown while tracing:
# loop with `tf.range` over `tf.shape(x)[0]`, which AutoGraph turns into a
# loop in the graph.

# %% exercise="make_epoch"
def make_epoch(w, b, batch_size):
    ### BEGIN SOLUTION
    w, b = tf.Variable(w), tf.Variable(b)
    n_in, n_out = w.shape
    signature = [tf.TensorSpec([None, n_in], w.dtype),   # x: any number of rows
                 tf.TensorSpec([None, n_out], w.dtype),  # y
                 tf.TensorSpec([], w.dtype)]             # lr

    @tf.function(input_signature=signature)
    def epoch(x, y, lr):
        for start in tf.range(0, tf.shape(x)[0], batch_size):  # the last batch may be smaller
            x_batch, y_batch = x[start : start + batch_size], y[start : start + batch_size]
            with tf.GradientTape() as tape:
                cost = tf.reduce_mean((tf.sigmoid(x_batch @ w + b) - y_batch) ** 2)
            grad_w, grad_b = tape.gradient(cost, [w, b])
            w.assign_sub(lr * grad_w)
            b.assign_sub(lr * grad_b)
        return tf.identity(w), tf.identity(b)

    return epoch
    ### END SOLUTION
