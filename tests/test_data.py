"""Chapter 4's data loader: where it looks, what it verifies, how it fails."""

import gzip
import pathlib
import re
import struct
import tracemalloc

import numpy as np
import pytest

from mlpkit import data
from mlpkit.data import DataError, DataFileError

FULL_FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")


def test_idx_directory_loads_with_verified_checksums(idx_dir, monkeypatch):
    directory, checksums, arrays = idx_dir
    monkeypatch.setitem(data.IDX_SHA256, "fashion_mnist", checksums)
    loaded = data.load_data("fashion_mnist", data_dir=directory)
    (x_train, y_train), (x_test, y_test) = loaded
    np.testing.assert_array_equal(x_train, arrays["train"][0])
    np.testing.assert_array_equal(y_test, arrays["test"][1])
    assert x_train.dtype == np.uint8 and x_train.shape == (20, 28, 28) and y_train.shape == (20,)
    assert x_test.shape == (10, 28, 28) and str(directory) in loaded.source


def test_checksum_mismatch_names_the_file_and_the_expected_digest(idx_dir, monkeypatch):
    directory, checksums, _ = idx_dir
    wrong = dict(checksums, **{"t10k-labels-idx1-ubyte": "0" * 64})
    monkeypatch.setitem(data.IDX_SHA256, "mnist", wrong)
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
    monkeypatch.setitem(data.IDX_SHA256, "fashion_mnist", checksums)
    path = directory / "train-images-idx3-ubyte.gz"
    content = path.read_bytes()[:-40]
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte\.gz: not a readable gzip file"):
        data.load_data("fashion_mnist", data_dir=directory)
    assert path.read_bytes() == content  # nothing rewritten


def test_truncated_idx_content_is_reported(idx_dir, monkeypatch):
    directory, checksums, arrays = idx_dir
    monkeypatch.setitem(data.IDX_SHA256, "fashion_mnist", {})
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
    monkeypatch.setitem(data.IDX_SHA256, "fashion_mnist", {})
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
            data.read_idx(path, kind="images", max_count=data.IDX_MAX_COUNT["test"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # bytes; measured about 1.1 MiB (the 1 MiB read chunk)


def test_idx_reader_stops_at_the_size_the_header_promises(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(TEN_IMAGES))
    images = data.read_idx(path)
    assert images.shape == (10, 28, 28) and images.dtype == np.uint8 and not images.any()
    with pytest.raises(DataFileError, match=r"n from 1 to 9"):
        data.read_idx(path, max_count=9)


def test_mismatched_image_and_label_counts_are_reported(idx_dir, monkeypatch):
    from helpers import write_idx

    directory, _, _ = idx_dir
    monkeypatch.setitem(data.IDX_SHA256, "fashion_mnist", {})
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", np.zeros(7, np.uint8))
    with pytest.raises(DataFileError, match=r"images \(10, 28, 28\) and labels \(7,\); expected"):
        data.load_data("fashion_mnist", data_dir=directory)


def test_test_split_alone_is_enough_to_evaluate(idx_dir, monkeypatch):
    directory, checksums, arrays = idx_dir
    monkeypatch.setitem(data.IDX_SHA256, "fashion_mnist", checksums)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (directory / f"{stem}.gz").unlink()
    loaded = data.load_data("fashion_mnist", data_dir=directory, splits=("test",))
    assert loaded.x_train is None and loaded.y_train is None
    np.testing.assert_array_equal(loaded.x_test, arrays["test"][0])
    with pytest.raises(DataError, match="holds no fashion_mnist: expected train-images-idx3-ubyte.gz"):
        data.load_data("fashion_mnist", data_dir=directory)


def test_npz_with_matching_checksum_loads(npz_file, monkeypatch):
    path, digest, arrays = npz_file
    monkeypatch.setitem(data.NPZ_SHA256, "mnist.npz", digest)
    loaded = data.load_data("mnist", data_dir=path.parent)
    np.testing.assert_array_equal(loaded.x_train, arrays["train"][0])
    assert "mnist.npz" in loaded.source and "SHA-256 verified" in loaded.source


def test_npz_with_wrong_checksum_is_refused_and_kept(npz_file):
    path, digest, _ = npz_file
    before = path.read_bytes()
    expected = data.NPZ_SHA256["mnist.npz"]
    with pytest.raises(DataFileError, match=rf"mnist\.npz: SHA-256 {digest}; expected {expected}"):
        data.load_data("mnist", data_dir=path.parent)
    assert path.read_bytes() == before


def test_environment_variable_names_the_data_dir(npz_file, monkeypatch):
    path, digest, _ = npz_file
    monkeypatch.setitem(data.NPZ_SHA256, "mnist.npz", digest)
    monkeypatch.setenv("MLPKIT_DATA_DIR", str(path.parent))
    assert str(path) in data.load_data("mnist").source


def test_missing_or_empty_data_dir(tmp_path):
    with pytest.raises(DataError, match="data directory .*nowhere does not exist"):
        data.load_data("mnist", data_dir=tmp_path / "nowhere")
    with pytest.raises(DataError, match="holds no mnist: expected mnist.npz or train-images-idx3-ubyte.gz"):
        data.load_data("mnist", data_dir=tmp_path)


def test_unknown_dataset_and_split():
    with pytest.raises(DataError, match="unknown dataset 'cifar10'; expected one of mnist, fashion_mnist"):
        data.load_data("cifar10")
    with pytest.raises(DataError, match="splits must be"):
        data.load_data("mnist", splits=("validation",))


def test_keras_cache_is_used(offline, npz_file, monkeypatch):
    path, digest, _ = npz_file
    monkeypatch.setitem(data.NPZ_SHA256, "mnist.npz", digest)
    cache = data.keras_cache_dir()
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(path.read_bytes())
    loaded = data.load_data("mnist", download=False)
    assert loaded.source.endswith("(the Keras cache)") and str(cache) in loaded.source


def test_debian_fashion_mnist_location_is_used(offline, idx_dir, monkeypatch):
    directory, checksums, _ = idx_dir
    monkeypatch.setitem(data.IDX_SHA256, "fashion_mnist", checksums)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", directory)
    assert "Debian's dataset-fashion-mnist" in data.load_data("fashion_mnist", download=False).source


def test_download_goes_through_the_keras_cache_and_is_verified(offline, npz_file, monkeypatch):
    path, digest, _ = npz_file
    monkeypatch.setitem(data.NPZ_SHA256, "mnist.npz", digest)

    def fake_download(name):  # what keras.datasets does: write the file into its cache
        data.keras_cache_dir().mkdir(parents=True)
        (data.keras_cache_dir() / "mnist.npz").write_bytes(path.read_bytes())

    monkeypatch.setattr(data, "_download", fake_download)
    assert data.load_data("mnist", download=True).source.endswith("(downloaded through keras.datasets)")


def test_offline_mnist_falls_back_to_the_embedded_default(offline, monkeypatch):
    def no_network(name):
        raise Exception(
            "URL fetch failure on https://example.invalid/mnist.npz: None -- [Errno -2] Name or service not known"
        )

    monkeypatch.setattr(data, "_download", no_network)
    loaded = data.load_data("mnist", download=True)
    assert loaded.source.startswith("the embedded default: 5,000 real MNIST digits")
    assert loaded.x_train.shape == (4000, 28, 28) and loaded.x_test.shape == (1000, 28, 28)
    assert loaded.x_train.dtype == np.uint8 and loaded.x_train.max() == 255
    np.testing.assert_array_equal(np.bincount(loaded.y_train), [400] * 10)  # stratified
    np.testing.assert_array_equal(np.bincount(loaded.y_test), [100] * 10)


def test_no_download_environment_variable(offline, monkeypatch):
    attempts = []
    monkeypatch.setattr(data, "_download", attempts.append)
    monkeypatch.setenv("MLPKIT_NO_DOWNLOAD", "1")
    assert data.load_data("mnist").source.startswith("the embedded default") and attempts == []
    monkeypatch.delenv("MLPKIT_NO_DOWNLOAD")
    data.load_data("mnist")
    assert attempts == ["mnist"]


def test_offline_fashion_mnist_says_how_to_get_it(offline):
    with pytest.raises(DataError, match="fashion_mnist not found; looked in .*apt-get install dataset-fashion-mnist"):
        data.load_data("fashion_mnist", download=False)


def test_preprocess_flattens_scales_and_one_hot_encodes():
    images = np.array([np.full((28, 28), 255), np.zeros((28, 28))], dtype=np.uint8)
    x, y = data.preprocess(images, [3, 0])
    assert x.shape == (2, 784) and x.dtype.name == "float32" and y.dtype.name == "float32"
    np.testing.assert_array_equal(x.numpy()[:, 0], [1.0, 0.0])
    np.testing.assert_array_equal(y.numpy(), np.eye(10, dtype=np.float32)[[3, 0]])
    with pytest.raises(ValueError, match=r"expected images of shape \(n, 28, 28\); got \(2, 784\)"):
        data.preprocess(images.reshape(2, -1))
    with pytest.raises(ValueError, match="expected uint8 pixels 0-255; got dtype float64"):
        data.preprocess(images.astype(float))


@pytest.mark.skipif(
    not FULL_FASHION.is_dir(), reason="full Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"
)
def test_full_fashion_mnist_from_debian_is_verified(monkeypatch):
    monkeypatch.setenv("KERAS_HOME", "/nonexistent-keras-home")
    loaded = data.load_data("fashion_mnist", download=False)  # every file's SHA-256 is checked on the way
    assert loaded.x_train.shape == (60000, 28, 28) and loaded.y_train.shape == (60000,)
    assert loaded.x_test.shape == (10000, 28, 28) and loaded.y_test.shape == (10000,)
    assert loaded.class_names[0] == "T-shirt/top" and loaded.class_names[9] == "Ankle boot"
    np.testing.assert_array_equal(np.bincount(loaded.y_test), [1000] * 10)


def _full_mnist_available():
    try:
        return data.load_data("mnist", download=False).x_train.shape[0] == 60000
    except DataError:
        return False


@pytest.mark.skipif(
    not _full_mnist_available(), reason="full MNIST not present (no mnist.npz in the Keras cache or MLPKIT_DATA_DIR)"
)
def test_full_mnist_shapes():
    (x_train, y_train), (x_test, y_test) = data.load_data("mnist", download=False)
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,) and x_train.max() == 255
