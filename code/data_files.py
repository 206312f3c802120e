"""Chapter 4: the data set's files, read and verified before use.

Every file is checked before use: Keras's ``mnist.npz`` against its SHA-256
(``read_npz``), IDX files by magic number, header and size, and, where known, the
SHA-256 of their decompressed bytes (``read_idx``, ``read_idx_dir``; Debian recompresses
the ``.gz`` files, so only the decompressed bytes have a stable checksum). A bad file
raises ``DataFileError`` naming the file and what was expected; nothing is deleted,
re-downloaded or overwritten. Where the files are looked for is ``mlpkit.data``.
"""

import gzip
import hashlib
import pathlib
import struct
import zlib

import numpy as np


class DataError(RuntimeError):
    """The data set could not be found or used."""


class DataFileError(DataError):
    """A data file exists but is not what it should be."""


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

    ``kind`` is ``"images"`` (shape ``(n, 28, 28)``) or ``"labels"`` (shape ``(n,)``),
    or ``None`` to take the kind the magic number gives; ``n`` must be from 1 to
    ``max_count``. Only then is the body decompressed, as a stream, into an array of the
    size the header promises; one more byte is read to find trailing data. A file that
    decompresses to far more than it should (a gzip bomb) is refused after that many
    bytes, so reading it costs no more memory than reading a good file.
    """
    path = pathlib.Path(path)
    try:
        with gzip.open(path, "rb") as handle:
            header, dims = _read_idx_header(handle, path, kind, max_count)
            body = _read_idx_body(handle, path, len(header), dims)
    except (OSError, EOFError, zlib.error) as error:
        raise DataFileError(
            f"{path}: not a readable gzip file ({error}); expected a gzip-compressed "
            "IDX file"
        ) from None
    if expected_sha256 is not None:
        digest = hashlib.sha256(header)
        digest.update(body)
        if digest.hexdigest() != expected_sha256:
            raise DataFileError(
                f"{path}: SHA-256 of the decompressed bytes is {digest.hexdigest()}; "
                f"expected {expected_sha256}"
                " (the file is corrupt or belongs to another data set)"
            )
    return body.reshape(dims)


def _read_idx_header(handle, path, kind, max_count):
    """The header's bytes and the dimensions it gives, after checking its magic number
    (against ``kind``, if given) and the shape."""
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
        expected = " or ".join(f"{_MAGIC[_IDX_NDIM[name]]} ({name})" for name in wanted)
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
    return head + dims_bytes, dims


def _read_idx_body(handle, path, header, dims):
    """The body the header promises (``dims``; ``header`` bytes before it), or
    ``DataFileError`` if the file holds fewer bytes or more."""
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
    return body


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
