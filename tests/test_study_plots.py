"""Chapter 6's study figures (mlpkit.study_plots): both files written, and labels that tell configurations apart.

How legible the saved figures are (ticks, text inside the figure) is checked
with the kit's other figures in ``test_plotting.py``.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers import study_report  # noqa: E402
from mlpkit import study, study_plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_study_plots_write_both_files(tmp_path):
    study_plots.write_plots(study_report(2), tmp_path)
    for name in ("accuracy.png", "error_curves.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_study_labels_follow_every_setting_that_varies():
    rows = study.published_results("figure25")["results"]
    labels = study_plots.configuration_labels(rows)
    assert labels[:2] == ["[784, 30, 15, 10], 10 epochs", "[784, 30, 15, 10], 25 epochs"]
    assert study_plots.configuration_labels(study.published_results("figure17")["results"]) == ["0.9", "0.1", "0.01"]
