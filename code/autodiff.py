"""Chapter 3: reverse-mode automatic differentiation on scalars, small enough to read in
one sitting.

A :class:`Value` is one number in a computation graph. Every operation on Values makes a
new Value that remembers its ``parents`` (the operands) and its ``local_grads``: the
partial derivative of its result with respect to each parent, taken when the operation
runs. :meth:`Value.backward` then walks the graph once, from the output back, in reverse
topological order, and adds ``local * grad`` into each parent: the chain rule, one edge
at a time. A Value used twice receives a contribution along each use, and the sum is its
gradient.

Everything is a Python float (float64). The same engine in spirit is micrograd
(Karpathy); ``tf.GradientTape`` does the same with tensors.

For the chapter's networks, :func:`mlp_cost` builds the sigmoid MLP's cost of one
example from Values. Its parameters are nested lists in the book's layout: ``W_l[i][j]``
(shape ``(n_{l-1}, n_l)``) feeds input ``i`` to unit ``j``, ``b_l[j]`` is unit ``j``'s
bias, and the cost is the mean over the ``n_L`` outputs of ``(y_k - t_k)^2``, the
chapter-4 convention with ``B = 1``.
"""

import math
import numbers
import time

import numpy as np


def _as_value(operand, op):
    """``operand`` as a Value: a Value, or a real number (not a bool) made into a
    constant."""
    if isinstance(operand, Value):
        return operand
    if isinstance(operand, numbers.Real) and not isinstance(operand, bool):
        return Value(operand)
    raise TypeError(
        f"Value {op} expects a Value, int or float operand; got "
        f"{type(operand).__name__}"
    )


# Shown in book/gradients.md (literalinclude).
class Value:
    """A scalar, the gradient of the output with respect to it, and the operation that
    made it."""

    def __init__(self, data, parents=(), local_grads=(), op=""):
        if isinstance(data, bool) or not isinstance(data, numbers.Real):
            raise TypeError(
                f"Value holds a real number (int or float); got {type(data).__name__}"
            )
        self.data = float(data)
        self.grad = 0.0  # d(output)/d(self), filled by backward()
        self.parents = parents  # the operands this Value was computed from
        self.local_grads = local_grads  # d(self)/d(parent), one per parent
        self.op = op

    def __repr__(self):
        made_by = f", op={self.op!r}" if self.op else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{made_by})"

    # Each operation: its result, and the derivative of the result with respect to each
    # operand.
    def __add__(self, other):
        other = _as_value(other, "+")
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        other = _as_value(other, "*")
        return Value(
            self.data * other.data, (self, other), (other.data, self.data), "*"
        )

    def __pow__(self, exponent):
        if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
            raise TypeError(
                "Value ** expects a constant int or float exponent; got "
                f"{type(exponent).__name__}"
            )
        return Value(
            self.data**exponent,
            (self,),
            (exponent * self.data ** (exponent - 1),),
            f"**{exponent:g}",
        )

    def exp(self):
        result = math.exp(self.data)
        return Value(result, (self,), (result,), "exp")

    def log(self):
        if self.data <= 0:
            raise ValueError(f"Value.log expects a positive number; got {self.data!r}")
        return Value(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self):
        result = math.tanh(self.data)
        return Value(result, (self,), (1.0 - result**2,), "tanh")

    def sigmoid(self):
        # never overflows: σ(z) = 1/(1 + e^-z) for z >= 0, e^z/(1 + e^z) below
        e = math.exp(-abs(self.data))
        result = 1.0 / (1.0 + e) if self.data >= 0 else e / (1.0 + e)
        return Value(result, (self,), (result * (1.0 - result),), "sigmoid")

    def relu(self):
        return Value(max(self.data, 0.0), (self,), (float(self.data > 0),), "relu")

    # The rest are made from the operations above, so they need no derivative of their
    # own.
    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + -_as_value(other, "-")

    def __truediv__(self, other):
        return self * _as_value(other, "/") ** -1

    def __radd__(self, other):
        return _as_value(other, "+") + self

    def __rmul__(self, other):
        return _as_value(other, "*") * self

    def __rsub__(self, other):
        return _as_value(other, "-") - self

    def __rtruediv__(self, other):
        return _as_value(other, "/") / self

    def backward(self):
        """Set every ``node.grad`` to d(self)/d(node), for all the nodes this Value was
        computed from."""
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        # each node after every node that used it: its grad is complete
        for node in reversed(order):
            for parent, local in zip(node.parents, node.local_grads):
                parent.grad += local * node.grad  # the chain rule along one edge


# Shown in book/gradients.md (literalinclude).
def topological_order(root):
    """Every node ``root`` depends on, once each, every node after all of its parents;
    ``root`` last.

    A depth-first search with an explicit stack (long chains would exceed Python's
    recursion limit).
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((parent, False) for parent in node.parents)
    return order


def count_operations(root):
    """Work of one pass through ``root``'s graph: ``{"forward": operations, "backward":
    multiply-adds}``.

    The forward pass runs one operation per node that has parents; the backward pass
    does one multiply-add per edge (a node's ``local * grad`` into each of its parents).
    No operation has more than two parents.
    """
    order = topological_order(root)
    return {
        "forward": sum(1 for node in order if node.parents),
        "backward": sum(len(node.parents) for node in order),
    }


# -- the chapter's sigmoid MLP, built from Values --------------------------------------


def as_values(array):
    """A number array as nested lists of Values, with its shape."""
    array = np.asarray(array, dtype=np.float64)
    return Value(float(array)) if array.ndim == 0 else [as_values(row) for row in array]


def grads_of(values):
    """The ``.grad`` of nested lists of Values as a float64 array of the same shape."""
    if isinstance(values, Value):
        return np.float64(values.grad)
    return np.array([grads_of(item) for item in values], dtype=np.float64)


def mlp_cost(params, x, t):
    """The mean over outputs of ``(y_k - t_k)^2`` for a sigmoid MLP on one example ``x``
    (``n_0`` numbers).

    ``params = [W_1, b_1, ..., W_L, b_L]`` as from :func:`as_values`; each layer
    computes ``a_l[j] = σ(sum_i a_{l-1}[i] W_l[i][j] + b_l[j])``, with ``a_0 = x`` and
    ``y = a_L``.
    """
    activations = list(np.ravel(x))
    for weights, bias in zip(params[0::2], params[1::2]):
        activations = [
            sum(
                (a * w_row[j] for a, w_row in zip(activations, weights)), bias[j]
            ).sigmoid()
            for j in range(len(bias))
        ]
    targets = np.ravel(t)
    if len(targets) != len(activations):
        raise ValueError(
            f"t needs one target per output: expected {len(activations)}, got "
            f"{len(targets)}"
        )
    return sum(
        (y - float(target)) ** 2 for y, target in zip(activations, targets)
    ) / len(targets)


# -- the cost of the backward pass, measured in TensorFlow -----------------------------


def matmul_multiply_adds(layer_sizes, batch):
    """Multiply-adds of the matrix products of a dense MLP:
    ``{"forward": n, "backward": n}``.

    Forward, layer ``l`` computes ``a_{l-1} @ W_l``: ``B n_{l-1} n_l``. Backward, it
    computes ``dC/dW_l = a_{l-1}^T @ δ_l`` (as many) and, except for the first layer
    (the inputs need no gradient), ``dC/da_{l-1} = δ_l @ W_l^T`` (as many again). The
    element-wise work is smaller by a factor of the width.
    """
    layers = [
        batch * n_in * n_out for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:])
    ]
    return {"forward": sum(layers), "backward": layers[0] + 2 * sum(layers[1:])}


def forward_backward_times(
    layer_sizes=(256, 512, 512, 10), batch=256, repeats=15, seed=0
):
    """Median seconds of a sigmoid MLP's forward pass and of its forward and backward
    pass.

    The forward pass computes the chapter-4 cost (``gradients.mlp_loss``) on a batch
    ``(batch, n_0)`` of uniform inputs with one-hot targets; the other also has
    ``tf.GradientTape`` compute the gradients of every parameter. Both run as
    ``tf.function`` in float32, traced before timing; the two are timed alternately,
    ``repeats`` times each, so a busy machine slows both. Returns ``{"forward": s,
    "forward+backward": s}``.
    """
    import tensorflow as tf

    from mlpkit import gradients

    rng = np.random.default_rng(seed)
    params = gradients.init_params(
        list(layer_sizes), seed=seed, dtype=tf.float32, scale=0.1
    )
    x = tf.constant(rng.uniform(0, 1, (batch, layer_sizes[0])), tf.float32)
    t = tf.constant(
        np.eye(layer_sizes[-1])[rng.integers(0, layer_sizes[-1], batch)], tf.float32
    )

    @tf.function
    def forward():
        return gradients.mlp_loss(params, x, t)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            cost = gradients.mlp_loss(params, x, t)
        return cost, tape.gradient(cost, params)

    passes = {"forward": forward, "forward+backward": forward_backward}
    times = {name: [] for name in passes}
    # the first round traces both functions and is not timed
    for _ in range(repeats + 1):
        for name, run in passes.items():
            start = time.perf_counter()
            # results in hand: the work is done
            tf.nest.map_structure(lambda tensor: tensor.numpy(), run())
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(found[1:])) for name, found in times.items()}


# -- what reverse mode stores ----------------------------------------------------------


def tape_kept_tensors(layer_sizes, batch, seed=0, record=True):
    """The tensors ``tf.GradientTape`` keeps alive from a sigmoid MLP's forward pass:
    ``{name: shape}``, with ``z1, a1, ..., zL, aL`` each layer's pre-activation and
    activation and ``diff``, ``squared`` the cost's ``y - t`` and ``(y - t)^2``.

    The forward pass runs eagerly in float32 on a batch ``(batch, n_0)`` and holds only
    a weak reference to each intermediate tensor; after the pass, a tensor still alive
    is one the tape holds for the backward pass. With ``record=False`` no tape watches
    the pass (nothing should stay alive). The tape is then used once, and every tensor
    it held must be released.
    """
    import contextlib
    import weakref

    import tensorflow as tf

    from mlpkit import gradients

    params = gradients.init_params(list(layer_sizes), seed=seed, dtype=tf.float32)
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.uniform(0, 1, (batch, layer_sizes[0])), tf.float32)
    t = tf.constant(np.eye(layer_sizes[-1])[rng.integers(0, layer_sizes[-1], batch)])
    t, refs = tf.cast(t, tf.float32), {}
    tape = tf.GradientTape() if record else contextlib.nullcontext()
    with tape:
        a = x
        for layer, (w, b) in enumerate(zip(params[0::2], params[1::2]), start=1):
            z = a @ w + b
            a = tf.math.sigmoid(z)
            refs[f"z{layer}"], refs[f"a{layer}"] = weakref.ref(z), weakref.ref(a)
        diff = a - t
        squared = diff**2
        cost = tf.reduce_mean(squared)
        refs["diff"], refs["squared"] = weakref.ref(diff), weakref.ref(squared)
        del z, a, diff, squared  # from here on, only the tape can hold them
    kept = {name: tuple(ref().shape) for name, ref in refs.items() if ref() is not None}
    if record:
        tape.gradient(cost, params)
        if any(ref() is not None for ref in refs.values()):
            raise AssertionError("the tape still holds tensors after tape.gradient")
    return kept


def kept_bytes(kept, dtype_bytes=4):
    """Bytes of the tensors ``{name: shape}`` in a dtype of ``dtype_bytes`` bytes."""
    return sum(int(np.prod(shape)) * dtype_bytes for shape in kept.values())
