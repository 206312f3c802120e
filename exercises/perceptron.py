# %% [markdown]
# # Exercises: tensors and the step-function perceptron
#
# Write each function where it says so, replacing `raise NotImplementedError`.
# Use NumPy and TensorFlow only. Check your work with
# `mlpkit exercises check FILE` (this notebook or its `.py`).

# %%
import numpy as np
import tensorflow as tf

# %% [markdown] exercise="step"
# ## The step activation
#
# Write `step(z)`: for a tensor `z` of any shape and a float dtype (float32
# or float64), return a tensor of the same shape and dtype that is `1` where
# `z > 0` and `0` elsewhere (so `step(0) = 0`). Do it without a Python loop.

# %% exercise="step"
def step(z):
    ### BEGIN SOLUTION
    return tf.cast(z > 0, z.dtype)
    ### END SOLUTION

# %% [markdown] exercise="nand_weights"
# ## Weights for NAND
#
# NAND is 1 unless both inputs are 1. Write `nand_weights()`, returning a pair
# `(w, b)`: two weights and a bias such that a step perceptron,
# `step(x @ w + b)`, computes NAND on the inputs (0,0), (0,1), (1,0), (1,1).

# %% exercise="nand_weights"
def nand_weights():
    ### BEGIN SOLUTION
    return np.array([-1.0, -1.0]), 1.5
    ### END SOLUTION

# %% [markdown] exercise="perceptron_forward"
# ## A perceptron on a batch
#
# Write `perceptron_forward(x, w, b)`: `x` has shape `(batch, inputs)`, `w`
# shape `(inputs, 1)` and `b` is a number. Return the perceptron's outputs,
# `step(x @ w + b)`, with shape `(batch, 1)`.

# %% exercise="perceptron_forward"
def perceptron_forward(x, w, b):
    ### BEGIN SOLUTION
    z = tf.matmul(x, w) + b
    return tf.cast(z > 0, z.dtype)
    ### END SOLUTION
