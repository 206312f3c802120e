# %% [markdown]
# # Exercises: training a sigmoid MLP
#
# Write each function where it says so, replacing `raise NotImplementedError`.
# Use NumPy and TensorFlow only. Check your work with
# `mlpkit exercises check FILE`.

# %%
import numpy as np
import tensorflow as tf

# %% [markdown] exercise="preprocess"
# ## Preprocessing images
#
# Write `preprocess(images)`: `images` is a uint8 array of shape `(n, 28, 28)`
# with pixels 0-255. Return a float32 tensor of shape `(n, 784)` with values
# in $[0, 1]$ (each pixel divided by 255; multiplying by `1 / 255` is as good:
# the checks allow for the last bit of float32).

# %% exercise="preprocess"
def preprocess(images):
    ### BEGIN SOLUTION
    images = tf.convert_to_tensor(images)
    return tf.reshape(tf.cast(images, tf.float32) / 255.0, (-1, 28 * 28))
    ### END SOLUTION

# %% [markdown] exercise="one_hot"
# ## One-hot labels
#
# Write `one_hot(labels, classes=10)`: for integer labels of shape `(n,)`,
# return a float32 tensor of shape `(n, classes)` with a 1 in each row at the
# label's index and 0 elsewhere.

# %% exercise="one_hot"
def one_hot(labels, classes=10):
    ### BEGIN SOLUTION
    return tf.one_hot(labels, classes, dtype=tf.float32)
    ### END SOLUTION

# %% [markdown] exercise="train_step"
# ## One step of gradient descent
#
# A one-layer sigmoid network computes `a = sigmoid(x @ w + b)` and is trained
# on the cost `C = reduce_mean((a - y) ** 2)`. Write
# `train_step(w, b, x, y, lr)` that returns the updated pair
# `(w - lr * dC/dw, b - lr * dC/db)` (tensors of the same shapes as `w` and
# `b`, computed in their dtype, float32 or float64). Use `tf.GradientTape` or
# your own backward pass.

# %% exercise="train_step"
def train_step(w, b, x, y, lr):
    ### BEGIN SOLUTION
    w, b = tf.Variable(w), tf.Variable(b)
    with tf.GradientTape() as tape:
        cost = tf.reduce_mean((tf.sigmoid(x @ w + b) - y) ** 2)
    grad_w, grad_b = tape.gradient(cost, [w, b])
    return w - lr * grad_w, b - lr * grad_b
    ### END SOLUTION

# %% [markdown] exercise="train_epoch"
# ## One epoch of mini-batch gradient descent
#
# Write `train_epoch(w, b, x, y, lr, batch_size)`: one epoch of mini-batch
# gradient descent on the network of `train_step`, with the same cost and
# update, returning the pair `(w, b)` after the last step. The batches are
# the rows of `x` and `y` *in the order given* (no shuffling here: the
# caller shuffles), cut into consecutive groups of `batch_size` rows: rows
# `0 .. batch_size - 1` make the first step, the next `batch_size` rows the
# second, and so on. When the number of rows `n` is not a multiple of
# `batch_size`, the last batch is the smaller rest, and it is a step too, so
# every row is used once. Each step's cost is the mean over *its own* batch
# (rows and outputs), exactly as in `train_step`. Compute in the dtype of
# `w` (float32 or float64); you may call your `train_step`.

# %% exercise="train_epoch"
def train_epoch(w, b, x, y, lr, batch_size):
    ### BEGIN SOLUTION
    w, b = tf.Variable(w), tf.Variable(b)
    for start in range(0, int(x.shape[0]), batch_size):  # the last batch may be smaller
        x_batch, y_batch = x[start : start + batch_size], y[start : start + batch_size]
        with tf.GradientTape() as tape:
            cost = tf.reduce_mean((tf.sigmoid(x_batch @ w + b) - y_batch) ** 2)
        grad_w, grad_b = tape.gradient(cost, [w, b])
        w.assign_sub(lr * grad_w)
        b.assign_sub(lr * grad_b)
    return tf.convert_to_tensor(w), tf.convert_to_tensor(b)
    ### END SOLUTION

# %% [markdown] exercise="accuracy"
# ## Accuracy
#
# Write `accuracy(outputs, labels)`: `outputs` has shape `(n, classes)` (one
# score per class), `labels` holds the true classes as integers, shape `(n,)`.
# Return the fraction of rows whose highest score is at the true class, a
# number between 0 and 1.

# %% exercise="accuracy"
def accuracy(outputs, labels):
    ### BEGIN SOLUTION
    predicted = tf.argmax(outputs, axis=1, output_type=tf.int64)
    return float(tf.reduce_mean(tf.cast(predicted == tf.cast(labels, tf.int64), tf.float64)))
    ### END SOLUTION
