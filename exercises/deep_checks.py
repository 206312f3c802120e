"""Checks for the chapter 9 exercises (never released to students)."""
import numpy as np

from mlpkit.grading import Call, Tensor, encode, variant_rng

rng = variant_rng(909)


def sigmoid_network(sizes, batch):
    """Random float64 weights, biases, inputs and one-hot targets for a sigmoid network of ``sizes``."""
    weights = [rng.uniform(-1, 1, (n_in, n_out)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-1, 1, n_out) for n_out in sizes[1:]]
    x = rng.uniform(0, 1, (batch, sizes[0]))
    t = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    return weights, biases, x, t


def gradient_norms(weights, biases, x, t, scale=1.0):
    """Norms of dC/dW_l by hand for C = scale * mean over batch and outputs of (a_L - t)^2."""
    activations = [x]
    for w, b in zip(weights, biases):
        activations.append(1 / (1 + np.exp(-(activations[-1] @ w + b))))
    y = activations[-1]
    delta = scale * 2 * (y - t) / y.size * y * (1 - y)
    norms = []
    for layer in reversed(range(len(weights))):
        norms.insert(0, np.linalg.norm(activations[layer].T @ delta))
        a = activations[layer]
        delta = (delta @ weights[layer].T) * a * (1 - a)
    return np.array(norms)


def norms_call(sizes, batch, **call):
    """A check of layer_gradient_norms that recognises the cost summed over the outputs and says so."""
    weights, biases, x, t = sigmoid_network(sizes, batch)
    mistake = {"value": encode(gradient_norms(weights, biases, x, t, scale=sizes[-1])),
               "hint": "these are n_L times too large: the cost is the mean over the batch AND the outputs, "
                       "not the sum over the outputs"}
    return Call("layer_gradient_norms", (weights, biases, x, t), rtol=1e-7, atol=1e-12,
                options={"mistakes": [mistake]}, **call)


def he_call(n_in, n_out, seed, options=(), **call):
    """A check of he_uniform, judged by the statistics of what it returns (the values are random); with
    ``options={"seed": 2}``, also called again with the same seed and with another (`Call`'s ``options["seed"]``)."""
    variance = 2.0 / n_in
    options = {"shape": [n_in, n_out], "dtype": "float32", "variance": variance, "limit": float(np.sqrt(3 * variance)),
               **dict(options)}
    return Call("he_uniform", (n_in, n_out, seed), compare="uniform_weights", options=options, **call)


def limit_call(n_in, n_out, **call):
    mistake = {
        "value": encode(np.sqrt(2.0 / (n_in + n_out))),
        "hint": "this is the standard deviation sqrt(2 / (n_in + n_out)); the limit a of U(-a, a) is sqrt(3) times it",
    }
    return Call("glorot_limit", (n_in, n_out), rtol=1e-9, atol=0.0, options={"mistakes": [mistake]}, **call)


def decay_call(w, grad, lr, lam, **call):
    w_array, grad_array = (v.array() if isinstance(v, Tensor) else np.asarray(v) for v in (w, grad))
    mistake = {
        "value": encode(w_array - lr * (grad_array + lam / 2 * w_array)),
        "hint": "the derivative of (lam / 2) ||W||^2 is lam * W, not lam / 2 * W",
    }
    return Call("l2_decay_step", (w, grad, lr, lam), rtol=1e-9, atol=1e-12, options={"mistakes": [mistake]}, **call)


def norm_inputs(batch, units, scale=3.0, epsilon=1e-3):
    """Random float64 ``(z, gamma, beta, epsilon)`` for batch_norm_forward: columns with their own mean and spread."""
    z = rng.normal(rng.normal(0, 2, units), scale, (batch, units))
    return z, rng.uniform(0.5, 2.0, units), rng.normal(size=units), epsilon


def norm_call(batch, units, **call):
    """A check of batch_norm_forward that recognises the unbiased variance and says so."""
    z, gamma, beta, epsilon = norm_inputs(batch, units)
    unbiased = gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0, ddof=1) + epsilon) + beta
    mistake = {"value": encode(unbiased),
               "hint": "this divides the variance by B - 1; batch normalisation divides by B (the biased variance)"}
    return Call("batch_norm_forward", (z, gamma, beta, epsilon), rtol=1e-7, atol=1e-10,
                options={"mistakes": [mistake]}, **call)


def residual_call(batch, units, **call):
    """A check of residual_forward that recognises the layer without its skip and says so."""
    x, w, b = rng.normal(size=(batch, units)), rng.normal(0, 0.5, (units, units)), rng.normal(size=units)
    mistake = {"value": encode(1 / (1 + np.exp(-(x @ w + b)))),
               "hint": "this is the layer alone, sigmoid(x @ w + b); a residual block adds its input x to it"}
    return Call("residual_forward", (x, w, b), rtol=1e-7, atol=1e-10, options={"mistakes": [mistake]}, **call)


CHECKS = {
    "glorot_limit": dict(
        points=1,
        calls=[
            limit_call(784, 400, public=True, message="for 784 inputs and 400 units: sqrt(6 / 1184), about 0.0712"),
            limit_call(
                25,
                10,
                public=True,
                message="for 25 inputs and 10 units: sqrt(6 / 35), about 0.414 "
                "(the variance a^2 / 3 should be 2 / (n_in + n_out))",
            ),
            limit_call(200, 100),
            limit_call(1, 1),
        ],
    ),
    "he_uniform": dict(
        points=3,
        calls=[
            he_call(
                784,
                100,
                0,
                public=True,
                message="a float32 array of shape (784, 100), every weight within ±sqrt(6 / 784), mean about 0 and "
                "variance 2 / 784 (within what sampling allows)",
            ),
            he_call(
                200,
                50,
                1,
                public=True,
                message="a float32 array of shape (200, 50) with variance 2 / 200: uniform "
                "on ±sqrt(6 / n_in), whatever n_out is",
            ),
            he_call(
                50,
                20,
                5,
                public=True,
                options={"seed": 2},
                message="seed 5 twice gives the same weights, seed 6 other weights: draw them from a generator "
                "made from seed, not from an unseeded or global one",
            ),
            he_call(400, 300, 7),
            he_call(1000, 30, 3),
            he_call(64, 32, 11, options={"seed": 2}),
        ],
    ),
    "l2_decay_step": dict(
        points=2,
        calls=[
            decay_call(
                np.array([1.0, -2.0, 0.5]),
                np.array([0.1, 0.0, -0.2]),
                0.1,
                0.01,
                public=True,
                message="w - lr * (grad + lam * w): [0.989, -1.998, 0.5195]",
            ),
            decay_call(
                np.array([[0.5, -0.5], [2.0, 0.0]]),
                np.zeros((2, 2)),
                0.5,
                0.1,
                public=True,
                message="with a zero gradient each weight shrinks by the factor 1 - lr * lam = 0.95",
            ),
            decay_call(
                Tensor([[0.3, -1.2], [0.7, 0.4]], "float64"),
                Tensor([[0.05, 0.2], [-0.1, 0.0]], "float64"),
                0.9,
                0.001,
                public=True,
                message="w and grad given as float64 tensors: the same step, returned in their shape",
            ),
            decay_call(rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), 0.05, 0.3),
            decay_call(rng.normal(size=6), rng.normal(size=6), 1.0, 0.0),
        ],
    ),
    "layer_gradient_norms": dict(
        points=3,
        calls=[
            norms_call(
                [3, 4, 2],
                5,
                public=True,
                message="for a [3, 4, 2] sigmoid network on 5 examples: two norms, of dC/dW_1 and dC/dW_2, with C "
                "the mean over the batch and the outputs",
            ),
            norms_call(
                [6, 5, 4, 3, 2], 8, public=True, message="for a [6, 5, 4, 3, 2] network: four norms, first layer first"
            ),
            norms_call([10, 8, 8, 8, 8, 3], 16),
            norms_call([4, 2, 3], 1),
        ],
    ),
    "batch_norm_forward": dict(
        points=2,
        calls=[
            norm_call(
                8,
                3,
                public=True,
                message="for a batch of 8 and 3 units: each column normalised with its own mean and biased "
                "variance over the batch, then times gamma plus beta",
            ),
            norm_call(
                2,
                5,
                public=True,
                message="for a batch of 2: the mean and variance are over the batch (axis 0, the rows), one per unit",
            ),
            norm_call(64, 20),
            norm_call(3, 1),
        ],
    ),
    "residual_forward": dict(
        points=1,
        calls=[
            residual_call(4, 3, public=True, message="for 4 examples of width 3: x + sigmoid(x @ w + b)"),
            residual_call(1, 6, public=True, message="for one example of width 6: the input added to the layer output"),
            residual_call(32, 16),
        ],
    ),
}
