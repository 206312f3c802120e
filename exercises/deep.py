# %% [markdown]
# # Exercises: making deep networks train
#
# Write each function where it says so, replacing `raise NotImplementedError`.
# Use NumPy and TensorFlow only. Check your work with
# `mlpkit exercises check FILE`.

# %%
import numpy as np
import tensorflow as tf

# %% [markdown] exercise="glorot_limit"
# ## Glorot's limit
#
# Glorot's initialisation draws the weights of a layer with `n_in` inputs and
# `n_out` units from a uniform distribution `U(-a, a)` whose variance is
# `2 / (n_in + n_out)`, the compromise between the forward condition
# `n_in Var[W] = 1` and the backward one `n_out Var[W] = 1`. Write
# `glorot_limit(n_in, n_out)` returning the limit `a` as a float. (A uniform
# distribution on `(-a, a)` has variance `a^2 / 3`.)

# %% exercise="glorot_limit"
def glorot_limit(n_in, n_out):
    ### BEGIN SOLUTION
    return float(np.sqrt(6.0 / (n_in + n_out)))
    ### END SOLUTION

# %% [markdown] exercise="he_uniform"
# ## He initialisation
#
# Write `he_uniform(n_in, n_out, seed)` returning a float32 array (NumPy or
# TensorFlow) of shape `(n_in, n_out)`, the weights `W_l` of a ReLU layer
# with `n_in` inputs and `n_out` units: independent draws from a uniform
# distribution with mean 0 and variance `2 / n_in`. Use `seed` so that the
# same seed gives the same weights. The checks look at what you return: its
# shape and dtype, that every weight lies within the uniform's limits, and
# that its mean and variance match within what random sampling allows.

# %% exercise="he_uniform"
def he_uniform(n_in, n_out, seed):
    ### BEGIN SOLUTION
    limit = np.sqrt(6.0 / n_in)
    rng = np.random.default_rng(seed)
    return rng.uniform(-limit, limit, size=(n_in, n_out)).astype(np.float32)
    ### END SOLUTION

# %% [markdown] exercise="l2_decay_step"
# ## One step of gradient descent with L2 weight decay
#
# L2 regularisation adds `(lam / 2) * ||W||^2`, half of `lam` times the sum of
# the squared weights, to the cost `C`. Write `l2_decay_step(w, grad, lr, lam)`
# returning the weights after one step of gradient descent with learning
# rate `lr` on `C + (lam / 2) ||W||^2`, where `grad` is `dC/dW` (the gradient
# of the cost without the penalty) and `w` and `grad` have the same shape.
# Return an array of that shape.

# %% exercise="l2_decay_step"
def l2_decay_step(w, grad, lr, lam):
    ### BEGIN SOLUTION
    return w - lr * (grad + lam * w)
    ### END SOLUTION

# %% [markdown] exercise="layer_gradient_norms"
# ## The gradient reaching each layer
#
# `weights` is a list `[W_1, ..., W_L]` and `biases` a list
# `[b_1, ..., b_L]` of float64 arrays, `W_l` of shape `(n_{l-1}, n_l)` and
# `b_l` of shape `(n_l,)`, of a network whose every layer, the output
# included, is a sigmoid: `a_l = sigmoid(a_{l-1} @ W_l + b_l)`, `a_0 = x`.
# `x` is a batch `(B, n_0)` and `t` its one-hot targets `(B, n_L)`. The cost
# is chapter 4's mean squared error, the mean over the batch AND the outputs
# of `(a_L - t)^2`. Write `layer_gradient_norms(weights, biases, x, t)`
# returning a float64 array of `L` numbers: the Frobenius norm (the square
# root of the sum of squares) of `dC/dW_l` for each layer, first layer
# first. The checks compare within a relative 1e-7.

# %% exercise="layer_gradient_norms"
def layer_gradient_norms(weights, biases, x, t):
    ### BEGIN SOLUTION
    weights = [tf.Variable(w, dtype=tf.float64) for w in weights]
    with tf.GradientTape() as tape:
        a = tf.constant(x, tf.float64)
        for w, b in zip(weights, biases):
            a = tf.sigmoid(a @ w + tf.constant(b, tf.float64))
        cost = tf.reduce_mean(tf.square(a - tf.constant(t, tf.float64)))
    return np.array([float(tf.norm(g)) for g in tape.gradient(cost, weights)])
    ### END SOLUTION

# %% [markdown] exercise="batch_norm_forward"
# ## Batch normalisation in training mode
#
# In training, a batch-normalisation layer normalises each unit (each column
# of `z`, a batch of shape `(B, n)`) with that column's mean and variance over
# the batch, then scales and shifts it:
# `y = gamma * (z - mean) / sqrt(variance + epsilon) + beta`, where `gamma` and
# `beta` have shape `(n,)`. The variance is the biased one, divided by `B`, as
# in Keras and `tf.nn.moments`. Write `batch_norm_forward(z, gamma, beta,
# epsilon)` returning `y`, of `z`'s shape. The checks pass float64 arrays and
# compare within a relative 1e-7.

# %% exercise="batch_norm_forward"
def batch_norm_forward(z, gamma, beta, epsilon):
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    mean, variance = z.mean(axis=0), z.var(axis=0)
    return gamma * (z - mean) / np.sqrt(variance + epsilon) + beta
    ### END SOLUTION

# %% [markdown] exercise="residual_forward"
# ## A residual block
#
# A residual (skip) connection adds a layer's input to its output. For a
# batch `x` of shape `(B, n)`, a square weight matrix `w` `(n, n)` and a bias
# `b` `(n,)`, write `residual_forward(x, w, b)` returning
# `x + sigmoid(x @ w + b)`, of shape `(B, n)`. The checks pass float64 arrays
# and compare within a relative 1e-7.

# %% exercise="residual_forward"
def residual_forward(x, w, b):
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    return x + 1.0 / (1.0 + np.exp(-(x @ w + b)))
    ### END SOLUTION
