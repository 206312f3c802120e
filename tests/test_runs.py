"""Long runs on disk (mlpkit.runs): a study split over machines by `mlpkit study --shard I/N`, then merged."""

import contextlib
import io
import json
import multiprocessing
import shutil
import types

import numpy as np
import pytest

from mlpkit import cli, study, study_plots
from mlpkit.runs import outputs, studies, study_files
from mlpkit.study_grids import StudyError

# 4 configurations x 2 folds = 8 units on 300 embedded MNIST images, one epoch each: split 3 ways, 3 + 3 + 2.
GRID = [
    "--no-download",
    "--lr",
    "0.9,0.5,0.1,0.05",
    "--epochs",
    "1",
    "--folds",
    "2",
    "--images",
    "300",
    "--workers",
    "1",
]
TOLERANCE = 1e-6  # the same seeds on one machine give the same numbers; compared with a tolerance all the same


def _main(argv):
    """``mlpkit ARGV`` in this process; returns what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        cli.main(["study", *argv])
    return printed.getvalue()


def _units(out):
    return {path.stem for path in (out / "units").glob("*.json")} if (out / "units").is_dir() else set()


def _the_study(*extra):
    """The ``studies.Study`` the command line ``GRID + extra`` describes, with its folder elsewhere."""
    args = cli.build_parser().parse_args(["study", *GRID, *extra])
    return studies.Study(cli.study._study_grid(args, None), "/nonexistent", images=args.images)


@pytest.fixture(scope="module")
def sharded_runs(tmp_path_factory):
    """The study run whole, and the same study run as shards 1/3, 2/3 and 3/3 into one folder (not merged)."""
    root = tmp_path_factory.mktemp("shards")
    with pytest.MonkeyPatch.context() as patch:  # no data anywhere but the embedded digits, as the `offline` fixture
        patch.setenv("KERAS_HOME", str(root / "keras-home"))
        patch.delenv("MLPKIT_DATA_DIR", raising=False)
        from mlpkit import data

        patch.setattr(data, "DEBIAN_FASHION_MNIST", root / "no-debian-data")
        single, sharded = root / "single", root / "sharded"
        _main([*GRID, "--out", str(single)])
        shards, printed, listings = [], [], []
        for index in (1, 2, 3):
            before = _units(sharded)
            printed.append(_main([*GRID, "--shard", f"{index}/3", "--out", str(sharded)]))
            shards.append(_units(sharded) - before)
            listings.append(sorted(str(path.relative_to(sharded)) for path in sharded.rglob("*")))
    return types.SimpleNamespace(single=single, sharded=sharded, shards=shards, printed=printed, listings=listings)


def test_shards_are_disjoint_balanced_and_cover_the_grid(sharded_runs):
    grid_units = list(_the_study().units)
    assert len(grid_units) == 8 and _units(sharded_runs.single) == set(grid_units)
    for index, shard in enumerate(sharded_runs.shards, 1):
        assert shard == set(studies.shard_units(grid_units, index, 3))  # each shard ran its own units, and only those
    assert [len(shard) for shard in sharded_runs.shards] == [3, 3, 2]
    assert set().union(*sharded_runs.shards) == set(grid_units) and sum(map(len, sharded_runs.shards)) == len(
        grid_units
    )
    assert "shard 2/3: 3 of the 8 units (4 configurations x 2 folds), 1 worker" in sharded_runs.printed[1]
    assert (
        "shard 2/3: 3 units done" in sharded_runs.printed[1]
        and "run --merge-only when all shards are done" in sharded_runs.printed[1]
    )
    assert "shard 3/3: 2 units done" in sharded_runs.printed[2]
    allowed = {"study.json", "units"} | {f"units/{name}.json" for name in grid_units}
    # a shard writes unit files and study.json: no results, plots or temporary files
    for listing in sharded_runs.listings:
        assert set(listing) <= allowed
    assert len(sharded_runs.listings[-1]) == 2 + len(grid_units)


def test_rerunning_a_shard_trains_nothing_and_an_extra_shard_may_be_empty(sharded_runs, tmp_path, monkeypatch):
    out = tmp_path / "sharded"
    shutil.copytree(sharded_runs.sharded, out)
    monkeypatch.setattr(study, "run_unit", _no_training)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("MLPKIT_DATA_DIR", raising=False)
    assert "shard 1/3: 3 units done" in _main([*GRID, "--shard", "1/3", "--out", str(out)])
    assert "shard 9/9: 0 units done" in _main([*GRID, "--shard", "9/9", "--out", str(out)])  # 8 units: part 9 has none


def _no_training(*args, **kwargs):
    raise AssertionError("a merge or a finished shard trained a unit")


def _no_data(*args, **kwargs):
    raise AssertionError("a merge loaded the data")


def test_merge_only_gives_the_single_run_results_without_training(sharded_runs, tmp_path, monkeypatch):
    out = tmp_path / "sharded"
    shutil.copytree(sharded_runs.sharded, out)
    from mlpkit import data

    monkeypatch.setattr(study, "run_unit", _no_training)
    monkeypatch.setattr(data, "load_data", _no_data)
    printed = _main([*GRID, "--merge-only", "--out", str(out)])
    assert "merged 8 of 8 units" in printed
    merged = json.loads((out / "results.json").read_text())
    single = json.loads((sharded_runs.single / "results.json").read_text())
    assert "partial" not in merged
    assert {key: value for key, value in merged.items() if key != "results"} == {
        key: value for key, value in single.items() if key != "results"
    }  # the same study, data and folds
    assert [row["key"] for row in merged["results"]] == [row["key"] for row in single["results"]]
    for got, expected in zip(merged["results"], single["results"]):
        assert got.keys() == expected.keys()
        for key in got.keys() - {"wall_seconds"}:  # wall time is the one thing that differs between runs
            if isinstance(expected[key], str):
                assert got[key] == expected[key], key
            else:
                np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=TOLERANCE, err_msg=key)
    for name in _units(sharded_runs.single):  # and unit by unit
        got, expected = (
            json.loads((folder / "units" / f"{name}.json").read_text()) for folder in (out, sharded_runs.single)
        )
        for key in ("validation_accuracy", "validation_loss", "test_accuracy", "test_loss"):
            assert got[key] == pytest.approx(expected[key], rel=0, abs=TOLERANCE)
    for name in ("results.csv", "accuracy.png", "error_curves.png"):
        assert (out / name).is_file()
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 5 and rows[0] == (sharded_runs.single / "results.csv").read_text().splitlines()[0]


def test_merge_with_a_shard_missing_names_the_units_and_writes_nothing(sharded_runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "sharded"
    shutil.copytree(sharded_runs.sharded, out)
    for name in sharded_runs.shards[2]:  # shard 3/3 never ran
        (out / "units" / f"{name}.json").unlink()
    monkeypatch.setattr(study, "run_unit", _no_training)
    before = sorted(out.rglob("*"))
    with pytest.raises(SystemExit) as exit_:
        _main([*GRID, "--merge-only", "--out", str(out)])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and error.count("\n") == 1
    assert "2 of 8 units are missing" in error and "--allow-missing" in error
    for name in sharded_runs.shards[2]:
        assert name in error
    for name in sharded_runs.shards[0] | sharded_runs.shards[1]:
        assert name not in error
    assert sorted(out.rglob("*")) == before  # nothing written

    printed = _main([*GRID, "--merge-only", "--allow-missing", "--out", str(out)])
    warning = capsys.readouterr().err
    assert "merged 6 of 8 units" in printed and "partial result: 2 of 8 units missing" in warning
    report = json.loads((out / "results.json").read_text())
    assert report["partial"] == {
        "units_present": 6,
        "units_total": 8,
        "units_missing": [name for name in _the_study().units if name in sharded_runs.shards[2]],
    }
    assert sum(row["folds"] for row in report["results"]) == 6
    assert all(len(row["accuracy_per_fold"]) == row["folds"] for row in report["results"])
    for name in ("results.csv", "accuracy.png", "error_curves.png"):
        assert (out / name).is_file()
    import matplotlib.pyplot as plt

    figures = study_plots.report_figures(report)
    assert all("partial, 6 of 8 units" in figure.axes[0].get_title() for figure in figures.values())
    plt.close("all")


def test_merge_refuses_another_study_and_a_folder_without_one(sharded_runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "sharded"
    shutil.copytree(sharded_runs.sharded, out)
    monkeypatch.setattr(study, "run_unit", _no_training)
    for other in (["--lr", "0.9,0.5"], ["--images", "400"], ["--seed", "1"]):
        with pytest.raises(SystemExit):
            _main([*GRID, *other, "--merge-only", "--out", str(out)])
        assert "holds results of a different study" in capsys.readouterr().err
    unit = out / "units" / f"{sorted(sharded_runs.shards[0])[0]}.json"
    result = json.loads(unit.read_text())
    unit.write_text(json.dumps({**result, "data_source": "other data"}))  # a unit trained on other data
    with pytest.raises(SystemExit):
        _main([*GRID, "--merge-only", "--out", str(out)])
    assert f"{unit.name} is not a result of this unit" in capsys.readouterr().err
    assert not (out / "results.json").exists()
    empty = tmp_path / "nothing-here"
    with pytest.raises(SystemExit):
        _main([*GRID, "--merge-only", "--out", str(empty)])
    assert "holds no study (no study.json)" in capsys.readouterr().err
    assert not empty.exists()


@pytest.mark.parametrize(
    "value, message",
    [
        ("0/3", "0/3: part I must be from 1 to N = 3"),
        ("4/3", "4/3: part I must be from 1 to N = 3"),
        ("1/0", "1/0: the number of parts N must be 1 or more"),
        ("0/0", "0/0: the number of parts N must be 1 or more"),
        ("2", "expected I/N"),
        ("1/2/3", "expected I/N"),
        ("one/3", "expected I/N"),
        ("-1/3", "expected I/N"),
        ("1.5/3", "expected I/N"),
        ("", "expected I/N"),
    ],
)
def test_bad_shard_values_are_named(value, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["study", f"--shard={value}"])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and f"argument --shard: {message}" in error and error.count("\n") == 1


def test_shard_options_that_do_not_go_together(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["study", "--shard", "1/3", "--merge-only"])
    assert exit_.value.code == 2 and "--merge-only: not allowed with argument --shard" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["study", "--allow-missing", "--out", str(tmp_path / "x")])
    assert exit_.value.code == 2 and "--allow-missing applies only with --merge-only" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert cli.build_parser().parse_args(["study", "--shard", "2/8"]).shard == (2, 8)


def test_shards_split_any_unit_list_round_robin():
    for units in range(12):
        names = [f"u{i}" for i in range(units)]
        for count in range(1, 6):
            parts = [studies.shard_units(names, index, count) for index in range(1, count + 1)]
            assert sorted(sum(parts, []), key=names.index) == names  # every unit in exactly one part
            assert max(map(len, parts)) - min(map(len, parts)) <= 1  # balanced
            assert all(part == sorted(part, key=names.index) for part in parts)  # in unit order
    assert studies.shard_units("abcdefg", 2, 3) == ["b", "e"]
    with pytest.raises(ValueError):
        studies.shard_units("abc", 4, 3)


def _create(args):
    path, text = args
    return outputs.create_once(path, text)


def test_study_json_is_created_once_whole_and_compared_by_the_others(tmp_path):
    # Eight processes race to create the same study.json: exactly one does, and it is whole.
    path = tmp_path / "study.json"
    text = json.dumps({"units": list(range(20000))})
    with multiprocessing.get_context("fork").Pool(4) as pool:
        created = pool.map(_create, [(path, text)] * 8)
    assert created.count(True) == 1 and path.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["study.json"]  # no temporary files left
    temporary = outputs.temporary_name(path)
    assert temporary.name.startswith(".study.json.") and temporary.suffix == ".partial"
    # A shard of another study finds it and stops, before training, leaving it as it is.
    first = studies.Study({"lr": [0.9], "folds": 2}, tmp_path / "out")
    first._prepare()
    spec = (tmp_path / "out" / "study.json").read_text()
    with pytest.raises(StudyError, match="different study .*differs in the configurations"):
        studies.Study({"lr": [0.5], "folds": 2}, tmp_path / "out").run(progress=False, shard=(1, 2))
    with pytest.raises(StudyError, match="differs in images None there, 300 here"):
        studies.Study({"lr": [0.9], "folds": 2}, tmp_path / "out", images=300).run(progress=False, shard=(2, 2))
    assert (tmp_path / "out" / "study.json").read_text() == spec
    studies.Study({"lr": [0.9], "folds": 2}, tmp_path / "out")._prepare()  # the same study: accepted


def test_a_shard_that_finds_the_data_where_another_downloaded_them_joins_the_study(tmp_path):
    # The first shard downloads into the Keras cache; the next finds the same files there. Other data is refused.
    cache = "IDX files in /home/me/.keras/datasets/fashion-mnist"
    first = studies.Study(
        {"lr": [0.9], "folds": 2}, tmp_path, data_source=f"{cache} (downloaded through keras.datasets)"
    )
    first._prepare()
    name, (config, fold) = next(iter(first.units.items()))
    first._save(name, {"config": config, "fold": fold, "data_source": first.data_source})
    later = studies.Study({"lr": [0.9], "folds": 2}, tmp_path, data_source=f"{cache} (the Keras cache)")
    later._prepare()
    assert list(later.finished()) == [name]
    embedded = "the embedded default: 5,000 real MNIST digits"
    assert study_files.same_data(
        embedded, f"{embedded} (full MNIST not found; a download through keras.datasets (offline))"
    )
    elsewhere = studies.Study({"lr": [0.9], "folds": 2}, tmp_path, data_source="IDX files in /scratch/fashion-mnist")
    with pytest.raises(StudyError, match="differs in data_source .* the same --data-dir"):
        elsewhere._prepare()
    with pytest.raises(StudyError, match="is not a result of this unit"):  # nor are the units of other data
        elsewhere.finished()
