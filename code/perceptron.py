"""Chapter 1: the step-function perceptron.

A perceptron computes ``activation(x @ w + b)``. Inputs are row vectors (the book's
notation page): a batch of ``B`` examples with ``n_0`` inputs each is a ``(B, n_0)``
matrix, the weights are ``(n_0, units)`` and the bias ``(units,)`` or ``(1, units)``, so
the output is ``(B, units)``. With ``units=1`` and the step activation this is
Rosenblatt's perceptron; with several units it is one dense layer, which chapter 2
stacks.

Also here: the four logic inputs, the weights that make AND and OR, a feasibility check
that says whether any single perceptron can compute a given truth table (it cannot for
XOR), and the perceptron learning rule.
"""

import numpy as np
import tensorflow as tf

from mlpkit.activations import step

#: The four points of the input square, one per row: (0,0), (0,1), (1,0), (1,1).
LOGIC_INPUTS = np.array(
    [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=np.float32
)

#: Truth tables over ``LOGIC_INPUTS``, in the same row order.
TRUTH_TABLES = {
    "AND": np.array([0, 0, 0, 1]),
    "OR": np.array([0, 1, 1, 1]),
    "NAND": np.array([1, 1, 1, 0]),
    "NOR": np.array([1, 0, 0, 0]),
    "XOR": np.array([0, 1, 1, 0]),
    "XNOR": np.array([1, 0, 0, 1]),
}

#: Hand-picked weights and biases: AND and OR share ``w = [1, 1]`` and differ
#: only in the bias, which moves the line ``x + y = -b``.
GATE_WEIGHTS = {
    "AND": ([[1.0], [1.0]], -1.5),
    "OR": ([[1.0], [1.0]], -0.5),
}


# Shown in book/perceptron.md (literalinclude).
class Perceptron(tf.Module):
    """A layer of ``units`` perceptrons: ``activation(x @ weights + bias)``.

    ``weights`` has shape ``(inputs, units)``; ``bias`` is a scalar or has ``units``
    entries. ``activation=None`` returns the weighted sum ``z``. Inputs must be a batch,
    shape ``(batch, inputs)``; a single example is ``[x]``, not ``x``.
    """

    def __init__(self, weights, bias, activation=step, name=None):
        super().__init__(name=name)
        weights = tf.convert_to_tensor(weights, tf.float32)
        if weights.shape.rank != 2:
            raise ValueError(
                "weights must have shape (inputs, units), e.g. [[1.0], [1.0]]; got "
                f"shape {tuple(weights.shape)}"
            )
        units = weights.shape[1]
        bias = tf.reshape(tf.convert_to_tensor(bias, tf.float32), [-1])
        if bias.shape[0] == 1 and units != 1:
            bias = tf.fill([units], bias[0])
        if bias.shape[0] != units:
            raise ValueError(
                f"bias must have {units} entries (one per unit); got {bias.shape[0]}"
            )
        self.weights = tf.Variable(weights, name="weights")
        self.bias = tf.Variable(bias, name="bias")
        self.activation = activation

    @property
    def n_inputs(self):
        return self.weights.shape[0]

    @property
    def units(self):
        return self.weights.shape[1]

    def __call__(self, x):
        x = tf.convert_to_tensor(x, self.weights.dtype)
        expected = f"(batch, {self.n_inputs})"
        if x.shape.rank != 2 or x.shape[1] != self.n_inputs:
            hint = " Wrap a single example in a list: [x]." if x.shape.rank == 1 else ""
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape {expected}; got shape "
                f"{tuple(x.shape)}.{hint}"
            )
        z = tf.matmul(x, self.weights) + self.bias
        return z if self.activation is None else self.activation(z)

    def __repr__(self):
        act = (
            "none"
            if self.activation is None
            else getattr(self.activation, "__name__", "custom")
        )
        return f"Perceptron({self.n_inputs} -> {self.units}, activation={act})"


def gate(name):
    """A step perceptron computing the named gate (``"AND"`` or ``"OR"``)."""
    try:
        weights, bias = GATE_WEIGHTS[name]
    except KeyError:
        raise ValueError(
            f"unknown gate {name!r}; expected one of {sorted(GATE_WEIGHTS)}"
        ) from None
    return Perceptron(weights, bias, name=name.lower())


def truth_table(model, inputs=LOGIC_INPUTS):
    """The model's outputs on the four logic inputs as a flat int array."""
    return np.asarray(model(inputs)).reshape(-1).round().astype(int)


def linear_separator(targets, inputs=LOGIC_INPUTS):
    """Find ``(w, b)`` with ``step(x @ w + b) == targets``, or return ``None``.

        The step perceptron outputs 1 exactly when ``x @ w + b > 0``. Because the
        conditions are unchanged by scaling ``(w, b)`` up, the strict inequalities
        ``x @ w + b > 0`` have a solution if and only if ``x @ w + b >= 1`` does, so the
        question is a linear-programming feasibility problem:

            x_i @ w + b >= 1   for every i with target 1 x_i @ w + b <= -1  for every i
            with target 0

    (Any separating line can be shifted and scaled to meet these margins, so they lose
    no solution; they keep every z a whole unit away from the step's threshold 0, so
    rounding in the solver cannot flip an output.)

        ``None`` means the linear program is infeasible: no weights exist at all, which
        is a proof, not a failed search.
    """
    from scipy.optimize import linprog

    inputs = np.asarray(inputs, dtype=np.float64)
    targets = np.asarray(targets).reshape(-1)
    if inputs.ndim != 2 or targets.shape[0] != inputs.shape[0]:
        raise ValueError(
            f"expected inputs (n, k) and n targets; got {inputs.shape} and "
            f"{targets.shape}"
        )
    rows = np.hstack([inputs, np.ones((len(inputs), 1))])  # unknowns: w_1..w_k, b
    # linprog wants A_ub @ v <= b_ub: negate the ">= 1" rows.
    sign = np.where(targets == 1, -1.0, 1.0)[:, None]
    bound = np.full(len(targets), -1.0)
    result = linprog(
        c=np.zeros(rows.shape[1]),
        A_ub=sign * rows,
        b_ub=bound,
        bounds=[(None, None)] * rows.shape[1],
        method="highs",
    )
    if result.status == 2:  # infeasible
        return None
    if result.status != 0:
        raise RuntimeError(f"linear program did not finish: {result.message}")
    return result.x[:-1].reshape(-1, 1), float(result.x[-1])


# Shown in book/perceptron.md (literalinclude).
def perceptron_update(w, b, x, t, lr=1.0):
    """One step of the perceptron rule on one example: the new ``(w, b)`` and the output
    ``y`` it corrected.

    ``x`` is one example, shape ``(n_0,)``; ``w`` has shape ``(n_0,)``; ``t`` is its
    target (0 or 1) and ``lr`` the learning rate η. The output before the step is
    ``y = step(x @ w + b)``; the step is ``w + lr * (t - y) * x`` and
    ``b + lr * (t - y)``. With ``t - y = +1`` (a missed 1) it adds the example, so
    ``x @ w`` grows by ``lr * |x|^2``: the weights move towards the example. With
    ``t - y = -1`` (a false 1) it subtracts it, so ``x @ w`` shrinks by as much: they
    move away. With ``t == y`` nothing changes.
    """
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    y = 1.0 if x @ w + b > 0 else 0.0
    return w + lr * (t - y) * x, b + lr * (t - y), y


# Shown in book/perceptron.md (literalinclude).
def learn_perceptron(targets, inputs=LOGIC_INPUTS, lr=1.0, epochs=50, seed=0):
    """Rosenblatt's perceptron learning rule on a truth table.

    For each example in turn, ``perceptron_update``: ``w += lr * (t - y) * x`` and
    ``b += lr * (t - y)``, where ``y`` is the current step output and ``lr`` the
    learning rate η. Returns ``(weights, bias, errors)`` with ``errors[e - 1]`` the
    number of misclassified examples during epoch ``e`` (epochs count from 1). Training
    stops after the first epoch without a mistake. On linearly separable data this
    happens after finitely many updates (the perceptron convergence theorem); on XOR it
    never happens.
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64).reshape(-1)
    rng = np.random.default_rng(seed)
    w = rng.uniform(-0.5, 0.5, size=inputs.shape[1])
    b = 0.0
    errors = []
    for _ in range(epochs):
        mistakes = 0
        for x, t in zip(inputs, targets):
            w, b, y = perceptron_update(w, b, x, t, lr)
            mistakes += int(y != t)
        errors.append(mistakes)
        if mistakes == 0:
            break
    return w.reshape(-1, 1), b, errors
