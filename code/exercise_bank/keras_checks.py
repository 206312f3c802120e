"""Checks for the chapter 8 exercises (never released to students)."""
import numpy as np

from mlpkit.grading import Call

rng = np.random.default_rng(808)

CHECKS = {
    "build_dropout_model": dict(points=3, calls=[
        Call("build_dropout_model", public=True, compare="keras_model",
             options={"parameters": 42_310, "layers": {"Flatten": 1, "Dense": 3, "Dropout": 2}, "dropout": [0.2, 0.2]},
             message="Flatten, Dense(50), Dropout(0.2), Dense(50), Dropout(0.2), Dense(10): 42,310 parameters"),
    ]),
    "normalise_confusion": dict(points=2, calls=[
        Call("normalise_confusion", (np.array([[8, 2], [1, 3]]),), public=True,
             message="each row divided by its own total: [[0.8, 0.2], [0.25, 0.75]]"),
        Call("normalise_confusion", (rng.integers(0, 50, size=(10, 10)),), rtol=1e-10),
        Call("normalise_confusion", (np.array([[5, 0, 0], [0, 0, 0], [1, 2, 7]]),), rtol=1e-10),
    ]),
    "early_stopping_epoch": dict(points=2, calls=[
        Call("early_stopping_epoch", ([0.5, 0.4, 0.35, 0.36, 0.38, 0.37, 0.3], 3), public=True, compare="exact",
             message="losses 0.5, 0.4, 0.35, 0.36, 0.38, 0.37, 0.3 with patience 3: stops after epoch 6, best epoch 3"),
        Call("early_stopping_epoch", ([0.9, 0.8, 0.7], 2), compare="exact"),
        Call("early_stopping_epoch", ([0.3, 0.3, 0.3, 0.2], 2), compare="exact"),
        Call("early_stopping_epoch", (list(np.round(rng.uniform(size=20), 3)), 4), compare="exact"),
    ]),
}
