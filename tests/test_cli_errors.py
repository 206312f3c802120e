"""Every `mlpkit` command answers bad input with one line naming the option or file, exit status 2, nothing left behind.

Most cases call `mlpkit.cli.main` in this process (TensorFlow is imported
once, when the first test needs it); a few run the installed command end to
end. The one slow end-to-end run (a self-check, which imports TensorFlow in
its own process) starts before any test and is collected by the last one, so
it runs beside the rest.
Cases that need data use a tiny IDX data set (6 images per class) with the
checksum check turned off, so it can stand for either data set.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from helpers import tiny_split, write_idx
from mlpkit import cli
from mlpkit.runs import outputs

MLPKIT = pathlib.Path(sys.executable).parent / "mlpkit"
ONE_EXERCISE = "import numpy as np\n\n\ndef step(z):\n    z = np.asarray(z)\n    return (z > 0).astype(z.dtype)\n"


def run_mlpkit(*args, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", MLPKIT_NO_DOWNLOAD="1")
    return subprocess.Popen([str(MLPKIT), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=cwd)


@pytest.fixture(scope="module", autouse=True)
def self_check_run(tmp_path_factory):
    """`mlpkit exercises check` on a file defining one of chapter 1's three exercises, started at once."""
    folder = tmp_path_factory.mktemp("self-check")
    (folder / "mine.py").write_text(ONE_EXERCISE)
    process = run_mlpkit("exercises", "check", "mine.py", cwd=folder)
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


def fail(capsys, *argv):
    """Run ``mlpkit ARGV`` in this process; return ``(exit status, the error line, stdout)``."""
    with pytest.raises(SystemExit) as exited:
        cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("mlpkit")]
    assert len(lines) == 1, captured.err
    return exited.value.code, lines[0], captured.out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A folder with the four IDX files of 60 training and 20 test images."""
    folder = tmp_path_factory.mktemp("tiny")
    for prefix, n, seed in (("train", 60, 0), ("t10k", 20, 1)):
        images, labels = tiny_split(n, seed)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture
def unchecked(monkeypatch):
    """The tiny data set passes for MNIST or Fashion-MNIST."""
    monkeypatch.setattr("mlpkit.data_files.IDX_SHA256", {})


@pytest.fixture(scope="module")
def fashion_run(tiny, tmp_path_factory):
    """`mlpkit train` on the tiny set as Fashion-MNIST, one epoch, batch size above the training set."""
    out = tmp_path_factory.mktemp("fashion") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mlpkit.data_files.IDX_SHA256", {})
        cli.main(
            [
                "train",
                "--dataset",
                "fashion_mnist",
                "--data-dir",
                str(tiny),
                "--epochs",
                "1",
                "--batch-size",
                "100",
                "--no-plots",
                "--no-jit",
                "--out",
                str(out),
            ]
        )
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An untrained chapter-4 network exported as if trained on Fashion-MNIST, with the images it is tried on."""
    from mlpkit import data
    from mlpkit.export import export_model
    from mlpkit.model import SigmoidMLP

    net = SigmoidMLP(seed=3)
    path = export_model(net, tmp_path_factory.mktemp("exported") / "model", dataset="fashion_mnist")
    images = tiny_split(12, 5)[0]
    expected = np.argmax(net(data.preprocess(images)).numpy(), axis=1)
    return path, images, expected


# -- 1: train --out ----------------------------------------------------------------------------------


def test_train_out_that_is_a_file_fails_before_loading_data(tmp_path, capsys):
    (tmp_path / "run").write_text("not a folder")
    code, line, out = fail(capsys, "train", "--out", tmp_path / "run")
    assert code == 2 and f"--out {tmp_path / 'run'}: is a file; expected a folder" in line
    assert "data:" not in out and (tmp_path / "run").read_text() == "not a folder"


def test_train_out_below_a_file_fails(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    code, line, _ = fail(capsys, "train", "--out", tmp_path / "file" / "run")
    assert code == 2 and f"cannot create this folder: {tmp_path / 'file'} is a file" in line


def test_train_out_without_write_permission_fails(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: False)  # root ignores chmod; pretend
    code, line, _ = fail(capsys, "train", "--out", tmp_path / "new" / "run")
    assert code == 2 and f"--out {tmp_path / 'new' / 'run'}: cannot write in {tmp_path} (permission denied)" in line
    assert not (tmp_path / "new").exists()


def test_train_interrupted_while_writing_leaves_nothing(tiny, unchecked, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("mlpkit.export.export_model", interrupted)
    code, line, _ = fail(
        capsys,
        "train",
        "--data-dir",
        tiny,
        "--epochs",
        "1",
        "--no-plots",
        "--no-jit",
        "--out",
        tmp_path / "new" / "run",
    )
    assert code == 130 and line == f"mlpkit: interrupted; removed the unfinished output in {tmp_path / 'new' / 'run'}"
    assert list(tmp_path.iterdir()) == []


def test_batch_size_above_the_training_set_is_noted(fashion_run):
    metrics = json.loads((fashion_run / "metrics.json").read_text())
    assert metrics["config"]["batch_size"] == 100 and metrics["train_images"] == 60
    assert sorted(p.name for p in fashion_run.iterdir()) == ["metrics.json", "model"]  # no temporary folder left


def test_batch_size_note_is_printed(tiny, unchecked, tmp_path, capsys):
    cli.main(
        [
            "train",
            "--data-dir",
            str(tiny),
            "--epochs",
            "1",
            "--batch-size",
            "61",
            "--no-plots",
            "--no-jit",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert (
        "note: --batch-size 61 is more than the 60 training images: each epoch is one step" in capsys.readouterr().out
    )


# -- 2, 3: evaluate -----------------------------------------------------------------------------------


def test_evaluate_uses_the_data_set_the_model_was_trained_on(fashion_run, tiny, unchecked, capsys):
    cli.main(["evaluate", str(fashion_run / "model"), "--data-dir", str(tiny)])
    out = capsys.readouterr().out
    assert "on 20 images (fashion_mnist)" in out and "T-shirt/top:" in out


def test_evaluate_refuses_another_data_set(fashion_run, tiny, capsys):
    code, line, out = fail(capsys, "evaluate", fashion_run / "model", "--dataset", "mnist", "--data-dir", tiny)
    assert code == 2 and f"--dataset mnist: the model in {fashion_run / 'model'} was trained on fashion_mnist" in line
    assert "test accuracy" not in out


def test_evaluate_a_model_that_records_no_data_set_needs_dataset(tmp_path, capsys):
    import tensorflow as tf

    class Recordless(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 28, 28], tf.uint8)])
        def __call__(self, images):
            return tf.zeros([tf.shape(images)[0]], tf.int64)

    tf.saved_model.save(Recordless(), str(tmp_path / "model"))
    code, line, _ = fail(capsys, "evaluate", tmp_path / "model")
    assert code == 2 and "does not record the data set it was trained on" in line and "give --dataset" in line


def test_evaluate_a_corrupt_saved_model(tmp_path, capsys):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"\x00 not a protocol buffer")
    code, line, _ = fail(capsys, "evaluate", tmp_path / "model")
    assert code == 2 and f"mlpkit: error: {tmp_path / 'model'}: cannot load the SavedModel" in line


def test_evaluate_the_run_folder_suggests_its_model(fashion_run, capsys):
    code, line, _ = fail(capsys, "evaluate", fashion_run)
    assert (
        code == 2
        and f"is not a SavedModel directory (no saved_model.pb); did you mean {fashion_run / 'model'}?" in line
    )


def test_evaluate_plots_into_a_file_fails_before_evaluating(fashion_run, tmp_path, capsys):
    (tmp_path / "plots").write_text("")
    code, line, out = fail(capsys, "evaluate", fashion_run / "model", "--plots", tmp_path / "plots")
    assert code == 2 and f"--plots {tmp_path / 'plots'}: is a file; expected a folder" in line and out == ""


# -- 4: the SavedModel's input contract ----------------------------------------------------------------


def test_saved_model_contract_through_load_model(exported):
    from mlpkit.export import load_model

    path, images, expected = exported
    model = load_model(path)
    assert model.dataset == "fashion_mnist" and model.class_names[0] == "T-shirt/top"
    batch = model(images).numpy()
    assert batch.dtype == np.int64 and batch.shape == (12,)
    np.testing.assert_array_equal(batch, expected)
    np.testing.assert_array_equal(model(images / 255.0).numpy(), expected)  # float64 in [0, 1]
    np.testing.assert_array_equal(model((images / 255.0).astype(np.float32)).numpy(), expected)
    single = model(images[4]).numpy()
    assert single.shape == () and single == expected[4]
    assert model(images[:0]).numpy().shape == (0,)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (
            np.zeros((2, 784), np.uint8),
            ValueError,
            r"expected one image of shape \(28, 28\) or a batch of shape \(n, 28, 28\); got shape \(2, 784\)",
        ),
        (
            np.zeros((2, 2, 28, 28), np.uint8),
            ValueError,
            r"or a batch of shape \(n, 28, 28\); got shape \(2, 2, 28, 28\)",
        ),
        (
            np.full((2, 28, 28), 255.0),
            ValueError,
            r"expected float pixels in \[0, 1\] \(or uint8 pixels 0-255\); got 1,568 values outside it, such as 255",
        ),
        (np.full((28, 28), np.nan, np.float32), ValueError, r"expected float pixels in \[0, 1\] .*such as nan"),
        (
            np.zeros((2, 28, 28), np.int64),
            TypeError,
            "expected uint8 pixels 0-255 or float pixels in \\[0, 1\\]; got dtype int64",
        ),
        (np.zeros((2, 28, 28), np.float16), TypeError, "got dtype float16"),
    ],
)
def test_saved_model_refuses_other_input_through_load_model(exported, bad, error, message):
    from mlpkit.export import load_model

    with pytest.raises(error, match=message) as caught:
        load_model(exported[0])(bad)
    assert str(caught.value).startswith("mlpkit model: expected")


def test_saved_model_contract_with_plain_tensorflow(exported):
    import tensorflow as tf

    path, images, expected = exported
    model = tf.saved_model.load(str(path))
    assert model.dataset.numpy().decode() == "fashion_mnist"
    np.testing.assert_array_equal(model(images).numpy(), expected)
    np.testing.assert_array_equal(model(images / 255.0).numpy(), expected)
    assert model(images[4]).numpy() == expected[4] and model(images[4]).shape == ()
    cases = [
        (np.zeros((2, 784), np.uint8), "mlpkit model: expected one image of shape (28, 28) or a batch"),
        (images.astype(np.float32), "mlpkit model: expected float pixels in [0, 1]"),
        (
            images.astype(np.int32),
            "mlpkit model: expected uint8 pixels 0-255 or float pixels in [0, 1]; got dtype int32",
        ),
    ]
    for bad, message in cases:
        with pytest.raises(tf.errors.InvalidArgumentError) as caught:
            model(bad)
        assert message in str(caught.value)


# -- 5: study ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "grid, message",
    [
        ({"lr": ["abc"]}, "grid key 'lr': expected positive numbers such as 0.9; got 'abc'"),
        ({"epochs": ["3"]}, "grid key 'epochs': expected whole numbers 1 or more, such as 10; got '3'"),
        ({"batch_size": [0]}, "grid key 'batch_size': expected whole numbers 1 or more"),
        ({"layers": [[784, "15", 10]]}, "grid key 'layers': expected lists of at least two positive whole numbers"),
        ({"init": ["he"]}, "grid key 'init': expected one of 'uniform', 'glorot'; got 'he'"),
        ({"folds": "5"}, "folds must be a whole number, 1 (the plain train/test split) or more; got '5'"),
        ({"seed": -1}, "seed must be a whole number from 0 to 2147483647; got -1"),
    ],
)
def test_study_grid_is_checked_before_anything_runs(tmp_path, capsys, grid, message):
    (tmp_path / "grid.json").write_text(json.dumps(grid))
    code, line, out = fail(capsys, "study", tmp_path / "grid.json", "--out", tmp_path / "out")
    assert code == 2 and message in line and out == ""
    assert not (tmp_path / "out").exists()


def test_study_folds_must_fit_the_smallest_class(tiny, unchecked, tmp_path, capsys):
    code, line, _ = fail(
        capsys, "study", "--data-dir", tiny, "--folds", "7", "--epochs", "1", "--out", tmp_path / "out"
    )
    assert code == 2 and "cannot make 7 folds: the smallest class of the 60 training images used has 6 images" in line
    assert "use --folds 6 or fewer" in line and not (tmp_path / "out").exists()


def test_study_images_must_allow_a_stratified_subset(tiny, unchecked, tmp_path, capsys):
    code, line, _ = fail(capsys, "study", "--data-dir", tiny, "--images", "5", "--out", tmp_path / "out")
    assert code == 2 and "--images 5: a stratified subset needs at least one image of each of the 10 classes" in line
    code, line, _ = fail(capsys, "study", "--data-dir", tiny, "--images", "61", "--out", tmp_path / "out")
    assert code == 2 and "--images 61 is more than the 60 training images" in line


def test_study_grid_that_is_a_folder(tmp_path, capsys):
    code, line, _ = fail(capsys, "study", tmp_path)
    assert code == 2 and f"GRID {tmp_path}: is a folder; expected a .json or .yaml grid file" in line


# -- 6: grade ------------------------------------------------------------------------------------------


def test_grade_an_empty_folder_end_to_end(tmp_path):
    (tmp_path / "class").mkdir()
    result = run_mlpkit("grade", "class", "--out", "grades.csv", cwd=tmp_path)
    out, err = result.communicate(timeout=120)
    assert result.returncode == 2 and out == ""
    assert err.strip() == (
        "mlpkit: error: FOLDER class: no submissions (the folder is empty); expected one of the layouts: "
        "plain (STUDENT.ipynb / STUDENT.py files), canvas (a Canvas bulk download: "
        "lastfirst_12345_67890_name.ipynb) or moodle (a Moodle download: "
        "'Full Name_12345_assignsubmission_file_' folders)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class"]


def test_grade_per_student_subfolders_are_named(tmp_path, capsys):
    for student in ("alice", "bob"):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "perceptron.ipynb").write_text("{}")
    code, line, _ = fail(capsys, "grade", tmp_path / "class", "--out", tmp_path / "grades.csv")
    assert code == 2 and "no submission files, but 2 subfolders not named as Moodle names them ('alice', 'bob')" in line
    assert "plain (STUDENT.ipynb / STUDENT.py files), canvas (" in line and "moodle (a Moodle download" in line


def test_grade_out_that_is_a_folder_fails_before_grading(tmp_path, capsys):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "s1.py").write_text(ONE_EXERCISE)
    (tmp_path / "grades").mkdir()
    code, line, _ = fail(capsys, "grade", tmp_path / "class", "--out", tmp_path / "grades")
    assert code == 2 and f"--out {tmp_path / 'grades'}: is a folder; expected the name of a file to write" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class", "grades"] and not any(
        (tmp_path / "grades").iterdir()
    )


@pytest.mark.parametrize(
    "option, message",
    [
        (["--units", "afile"], "--units {}: is a file; expected a folder"),
        (["--feedback", "afile"], "--feedback {}: is a file; expected a folder"),
        (["--only", "s2.py"], "--only: no submission s2.py in {}"),
        (["--merge-only"], "--merge-only: no finished units in"),
        (["--chapters", "ch9"], "--chapters: no exercises for chapter 'ch9'"),
    ],
)
def test_grade_options_are_checked_before_grading(tmp_path, capsys, option, message):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "s1.py").write_text(ONE_EXERCISE)
    (tmp_path / "afile").write_text("")
    option = [str(tmp_path / part) if part == "afile" else part for part in option]
    code, line, _ = fail(capsys, "grade", tmp_path / "class", "--out", tmp_path / "grades.csv", *option)
    named = tmp_path / "class" if "--only" in option else tmp_path / "afile"
    assert code == 2 and message.format(named) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "class"]


# -- 7: exercises release and demo-class -------------------------------------------------------------------


@pytest.mark.parametrize("action", ["release", "demo-class"])
def test_exercises_into_a_file(tmp_path, capsys, action):
    (tmp_path / "out").write_text("")
    code, line, _ = fail(capsys, "exercises", action, tmp_path / "out")
    assert code == 2 and f"OUT_DIR {tmp_path / 'out'}: is a file; expected a folder" in line


def test_demo_class_refuses_a_folder_with_files(tmp_path, capsys):
    (tmp_path / "s0001.py").write_text(ONE_EXERCISE)
    code, line, _ = fail(capsys, "exercises", "demo-class", tmp_path)
    assert code == 2 and "the folder is not empty; expected a new or empty folder" in line
    assert [p.name for p in tmp_path.iterdir()] == ["s0001.py"]


def test_demo_class_is_written_whole(tmp_path, capsys):
    cli.main(["exercises", "demo-class", str(tmp_path / "demo"), "--students", "3"])
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == [
        "expected.json",
        "s0000.py",
        "s0001.ipynb",
        "s0002.py",
    ]


def test_release_with_an_unknown_chapter(tmp_path, capsys):
    code, line, _ = fail(capsys, "exercises", "release", tmp_path / "out", "--chapters", "perceptron,ch9")
    assert code == 2 and "--chapters: no exercises for chapter 'ch9'" in line and not (tmp_path / "out").exists()


# -- 8: exercises check -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "files, argv, message",
    [
        ({}, ["missing.py"], "FILE missing.py: no such file; expected your notebook (.ipynb) or Python file (.py)"),
        ({"mine.py": ONE_EXERCISE}, ["mine.py", "--checks", "missing.json"], "--checks missing.json: no such file"),
        (
            {"mine.py": ONE_EXERCISE, "checks.json": "{}"},
            ["mine.py", "--checks", "checks.json"],
            "checks.json: not a checks file written by `mlpkit exercises release`",
        ),
        ({"empty.py": "x = 1\n"}, ["empty.py"], "FILE empty.py: defines none of the exercises' functions"),
    ],
)
def test_exercises_check_bad_files(tmp_path, capsys, monkeypatch, files, argv, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    code, line, _ = fail(capsys, "exercises", "check", *argv)
    assert code == 2 and message in line


def test_chapters_of_a_submission(tmp_path):
    from mlpkit.grading import bank, selfcheck

    every = bank.load_exercises()
    cases = {
        "mine.py": (ONE_EXERCISE, {"perceptron"}),
        "xor.py": ("def helper():\n    pass\n", {"xor"}),  # named after its chapter
        "marked.py": ('# %% exercise="softmax"\ndef sigmoid(z):\n    pass\n', {"modern"}),  # markers first
        "other.py": ("def unrelated():\n    pass\n", set()),
    }
    for name, (text, chapters) in cases.items():
        (tmp_path / name).write_text(text)
        assert selfcheck.answered_chapters(tmp_path / name, every) == chapters, name


def test_exercises_check_counts_the_chapter_s_missing_exercises_as_failed(self_check_run):
    out, err = self_check_run.communicate(timeout=300)
    assert self_check_run.returncode == 1, err[-2000:]
    assert "pass  The step activation (`step`)" in out and "1 of 3 exercises pass their public checks" in out
    assert "FAIL  Weights for NAND (`nand_weights`)" in out
    assert "not defined: the file has no function named nand_weights" in out
    assert "not defined: the file has no function named perceptron_forward" in out


# -- 9, 10: every option names itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--seed", "-5"], "argument --seed: expected 0 or more, got -5"),
        (["study", "--seed", "-5"], "argument --seed: expected 0 or more, got -5"),
        (["exercises", "demo-class", "x", "--seed", "-5"], "argument --seed: expected 0 or more, got -5"),
        (["train", "--seed", "99999999999"], "argument --seed: expected a seed from 0 to 2147483647"),
        (["train", "--layers", "784,0,10"], "argument --layers: expected at least two positive sizes"),
        (["bench", "--layers", "784,-3,10"], "argument --layers: expected at least two positive sizes"),
        (["study", "--layers", "784"], "argument --layers: expected at least two positive sizes"),
        (["bench", "--variants", ","], "argument --variants: expected comma-separated names"),
        (["study", "--lr", "0.9,abc"], "argument --lr: expected a positive number; got 'abc'"),
        (["study", "--epochs", "3,0"], "argument --epochs: expected a positive integer; got '0'"),
        (["study", "--init", "he"], "argument --init: expected uniform, glorot or uniform,glorot"),
        (["study", "--images", "0"], "argument --images: expected a positive integer"),
        (["grade", "x", "--out", "g.csv", "--memory-limit", "1e9"], "argument --memory-limit: expected 1 to 1024 (GB"),
        (["grade", "x", "--out", "g.csv", "--memory-limit", "0.001"], "--memory-limit: expected 1 to 1024 (GB"),
        (["train", "--dropout", "-0.1"], "argument --dropout: expected a fraction from 0 up to but not including 1"),
        (["train", "--dropout", "1"], "argument --dropout: expected a fraction from 0 up to but not including 1"),
        (["grade", "x", "--out", "g.csv", "--workers", "0"], "argument --workers: expected a positive integer"),
        (["exercises", "release", "x", "--chapters", " , "], "argument --chapters: expected comma-separated names"),
        (["exercises", "check", "x.py", "--time-limit", "inf"], "argument --time-limit: expected a positive number"),
        (["train", "--epochs", ""], "argument --epochs: expected a positive integer"),
    ],
)
def test_bad_option_values_name_the_option(capsys, argv, message):
    code, line, _ = fail(capsys, *argv)
    assert code == 2 and message in line


def test_option_values_that_mean_no_harm_are_taken():
    from mlpkit.cli import types

    assert types.fraction("0.00") == 0.0 and types.fraction("0") == 0.0 and types.fraction("0.5") == 0.5
    assert types.names("perceptron,perceptron,xor") == ["perceptron", "xor"]  # named twice: counted once


@pytest.mark.parametrize("command", ["train", "bench", "study", "evaluate"])
def test_data_dir_that_is_a_file(tmp_path, capsys, command):
    (tmp_path / "data").write_text("")
    argv = [command] + (["model"] if command == "evaluate" else []) + ["--data-dir", tmp_path / "data"]
    code, line, _ = fail(capsys, *argv)
    assert code == 2 and f"argument --data-dir: {tmp_path / 'data'} is a file; expected a folder" in line


def test_bench_checks_out_and_variants_before_loading_data(tmp_path, capsys):
    (tmp_path / "out").write_text("")
    code, line, _ = fail(capsys, "bench", "--out", tmp_path / "out")
    assert code == 2 and f"--out {tmp_path / 'out'}: is a file" in line
    code, line, out = fail(capsys, "bench", "--variants", "eager,jax", "--out", tmp_path / "bench")
    assert code == 2 and "unknown variants jax in --variants; expected some of eager" in line and out == ""


def test_train_out_that_is_a_file_end_to_end(tmp_path):
    (tmp_path / "run").write_text("")
    result = run_mlpkit("train", "--out", "run", cwd=tmp_path)
    out, err = result.communicate(timeout=120)
    assert result.returncode == 2 and out == ""
    assert err.strip() == "mlpkit: error: --out run: is a file; expected a folder (it is created if missing)"


def test_staged_folder_keeps_what_was_there(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("old")
    with pytest.raises(RuntimeError):
        with outputs.staged_folder(tmp_path / "run") as stage:
            (stage / "metrics.json").write_text("new")
            raise RuntimeError("failed while writing")
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["metrics.json"]
    assert (tmp_path / "run" / "metrics.json").read_text() == "old"
    with outputs.staged_folder(tmp_path / "run") as stage:
        (stage / "metrics.json").write_text("new")
        (stage / "model").mkdir()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["metrics.json", "model"]
    assert (tmp_path / "run" / "metrics.json").read_text() == "new"


# -- help ----------------------------------------------------------------------------------------------


def test_version(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.strip() == f"mlpkit {metadata.version('mlpkit')}"


def _subparsers(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from _subparsers(sub)


def test_help_names_every_command_and_every_option_s_default():
    parser = cli.build_parser()
    top = parser.format_help()
    commands = dict(_subparsers(parser))
    for name in ("train", "evaluate", "bench", "study", "exercises", "grade"):
        assert f"\n  {name} " in top, name
    for name, sub in commands.items():
        assert "examples:\n  mlpkit " in sub.format_help(), name
        for action in sub._actions:
            if not action.option_strings or action.dest == "help":
                continue
            assert action.help, (name, action.dest)
            assert ("required" if action.required else "default") in action.help, (name, action.dest)
            assert "None" not in action.help, (name, action.dest)


def test_help_is_fast_and_imports_no_tensorflow():
    code = "import sys\nfrom mlpkit import cli\ncli.build_parser().format_help()\nprint('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_train_says_what_it_trains_on_and_writes(tiny, unchecked, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--data-dir", tiny, "--epochs", "1", "--validation", "20", "--activation", "relu",
            "--init", "uniform", "--no-plots", "--out", out]
    cli.main([str(arg) for arg in argv])
    printed = capsys.readouterr().out
    assert "40 training (20 more held out for validation) and 20 test images" in printed
    assert "note: --init uniform applies to chapter 4's network only" in printed
    assert f"wrote {out / 'metrics.json'} and the SavedModel {out / 'model'}" in printed  # no plots: none said
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["train_images"], metrics["validation_images"], metrics["config"]["init"]) == (40, 20, "glorot")
    assert not list(out.glob("*.png"))
    code, line, _ = fail(capsys, "train", "--data-dir", tiny, "--validation", "60", "--out", tmp_path / "x")
    assert code == 2 and "--validation 60: expected fewer than the 60 training images" in line


def _help_examples(parser, prefix=("mlpkit",)):
    """``(command words, example line)`` for every example in the epilog of ``parser`` and its subcommands."""
    import argparse

    lines = [line.strip() for line in (parser.epilog or "").splitlines()]
    found = [(prefix, line) for line in lines if line.startswith("mlpkit ")]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _help_examples(sub, (*prefix, name))
    return found


def test_every_example_in_every_help_parses():
    import shlex

    parser = cli.build_parser()
    examples = _help_examples(parser)
    assert len(examples) > 20
    for _, line in examples:
        words = shlex.split(line, comments=True)[1:]
        try:
            args = parser.parse_args(words)
        except SystemExit as exited:
            raise AssertionError(f"the example `{line}` does not parse") from exited
        if getattr(args, "variants", None):
            from mlpkit import bench_variants

            assert set(args.variants) <= set(bench_variants.VARIANTS), line


# -- output locations the file system refuses: found out before any work ---------------------------------------------

@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc, where nothing can be created")
@pytest.mark.parametrize(
    "argv, shown",
    [
        (["train", "--out", "/proc/mlpkit-out/run", "--epochs", "1"], "--out /proc/mlpkit-out/run"),
        (["grade", "SUBS", "--out", "/proc/mlpkit-out/grades.csv"], "--out /proc/mlpkit-out/grades.csv"),
        (["exercises", "release", "/proc/mlpkit-out/handout"], "OUT_DIR /proc/mlpkit-out/handout"),
        (["exercises", "gradescope", "/proc/mlpkit-out/a.zip"], "OUT_ZIP /proc/mlpkit-out/a.zip"),
    ],
)
def test_an_output_the_file_system_refuses_fails_before_any_work(argv, shown, tmp_path, capsys, monkeypatch):
    import mlpkit.cli.common

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    monkeypatch.setattr(mlpkit.cli.common, "load_data", no_work)
    monkeypatch.setattr(mlpkit.cli.common, "open_bank", no_work)
    (tmp_path / "SUBS").mkdir()
    code, line, out = fail(capsys, *[str(tmp_path / "SUBS") if a == "SUBS" else a for a in argv])
    assert code == 2 and line.startswith(f"mlpkit: error: {shown}: cannot be written (") and out == ""


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc, where nothing can be created")
def test_evaluate_plots_the_file_system_refuses_fails_before_loading(fashion_run, capsys, monkeypatch):
    import mlpkit.cli.common

    monkeypatch.setattr(mlpkit.cli.common, "load_data", lambda *a, **k: pytest.fail("data loaded first"))
    code, line, out = fail(capsys, "evaluate", fashion_run / "model", "--plots", "/proc/mlpkit-out/plots")
    assert code == 2 and "--plots /proc/mlpkit-out/plots: cannot be written (" in line and out == ""


def test_the_output_probe_leaves_nothing_behind(tmp_path):
    outputs.check_folder(tmp_path / "a" / "b", "--out")
    outputs.check_file(tmp_path / "c" / "grades.csv", "--out")
    assert list(tmp_path.iterdir()) == []


# -- exercises release over an earlier release ------------------------------------------------------------------------

def test_release_again_refuses_edited_and_foreign_files_unless_forced(tmp_path, capsys, monkeypatch):
    from mlpkit.grading import release

    def quick(out_dir, chapters=None, reference=None, bank=None):  # the files, without the reference run
        written = [pathlib.Path(out_dir) / name for name in ("perceptron.ipynb", "perceptron.py", "README.md")]
        for path in written:
            path.write_text(f"released {path.name}\n")
        return written

    monkeypatch.setattr(release, "release", quick)
    handout = tmp_path / "handout"
    cli.main(["exercises", "release", str(handout)])
    cli.main(["exercises", "release", str(handout)])  # again over its own, unchanged files: fine
    manifest = json.loads((handout / release.MANIFEST).read_text())["files"]
    assert sorted(manifest) == ["README.md", "perceptron.ipynb", "perceptron.py"]
    capsys.readouterr()
    (handout / "perceptron.ipynb").write_text("a student's work\n")
    (handout / "notes.txt").write_text("mine\n")
    code, line, _ = fail(capsys, "exercises", "release", handout)
    assert code == 2 and "notes.txt (not written by a release)" in line
    assert "perceptron.ipynb (changed since the release wrote it)" in line and "--force" in line
    assert (handout / "perceptron.ipynb").read_text() == "a student's work\n"
    cli.main(["exercises", "release", str(handout), "--force"])
    assert (handout / "perceptron.ipynb").read_text() == "released perceptron.ipynb\n"
    assert (handout / "notes.txt").read_text() == "mine\n"  # not the release's: left as it was
