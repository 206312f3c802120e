"""Fixtures shared by several test files; plain helpers are in ``helpers.py``.

Importing this file imports no TensorFlow: the test files that need it import it.
"""

import hashlib
import os

import numpy as np
import pytest

from helpers import embedded_splits, tiny_split, write_idx

# Tests never download: a test that needs the network path fakes it.
os.environ["MLPKIT_NO_DOWNLOAD"] = "1"
# TensorFlow's C++ log lines after start-up stay out of the test output, as out of every command's.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def embedded():
    """The embedded digits, preprocessed: ``(x_train, y_train, x_test, y_test, raw test labels)``."""
    return embedded_splits()


@pytest.fixture
def idx_dir(tmp_path):
    """A directory with the four IDX files of a tiny data set (20 train, 10 test); returns (dir, checksums, arrays)."""
    directory = tmp_path / "idx"
    directory.mkdir()
    arrays = {"train": tiny_split(20, 0), "test": tiny_split(10, 1)}
    checksums = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = arrays[split]
        checksums[f"{prefix}-images-idx3-ubyte"] = write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", images)
        checksums[f"{prefix}-labels-idx1-ubyte"] = write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return directory, checksums, arrays


@pytest.fixture
def npz_file(tmp_path):
    """A tiny ``mnist.npz`` in Keras's layout; returns (path, sha256, arrays)."""
    directory = tmp_path / "npz"
    directory.mkdir()
    arrays = {"train": tiny_split(30, 2), "test": tiny_split(10, 3)}
    path = directory / "mnist.npz"
    np.savez(
        path, x_train=arrays["train"][0], y_train=arrays["train"][1], x_test=arrays["test"][0], y_test=arrays["test"][1]
    )
    return path, hashlib.sha256(path.read_bytes()).hexdigest(), arrays


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No data anywhere the loader looks: an empty Keras cache, no Debian data set, no data-dir variable."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("MLPKIT_DATA_DIR", raising=False)
    from mlpkit import data

    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-data")
    return tmp_path


@pytest.fixture(scope="session")
def reference_values():
    """``values(chapters)``: the reference solution's values for ``chapters``, computed once per test process in
    a grading worker, as `mlpkit grade` computes them (this process has run TensorFlow operations, so it must not
    fork a submission's process itself). `grader.reference_outcomes` raises if the reference fails a check."""
    from mlpkit.grading import bank, grader
    from mlpkit.grading.sandbox import Limits

    computed = {}

    def values(chapters):
        key = tuple(chapters)
        if key not in computed:
            limits = Limits(seconds=600, total_seconds=3600)  # generous: the reference is honest, the machine busy
            with grader.worker_pool(1) as pool:
                task = (grader._reference_task, bank.load_exercises(key), bank.reference_cells(key), limits)
                computed[key] = pool.submit(*task).result()
        return computed[key]

    return values
