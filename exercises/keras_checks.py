"""Checks for the chapter 8 exercises (never released to students)."""
import numpy as np

from mlpkit.grading import Call, variant_rng

rng = variant_rng(808)


MODEL_MESSAGES = {
    "model_outputs": "given the check's weights, in inference mode (dropout off), its outputs should be those of "
                     "Flatten, Dense(50, relu), Dense(50, relu), Dense(10, softmax): 42,310 parameters",
    "model_dropout": "in training mode, over 2,000 passes, its outputs should vary as when the units of each hidden "
                     "layer are dropped at rate 0.2",
}


def model(seed, public=False):
    """Two checks of the model with the weights and 16 images of probe ``seed`` (`mlpkit.grading.models.run_model`):
    its outputs in inference mode, and their mean and spread over 2,000 passes in training mode.

    The dropout masks are random: between two runs of the reference (66 pairs per probe, probes 1
    and 2) the spread differs by 2.3 % (standard deviation 0.16 %, at most 2.7 %) and the mean by
    0.6 % (0.05 %, at most 0.8 %), far below the 7 % and 1.5 % allowed. Dropout on the inputs instead
    of after the first hidden layer puts them 8-10 % and 2.5-3.3 % apart, both Dropout layers in one
    place 11-20 % and 2-4 %, rates of 0.15 or 0.25 17-18 % and about 1 %, dropout on the logits
    28-31 % and 1.3 %."""
    probe = {"seed": seed, "input_shape": [28, 28], "examples": 16}
    return [
        Call("build_dropout_model", public=public, compare="model_outputs", rtol=1e-5, atol=1e-6,
             options={"parameters": 42_310, "probe": {**probe, "passes": 0}},
             message=MODEL_MESSAGES["model_outputs"] if public else ""),
        Call("build_dropout_model", public=public, compare="model_dropout",
             options={"parameters": 42_310, "probe": {**probe, "passes": 2000}, "spread": 0.07, "mean": 0.015},
             message=MODEL_MESSAGES["model_dropout"] if public else ""),
    ]


CHECKS = {
    "build_dropout_model": dict(points=3, calls=[
        *model(1, public=True),
        *model(2),
    ]),
    "normalise_confusion": dict(points=2, calls=[
        Call("normalise_confusion", (np.array([[8, 2], [1, 3]]),), public=True, rtol=1e-10,
             message="each row divided by its own total: [[0.8, 0.2], [0.25, 0.75]]"),
        Call("normalise_confusion", (np.array([[0, 0], [3, 1]]),), public=True, rtol=1e-10, case="zero row",
             message="a row of zeros stays zeros (no NaN from 0 / 0): [[0, 0], [0.75, 0.25]]"),
        Call("normalise_confusion", (rng.integers(0, 50, size=(10, 10)),), rtol=1e-10),
        Call("normalise_confusion", (np.array([[5, 0, 0], [0, 0, 0], [1, 2, 7]]),), rtol=1e-10, case="zero row"),
    ]),
    "early_stopping_epoch": dict(points=2, calls=[  # epoch numbers: whole numbers, compared exactly
        Call("early_stopping_epoch", ([0.5, 0.4, 0.35, 0.36, 0.38, 0.37, 0.3], 3), public=True, compare="integer",
             message="losses 0.5, 0.4, 0.35, 0.36, 0.38, 0.37, 0.3 with patience 3: stops after epoch 6, best epoch 3"),
        Call("early_stopping_epoch", ([0.4, 0.3, 0.3, 0.3, 0.35], 2), public=True, compare="integer", case="tie",
             message="a loss equal to the best is no improvement: 0.4, 0.3, 0.3, 0.3, 0.35 with patience 2 stops "
                     "after epoch 4, best epoch 2"),
        Call("early_stopping_epoch", ([0.5, 0.45, 0.5, 0.44], 2), public=True, compare="integer", case="never stops",
             message="if it never stops, stopped is the last epoch: 0.5, 0.45, 0.5, 0.44 with patience 2 gives (4, 4)"),
        Call("early_stopping_epoch", ([0.9, 0.8, 0.7], 2), compare="integer", case="never stops"),
        Call("early_stopping_epoch", ([0.3, 0.3, 0.3, 0.2], 2), compare="integer", case="tie"),
        Call("early_stopping_epoch", (list(np.round(rng.uniform(size=20), 3)), 4), compare="integer"),
    ]),
}
