"""Checks for the chapter 2 exercises (never released to students)."""
import numpy as np

from mlpkit.grading import Call, Tensor, variant_rng

rng = variant_rng(202)

CHECKS = {
    "xor_weights": dict(
        points=3,
        calls=[
            Call(
                "xor_weights",
                public=True,
                compare="computes_network",
                options={"table": [0, 1, 1, 0]},
                message="step(step(x @ w1 + b1) @ w2 + b2) should give 0, 1, 1, 0 on (0,0), (0,1), (1,0), (1,1)",
            ),
        ],
    ),
    "sigmoid": dict(
        points=2,
        calls=[
            Call(
                "sigmoid",
                (Tensor([-2.0, 0.0, 0.5, 3.0]),),
                public=True,
                rtol=1e-5,
                atol=1e-6,
                options={"dtype": "float32"},
                message="sigmoid(z) should be 1 / (1 + exp(-z)) element by element, float32 for float32 z",
            ),
            Call(
                "sigmoid",
                (Tensor([-1000.0, -100.0, 100.0, 1000.0]),),
                public=True,
                rtol=1e-5,
                atol=1e-6,
                options={"finite": True},
                case="overflow",
                message="at z = -1000, -100, 100 and 1000 no operation may give an infinity or NaN "
                "(1 / (1 + exp(-z)) computes exp(1000) = inf at z = -1000); the values are 0, 0, 1, 1",
            ),
            Call(
                "sigmoid",
                (Tensor([-30.0, -4.0, 0.25, 2.0, 30.0], "float64"),),
                public=True,
                rtol=1e-10,
                atol=1e-12,
                options={"dtype": "float64"},
                message="for float64 z the values should be float64 and float64-accurate (within 1e-10): "
                "compute in z's dtype",
            ),
            Call(
                "sigmoid",
                (Tensor(rng.normal(0, 5, size=(4, 6)), "float64"),),
                rtol=1e-10,
                atol=1e-12,
                options={"dtype": "float64"},
            ),
            Call(
                "sigmoid",
                (Tensor([[-500.0, -89.0], [89.0, 500.0]]),),
                rtol=1e-5,
                atol=1e-6,
                options={"finite": True},
                case="overflow",
            ),
        ],
    ),
    "parameter_count": dict(
        points=2,
        calls=[  # counts: whole numbers, compared exactly
            Call(
                "parameter_count",
                ([784, 15, 10],),
                public=True,
                compare="integer",
                message="[784, 15, 10] has 784*15 + 15 weights and biases in the first layer and 15*10 + 10 in the "
                        "second",
            ),
            Call(
                "parameter_count",
                ([2, 3, 3, 1],),
                public=True,
                compare="integer",
                case="depth",
                message="any number of layers: [2, 3, 3, 1] has (2*3 + 3) + (3*3 + 3) + (3*1 + 1) = 25",
            ),
            Call("parameter_count", ([2, 2, 1],), compare="integer"),
            Call("parameter_count", ([784, 100, 50, 10],), compare="integer", case="depth"),
            Call("parameter_count", ([3, 1],), compare="integer", case="depth"),
        ],
    ),
}
