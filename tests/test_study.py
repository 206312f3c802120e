"""Chapter 6: cross-validation done right, resumable studies, and `mlpkit study`."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from mlpkit import study
from mlpkit.model import SigmoidMLP
from mlpkit.quiet import leaked_lines

TINY = {"lr": [0.9], "epochs": [1], "folds": 2}


def test_folds_are_stratified_disjoint_and_cover_the_training_set():
    labels = np.repeat(np.arange(10), 50)  # 500 training labels, 50 per class
    folds = study.make_folds(labels, 5, seed=0)
    validation = np.concatenate([val for _, val in folds])
    np.testing.assert_array_equal(np.sort(validation), np.arange(500))  # disjoint and covering
    for train, val in folds:
        assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 500
        np.testing.assert_array_equal(np.bincount(labels[val]), [10] * 10)  # stratified
    with pytest.raises(ValueError, match="k-fold needs k >= 2"):
        study.make_folds(labels, 1, seed=0)


def test_fresh_model_per_fold_from_the_seed():
    first = [SigmoidMLP(seed=study.fold_seed(0, fold)).get_weights()[0] for fold in range(3)]
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    np.testing.assert_array_equal(first[1], SigmoidMLP(seed=study.fold_seed(0, 1)).get_weights()[0])


def test_units_keep_the_test_set_out_of_the_folds(offline):
    result = study.run_unit(study.configurations(TINY)[0], fold=0, folds=2, seed=0, dataset="mnist", images=400)
    assert result["train_images"] == 200 and result["validation_images"] == 200  # folds of the 400 training images
    assert sum(result["per_class_total"]) == 200
    assert 0 <= result["test_accuracy"] <= 1  # the 1,000 held-out test images, evaluated separately
    split = study.run_unit(study.configurations(TINY)[0], fold=None, folds=1, seed=0, dataset="mnist", images=400)
    assert split["train_images"] == 400 and split["validation_images"] == 1000  # k = 1: the train/test split


def test_named_grids_are_valid():
    names = study.grid_names()
    assert {"figure17", "figure18", "figure20", "figure22", "figure25", "figure26", "figure27"} <= set(names)
    for name in names:
        assert study.configurations(study.load_grid(name))
    figure18 = study.load_grid("figure18")
    assert [c["lr"] for c in study.configurations(figure18)] == [0.9, 0.1, 0.01] and figure18["folds"] == 5
    assert len(study.Study(figure18, "/nonexistent").units) == 15
    widths = [c["layers"] for c in study.configurations(study.load_grid("figure22"))]
    assert [784, 800, 10] in widths  # erratum: the thesis labels it [784, 800, 15]


def test_bad_grids_are_named(tmp_path):
    with pytest.raises(study.StudyError, match="unknown grid keys \\['learning_rate'\\]"):
        study.configurations({"learning_rate": [0.9]})
    with pytest.raises(study.StudyError, match="end at 10 \\(classes\\)"):
        study.configurations({"layers": [[784, 800, 15]]})  # the thesis's label for Figure 23's model
    with pytest.raises(study.StudyError, match="no grid file or named grid 'figure99'"):
        study.load_grid("figure99")
    (tmp_path / "grid.yaml").write_text("lr: [0.5, 0.05]\nfolds: 3\n")
    assert [c["lr"] for c in study.configurations(study.load_grid(tmp_path / "grid.yaml"))] == [0.5, 0.05]


def test_study_resumes_and_redoes_only_missing_units(offline, tmp_path):
    out = tmp_path / "study"
    first = study.Study(TINY, out, images=300)
    results = first.run(workers=1, progress=False)
    assert len(results) == 2 and (out / "results.json").is_file() and (out / "results.csv").is_file()
    units = sorted((out / "units").glob("*.json"))
    kept, redo = units
    kept_time = kept.stat().st_mtime_ns
    redo.unlink()
    redo.with_suffix(".json.partial").write_text('{"config": ')  # what an interrupted write leaves behind
    again = study.Study(TINY, out, images=300).run(workers=1, progress=False)
    assert kept.stat().st_mtime_ns == kept_time  # not redone
    assert redo.is_file() and json.loads(redo.read_text())["fold"] == 1  # redone
    assert again[redo.stem]["validation_accuracy"] == results[redo.stem]["validation_accuracy"]  # same seed, same result


def test_corrupt_unit_file_is_reported_and_kept(offline, tmp_path):
    out = tmp_path / "study"
    study.Study(TINY, out, images=300).run(workers=1, progress=False)
    victim = sorted((out / "units").glob("*.json"))[0]
    victim.write_text("{not json")
    with pytest.raises(study.StudyError, match=f"{victim.name} is not a result of this unit"):
        study.Study(TINY, out, images=300).run(workers=1, progress=False)
    assert victim.read_text() == "{not json"


def test_another_study_in_the_folder_is_not_overwritten(offline, tmp_path):
    out = tmp_path / "study"
    study.Study(TINY, out, images=300).run(workers=1, progress=False)
    before = (out / "study.json").read_text()
    with pytest.raises(study.StudyError, match="holds results of a different study"):
        study.Study({**TINY, "lr": [0.5]}, out, images=300).run(workers=1, progress=False)
    assert (out / "study.json").read_text() == before


def test_erratum_increasing_widths_were_the_thesis_worst_model():
    # Thesis Figure 27 (its own numbers): model 13, widths increasing 25 -> 400, is the least accurate and
    # by far the least consistent, contrary to its closing sentence.
    figure27 = {"[784, 400, 200, 100, 50, 25, 10]": (96.89, 6.79), "[784, 25, 50, 100, 200, 400, 10]": (71.05, 933.92),
                "[784, 200, 100, 400, 25, 50, 10]": (96.54, 5.13), "[784, 10, 100, 400, 200, 50, 10]": (92.84, 1.45)}
    worst = min(figure27, key=lambda k: figure27[k][0])
    assert worst == "[784, 25, 50, 100, 200, 400, 10]" and figure27[worst][1] == max(v for _, v in figure27.values())


def test_mlpkit_study_end_to_end_with_two_workers(tmp_path, monkeypatch, capsys):
    mlpkit = str(pathlib.Path(sys.executable).parent / "mlpkit")
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "keras"), MLPKIT_DATA_DIR="")
    command = [mlpkit, "study", "--no-download", "--lr", "0.9,0.1", "--epochs", "1", "--folds", "2", "--images", "300",
               "--workers", "2", "--out", str(tmp_path / "run")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [row["lr"] for row in report["results"]] == [0.9, 0.1] and all(r["folds"] == 2 for r in report["results"])
    for row in report["results"]:
        assert len(row["accuracy_per_fold"]) == 2 and len(row["validation_loss_per_epoch"]) == 2
        assert row["accuracy_mean"] == pytest.approx(np.mean(row["accuracy_per_fold"]))
    for name in ("results.csv", "accuracy.png", "error_curves.png"):
        assert (tmp_path / "run" / name).is_file()
    assert "4 units (2 configurations x 2 folds), 2 workers" in result.stdout
    assert leaked_lines(result.stdout + result.stderr) == [] and "\r" not in result.stderr  # workers stay quiet too
    for key in ("KERAS_HOME", "MLPKIT_DATA_DIR"):  # the rerun, in this process: it finds every unit done
        monkeypatch.setenv(key, env[key])
    from mlpkit import cli

    cli.main(command[1:])
    assert json.loads((tmp_path / "run" / "results.json").read_text()) == report
    assert "4 units" in capsys.readouterr().out


def test_uniform_init_saturates_wide_output_layers_and_glorot_does_not():
    # The chapter's test of the thesis's explanation of the 800-unit collapse (embedded MNIST, 1,000 images):
    # uniform(-1, 1) gave 0 / 17 / 68 % saturated outputs at 15 / 100 / 800 hidden units; Glorot 0 at all widths.
    from mlpkit import data

    (x_raw, _), _ = data.embedded_mnist()
    x = data.preprocess(x_raw[:1000])
    uniform = {w: study.saturated_fraction(SigmoidMLP([784, w, 10], seed=0), x)[1] for w in (15, 100, 800)}
    assert uniform[15] < 0.05 < uniform[100] < uniform[800] and uniform[800] > 0.5
    for width in (15, 100, 800):
        assert max(study.saturated_fraction(SigmoidMLP([784, width, 10], init="glorot", seed=0), x)) < 0.01


def test_saturated_fraction_counts_flat_units():
    net = SigmoidMLP([784, 2, 10], init="glorot", seed=0)
    net.params[0].assign(np.zeros((784, 2), np.float32))
    net.params[1].assign(np.array([0.0, 50.0], np.float32))  # unit 0 at the steepest point, unit 1 saturated
    hidden, _ = study.saturated_fraction(net, np.zeros((3, 784), np.float32))
    assert hidden == 0.5


def test_explicit_configs_take_one_value_defaults_and_known_keys_only():
    assert study.configurations({"lr": [0.1], "configs": [{"epochs": 3}, {"epochs": 4, "lr": 0.5}]})[1]["lr"] == 0.5
    with pytest.raises(study.StudyError, match="beside explicit configs, 'lr' must be a one-value list"):
        study.configurations({"lr": [0.1, 0.2], "configs": [{"epochs": 3}]})
    with pytest.raises(study.StudyError, match="each entry of configs maps some of"):
        study.configurations({"configs": [{"learning_rate": 0.9}]})
    with pytest.raises(study.StudyError, match="the same configuration twice"):
        study.Study({"lr": [0.9, 0.9]}, "/nonexistent")


def test_results_from_other_data_are_not_mixed_in(offline, tmp_path):
    out = tmp_path / "study"
    study.Study(TINY, out, images=300, data_source="source A").run(workers=1, progress=False)
    with pytest.raises(study.StudyError, match="holds results of a different study"):
        study.Study(TINY, out, images=300, data_source="source B").run(workers=1, progress=False)


def test_published_width_study_collapses_at_800_units_with_uniform_init_only():
    # The full Fashion-MNIST studies shipped with the package (code/results/, `make studies`):
    # [784, 800, 10] with uniform(-1, 1) weights collapses and varies wildly by fold; with Glorot it does not.
    uniform, glorot = (study.published_results(name)["results"] for name in ("figure22", "figure22_glorot"))
    assert [r["layers"] for r in uniform] == [r["layers"] for r in glorot] and uniform[-1]["layers"] == [784, 800, 10]
    assert uniform[-1]["accuracy_mean"] < glorot[-1]["accuracy_mean"] - 20
    assert uniform[-1]["accuracy_std"] > 10 > 1 > glorot[-1]["accuracy_std"]
    assert min(r["accuracy_mean"] for r in glorot) > 80  # no width collapses with Glorot


def test_published_results_name_what_exists():
    with pytest.raises(study.StudyError, match="figure18"):
        study.published_results("figure99")
