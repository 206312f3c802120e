"""Chapter 4: the thesis's MNIST network as a ``tf.Module``.

A sigmoid MLP with layer sizes ``[784, 15, 10]`` by default: every layer, the output
included, applies the sigmoid. Inputs are rows ``(batch, 784)`` of pixels in ``[0, 1]``;
outputs ``(batch, 10)`` in ``(0, 1)``, one per class, and the prediction is the index of
the largest. The forward pass is chapter 3's ``mlpkit.gradients.forward`` on this
module's variables, so the network chapter 3 differentiates by hand is the one trained
here.

Initialisation: - ``"uniform"`` (the thesis's): weights and biases uniform in
``(-1, 1)``; - ``"glorot"``: weights uniform in ``±sqrt(6 / (n_in + n_out))``, biases 0.
"""

import numpy as np
import tensorflow as tf

from mlpkit.defaults import INITS, THESIS_INIT, THESIS_LAYERS
from mlpkit.gradients import forward, param_names


def check_layer_sizes(layer_sizes, inputs=784, outputs=10):
    """Return the sizes as ints, or raise ``ValueError`` saying what was expected."""
    try:
        sizes = [int(n) for n in layer_sizes]
    except (TypeError, ValueError):
        raise ValueError(
            f"layer sizes must be integers, e.g. 784,15,10; got {layer_sizes!r}"
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            "layer sizes must be at least two positive integers, e.g. 784,15,10; got "
            f"{sizes}"
        )
    if sizes[0] != inputs or sizes[-1] != outputs:
        raise ValueError(
            f"layer sizes must start at {inputs} (pixels) and end at {outputs} "
            f"(classes); got {sizes}"
        )
    return sizes


class WeightsMixin:
    """Weight access for a module whose variables are the list ``self.params`` (shared
    with ``mlpkit.modern.MLP``)."""

    def count_params(self):
        return sum(int(np.prod(p.shape)) for p in self.params)

    def get_weights(self):
        return [p.numpy() for p in self.params]

    def set_weights(self, values):
        for param, value in zip(self.params, values):
            param.assign(value)


class SigmoidMLP(WeightsMixin, tf.Module):
    """Sigmoid MLP with variables ``W1, b1, ..., WL, bL``; ``W_l`` is
    ``(n_{l-1}, n_l)``."""

    # Shown in book/training.md (literalinclude).
    def __init__(self, layer_sizes=THESIS_LAYERS, init=THESIS_INIT, seed=0, name=None):
        super().__init__(name=name)
        self.layer_sizes = check_layer_sizes(layer_sizes)
        if init not in INITS:
            raise ValueError(
                f"unknown init {init!r}; expected one of {', '.join(INITS)}"
            )
        self.init = init
        rng = np.random.default_rng(seed)
        self.params = []
        for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            if init == "uniform":
                weights, bias = (
                    rng.uniform(-1, 1, (n_in, n_out)),
                    rng.uniform(-1, 1, n_out),
                )
            else:
                limit = np.sqrt(6.0 / (n_in + n_out))
                weights, bias = (
                    rng.uniform(-limit, limit, (n_in, n_out)),
                    np.zeros(n_out),
                )
            self.params.append(
                tf.Variable(
                    weights, dtype=tf.float32, name=f"W{len(self.params) // 2 + 1}"
                )
            )
            self.params.append(
                tf.Variable(
                    bias, dtype=tf.float32, name=f"b{len(self.params) // 2 + 1}"
                )
            )

    def __call__(self, x):
        return forward(self.params, x)[-1]

    @property
    def param_names(self):
        return param_names(self.params)

    def __repr__(self):
        sizes, count = list(self.layer_sizes), self.count_params()
        return f"SigmoidMLP({sizes}, init={self.init}, {count:,} parameters)"
