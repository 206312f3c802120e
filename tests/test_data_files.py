"""Chapter 4's data files (mlpkit.data_files): every IDX and npz file verified before use, and how a bad one is named.

Checksums, magic numbers, headers and sizes; truncated, trailing and
malformed files; a gzip bomb refused without decompressing it. Where the
loader looks for the files is ``test_data.py``'s.
"""

import gzip
import re
import struct
import tracemalloc

import numpy as np
import pytest

from mlpkit import data, data_files
from mlpkit.data_files import DataFileError


def test_checksum_mismatch_names_the_file_and_the_expected_digest(idx_dir, monkeypatch):
    directory, checksums, _ = idx_dir
    wrong = dict(checksums, **{"t10k-labels-idx1-ubyte": "0" * 64})
    monkeypatch.setitem(data_files.IDX_SHA256, "mnist", wrong)
    with pytest.raises(
        DataFileError,
        match=r"t10k-labels-idx1-ubyte\.gz: SHA-256 of the decompressed bytes is [0-9a-f]{64}; expected 0{64}",
    ):
        data.load_data("mnist", data_dir=directory)


def test_known_mnist_checksums_reject_a_foreign_file(idx_dir):
    # The fixture's train labels are not MNIST's: the recorded SHA-256 catches it.
    directory, _, _ = idx_dir
    with pytest.raises(DataFileError, match="train-labels-idx1-ubyte.gz: SHA-256"):
        data.load_data("mnist", data_dir=directory)


def test_truncated_gzip_is_reported_and_left_alone(idx_dir, monkeypatch):
    directory, checksums, _ = idx_dir
    monkeypatch.setitem(data_files.IDX_SHA256, "fashion_mnist", checksums)
    path = directory / "train-images-idx3-ubyte.gz"
    content = path.read_bytes()[:-40]
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte\.gz: not a readable gzip file"):
        data.load_data("fashion_mnist", data_dir=directory)
    assert path.read_bytes() == content  # nothing rewritten


def test_truncated_idx_content_is_reported(idx_dir, monkeypatch):
    directory, checksums, arrays = idx_dir
    monkeypatch.setitem(data_files.IDX_SHA256, "fashion_mnist", {})
    path = directory / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())[:-100]  # a valid gzip of a cut IDX file
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(
        DataFileError, match=r"header promises \(10, 28, 28\) and so 7856 bytes \(the file is truncated"
    ):
        data.load_data("fashion_mnist", data_dir=directory)


def _header(magic, *dims):
    return struct.pack(f">I{len(dims)}I", magic, *dims)


TEN_IMAGES = _header(2051, 10, 28, 28) + bytes(10 * 28 * 28)  # a valid test-images file of 10 blank images


@pytest.mark.parametrize(
    "stem, content, message",
    [
        (
            "t10k-labels-idx1-ubyte",
            b"\x00\x00\x09\x01" + bytes(20),
            r"magic number 2305; expected 2049 \(labels\) for an unsigned-byte",
        ),
        ("t10k-images-idx3-ubyte", _header(2049, 10) + bytes(10), r"magic number 2049; expected 2051 \(images\)"),
        ("t10k-images-idx3-ubyte", b"\x00\x00\x08", r"3 bytes after decompression; expected an IDX file"),
        (
            "t10k-images-idx3-ubyte",
            b"\x00\x00\x08\x03" + bytes(6),
            "10 bytes after decompression; expected at least its header: 16 bytes",
        ),
        # -1 as a signed 32-bit size: read unsigned, it is refused as too many, before anything is allocated
        (
            "t10k-images-idx3-ubyte",
            _header(2051, 2**32 - 1, 28, 28),
            r"its header gives the shape \(4294967295, 28, 28\); expected \(n, 28, 28\) images with n from 1 to 10,000",
        ),
        (
            "t10k-images-idx3-ubyte",
            _header(2051, 10, 28, 2**30),
            r"its header gives the shape \(10, 28, 1073741824\); expected \(n, 28, 28\) images",
        ),
        (
            "t10k-images-idx3-ubyte",
            _header(2051, 0, 28, 28),
            r"its header gives the shape \(0, 28, 28\); expected \(n, 28, 28\) images with n from 1",
        ),
        (
            "train-labels-idx1-ubyte",
            _header(2049, 2**31 - 1),
            r"its header gives the shape \(2147483647,\); expected \(n,\) labels with n from 1 to 60,000",
        ),
        (
            "t10k-images-idx3-ubyte",
            TEN_IMAGES + b"more",
            r"more than 7856 bytes after decompression; its header promises \(10, 28, 28\) and so exactly 7856 bytes "
            r"\(the file has trailing data",
        ),
    ],
)
def test_malformed_idx_file_is_reported_with_its_name_and_what_was_expected(
    idx_dir, monkeypatch, stem, content, message
):
    directory, _, _ = idx_dir
    monkeypatch.setitem(data_files.IDX_SHA256, "fashion_mnist", {})
    path = directory / f"{stem}.gz"
    path.write_bytes(gzip.compress(content))
    with pytest.raises(DataFileError, match=re.escape(f"{path}: ") + message):
        data.load_data("fashion_mnist", data_dir=directory)


def _gzip_of(path, head, zeros):
    """Write ``head`` followed by ``zeros`` zero bytes, gzip-compressed, a MiB at a time."""
    chunk = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(head)
        for _ in range(zeros // len(chunk)):
            handle.write(chunk)


@pytest.mark.parametrize(
    "head, message",
    [
        (TEN_IMAGES[:16], "more than 7856 bytes after decompression"),  # a valid header, then 64 MiB of body
        (b"", "magic number 0; expected 2051 (images)"),  # nothing but zeros
    ],
)
def test_gzip_bomb_is_refused_without_decompressing_it(tmp_path, head, message):
    # 64 MiB of zeros compress to about 0.3 MiB; reading the whole file, as a reader that checks the size
    # afterwards does, would hold all 64 MiB at once. This reader stops one byte past what the header allows.
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    _gzip_of(path, head, 64 << 20)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match=re.escape(f"{path}: {message}")):
            data_files.read_idx(path, kind="images", max_count=data_files.IDX_MAX_COUNT["test"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # bytes; measured about 1.1 MiB (the 1 MiB read chunk)


def test_idx_reader_stops_at_the_size_the_header_promises(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(TEN_IMAGES))
    images = data_files.read_idx(path)
    assert images.shape == (10, 28, 28) and images.dtype == np.uint8 and not images.any()
    with pytest.raises(DataFileError, match=r"n from 1 to 9"):
        data_files.read_idx(path, max_count=9)


def test_mismatched_image_and_label_counts_are_reported(idx_dir, monkeypatch):
    from helpers import write_idx

    directory, _, _ = idx_dir
    monkeypatch.setitem(data_files.IDX_SHA256, "fashion_mnist", {})
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", np.zeros(7, np.uint8))
    with pytest.raises(DataFileError, match=r"images \(10, 28, 28\) and labels \(7,\); expected"):
        data.load_data("fashion_mnist", data_dir=directory)


def test_npz_with_wrong_checksum_is_refused_and_kept(npz_file):
    path, digest, _ = npz_file
    before = path.read_bytes()
    expected = data_files.NPZ_SHA256["mnist.npz"]
    with pytest.raises(DataFileError, match=rf"mnist\.npz: SHA-256 {digest}; expected {expected}"):
        data.load_data("mnist", data_dir=path.parent)
    assert path.read_bytes() == before
