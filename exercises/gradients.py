# %% [markdown]
# # Exercises: gradients by hand
#
# Write each function where it says so, replacing `raise NotImplementedError`.
# Use NumPy and TensorFlow only (you may check yourself with
# `tf.GradientTape`). Check your work with `mlpkit exercises check FILE`.

# %%
import math

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

# %% [markdown] exercise="two_layer_backward"
# ## Backpropagation through two sigmoid layers
#
# A network with one hidden layer computes, for a batch `x` of shape
# `(B, n0)`, `a1 = sigmoid(x @ w1 + b1)` and `y = sigmoid(a1 @ w2 + b2)`,
# with `w1 (n0, n1)`, `b1 (n1,)`, `w2 (n1, n2)`, `b2 (n2,)`. With targets `t`
# of shape `(B, n2)`, the cost is `C = reduce_mean((y - t) ** 2)`, the mean
# over the batch **and** the outputs. Write
# `two_layer_backward(x, w1, b1, w2, b2, t)` returning the tuple
# `(grad_w1, grad_b1, grad_w2, grad_b2)` of $\partial C / \partial w_1$,
# $\partial C / \partial b_1$, $\partial C / \partial w_2$ and
# $\partial C / \partial b_2$, each with the shape of its parameter and in the
# inputs' dtype (float64 in the checks). Derive it with the chain rule, one
# layer at a time from the output back: the checks cannot tell whether you
# used `tf.GradientTape`, but the exercise is to write backpropagation
# yourself, and to check it against the tape.

# %% exercise="two_layer_backward"
def two_layer_backward(x, w1, b1, w2, b2, t):
    ### BEGIN SOLUTION
    a1 = tf.sigmoid(x @ w1 + b1)  # (B, n1)
    y = tf.sigmoid(a1 @ w2 + b2)  # (B, n2)
    d_cost__d_y = 2.0 * (y - t) / tf.cast(tf.size(y), y.dtype)  # (B, n2)
    d_cost__d_z2 = d_cost__d_y * y * (1 - y)  # (B, n2)
    d_cost__d_a1 = d_cost__d_z2 @ tf.transpose(w2)  # (B, n1)
    d_cost__d_z1 = d_cost__d_a1 * a1 * (1 - a1)  # (B, n1)
    return (tf.transpose(x) @ d_cost__d_z1, tf.reduce_sum(d_cost__d_z1, axis=0),
            tf.transpose(a1) @ d_cost__d_z2, tf.reduce_sum(d_cost__d_z2, axis=0))
    ### END SOLUTION

# %% [markdown] exercise="numerical_gradient_of_cost"
# ## A finite-difference gradient
#
# A sigmoid neuron without a bias has a weight vector `w` of shape `(n,)`;
# on a batch `x` of shape `(B, n)` with targets `t` of shape `(B,)` its cost
# is $C(w) = \frac{1}{B}\sum_i (\sigma(x_i \cdot w) - t_i)^2$, the mean over
# the batch. Write `numerical_gradient_of_cost(w, x, t, h)` returning the
# central differences
# $\frac{C(w + h e_k) - C(w - h e_k)}{2h}$ for every $k$, where $e_k$ is the
# $k$-th unit vector: a float64 array of shape `(n,)`, computed in float64
# whatever the inputs' dtype. Compute the difference quotients themselves, not
# the exact gradient: with a large step such as `h = 0.5` the two differ, and
# the checks use such steps too.

# %% exercise="numerical_gradient_of_cost"
def numerical_gradient_of_cost(w, x, t, h):
    ### BEGIN SOLUTION
    w = np.asarray(w, dtype=np.float64)
    x, t = np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64)

    def cost(weights):
        return np.mean((1 / (1 + np.exp(-(x @ weights))) - t) ** 2)

    grad = np.zeros_like(w)
    for k in range(len(w)):
        step = np.zeros_like(w)
        step[k] = h
        grad[k] = (cost(w + step) - cost(w - step)) / (2 * h)
    return grad
    ### END SOLUTION

# %% [markdown] exercise="relative_error"
# ## The relative error of a gradient check
#
# A gradient check compares two gradients `a` and `b` (arrays of the same
# shape) by their relative error, element by element:
# $\frac{|a_i - b_i|}{\max(|a_i|, |b_i|)}$, taken as 0 where $a_i$ and $b_i$
# are both 0. Write `relative_error(a, b)` returning the largest of these as a
# float.

# %% exercise="relative_error"
def relative_error(a, b):
    ### BEGIN SOLUTION
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    both_zero = scale == 0
    errors = np.abs(a - b) / np.where(both_zero, 1.0, scale)
    return float(np.max(np.where(both_zero, 0.0, errors)))
    ### END SOLUTION

# %% [markdown] exercise="softplus_op"
# ## A new operation for the engine
#
# The cell below holds the chapter's engine, `mlpkit.autodiff.Value`, with
# only `+`, `*` and `**`. Give it a new operation, the softplus
# $\operatorname{softplus}(z) = \ln(1 + e^z)$, as **one** operation with its
# own backward rule: write `softplus(v)` returning a new `Value` whose data is
# the softplus of `v.data`, whose only parent is `v` and whose local gradient
# is the derivative $\operatorname{softplus}'(z)$ (work it out: it is a
# function you have met). A chain of several nodes could give the right
# numbers, but it would not be one operation, and the checks tell the
# difference.
# It must not overflow: `math.exp(1000.0)` raises `OverflowError`, but
# $\operatorname{softplus}(1000) = 1000$ to float64 precision. Check your
# rule against `tf.GradientTape` on `tf.math.softplus`.
#
# `softplus_through_engine(zs)`, given, runs your operation inside a larger
# expression, $y = 3\operatorname{softplus}(2z)^2$, and returns for each `z`
# the row `[softplus(2z), dy/dz, 1 if its only parent is its input else 0]`.

# %%
# The chapter's engine (mlpkit.autodiff.Value), trimmed to what this exercise uses:
# a graded submission runs without the kit, so the copy is here.
class Value:
    def __init__(self, data, parents=(), local_grads=(), op=""):
        self.data, self.grad = float(data), 0.0
        self.parents, self.local_grads, self.op = parents, local_grads, op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    __radd__, __rmul__ = __add__, __mul__

    def __pow__(self, k):
        return Value(self.data**k, (self,), (k * self.data ** (k - 1),), f"**{k:g}")

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # topological order: every node after its parents
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((parent, False) for parent in node.parents)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            for parent, local in zip(node.parents, node.local_grads):
                parent.grad += local * node.grad


def softplus_through_engine(zs):
    """Rows [softplus(2z), dy/dz, 1.0 if one node] for y = 3 softplus(2z)^2."""
    rows = []
    for z in zs:
        x = Value(z)
        inner = x * 2.0
        s = softplus(inner)
        y = 3.0 * s**2
        y.backward()
        rows.append([s.data, x.grad, float(tuple(s.parents) == (inner,))])
    return np.array(rows, dtype=np.float64)

# %% exercise="softplus_op"
def softplus(v):
    ### BEGIN SOLUTION
    z = v.data
    data = max(z, 0.0) + math.log1p(math.exp(-abs(z)))  # never overflows
    e = math.exp(-abs(z))
    slope = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)  # sigmoid(z)
    return Value(data, (v,), (slope,), "softplus")
    ### END SOLUTION

