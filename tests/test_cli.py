"""The `mlpkit` command end to end: train on the embedded default, evaluate, and its errors."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from mlpkit.quiet import leaked_lines

MLPKIT = pathlib.Path(sys.executable).parent / "mlpkit"


def in_process(capsys, *args):
    """``mlpkit ARGS`` in this process (TensorFlow is imported already): (exit status, stdout, stderr)."""
    from mlpkit import cli

    try:
        cli.main([str(arg) for arg in args])
        status = 0
    except SystemExit as exited:
        status = exited.code
    out, err = capsys.readouterr()
    return status, out, err


def run(*args, env_extra=None, cwd=None):
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_CPP")}  # quiet without it
    env.update(env_extra or {})
    return subprocess.run([str(MLPKIT), *map(str, args)], capture_output=True, text=True, timeout=600, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    env = {"KERAS_HOME": str(root / "empty-keras-home"), "MLPKIT_DATA_DIR": ""}
    result = run("train", "--no-download", "--out", root / "run", env_extra=env)
    return root, env, result


def test_train_with_no_options_works_offline_and_writes_everything(trained):
    root, _, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    assert "data: the embedded default: 5,000 real MNIST digits" in result.stdout
    assert "test accuracy:" in result.stdout
    out = root / "run"
    for name in ("metrics.json", "curves.png", "misclassified.png", "confusion.png", "model/saved_model.pb"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"] == {
        "dataset": "mnist",
        "layers": [784, 15, 10],
        "init": "uniform",
        "lr": 0.9,
        "batch_size": 10,
        "epochs": 10,
        "seed": 0,
        "jit_compile": True,
        "activation": "sigmoid",
        "loss": "mse",
        "optimizer": "sgd",
        "engine": "scratch",
    }
    assert metrics["data_source"].startswith("the embedded default")
    assert len(metrics["history"]) == 11 and metrics["train_images"] == 4000 and metrics["test_images"] == 1000
    assert metrics["test_accuracy"] > 0.65  # seeds 0-7 gave 72.8-79.5 %
    assert f"{metrics['test_accuracy']:.2%}" in result.stdout
    assert sum(map(sum, metrics["confusion_matrix"])) == 1000 and len(metrics["per_class_accuracy"]) == 10
    assert metrics["wall_seconds"] >= metrics["train_seconds"] > 0
    assert "training: 10/10 epochs (100%)" in result.stderr and "\r" not in result.stderr  # whole lines, not a tty
    assert leaked_lines(result.stdout + result.stderr) == []  # no TensorFlow log line


def test_evaluate_reproduces_the_training_accuracy(trained, monkeypatch, capsys):
    root, env, _ = trained
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    metrics = json.loads((root / "run" / "metrics.json").read_text())
    status, out, err = in_process(capsys, "evaluate", root / "run" / "model", "--no-download", "--plots", root / "eval")
    assert status == 0, err[-3000:]
    assert f"test accuracy: {metrics['test_accuracy']:.2%} on 1,000 images" in out
    assert "confusion matrix" in out and (root / "eval" / "confusion.png").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--layers", "100,15,10"], "argument --layers: expected sizes from 784 (pixels) to 10 (classes)"),
        (["train", "--layers", "784,x,10"], "argument --layers: expected comma-separated integers"),
        (["train", "--lr", "-1"], "argument --lr: expected a positive number; got '-1'"),
        (["train", "--dataset", "cifar10"], "argument --dataset: "),
        (["train", "--data-dir", "/nonexistent/dir"], "argument --data-dir: no such folder: /nonexistent/dir"),
        (["evaluate", "/tmp"], "mlpkit: error: /tmp is not a SavedModel directory"),
        (["train", "--optimizer", "adagrad"], "argument --optimizer: "),
        (["train", "--dropout", "1.5"], "argument --dropout: expected a fraction from 0 up to but not including 1"),
        (["train", "--activation", "relu", "--validation", "4000"], "--validation 4000: expected fewer than the 4,000"),
    ],
)
def test_bad_options_get_one_line_errors(args, message, capsys, monkeypatch):
    monkeypatch.setenv("MLPKIT_DATA_DIR", "")
    status, _, err = in_process(capsys, *args)  # a traceback would fail the test as an exception
    assert status == 2
    lines = [line for line in err.splitlines() if line.startswith("mlpkit")]
    assert len(lines) == 1 and message in lines[0], err[-2000:]


@pytest.mark.parametrize("engine", ["scratch", "keras"])
def test_modern_options_train_record_plot_and_export(tmp_path, engine, capsys, monkeypatch):
    # Chapter 7 and 8 on the command line: ReLU, cross-entropy, Adam, dropout, a validation split.
    monkeypatch.setenv("MLPKIT_DATA_DIR", "")
    out = tmp_path / engine
    args = [
        "train",
        "--no-download",
        "--activation",
        "relu",
        "--loss",
        "cross_entropy",
        "--optimizer",
        "adam",
        "--layers",
        "784,64,10",
        "--batch-size",
        "32",
        "--epochs",
        "2",
        "--dropout",
        "0.1",
        "--validation",
        "500",
        "--engine",
        engine,
        "--out",
        out,
    ]
    if engine == "scratch":  # the installed command, in a process of its own
        result = run(*args)
        assert result.returncode == 0, result.stderr[-3000:]
    else:  # the same command in this process (TensorFlow's import is paid once)
        status, _, err = in_process(capsys, *args)
        assert status == 0, err[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["engine"] == engine and metrics["config"]["optimizer"] == "adam"
    assert metrics["parameters"] == 784 * 64 + 64 + 64 * 10 + 10 and metrics["validation_images"] == 500
    assert {"validation_loss", "validation_accuracy"} <= set(metrics["history"][-1])
    assert metrics["test_accuracy"] > 0.8  # 2 epochs on 3,500 digits: 85-89 % for both engines
    for name in ("curves.png", "confusion.png", "misclassified.png", "model/saved_model.pb"):
        assert (out / name).is_file(), name
    status, evaluated, _ = in_process(capsys, "evaluate", out / "model", "--no-download")
    assert status == 0 and f"test accuracy: {metrics['test_accuracy']:.2%}" in evaluated
