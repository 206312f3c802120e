"""Chapter 6's claims about the full studies, computed from the results files shipped with the package.

Each results file in ``code/results/`` is checked against its grid in
``code/grids/`` (same configurations, same number of folds, statistics that
follow from the per-fold accuracies) before a claim is read from it, so a
claim cannot rest on a file that no longer matches the study it names.
The thesis's own numbers (Pojunas 2021) are transcribed where an erratum
needs them, with the figure they come from.
"""


import numpy as np
import pytest

from mlpkit import data, study, study_grids
from mlpkit.model import SigmoidMLP


def published(name):
    """The rows of the published study ``name``, after checking them against its grid."""
    grid = study_grids.load_grid(name)
    configs, folds, _ = study_grids.check_grid(grid)
    report = study.published_results(name)
    rows = report["results"]
    assert [{key: row[key] for key in study_grids.DEFAULTS} for row in rows] == configs
    for row in rows:
        assert row["folds"] == folds and len(row["accuracy_per_fold"]) == folds
        assert row["accuracy_mean"] == pytest.approx(np.mean(row["accuracy_per_fold"]), abs=1e-9)
        if folds > 1:
            assert row["accuracy_std"] == pytest.approx(np.std(row["accuracy_per_fold"], ddof=1), abs=1e-9)
        assert len(row["validation_loss_per_epoch"]) == row["epochs"] + 1  # epoch 0 is before training
    return rows


@pytest.mark.parametrize("name", study_grids.grid_names())
def test_every_grid_has_published_results_that_match_it(name):
    rows = published(name)
    assert rows and study.published_results(name)["dataset"] == "fashion_mnist"


def test_one_split_lies_within_two_standard_deviations_of_the_five_folds():
    # The thesis's 58.42 % (one split) against 79.63 % (5 folds) at lr 0.1 is a 21-point gap; with a fresh
    # network per fold, the kit's single split lands within two fold standard deviations at every rate.
    for one, five in zip(published("figure17"), published("figure18")):
        assert one["lr"] == five["lr"]
        gap = abs(one["accuracy_mean"] - five["accuracy_mean"])
        assert gap < 2 * five["accuracy_std"] and gap < (79.63 - 58.42) / 10


def test_fold_spread_grows_as_the_learning_rate_shrinks_and_more_epochs_help_small_rates_most():
    ten, twenty_five = published("figure18"), published("figure20")
    for rows in (ten, twenty_five):
        by_rate = sorted(rows, key=lambda r: -r["lr"])
        assert [r["accuracy_std"] for r in by_rate] == sorted(r["accuracy_std"] for r in by_rate)
        assert [r["accuracy_mean"] for r in by_rate] == sorted((r["accuracy_mean"] for r in by_rate), reverse=True)
    gains = [
        b["accuracy_mean"] - a["accuracy_mean"] for a, b in sorted(zip(ten, twenty_five), key=lambda p: -p[0]["lr"])
    ]
    assert all(g > 0 for g in gains) and gains == sorted(gains)


def test_published_width_study_collapses_at_800_units_with_uniform_init_only():
    uniform, glorot = published("figure22"), published("figure22_glorot")
    assert [r["layers"] for r in uniform] == [r["layers"] for r in glorot] and uniform[-1]["layers"] == [784, 800, 10]
    assert uniform[-1]["accuracy_mean"] < glorot[-1]["accuracy_mean"] - 20
    assert uniform[-1]["accuracy_std"] > 10 > 1 > glorot[-1]["accuracy_std"]
    for u, g in zip(uniform, glorot):  # "every width does better and varies less" with Glorot
        assert g["accuracy_mean"] > u["accuracy_mean"] and g["accuracy_std"] < u["accuracy_std"]
    widest = [r for r in uniform + glorot if r["max_saturated_outputs"] > 0]
    assert [(r["layers"][1], r["init"]) for r in widest] == [(800, "uniform")]  # the only network with pinned outputs


def test_collapsed_network_never_gets_a_shirt_and_rarely_a_t_shirt():
    names = data.CLASS_NAMES["fashion_mnist"]
    uniform, glorot = published("figure22")[-1], published("figure22_glorot")[-1]
    rate = {
        row["init"]: dict(zip(names, 100 * np.array(row["per_class_correct"]) / np.array(row["per_class_total"])))
        for row in (uniform, glorot)
    }
    ranked = sorted(rate["uniform"], key=rate["uniform"].get)
    assert (
        ranked[:2] == ["Shirt", "T-shirt/top"] and rate["uniform"]["Shirt"] < 1 and rate["uniform"]["T-shirt/top"] < 20
    )
    assert min(rate["glorot"].values()) > 50


def test_hidden_units_saturate_alike_at_every_width_and_outputs_more_the_wider():
    (x_raw, _), _ = data.embedded_mnist()
    x = data.preprocess(x_raw[:1000])
    slope = 0.01
    z_saturated = np.log((1 + np.sqrt(1 - 4 * slope)) / (1 - np.sqrt(1 - 4 * slope)))
    assert 0.25 * (1 - np.tanh(z_saturated / 2) ** 2) == pytest.approx(slope)  # sigma'(z*) = slope
    hidden, outputs = {}, {}
    for width in (15, 50, 100, 800):
        net = SigmoidMLP([784, width, 10], seed=0)
        hidden[width], outputs[width] = study.saturated_fraction(net, x, slope=slope)
        z = x @ net.params[0].numpy() + net.params[1].numpy()
        assert hidden[width] == pytest.approx(np.mean(np.abs(z) > z_saturated), abs=1e-3)  # the definition
        assert max(study.saturated_fraction(SigmoidMLP([784, width, 10], init="glorot", seed=0), x, slope=slope)) < 0.01
    assert (
        0.3 < min(hidden.values()) and max(hidden.values()) < 0.5 and max(hidden.values()) - min(hidden.values()) < 0.1
    )
    assert outputs[15] < 0.01 and list(outputs.values()) == sorted(outputs.values()) and outputs[800] > 0.5


def test_deeper_networks_gain_little_over_one_layer_of_100_units_at_the_same_budget():
    one_layer = {row["init"]: row for row in published("width100_25epochs")}
    deeper = [
        row
        for name in ("figure25", "figure26", "figure27")
        for row in published(name)
        if row["epochs"] == 25 and row["lr"] == 0.9 and row["init"] == "uniform"
    ]
    same_budget = one_layer["uniform"]
    assert (same_budget["layers"], same_budget["epochs"], same_budget["lr"]) == ([784, 100, 10], 25, 0.9)
    best = max(deeper, key=lambda r: r["accuracy_mean"])
    gain = best["accuracy_mean"] - same_budget["accuracy_mean"]
    assert 0 < gain < same_budget["accuracy_std"]  # within the spread of the one-layer network's folds
    ten_epochs = published("figure22")[2]
    assert ten_epochs["layers"] == [784, 100, 10] and best["accuracy_mean"] - ten_epochs["accuracy_mean"] > 2 * gain
    assert one_layer["glorot"]["accuracy_mean"] > best["accuracy_mean"]  # a better start beats more layers


def test_erratum_figure_24_label_has_15_outputs_for_10_classes():
    # Thesis Figures 23 and 24 label the width study's models [784, 800, 15] and [784, 100, 15].
    for label in ([784, 800, 15], [784, 100, 15]):
        with pytest.raises(study_grids.StudyError, match="end at 10 \\(classes\\)"):
            study_grids.configurations({"layers": [label]})
        assert [*label[:2], 10] in [c["layers"] for c in study_grids.configurations(study_grids.load_grid("figure22"))]


def test_erratum_thesis_class_counts_do_not_add_up_to_figure_22():
    # Thesis Figures 23 and 24 (correct predictions per digit, "on all 70,000 images") against Figure 22's
    # fold means for the same models: different measurements, which the chapter must not read as one.
    counts = {
        800: [6807, 7726, 30, 6829, 3, 5959, 2, 7092, 6489, 6607],
        100: [6652, 7574, 6369, 6524, 6494, 5621, 6584, 6879, 6122, 6237],
    }
    figure22 = {800: 44.22, 100: 94.33}
    counted = {width: 100 * sum(c) / 70_000 for width, c in counts.items()}
    assert counted[800] - figure22[800] > 20 and figure22[100] - counted[100] > 1
    assert counted[800] < counted[100]  # the order agrees; the values do not
