"""Chapter 2: the hand-weighted XOR network.

Two layers of perceptrons (``mlpkit.perceptron.Perceptron``) stacked: inputs
``(batch, 2)`` -> hidden ``(batch, 2)`` -> output ``(batch, 1)``. The weights are the
ones from the thesis (Pojunas 2021): the first hidden unit computes OR, the second NAND,
and the output unit ANDs them, which is XOR.
"""

import numpy as np
import tensorflow as tf

from mlpkit.activations import step
from mlpkit.perceptron import Perceptron

#: Hand-picked XOR weights; inputs are row vectors, so ``w1`` is (inputs, hidden).
XOR_WEIGHTS = {
    # (2, 2): column 0 -> h1 (OR), column 1 -> h2 (NAND)
    "w1": [[2.0, -2.0], [2.0, -2.0]],
    "b1": [[-1.0, 3.0]],  # (1, 2)
    "w2": [[2.0], [2.0]],  # (2, 1): the output unit ANDs h1 and h2
    "b2": [[-3.0]],  # (1, 1)
}


# Shown in book/xor.md (literalinclude).
class MLP(tf.Module):
    """A stack of ``Perceptron`` layers applied in order."""

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        self.layers = list(layers)

    def __call__(self, x):
        return self.activations(x)[-1]

    def activations(self, x):
        """Every layer's output for the batch ``x``: ``[hidden, ..., output]``."""
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        return outputs

    def __repr__(self):
        return "MLP of [" + ", ".join(repr(layer) for layer in self.layers) + "]"


def xor_network(activation=step, scale=1.0):
    """The hand-weighted XOR network; ``scale`` multiplies every weight and bias."""
    w = {
        key: scale * np.asarray(value, dtype=np.float32)
        for key, value in XOR_WEIGHTS.items()
    }
    return MLP(
        [
            Perceptron(w["w1"], w["b1"], activation=activation, name="hidden"),
            Perceptron(w["w2"], w["b2"], activation=activation, name="output"),
        ],
        name="xor",
    )


def separating_thresholds(scores, targets):
    """The interval ``[low, high)`` of thresholds ``t`` for which ``scores > t`` equals
    ``targets``.

    Returns ``(low, high)``: every ``t`` with ``low <= t < high`` classifies all
    examples correctly. Returns ``None`` when no threshold does, because some negative
    example scores at least as high as some positive one.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    targets = np.asarray(targets).reshape(-1).astype(bool)
    if not targets.any() or targets.all():
        raise ValueError("targets need at least one positive and one negative example")
    low, high = scores[~targets].max(), scores[targets].min()
    return (float(low), float(high)) if low < high else None


def parameter_count(layer_sizes):
    """Weights plus biases of a fully connected network with these layer sizes.

    ``[784, 15, 10]`` has ``784*15 + 15`` in the first layer and ``15*10 + 10`` in the
    second: 11,935.
    """
    sizes = [int(n) for n in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            "layer sizes must be at least two positive integers, e.g. [784, 15, 10]; "
            f"got {layer_sizes}"
        )
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
