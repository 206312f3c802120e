"""Checks for the chapter 1 exercises (never released to students)."""
import numpy as np

from mlpkit.grading import Call, Tensor, variant_rng

rng = variant_rng(101)

CHECKS = {
    "step": dict(points=2, calls=[  # 0/1 outputs: compared exactly, dtype included
        Call("step", (Tensor([-2.0, -0.5, 0.0, 0.5, 3.0]),), public=True, compare="exact",
             message="step(z) should be 1.0 where z > 0 and 0.0 elsewhere (0.0 at z = 0), in z's dtype"),
        Call("step", (Tensor([[0.0, -1e-30], [1e-30, 7.0]], "float64"),), public=True, compare="exact",
             message="for float64 z of shape (2, 2), step(z) should be float64 of shape (2, 2): [[0, 0], [1, 1]]"),
        Call("step", (Tensor(rng.normal(size=(3, 4)), "float64"),), compare="exact"),
        Call("step", (Tensor(rng.normal(size=(2, 3, 5)).round(), "float32"),), compare="exact"),
    ]),
    "nand_weights": dict(points=2, calls=[
        Call("nand_weights", public=True, compare="computes_gate", options={"table": [1, 1, 1, 0]},
             message="step(x @ w + b) should give 1, 1, 1, 0 on (0,0), (0,1), (1,0), (1,1)"),
    ]),
    "perceptron_forward": dict(points=3, calls=[  # no weighted sum of these is within 1e-3 of the step at 0
        Call("perceptron_forward", (Tensor([[0, 0], [0, 1], [1, 0], [1, 1]]), Tensor([[1.0], [1.0]]), -1.5),
             public=True, message="with w = [[1], [1]] and b = -1.5 the outputs should be AND, shape (4, 1)"),
        Call("perceptron_forward", (Tensor(rng.normal(size=(7, 3))), Tensor(rng.normal(size=(3, 1))), 0.25)),
        Call("perceptron_forward", (Tensor(rng.normal(size=(1, 5))), Tensor(rng.normal(size=(5, 1))), -0.5)),
        # weighted sums exactly 0 in float32 whatever the order of the sum (halves and quarters of small integers)
        Call("perceptron_forward", (Tensor([[1, 2], [2, 0], [0, 4], [3, 1], [0, 0]]), Tensor([[0.5], [0.25]]), -1.0),
             public=True, case="boundary",
             message="with w = [[0.5], [0.25]] and b = -1 the rows (1, 2), (2, 0) and (0, 4) have z = 0 exactly, "
                     "so their outputs are 0 (step(0) = 0: z > 0, not z >= 0); (3, 1) gives 1, (0, 0) gives 0"),
        Call("perceptron_forward", (Tensor([[0, 0, 0], [1, -1, 0], [2, 2, -1], [1, 0, 0.25], [-3, 1, 0.5]]),
                                    Tensor([[1.0], [1.0], [4.0]]), 0.0), case="boundary"),
    ]),
}
