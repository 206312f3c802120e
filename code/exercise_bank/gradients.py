# %% [markdown]
# # Exercises: gradients by hand
#
# Write each function where it says so, replacing `raise NotImplementedError`.
# Use NumPy and TensorFlow only (you may check yourself with
# `tf.GradientTape`). Check your work with `mlpkit exercises check FILE`.

# %%
import numpy as np
import tensorflow as tf

# %% [markdown] exercise="sigmoid_prime"
# ## The sigmoid's derivative
#
# Write `sigmoid_prime(z)`, the derivative of the sigmoid at `z`, for a
# float32 or float64 tensor of any shape, computed in its dtype;
# $\sigma'(z) = \sigma(z)(1 - \sigma(z))$ gives it from the sigmoid itself.

# %% exercise="sigmoid_prime"
def sigmoid_prime(z):
    ### BEGIN SOLUTION
    s = tf.sigmoid(z)
    return s * (1 - s)
    ### END SOLUTION

# %% [markdown] exercise="mse_gradient"
# ## The gradient of the mean squared error
#
# The cost is `C = reduce_mean((a - y) ** 2)`, the mean over the batch **and**
# the outputs. Write `mse_gradient(a, y)`, returning $\partial C / \partial a$,
# a tensor of the same shape as `a`, computed in its dtype (float32 or
# float64).

# %% exercise="mse_gradient"
def mse_gradient(a, y):
    ### BEGIN SOLUTION
    return 2.0 * (a - y) / tf.cast(tf.size(a), a.dtype)
    ### END SOLUTION

# %% [markdown] exercise="sigmoid_layer_backward"
# ## Backward through one sigmoid layer
#
# A layer computes `a = sigmoid(x @ w + b)` for `x (batch, n_in)`,
# `w (n_in, n_out)`, `b (n_out,)`. Given `grad_a`, the gradient of the cost
# with respect to `a` (same shape as `a`), write
# `sigmoid_layer_backward(x, w, b, grad_a)` returning the tuple
# `(grad_w, grad_b, grad_x)` of the cost's gradients with respect to `w`, `b`
# and `x`, with their shapes.

# %% exercise="sigmoid_layer_backward"
def sigmoid_layer_backward(x, w, b, grad_a):
    ### BEGIN SOLUTION
    z = x @ w + b
    s = tf.sigmoid(z)
    delta = grad_a * s * (1 - s)
    return tf.transpose(x) @ delta, tf.reduce_sum(delta, axis=0), delta @ tf.transpose(w)
    ### END SOLUTION
