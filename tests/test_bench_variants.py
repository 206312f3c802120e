"""Chapter 5's variants (mlpkit.bench_variants): the eager one is chapter 4's plain loop, and each one trains.

That every variant trains to the same weights as the eager one is checked
in ``test_bench.py``, with the benchmark that times them.
"""

import numpy as np
import pytest

from mlpkit import bench_variants, data
from mlpkit.model import SigmoidMLP


@pytest.fixture(scope="module")
def small():
    (x, y), _ = data.embedded_mnist()
    return data.preprocess(x[:203], y[:203])  # 203: batches of 10 leave a last batch of 3


def test_eager_variant_is_chapter_4s_plain_loop(small):
    # One implementation of the plain loop: the benchmark's eager variant is mlpkit.training.make_plain_epoch.
    from mlpkit.training import make_plain_epoch

    x, y = small
    weights, orders = bench_variants.starting_point((784, 15, 10), 0, len(x), 1)
    model = SigmoidMLP([784, 15, 10])
    model.set_weights([w.copy() for w in weights])
    make_plain_epoch(model, 0.9, 10)(x, y, orders[0])
    for a, b in zip(bench_variants.train_variant("eager", weights, x, y, orders), model.get_weights()):
        np.testing.assert_array_equal(a, b)  # the same operations in the same order: bit for bit


def test_variants_really_change_the_weights(small):
    x, y = small
    weights = SigmoidMLP(seed=0).get_weights()
    order = [np.arange(len(x), dtype=np.int32)]
    trained = bench_variants.train_variant(bench_variants.DEFAULT_VARIANT, weights, x, y, order)
    assert max(float(np.abs(a - b).max()) for a, b in zip(trained, weights)) > 1e-3


def test_the_command_line_names_every_variant_and_no_other():
    from mlpkit import bench_variants, defaults

    assert tuple(bench_variants.VARIANTS) == defaults.BENCH_VARIANTS
