"""Checks for the chapter 3 exercises (never released to students)."""
import numpy as np

from mlpkit.grading import Call, Tensor

rng = np.random.default_rng(303)


def layer(batch, n_in, n_out, dtype="float64"):
    return (Tensor(rng.uniform(0, 1, (batch, n_in)), dtype), Tensor(rng.normal(size=(n_in, n_out)), dtype),
            Tensor(rng.normal(size=(n_out,)), dtype), Tensor(rng.normal(size=(batch, n_out)), dtype))


CHECKS = {
    "sigmoid_prime": dict(points=2, calls=[
        Call("sigmoid_prime", (Tensor([-3.0, 0.0, 0.5, 4.0]),), public=True,
             message="sigmoid_prime(z) should be sigmoid(z) * (1 - sigmoid(z)); at z = 0 it is 0.25"),
        Call("sigmoid_prime", (Tensor([-6.0, -1.0, 0.0, 2.5, 9.0], "float64"),), public=True, rtol=1e-10, atol=1e-12,
             message="for float64 z the values should be float64-accurate (within 1e-10): compute in z's dtype"),
        Call("sigmoid_prime", (Tensor(rng.normal(0, 3, size=(5, 4)), "float64"),), rtol=1e-10, atol=1e-12),
    ]),
    "mse_gradient": dict(points=2, calls=[
        Call("mse_gradient", (Tensor([[0.2, 0.9], [0.6, 0.1]]), Tensor([[0.0, 1.0], [1.0, 0.0]])), public=True,
             message="for C = reduce_mean((a - y)**2) over 4 numbers, dC/da = 2 (a - y) / 4"),
        Call("mse_gradient", (Tensor([[0.5, 0.25], [0.0, 1.0], [0.75, 0.125]], "float64"),
                              Tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], "float64")), public=True, rtol=1e-10, atol=1e-12,
             message="for float64 a and y of shape (3, 2), dC/da = 2 (a - y) / 6 in float64 (within 1e-10)"),
        Call("mse_gradient", (Tensor(rng.uniform(size=(10, 3)), "float64"), Tensor(np.eye(3)[rng.integers(0, 3, 10)], "float64")),
             rtol=1e-10, atol=1e-12),
        Call("mse_gradient", (Tensor(rng.uniform(size=(1, 10)), "float64"), Tensor(np.eye(10)[[4]], "float64")), rtol=1e-10, atol=1e-12),
    ]),
    "sigmoid_layer_backward": dict(points=4, calls=[
        Call("sigmoid_layer_backward", layer(4, 3, 2), public=True, rtol=1e-8, atol=1e-10,
             message="(grad_w, grad_b, grad_x) should match tf.GradientTape on a batch of 4, a (3, 2) layer"),
        Call("sigmoid_layer_backward", layer(1, 5, 1), rtol=1e-8, atol=1e-10),
        Call("sigmoid_layer_backward", layer(16, 8, 6), rtol=1e-8, atol=1e-10),
    ]),
}
