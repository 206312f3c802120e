"""Chapter 3: gradients derived by hand, checked against ``tf.GradientTape``.

Three worked examples from the thesis (Pojunas 2021), then backpropagation for a sigmoid
MLP of any layer sizes. The names follow the book's notation page: input ``x``, target
``t``, output ``y``, learning rate ``lr`` (η).

- one weight: ``y = x*w``, cost ``C = (y - t)^2``, ``dC/dw = 2x(y - t)``;
- two weights in a chain: ``a1 = x*w1``, ``y = a1*w2``;
- one sigmoid neuron with a bias: ``y = σ(x*w + b)``;
- a sigmoid MLP with the mean squared error of chapter 4.

The thesis writes the input ``a``, the output ``f(w)`` (in the chain ``a3``, with input
``a1``), the target ``ŷ`` and the learning rate ``r``.

Shapes: examples are rows, so a batch of ``B`` examples is ``(B, n_0)``; layer ``l`` has
weights ``W_l`` of shape ``(n_{l-1}, n_l)`` and bias ``b_l`` of shape ``(n_l,)``, and
computes ``z_l = a_{l-1} @ W_l + b_l``, ``(B, n_l)``, and ``a_l = σ(z_l)``, with
``a_0 = x`` and output ``y = a_L``. The loss is ``mse(y, t) = mean over batch AND
outputs of (y - t)^2``, the chapter-4 convention; its gradient therefore carries a
factor ``1 / (B * n_L)``.
"""

import numpy as np
import tensorflow as tf

from mlpkit.activations import sigmoid, sigmoid_prime

# --- one weight ---------------------------------------------------------------


def one_weight_grad(x, w, t):
    """``dC/dw`` for ``C = (x*w - t)^2``: ``2x(x*w - t)``."""
    return 2.0 * x * (x * w - t)


def one_weight_descent(x=2.0, w=0.8, t=1.0, lr=1.0, steps=5, dtype=tf.float64):
    """Gradient descent on the one-weight network; one row per step.

    ``lr=1.0`` is the thesis's "no learning rate" update ``w <- w - dC/dw``. Each row
    holds the weight, the output ``y = x*w``, the cost, the hand-derived gradient and
    the tape's gradient at that weight, before the update. ``steps`` updates give
    ``steps + 1`` rows.
    """
    x = tf.constant(x, dtype)
    w_var = tf.Variable(w, dtype=dtype)
    rows = []
    for _ in range(steps + 1):
        with tf.GradientTape() as tape:
            y = x * w_var
            cost = (y - t) ** 2
        tape_grad = tape.gradient(cost, w_var)
        hand_grad = one_weight_grad(x, w_var, t)
        rows.append(
            {
                "w": float(w_var),
                "y": float(y),
                "cost": float(cost),
                "hand dC/dw": float(hand_grad),
                "tape dC/dw": float(tape_grad),
            }
        )
        w_var.assign_sub(lr * hand_grad)
    return rows


def one_weight_closed_form(k, x=2.0, w0=0.8, t=1.0, lr=0.1):
    """The weight after ``k`` updates, from ``w_{k+1} - w* = (1 - 2 lr x^2)(w_k - w*)``,
    ``w* = t / x``."""
    w_star = t / x
    return w_star + (w0 - w_star) * (1.0 - 2.0 * lr * x * x) ** k


# --- two weights in a chain -------------------------------------------------------


def chain_grads(x, w1, w2, t):
    """Hand-derived ``(dC/dw1, dC/dw2)`` for ``y = (x*w1)*w2``, ``C = (y - t)^2``."""
    a1 = x * w1
    y = a1 * w2
    d_cost__d_y = 2.0 * (y - t)
    return x * w2 * d_cost__d_y, a1 * d_cost__d_y


def chain_descent(x=2.0, w1=0.8, w2=3.0, t=1.0, lr=0.01, steps=25, dtype=tf.float32):
    """``steps`` updates of both chain weights; one row per state, hand and tape
    partials side by side.

    Both partials are taken at the same weights, then both weights move.
    """
    x = tf.constant(x, dtype)
    w1 = tf.Variable(w1, dtype=dtype)
    w2 = tf.Variable(w2, dtype=dtype)
    rows = []
    for step in range(steps + 1):
        with tf.GradientTape() as tape:
            y = x * w1 * w2
            cost = (y - t) ** 2
        tape_w1, tape_w2 = tape.gradient(cost, [w1, w2])
        hand_w1, hand_w2 = chain_grads(x, w1, w2, t)
        rows.append(
            {
                "step": step,
                "w1": float(w1),
                "w2": float(w2),
                "y": float(y),
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


def sigmoid_neuron_grads(x, w, b, t):
    """Hand-derived ``(dC/dw, dC/db)`` for ``y = σ(x*w + b)``, ``C = (y - t)^2``."""
    z = x * w + b
    y = sigmoid(z)
    d_cost__d_z = 2.0 * (y - t) * sigmoid_prime(z)
    return x * d_cost__d_z, d_cost__d_z


# --- a sigmoid MLP of any size ------------------------------------------------------


def init_params(layer_sizes, seed=0, dtype=tf.float32, scale=1.0):
    """Weights and biases uniform in ``(-scale, scale)``: ``[W_1, b_1, ..., W_L, b_L]``
    as ``tf.Variable``."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        params.append(
            tf.Variable(rng.uniform(-scale, scale, (n_in, n_out)), dtype=dtype)
        )
        params.append(tf.Variable(rng.uniform(-scale, scale, (n_out,)), dtype=dtype))
    return params


def forward(params, x):
    """All activations ``[a_0 = x, a_1, ..., a_L]`` of the sigmoid MLP
    ``params = [W_1, b_1, ...]``.

    ``x`` is a batch ``(B, n_0)``; ``a_l = σ(a_{l-1} @ W_l + b_l)`` is ``(B, n_l)``.
    """
    activations = [tf.cast(x, params[0].dtype)]
    for weights, bias in zip(params[0::2], params[1::2]):
        activations.append(sigmoid(activations[-1] @ weights + bias))
    return activations


def mse(outputs, targets):
    """Mean over batch and outputs of ``(outputs - targets)^2``."""
    return tf.reduce_mean(tf.square(outputs - tf.cast(targets, outputs.dtype)))


def mlp_loss(params, x, t):
    """The chapter-4 loss of the sigmoid MLP on inputs ``x`` with targets ``t``."""
    return mse(forward(params, x)[-1], t)


# Shown in book/gradients.md (literalinclude).
def backprop(params, x, t):
    """Hand-derived gradients of ``mlp_loss`` for every parameter, in ``params`` order.

    The chain rule, one layer at a time from the output back, with ``σ'(z) = a(1 - a)``:

    - output: ``dC/dy = 2(y - t) / (B * n_L)`` with ``y = a_L``  (B, n_L)
    - each layer: ``δ_l = dC/dz_l = dC/da_l * a_l(1 - a_l)``  (B, n_l)
      ``dC/dW_l = a_{l-1}^T @ dC/dz_l``  (n_{l-1}, n_l) ``dC/db_l = sum over the batch
      of dC/dz_l``  (n_l,) ``dC/da_{l-1} = dC/dz_l @ W_l^T``  (B, n_{l-1})
    """
    activations = forward(params, x)
    y = activations[-1]  # the output a_L
    t = tf.cast(t, y.dtype)
    batch, n_out = y.shape
    d_cost__d_a = 2.0 * (y - t) / (batch * n_out)  # (B, n_L)
    grads = [None] * len(params)
    for layer in reversed(range(len(params) // 2)):
        weights = params[2 * layer]  # (n_{l-1}, n_l)
        # (B, n_l), (B, n_{l-1})
        a_out, a_in = activations[layer + 1], activations[layer]
        d_cost__d_z = d_cost__d_a * a_out * (1.0 - a_out)  # δ_l, (B, n_l)
        grads[2 * layer] = tf.transpose(a_in) @ d_cost__d_z  # (n_{l-1}, n_l)
        grads[2 * layer + 1] = tf.reduce_sum(d_cost__d_z, axis=0)  # (n_l,)
        if layer:  # the inputs a_0 = x need no gradient
            d_cost__d_a = d_cost__d_z @ tf.transpose(weights)  # (B, n_{l-1})
    return grads


# Shown in book/gradients.md (literalinclude).
def backprop_by_index(params, x, t):
    """BP1-BP4, one number at a time (float64 NumPy loops, for small networks).

    Layers are numbered as in the book, 1 to L: ``W[l]`` is ``(n_{l-1}, n_l)``,
    ``a[0] = x``, ``a[L] = y``, and ``delta[l][i, j] = dC/dz_l,ij`` for example ``i``
    and unit ``j``. Returns ``delta[1:]`` and the gradients in ``params`` order.
    """
    W = [None] + [np.asarray(w, float) for w in params[0::2]]
    a = [np.asarray(act, float) for act in forward(params, x)]
    t, L = np.asarray(t, float), len(W) - 1
    B, n = t.shape[0], [w.shape[0] for w in W[1:]] + [t.shape[1]]  # n[l] = n_l
    delta = [None] + [np.zeros((B, n[layer])) for layer in range(1, L + 1)]
    for i in range(B):
        for j in range(n[L]):  # BP1: δ_L,j = ∂C/∂a_L,j · σ'(z_L,j)
            y = a[L][i, j]
            delta[L][i, j] = 2 * (y - t[i, j]) / (B * n[L]) * y * (1 - y)
        for layer in range(L - 1, 0, -1):  # BP2, from the output back
            for j in range(n[layer]):  # δ_l,j = Σ_k W_l+1,jk δ_l+1,k · σ'(z_l,j)
                s = sum(
                    W[layer + 1][j, k] * delta[layer + 1][i, k]
                    for k in range(n[layer + 1])
                )
                delta[layer][i, j] = s * a[layer][i, j] * (1 - a[layer][i, j])
    grads = []
    for layer in range(1, L + 1):
        dW = np.zeros((n[layer - 1], n[layer]))
        for k in range(n[layer - 1]):  # BP4: ∂C/∂W_l,kj = Σ_i a_l-1,ik δ_l,ij
            for j in range(n[layer]):
                dW[k, j] = sum(
                    a[layer - 1][i, k] * delta[layer][i, j] for i in range(B)
                )
        # BP3: ∂C/∂b_l,j = Σ_i δ_l,ij
        db = np.array(
            [sum(delta[layer][i, j] for i in range(B)) for j in range(n[layer])]
        )
        grads += [dW, db]
    return delta[1:], grads


def tape_deltas(params, x, t):
    """``δ_l = dC/dz_l`` for every layer, from ``tf.GradientTape`` (watching each
    ``z_l``): the reference for :func:`backprop_by_index`."""
    with tf.GradientTape() as tape:
        zs, a = [], tf.cast(x, params[0].dtype)
        for weights, bias in zip(params[0::2], params[1::2]):
            zs.append(a @ weights + bias)
            a = sigmoid(zs[-1])
        cost = mse(a, t)
    return tape.gradient(cost, zs)


def first_order_change(params, x, t, lr):
    """One step ``p <- p - lr * dC/dp`` (``params`` left as they are): the cost's
    change ``ΔC`` and the first-order prediction ``-lr * ||∇C||^2``."""
    grads = backprop(params, x, t)
    moved = [param - lr * grad for param, grad in zip(params, grads)]
    change = mlp_loss(moved, x, t) - mlp_loss(params, x, t)
    squared_norm = sum(tf.reduce_sum(tf.square(grad)) for grad in grads)
    return float(change), float(-lr * squared_norm)


def param_names(params):
    """``["W1", "b1", "W2", "b2", ...]`` for a ``[W_1, b_1, ...]`` list."""
    return [f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1}" for i in range(len(params))]


# Shown in book/gradients.md (literalinclude).
def gradient_descent(params, x, t, lr, steps):
    """Train ``params`` in place: ``steps`` full-batch updates ``p <- p - lr * dC/dp``
    with the gradients of :func:`backprop`.

    The loop runs inside one ``tf.function`` (chapter 5), so thousands of steps on a
    small batch take a fraction of a second. Returns the cost before each update and
    after the last, ``steps + 1`` numbers.
    """
    x = tf.constant(x, params[0].dtype)
    t = tf.constant(t, params[0].dtype)

    @tf.function
    def run():
        costs = tf.TensorArray(params[0].dtype, size=steps + 1)
        for step in tf.range(steps):
            costs = costs.write(step, mlp_loss(params, x, t))
            for param, grad in zip(params, backprop(params, x, t)):
                param.assign_sub(lr * grad)
        return costs.write(steps, mlp_loss(params, x, t)).stack()

    return run().numpy()
