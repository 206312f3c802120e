"""What several test files share: paths, tiny IDX data sets, the embedded digits preprocessed once per process, and a
small study report.

Fixtures that wrap these are in ``conftest.py``; test files import plain helpers from here
(``from helpers import ...``), never from ``conftest``.
"""

import functools
import gzip
import hashlib
import pathlib
import struct
import textwrap

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
FULL_FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")
# The width in CSS pixels a chapter's figure is shown at, at most, in a 1280-pixel window (the text column less the
# cell's padding; tests/test_browser.py checks it on the built book), and the dpi matplotlib draws figures at: a wider
# figure is shrunk to the column, and its text with it (tests/test_plotting.py).
BOOK_COLUMN_PX = 672
BOOK_DPI = 100


def write_idx(path, array):
    """Write ``array`` (uint8) as a gzip-compressed IDX file; return the SHA-256 of the raw bytes."""
    array = np.asarray(array, dtype=np.uint8)
    magic = {3: 2051, 1: 2049}[array.ndim]
    raw = struct.pack(">i", magic) + struct.pack(f">{array.ndim}i", *array.shape) + array.tobytes()
    with gzip.open(path, "wb") as handle:
        handle.write(raw)
    return hashlib.sha256(raw).hexdigest()


def tiny_split(n, seed):
    """``n`` random 28x28 uint8 images and labels cycling through 0-9."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


@functools.cache
def embedded_splits():
    """The embedded digits preprocessed: ``(x_train, y_train, x_test, y_test, raw test labels)``, read once."""
    from mlpkit import data

    (x_train, y_train), (x_test, y_test) = data.embedded_mnist()
    return data.preprocess(x_train, y_train) + data.preprocess(x_test, y_test) + (y_test,)


def random_batch(sizes, batch, seed):
    """A batch of ``batch`` inputs of width ``sizes[0]`` in [0, 1) and one-hot targets of width ``sizes[-1]``."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (batch, sizes[0])), np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]


def code(text):
    """``text`` dedented, without leading or trailing blank lines, ending in one newline: a solution's source."""
    return textwrap.dedent(text).strip("\n") + "\n"


def share_reference(units_dir, chapters, values):
    """Put ``values`` (conftest's ``reference_values``) where `mlpkit grade` looks for the reference values the units
    of ``units_dir`` share, so that a grading run uses them (after checking their SHA-256) instead of computing them."""
    import json

    from mlpkit.grading import bank, units

    units_dir.mkdir(parents=True, exist_ok=True)
    document = {"sha256": units.reference_digest(values), "values": values}
    units.write_atomic(units_dir / f".reference-{bank.source_key(chapters)}.json", json.dumps(document))


def study_report(epochs, rows=None):
    """A study report like ``results.json`` whose curves cover ``epochs`` epochs."""
    rows = rows or [{"layers": [784, 15, 10], "lr": lr, "epochs": epochs, "batch_size": 10, "init": "uniform"}
                    for lr in (0.9, 0.1)]
    return {"title": "A small study", "results": [
        {**row, "accuracy_mean": 80.0 + i, "accuracy_std": 1.0,
         "validation_loss_per_epoch": [0.3 / (e + 1 + i) for e in range(row["epochs"] + 1)]}
        for i, row in enumerate(rows)]}


def kill_all(pids):
    """SIGKILL each process of ``pids`` still alive (a test's clean-up, whatever state it failed in)."""
    import os
    import signal

    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
