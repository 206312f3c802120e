"""Chapter 6's grids (mlpkit.study_grids): the named grids are valid, and a bad grid is named with what is wrong."""

import pytest

from mlpkit import study, study_grids
from mlpkit.runs import studies
from mlpkit.study_grids import StudyError


def test_named_grids_are_valid():
    names = study_grids.grid_names()
    assert {"figure17", "figure18", "figure20", "figure22", "figure25", "figure26", "figure27"} <= set(names)
    for name in names:
        grid = study_grids.load_grid(name)
        configs, folds, _ = study_grids.check_grid(grid)
        assert configs == study_grids.configurations(grid) and folds == grid.get("folds", 5)
        units = studies.Study(grid, "/nonexistent").units
        assert len(units) == len(configs) * max(folds, 1)  # every configuration on every fold, once
        keys = {study_grids.config_key(config) for config, _ in units.values()}
        assert keys == {study_grids.config_key(c) for c in configs}
        published = study.published_results(name)  # the results shipped for it are of this grid
        assert [{key: row[key] for key in study_grids.DEFAULTS} for row in published["results"]] == configs
    widths = [c["layers"] for c in study_grids.configurations(study_grids.load_grid("figure22"))]
    assert [784, 800, 10] in widths  # erratum: the thesis labels it [784, 800, 15]


def test_bad_grids_are_named(tmp_path):
    with pytest.raises(StudyError, match="unknown grid keys \\['learning_rate'\\]"):
        study_grids.configurations({"learning_rate": [0.9]})
    with pytest.raises(StudyError, match="end at 10 \\(classes\\)"):
        study_grids.configurations({"layers": [[784, 800, 15]]})  # the thesis's label for Figure 23's model
    with pytest.raises(StudyError, match="no grid file or named grid 'figure99'"):
        study_grids.load_grid("figure99")
    (tmp_path / "grid.yaml").write_text("lr: [0.5, 0.05]\nfolds: 3\n")
    assert [c["lr"] for c in study_grids.configurations(study_grids.load_grid(tmp_path / "grid.yaml"))] == [0.5, 0.05]


def test_explicit_configs_take_one_value_defaults_and_known_keys_only():
    configs = study_grids.configurations({"lr": [0.1], "configs": [{"epochs": 3}, {"epochs": 4, "lr": 0.5}]})
    assert configs[1]["lr"] == 0.5
    with pytest.raises(StudyError, match="beside explicit configs, 'lr' must be a one-value list"):
        study_grids.configurations({"lr": [0.1, 0.2], "configs": [{"epochs": 3}]})
    with pytest.raises(StudyError, match="each entry of configs maps some of"):
        study_grids.configurations({"configs": [{"learning_rate": 0.9}]})
    with pytest.raises(StudyError, match="the same configuration twice"):
        studies.Study({"lr": [0.9, 0.9]}, "/nonexistent")
