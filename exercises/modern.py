# %% [markdown]
# # Exercises: the modern MLP from TensorFlow's core pieces
#
# Write each function where it says so, replacing `raise NotImplementedError`.
# Use NumPy and TensorFlow only. Check your work with
# `mlpkit exercises check FILE`.

# %%
import numpy as np
import tensorflow as tf

# %% [markdown] exercise="softmax"
# ## A softmax that never overflows
#
# Write `softmax(logits)` for a float32 or float64 tensor of shape
# `(batch, classes)`, computed in its dtype: each row turned into
# probabilities, `exp(z_i) / sum_j exp(z_j)`. No step of it may overflow for
# logits as large as 1000 (subtract each row's maximum first: the result does
# not change, and no exponent overflows); the checks run it with TensorFlow's
# and NumPy's checks for infinities and NaN on.

# %% exercise="softmax"
def softmax(logits):
    ### BEGIN SOLUTION
    shifted = logits - tf.reduce_max(logits, axis=1, keepdims=True)
    e = tf.exp(shifted)
    return e / tf.reduce_sum(e, axis=1, keepdims=True)
    ### END SOLUTION

# %% [markdown] exercise="softmax_cross_entropy"
# ## Cross-entropy from logits
#
# Write `softmax_cross_entropy(logits, labels)`: `logits` has shape
# `(batch, classes)` (float32 or float64), `labels` holds integer classes,
# shape `(batch,)`. Return the mean over the batch of
# `-log softmax(logits)[label]`, a scalar, computed in the logits' dtype and
# stably: `log softmax(z)_i = z_i - m - log sum_j exp(z_j - m)` with `m` the
# row's maximum. Logits of 1000 must give a finite answer with no infinity or
# NaN on the way (the checks look, as for `softmax`).

# %% exercise="softmax_cross_entropy"
def softmax_cross_entropy(logits, labels):
    ### BEGIN SOLUTION
    shifted = logits - tf.reduce_max(logits, axis=1, keepdims=True)
    log_probabilities = shifted - tf.math.log(tf.reduce_sum(tf.exp(shifted), axis=1, keepdims=True))
    picked = tf.gather(log_probabilities, tf.cast(labels, tf.int32), axis=1, batch_dims=1)
    return -tf.reduce_mean(picked)
    ### END SOLUTION

# %% [markdown] exercise="softmax_cross_entropy_gradient"
# ## Cross-entropy's gradient with respect to the logits
#
# Write `softmax_cross_entropy_gradient(logits, labels)`: for `logits` of shape
# `(batch, classes)` (float32 or float64) and integer `labels` of shape
# `(batch,)`, return the gradient of the *mean* cross-entropy over the batch,
# `softmax_cross_entropy` above, with respect to the logits: the array
# `(softmax(logits) - t) / batch` of shape `(batch, classes)`, where `t` is the
# one-hot encoding of `labels`. Compute it in the logits' dtype, and stably:
# logits of 1000 must give a finite gradient with no infinity or NaN on the way
# (the checks look, as for `softmax`). Do not use `tf.GradientTape`: the point
# is the formula the chapter derives.

# %% exercise="softmax_cross_entropy_gradient"
def softmax_cross_entropy_gradient(logits, labels):
    ### BEGIN SOLUTION
    shifted = logits - tf.reduce_max(logits, axis=1, keepdims=True)
    e = tf.exp(shifted)
    probabilities = e / tf.reduce_sum(e, axis=1, keepdims=True)
    t = tf.one_hot(tf.cast(labels, tf.int32), tf.shape(logits)[1], dtype=logits.dtype)
    return (probabilities - t) / tf.cast(tf.shape(logits)[0], logits.dtype)
    ### END SOLUTION

# %% [markdown] exercise="relu_backward"
# ## ReLU's backward pass
#
# A ReLU layer computes `a = relu(z) = max(0, z)` element by element. Write
# `relu_backward(z, grad_a)`: given `z` and the gradient `grad_a` of the cost
# with respect to `a` (both of the same shape, float32 or float64), return the
# gradient with respect to `z`, of the same shape and dtype: `grad_a` where
# `z > 0` and 0 elsewhere. At `z = 0` exactly, where ReLU has no derivative,
# take it to be 0, as TensorFlow's `tf.nn.relu` does; the checks include
# entries with `z = 0`.

# %% exercise="relu_backward"
def relu_backward(z, grad_a):
    ### BEGIN SOLUTION
    return grad_a * tf.cast(z > 0, z.dtype)
    ### END SOLUTION

# %% [markdown] exercise="adam_step"
# ## One step of Adam
#
# Write `adam_step(w, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7)`
# for step number `t` (1 for the first step), in the form of the paper's
# Algorithm 1: update the moments `m = beta1 m + (1 - beta1) g` and
# `v = beta2 v + (1 - beta2) g^2`, correct their bias,
# `m_hat = m / (1 - beta1^t)`, `v_hat = v / (1 - beta2^t)`, and return the
# tuple `(w - lr m_hat / (sqrt(v_hat) + eps), m, v)`.
#
# This is not the "efficient" form of `mlpkit.modern_optimizers.Adam` and Keras,
# `w - lr sqrt(1 - beta2^t) / (1 - beta1^t) m / (sqrt(v) + eps)`, which adds
# `eps` to the uncorrected `sqrt(v)`: that is the paper's step with
# `eps / sqrt(1 - beta2^t)` in place of `eps`. The two differ noticeably only
# where `v` is tiny, next to `eps`; the checks try such a step, and compare
# within a relative 1e-9.

# %% exercise="adam_step"
def adam_step(w, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    ### BEGIN SOLUTION
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    ### END SOLUTION
