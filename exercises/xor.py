# %% [markdown]
# # Exercises: the hand-weighted XOR network
#
# Write each function where it says so, replacing `raise NotImplementedError`.
# Use NumPy and TensorFlow only. Check your work with
# `mlpkit exercises check FILE`.

# %%
import numpy as np
import tensorflow as tf

# %% [markdown] exercise="xor_weights"
# ## Weights for XOR
#
# Write `xor_weights()`, returning `(w1, b1, w2, b2)` for a network with two
# inputs, one hidden layer of step perceptrons and one step output:
# `step(step(x @ w1 + b1) @ w2 + b2)` must be 0, 1, 1, 0 on (0,0), (0,1),
# (1,0), (1,1). Shapes: `w1 (2, h)`, `b1 (1, h)`, `w2 (h, 1)`, `b2 (1, 1)` for
# `h` hidden units of your choice. Your own weights, not the chapter's, are
# welcome.

# %% exercise="xor_weights"
def xor_weights():
    ### BEGIN SOLUTION
    w1 = np.array([[1.0, -1.0], [1.0, -1.0]])
    b1 = np.array([[-0.5, 1.5]])
    w2 = np.array([[1.0], [1.0]])
    b2 = np.array([[-1.5]])
    return w1, b1, w2, b2
    ### END SOLUTION

# %% [markdown] exercise="sigmoid"
# ## A sigmoid that never overflows
#
# Write `sigmoid(z)`, $1 / (1 + e^{-z})$, for a float32 or float64 tensor of
# any shape, computed in its dtype. No step of it may overflow, even for
# `z = -1000` or `z = 1000`. Written as the formula reads, `1 / (1 + exp(-z))`
# computes `exp(1000) = inf` at `z = -1000`: the value comes out right only
# because `1 / (1 + inf)` is 0, and the gradient through it is NaN; written as
# `exp(z) / (1 + exp(z))` it is `inf / inf = NaN` at `z = 1000`. The checks run
# your function with TensorFlow's and NumPy's checks for infinities and NaN on,
# so any operation that gives one fails them. (`exp(-|z|)` never overflows;
# `tf.where` computes both of its branches.)

# %% exercise="sigmoid"
def sigmoid(z):
    ### BEGIN SOLUTION
    positive = z >= 0
    e = tf.exp(-tf.abs(z))
    return tf.where(positive, 1.0 / (1.0 + e), e / (1.0 + e))
    ### END SOLUTION

# %% [markdown] exercise="parameter_count"
# ## Counting parameters
#
# Write `parameter_count(layers)`: for a fully connected network with layer
# sizes `layers` (e.g. `[784, 15, 10]`: 784 inputs, 15 hidden units, 10
# outputs; any number of layers), return the number of weights and biases,
# as an `int`.

# %% exercise="parameter_count"
def parameter_count(layers):
    ### BEGIN SOLUTION
    return int(sum(n_in * n_out + n_out for n_in, n_out in zip(layers[:-1], layers[1:])))
    ### END SOLUTION
