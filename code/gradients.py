"""Chapter 3: gradients derived by hand, checked against ``tf.GradientTape``.

Three worked examples from the thesis (Pojunas 2021), then backpropagation for
a sigmoid MLP of any layer sizes:

- one weight: ``f(w) = a*w``, cost ``C = (f - target)^2``, ``dC/dw = 2a(f - target)``;
- two weights in a chain: ``a2 = a1*w1``, ``a3 = a2*w2``;
- one sigmoid neuron with a bias: ``y = σ(a*w + b)``;
- a sigmoid MLP with the mean squared error of chapter 4.

Notation: inputs are row vectors, so a batch is ``(B, n_0)``, layer ``l`` has
weights ``W_l`` of shape ``(n_{l-1}, n_l)`` and bias ``b_l`` of shape ``(n_l,)``,
``z_l = a_{l-1} @ W_l + b_l`` and ``a_l = σ(z_l)``. (Written with column
vectors, the chapter's ``W_l a`` is this ``a @ W_l`` transposed.) The loss is
``mse(a_L, y) = mean over batch AND outputs of (a_L - y)^2``, the chapter-4
convention; its gradient therefore carries a factor ``1 / (B * n_L)``.
"""

import numpy as np
import tensorflow as tf

from mlpkit.activations import sigmoid, sigmoid_prime

# --- one weight ---------------------------------------------------------------


def one_weight_grad(a, w, target):
    """``dC/dw`` for ``C = (a*w - target)^2``: ``2a(a*w - target)``."""
    return 2.0 * a * (a * w - target)


def one_weight_descent(a=2.0, w=0.8, target=1.0, lr=1.0, steps=5, dtype=tf.float64):
    """Gradient descent on the one-weight network; one row per step.

    ``lr=1.0`` is the thesis's "no learning rate" update ``w <- w - dC/dw``.
    Each row holds the weight, the output ``f = a*w``, the cost, the
    hand-derived gradient and the tape's gradient at that weight, before the
    update. ``steps`` updates give ``steps + 1`` rows.
    """
    a = tf.constant(a, dtype)
    w_var = tf.Variable(w, dtype=dtype)
    rows = []
    for _ in range(steps + 1):
        with tf.GradientTape() as tape:
            f = a * w_var
            cost = (f - target) ** 2
        tape_grad = tape.gradient(cost, w_var)
        hand_grad = one_weight_grad(a, w_var, target)
        rows.append(
            {"w": float(w_var), "f": float(f), "cost": float(cost), "hand dC/dw": float(hand_grad), "tape dC/dw": float(tape_grad)}
        )
        w_var.assign_sub(lr * hand_grad)
    return rows


def one_weight_closed_form(k, a=2.0, w0=0.8, target=1.0, lr=0.1):
    """The weight after ``k`` updates, from ``w_{k+1} - w* = (1 - 2 lr a^2)(w_k - w*)``, ``w* = target / a``."""
    w_star = target / a
    return w_star + (w0 - w_star) * (1.0 - 2.0 * lr * a * a) ** k


# --- two weights in a chain -------------------------------------------------------


def chain_grads(a1, w1, w2, target):
    """Hand-derived ``(dC/dw1, dC/dw2)`` for ``a3 = (a1*w1)*w2``, ``C = (a3 - target)^2``."""
    a2 = a1 * w1
    a3 = a2 * w2
    d_cost__d_a3 = 2.0 * (a3 - target)
    return a1 * w2 * d_cost__d_a3, a2 * d_cost__d_a3


def chain_descent(a1=2.0, w1=0.8, w2=3.0, target=1.0, lr=0.01, steps=25, dtype=tf.float32):
    """``steps`` updates of both chain weights; one row per state, hand and tape partials side by side.

    Both partials are taken at the same weights, then both weights move.
    """
    a1 = tf.constant(a1, dtype)
    w1 = tf.Variable(w1, dtype=dtype)
    w2 = tf.Variable(w2, dtype=dtype)
    rows = []
    for step in range(steps + 1):
        with tf.GradientTape() as tape:
            a3 = a1 * w1 * w2
            cost = (a3 - target) ** 2
        tape_w1, tape_w2 = tape.gradient(cost, [w1, w2])
        hand_w1, hand_w2 = chain_grads(a1, w1, w2, target)
        rows.append(
            {
                "step": step,
                "w1": float(w1),
                "w2": float(w2),
                "a3": float(a3),
                "hand dC/dw1": float(hand_w1),
                "tape dC/dw1": float(tape_w1),
                "hand dC/dw2": float(hand_w2),
                "tape dC/dw2": float(tape_w2),
            }
        )
        if step < steps:
            w1.assign_sub(lr * hand_w1)
            w2.assign_sub(lr * hand_w2)
    return rows


# --- one sigmoid neuron -------------------------------------------------------------


def sigmoid_neuron_grads(a, w, b, target):
    """Hand-derived ``(dC/dw, dC/db)`` for ``y = σ(a*w + b)``, ``C = (y - target)^2``."""
    z = a * w + b
    y = sigmoid(z)
    d_cost__d_z = 2.0 * (y - target) * sigmoid_prime(z)
    return a * d_cost__d_z, d_cost__d_z


# --- a sigmoid MLP of any size ------------------------------------------------------


def init_params(layer_sizes, seed=0, dtype=tf.float32, scale=1.0):
    """Weights and biases uniform in ``(-scale, scale)``: ``[W_1, b_1, ..., W_L, b_L]`` as ``tf.Variable``."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        params.append(tf.Variable(rng.uniform(-scale, scale, (n_in, n_out)), dtype=dtype))
        params.append(tf.Variable(rng.uniform(-scale, scale, (n_out,)), dtype=dtype))
    return params


def forward(params, x):
    """All activations ``[a_0 = x, a_1, ..., a_L]`` of the sigmoid MLP ``params = [W_1, b_1, ...]``."""
    activations = [tf.cast(x, params[0].dtype)]
    for weights, bias in zip(params[0::2], params[1::2]):
        activations.append(sigmoid(activations[-1] @ weights + bias))
    return activations


def mse(outputs, targets):
    """Mean over batch and outputs of ``(outputs - targets)^2``."""
    return tf.reduce_mean(tf.square(outputs - tf.cast(targets, outputs.dtype)))


def mlp_loss(params, x, y):
    """The chapter-4 loss of the sigmoid MLP on the batch ``(x, y)``."""
    return mse(forward(params, x)[-1], y)


def backprop(params, x, y):
    """Hand-derived gradients of ``mlp_loss`` for every parameter, in ``params`` order.

    The chain rule, one layer at a time from the output back, with
    ``σ'(z) = a(1 - a)``:

    - output: ``dC/da_L = 2(a_L - y) / (B * n_L)``  (B, n_L)
    - each layer: ``dC/dz_l = dC/da_l * a_l(1 - a_l)``  (B, n_l)
      ``dC/dW_l = a_{l-1}^T @ dC/dz_l``  (n_{l-1}, n_l)
      ``dC/db_l = sum over the batch of dC/dz_l``  (n_l,)
      ``dC/da_{l-1} = dC/dz_l @ W_l^T``  (B, n_{l-1})
    """
    activations = forward(params, x)
    output = activations[-1]
    y = tf.cast(y, output.dtype)
    batch, n_out = output.shape
    d_cost__d_a = 2.0 * (output - y) / (batch * n_out)  # (B, n_L)
    grads = [None] * len(params)
    for layer in reversed(range(len(params) // 2)):
        weights = params[2 * layer]  # (n_{l-1}, n_l)
        a_out, a_in = activations[layer + 1], activations[layer]  # (B, n_l), (B, n_{l-1})
        d_cost__d_z = d_cost__d_a * a_out * (1.0 - a_out)  # (B, n_l)
        grads[2 * layer] = tf.transpose(a_in) @ d_cost__d_z  # (n_{l-1}, n_l)
        grads[2 * layer + 1] = tf.reduce_sum(d_cost__d_z, axis=0)  # (n_l,)
        if layer:  # the inputs a_0 = x need no gradient
            d_cost__d_a = d_cost__d_z @ tf.transpose(weights)  # (B, n_{l-1})
    return grads


def param_names(params):
    """``["W1", "b1", "W2", "b2", ...]`` for a ``[W_1, b_1, ...]`` list."""
    return [f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1}" for i in range(len(params))]
