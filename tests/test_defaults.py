"""The kit's defaults (mlpkit.defaults): the thesis recipe stated once, read by every module that uses it."""

from mlpkit.study_grids import DEFAULTS


def test_the_thesis_recipe_has_one_source():
    from mlpkit import defaults, training
    from mlpkit.model import SigmoidMLP

    config = training.TrainConfig()
    assert (config.lr, config.batch_size, config.epochs) == (0.9, 10, 10)
    assert DEFAULTS == {"layers": [784, 15, 10], "lr": 0.9, "epochs": 10, "batch_size": 10, "init": "uniform"}
    assert DEFAULTS is defaults.THESIS_RECIPE
    net = SigmoidMLP()
    assert (net.layer_sizes, net.init) == ([784, 15, 10], "uniform")
