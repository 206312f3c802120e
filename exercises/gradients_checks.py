"""Checks for the chapter 3 exercises (never released to students)."""
import numpy as np

from mlpkit.grading import Call, Tensor, variant_rng

rng = variant_rng(303)


def layer(batch, n_in, n_out, dtype="float64"):
    return (Tensor(rng.uniform(0, 1, (batch, n_in)), dtype), Tensor(rng.normal(size=(n_in, n_out)), dtype),
            Tensor(rng.normal(size=(n_out,)), dtype), Tensor(rng.normal(size=(batch, n_out)), dtype))


def network(batch, n0, n1, n2):
    """Arguments of ``two_layer_backward``: x, w1, b1, w2, b2 and one-hot targets t, in float64."""
    return (Tensor(rng.uniform(0, 1, (batch, n0)), "float64"), Tensor(rng.normal(size=(n0, n1)), "float64"),
            Tensor(rng.normal(size=(n1,)), "float64"), Tensor(rng.normal(size=(n1, n2)), "float64"),
            Tensor(rng.normal(size=(n2,)), "float64"), Tensor(np.eye(n2)[rng.integers(0, n2, batch)], "float64"))


def neuron(batch, n, h, dtype="float64"):
    """Arguments of ``numerical_gradient_of_cost``: w, x, t and the step h."""
    return (Tensor(rng.normal(size=(n,)), dtype), Tensor(rng.uniform(-1, 1, (batch, n)), dtype),
            Tensor(rng.integers(0, 2, batch).astype(float), dtype), h)


CHECKS = {
    "sigmoid_prime": dict(
        points=2,
        calls=[
            Call(
                "sigmoid_prime",
                (Tensor([-3.0, 0.0, 0.5, 4.0]),),
                public=True,
                options={"dtype": "float32"},
                message="sigmoid_prime(z) should be sigmoid(z) * (1 - sigmoid(z)); at z = 0 it is 0.25 "
                "(float32 for float32 z)",
            ),
            Call(
                "sigmoid_prime",
                (Tensor([-6.0, -1.0, 0.0, 2.5, 9.0], "float64"),),
                public=True,
                rtol=1e-10,
                atol=1e-12,
                options={"dtype": "float64"},
                message="for float64 z the values should be float64 and float64-accurate (within 1e-10): "
                "compute in z's dtype",
            ),
            Call(
                "sigmoid_prime",
                (Tensor(rng.normal(0, 3, size=(5, 4)), "float64"),),
                rtol=1e-10,
                atol=1e-12,
                options={"dtype": "float64"},
            ),
        ],
    ),
    "mse_gradient": dict(
        points=2,
        calls=[
            Call(
                "mse_gradient",
                (Tensor([[0.2, 0.9], [0.6, 0.1]]), Tensor([[0.0, 1.0], [1.0, 0.0]])),
                public=True,
                message="for C = reduce_mean((a - y)**2) over 4 numbers, dC/da = 2 (a - y) / 4",
            ),
            Call(
                "mse_gradient",
                (
                    Tensor([[0.5, 0.25], [0.0, 1.0], [0.75, 0.125]], "float64"),
                    Tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], "float64"),
                ),
                public=True,
                rtol=1e-10,
                atol=1e-12,
                message="for float64 a and y of shape (3, 2), dC/da = 2 (a - y) / 6 in float64 (within 1e-10)",
            ),
            Call(
                "mse_gradient",
                (Tensor(rng.uniform(size=(10, 3)), "float64"), Tensor(np.eye(3)[rng.integers(0, 3, 10)], "float64")),
                rtol=1e-10,
                atol=1e-12,
            ),
            Call(
                "mse_gradient",
                (Tensor(rng.uniform(size=(1, 10)), "float64"), Tensor(np.eye(10)[[4]], "float64")),
                rtol=1e-10,
                atol=1e-12,
            ),
        ],
    ),
    "sigmoid_layer_backward": dict(
        points=4,
        calls=[
            Call(
                "sigmoid_layer_backward",
                layer(4, 3, 2),
                public=True,
                rtol=1e-8,
                atol=1e-10,
                message="(grad_w, grad_b, grad_x) should match tf.GradientTape on a batch of 4, a (3, 2) layer",
            ),
            Call("sigmoid_layer_backward", layer(1, 5, 1), rtol=1e-8, atol=1e-10),
            Call("sigmoid_layer_backward", layer(16, 8, 6), rtol=1e-8, atol=1e-10),
        ],
    ),
    "two_layer_backward": dict(
        points=4,
        calls=[
            Call(
                "two_layer_backward",
                network(1, 2, 2, 1),
                public=True,
                rtol=1e-8,
                atol=1e-12,
                message="(grad_w1, grad_b1, grad_w2, grad_b2) for one example and a [2, 2, 1] network should match "
                "tf.GradientTape on C = reduce_mean((y - t)**2), in float64 (within 1e-8)",
            ),
            Call(
                "two_layer_backward",
                network(4, 3, 5, 2),
                public=True,
                rtol=1e-8,
                atol=1e-12,
                message="for a batch of 4 and a [3, 5, 2] network, the cost is the mean over the batch AND the 2 "
                        "outputs; "
                "each gradient has its parameter's shape and is summed over the batch",
            ),
            Call("two_layer_backward", network(16, 8, 6, 3), rtol=1e-8, atol=1e-12),
            Call("two_layer_backward", network(3, 10, 4, 10), rtol=1e-8, atol=1e-12),
        ],
    ),
    "numerical_gradient_of_cost": dict(
        points=3,
        calls=[
            Call(
                "numerical_gradient_of_cost",
                neuron(5, 3, 1e-4),
                public=True,
                rtol=1e-6,
                atol=1e-9,
                message="with a small step (h = 1e-4) the central differences of C, computed in float64, are close to "
                "the exact gradient (within 1e-6)",
            ),
            Call(
                "numerical_gradient_of_cost",
                neuron(4, 2, 0.5),
                public=True,
                rtol=1e-9,
                atol=1e-12,
                message="with h = 0.5 the result is (C(w + h e_k) - C(w - h e_k)) / 2h, which differs from the exact "
                "gradient and from a one-sided difference: compute the quotients themselves",
            ),
            Call(
                "numerical_gradient_of_cost",
                neuron(6, 4, 1e-4, "float32"),
                public=True,
                rtol=1e-6,
                atol=1e-9,
                message="for float32 inputs the costs must still be computed in float64: in float32 their rounding "
                "swamps a difference quotient with h = 1e-4",
            ),
            Call("numerical_gradient_of_cost", neuron(10, 5, 0.25), rtol=1e-9, atol=1e-12),
            Call("numerical_gradient_of_cost", neuron(1, 1, 1e-3), rtol=1e-6, atol=1e-9),
            Call("numerical_gradient_of_cost", neuron(8, 6, 1e-4, "float32"), rtol=1e-6, atol=1e-9),
        ],
    ),
    "relative_error": dict(
        points=2,
        calls=[
            Call(
                "relative_error",
                (Tensor([1.0, 2.0, -4.0], "float64"), Tensor([1.0, 2.5, -4.0], "float64")),
                public=True,
                rtol=1e-12,
                atol=0,
                message="for a = [1, 2, -4] and b = [1, 2.5, -4] the largest error is |2 - 2.5| / 2.5",
            ),
            Call(
                "relative_error",
                (Tensor([[0.0, 1e-8], [3.0, 0.0]], "float64"), Tensor([[0.0, 2e-8], [3.0, 1e-3]], "float64")),
                public=True,
                rtol=1e-12,
                atol=0,
                case="zero",
                message="an element where a and b are both 0 counts as 0; one where only one of them is 0 has error 1",
            ),
            Call(
                "relative_error",
                (Tensor(rng.normal(size=(4, 3)), "float64"), Tensor(rng.normal(size=(4, 3)), "float64")),
                rtol=1e-12,
                atol=0,
            ),
            Call(
                "relative_error",
                (Tensor([0.0, 0.0, 5e-3], "float64"), Tensor([0.0, 0.0, 5.0001e-3], "float64")),
                rtol=1e-9,
                atol=0,
                case="zero",
            ),
        ],
    ),
    "softplus_op": dict(
        points=3,
        calls=[
            Call(
                "softplus_through_engine",
                ([-2.0, 0.0, 0.5, 1.5],),
                public=True,
                rtol=1e-10,
                atol=1e-12,
                message="each row is [softplus(2z), dy/dz, 1.0] for y = 3 softplus(2z)^2: softplus(0) = ln 2, its "
                "slope at 0 is 1/2, and the result must be one node whose only parent is its input",
            ),
            Call(
                "softplus_through_engine",
                ([-1000.0, 400.0, 1000.0],),
                public=True,
                rtol=1e-10,
                atol=1e-12,
                case="large",
                message="softplus(2000) = 2000 and its slope is 1 (softplus(-2000) is 0): compute it without "
                "math.exp of a large positive number, which overflows",
            ),
            Call("softplus_through_engine", (list(rng.normal(0, 3, 8)),), rtol=1e-10, atol=1e-12),
            Call("softplus_through_engine", ([-745.0, -30.0, 30.0, 745.0],), rtol=1e-10, atol=1e-12, case="large"),
        ],
    ),
}
