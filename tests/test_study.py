"""Chapter 6: cross-validation done right, resumable studies, and `mlpkit study`."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from mlpkit import study, study_grids
from mlpkit.model import SigmoidMLP
from mlpkit.quiet import leaked_lines
from mlpkit.runs import studies
from mlpkit.study_grids import StudyError

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
    # What each unit trains and validates on, recomputed from the data: a fold of the (subsampled) training
    # set, class by class; the test set only for k = 1, where it is the validation set.
    from mlpkit import data

    (_, y_train), (_, y_test) = data.embedded_mnist()
    labels = study.subsample(y_train, y_train, 400)[1]
    config = study_grids.configurations(TINY)[0]
    for fold, (train, val) in enumerate(study.make_folds(labels, 2, seed=0)):
        result = study.run_unit(config, fold=fold, folds=2, seed=0, dataset="mnist", images=400)
        assert result["train_images"] == len(train) and result["validation_images"] == len(val)
        assert result["per_class_total"] == np.bincount(labels[val], minlength=10).tolist()  # exactly this fold
        correct = np.array(result["per_class_correct"])
        assert result["validation_accuracy"] == pytest.approx(correct.sum() / len(val))
    split = study.run_unit(config, fold=None, folds=1, seed=0, dataset="mnist", images=400)
    assert split["train_images"] == len(labels) and split["validation_images"] == len(y_test)
    assert split["per_class_total"] == np.bincount(y_test, minlength=10).tolist()  # k = 1: the test set
    assert split["validation_accuracy"] == pytest.approx(split["test_accuracy"])


def test_study_resumes_and_redoes_only_missing_units(offline, tmp_path):
    out = tmp_path / "study"
    first = studies.Study(TINY, out, images=300)
    results = first.run(workers=1, progress=False)
    assert len(results) == 2 and (out / "results.json").is_file() and (out / "results.csv").is_file()
    units = sorted((out / "units").glob("*.json"))
    kept, redo = units
    kept_time = kept.stat().st_mtime_ns
    redo.unlink()
    redo.with_suffix(".json.partial").write_text('{"config": ')  # what an interrupted write leaves behind
    again = studies.Study(TINY, out, images=300).run(workers=1, progress=False)
    assert kept.stat().st_mtime_ns == kept_time  # not redone
    assert redo.is_file() and json.loads(redo.read_text())["fold"] == 1  # redone
    # same seed, same result
    assert again[redo.stem]["validation_accuracy"] == results[redo.stem]["validation_accuracy"]


def test_corrupt_unit_file_is_reported_and_kept(offline, tmp_path):
    out = tmp_path / "study"
    studies.Study(TINY, out, images=300).run(workers=1, progress=False)
    victim = sorted((out / "units").glob("*.json"))[0]
    victim.write_text("{not json")
    with pytest.raises(StudyError, match=f"{victim.name} is not a result of this unit"):
        studies.Study(TINY, out, images=300).run(workers=1, progress=False)
    assert victim.read_text() == "{not json"


def test_another_study_in_the_folder_is_not_overwritten(offline, tmp_path):
    out = tmp_path / "study"
    studies.Study(TINY, out, images=300).run(workers=1, progress=False)
    before = (out / "study.json").read_text()
    with pytest.raises(StudyError, match="holds results of a different study"):
        studies.Study({**TINY, "lr": [0.5]}, out, images=300).run(workers=1, progress=False)
    assert (out / "study.json").read_text() == before


def test_erratum_increasing_widths_were_the_thesis_worst_model():
    # Thesis Figure 27, in the order of the kit's grid: (accuracy %, variance) of models 12-15. Its closing
    # sentence says increasing widths do well and decreasing ones poorly; its own table says the opposite.
    # The kit's runs of the same grid do not reproduce model 13's instability.
    thesis = [(96.89, 6.79), (71.05, 933.92), (96.54, 5.13), (92.84, 1.45)]
    configs = study_grids.configurations(study_grids.load_grid("figure27"))
    hidden = [c["layers"][1:-1] for c in configs]
    increasing = [i for i, h in enumerate(hidden) if h == sorted(h)]
    decreasing = [i for i, h in enumerate(hidden) if h == sorted(h, reverse=True)]
    assert len(increasing) == len(decreasing) == 1
    accuracy, variance = zip(*thesis)
    assert np.argmin(accuracy) == increasing[0] and np.argmax(variance) == increasing[0]
    assert np.argmax(accuracy) == decreasing[0]
    kit = study.published_results("figure27")["results"]
    assert kit[increasing[0]]["layers"] == configs[increasing[0]]["layers"]
    assert kit[increasing[0]]["accuracy_std"] ** 2 < variance[increasing[0]] / 100


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
    # with uniform(-1, 1) weights the share of saturated outputs grows with the width; with Glorot's, none.
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


def test_results_from_other_data_are_not_mixed_in(offline, tmp_path):
    out = tmp_path / "study"
    studies.Study(TINY, out, images=300, data_source="source A").run(workers=1, progress=False)
    with pytest.raises(StudyError, match="holds results of a different study"):
        studies.Study(TINY, out, images=300, data_source="source B").run(workers=1, progress=False)


def test_summary_is_computed_from_the_unit_files(offline, tmp_path):
    # A real (tiny) study: every statistic of results.json recomputed from the unit files it summarises.
    grid = {"lr": [0.9, 0.1], "epochs": [2], "folds": 2}
    run = studies.Study(grid, tmp_path / "study", images=300)
    run.run(workers=1, progress=False)
    report = json.loads((tmp_path / "study" / "results.json").read_text())
    configs = study_grids.configurations(grid)
    assert [{key: row[key] for key in study_grids.DEFAULTS} for row in report["results"]] == configs
    for row in report["results"]:
        folder = tmp_path / "study" / "units"
        units = [json.loads((folder / f"{row['key']}_fold{fold}.json").read_text()) for fold in (0, 1)]
        accuracy = [100 * u["validation_accuracy"] for u in units]
        assert row["accuracy_per_fold"] == accuracy and row["folds"] == 2
        assert row["accuracy_mean"] == pytest.approx(np.mean(accuracy))
        assert row["accuracy_std"] == pytest.approx(np.std(accuracy, ddof=1))
        assert row["test_accuracy_mean"] == pytest.approx(np.mean([100 * u["test_accuracy"] for u in units]))
        assert row["per_class_total"] == np.sum([u["per_class_total"] for u in units], axis=0).tolist()
        assert sum(row["per_class_total"]) == 300  # the two validation folds cover the training images once
        curves = np.mean([[epoch["test_loss"] for epoch in u["history"]] for u in units], axis=0)
        np.testing.assert_allclose(row["validation_loss_per_epoch"], curves, rtol=1e-12)
        assert len(curves) == row["epochs"] + 1  # epoch 0, before training, and one per epoch


def test_published_results_name_what_exists():
    with pytest.raises(StudyError, match="figure18"):
        study.published_results("figure99")


def test_offline_rerun_with_default_options_reuses_every_unit_and_refuses_other_data(offline, monkeypatch, capsys):
    # Offline, the command's own loading tries a download and notes its failure in the data source; the units
    # load without trying. A rerun, with the download failing again or not tried (MLPKIT_NO_DOWNLOAD), finds
    # every unit done: the data are identified by their fingerprint, and their source without the note.
    from mlpkit import cli, data

    def no_network(name):
        raise Exception("URL fetch failure on https://storage.googleapis.com/mnist.npz: None -- [Errno -3] offline")

    monkeypatch.setattr(data, "_download", no_network)
    monkeypatch.setattr(study, "_DATA", {})
    out = offline / "run"
    command = [
        "study",
        "--lr",
        "0.9",
        "--epochs",
        "1",
        "--folds",
        "2",
        "--images",
        "300",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    monkeypatch.delenv("MLPKIT_NO_DOWNLOAD")
    cli.main(command)
    spec = json.loads((out / "study.json").read_text())
    assert "full MNIST not found" in spec["data_source"] and len(spec["data_fingerprint"]) == 64
    units = sorted((out / "units").glob("*.json"))
    assert len(units) == 2 and all(
        json.loads(u.read_text())["data_fingerprint"] == spec["data_fingerprint"] for u in units
    )
    times = [unit.stat().st_mtime_ns for unit in units]

    def retrain(*args):
        raise AssertionError("a finished unit was trained again")

    monkeypatch.setattr(study, "run_unit", retrain)
    for no_download in ("", "1"):  # the download fails again; then it is not tried
        monkeypatch.setenv("MLPKIT_NO_DOWNLOAD", no_download)
        cli.main(command)
        assert "2 units (1 configurations x 2 folds)" in capsys.readouterr().out
    assert [unit.stat().st_mtime_ns for unit in units] == times

    # Other data under the same source sentence (one pixel of the embedded set changed): refused by fingerprint.
    embedded = data.embedded_mnist

    def other_pixels(*args, **kwargs):
        (x_train, y_train), test = embedded(*args, **kwargs)
        x_train = x_train.copy()
        x_train[0, 0, 0] ^= 1
        return (x_train, y_train), test

    monkeypatch.setattr(data, "embedded_mnist", other_pixels)
    monkeypatch.setattr(study, "_DATA", {})
    with pytest.raises(
        StudyError, match=r"differs in the data \(SHA-256 [0-9a-f]{12}\.\.\. there, from 'the embedded"
    ):
        studies.Study({"lr": [0.9], "epochs": [1], "folds": 2}, out, images=300, data_source=spec["data_source"]).run(
            workers=1, progress=False
        )
    # And a unit file of other data, in a folder of this study's: not taken as a result of this unit.
    monkeypatch.setattr(data, "embedded_mnist", embedded)
    monkeypatch.setattr(study, "_DATA", {})
    result = json.loads(units[1].read_text())
    units[1].write_text(json.dumps({**result, "data_fingerprint": "0" * 64}))
    with pytest.raises(StudyError, match=f"{units[1].name} is not a result of this unit"):
        studies.Study({"lr": [0.9], "epochs": [1], "folds": 2}, out, images=300, data_source=spec["data_source"]).run(
            workers=1, progress=False
        )


def test_cross_validate_gives_in_memory_the_rows_a_study_folder_gets(offline, tmp_path):
    # Chapter 6's live study: the same units and seeds as `mlpkit study`, with no folder written.
    grid = {"lr": [0.9, 0.5], "epochs": [1], "folds": 2}
    before = sorted(pathlib.Path.cwd().iterdir())
    rows = study.cross_validate(grid, images=300)
    assert sorted(pathlib.Path.cwd().iterdir()) == before
    runner = studies.Study(grid, tmp_path / "study", images=300)
    on_disk = runner.summary(runner.run(workers=1, progress=False))
    assert [row["key"] for row in rows] == [row["key"] for row in on_disk]
    for row, expected in zip(rows, on_disk):
        assert row["accuracy_per_fold"] == pytest.approx(expected["accuracy_per_fold"])
        assert row["per_class_total"] == expected["per_class_total"]
