"""Chapter 4's data loader (mlpkit.data): where it looks, what it loads, how it fails.

How each file is verified is checked in ``test_data_files.py``.
"""

import pathlib

import numpy as np
import pytest

from mlpkit import data, data_files
from mlpkit.data_files import DataError

FULL_FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")


def test_idx_directory_loads_with_verified_checksums(idx_dir, monkeypatch):
    directory, checksums, arrays = idx_dir
    monkeypatch.setitem(data_files.IDX_SHA256, "fashion_mnist", checksums)
    loaded = data.load_data("fashion_mnist", data_dir=directory)
    (x_train, y_train), (x_test, y_test) = loaded
    np.testing.assert_array_equal(x_train, arrays["train"][0])
    np.testing.assert_array_equal(y_test, arrays["test"][1])
    assert x_train.dtype == np.uint8 and x_train.shape == (20, 28, 28) and y_train.shape == (20,)
    assert x_test.shape == (10, 28, 28) and str(directory) in loaded.source


def test_test_split_alone_is_enough_to_evaluate(idx_dir, monkeypatch):
    directory, checksums, arrays = idx_dir
    monkeypatch.setitem(data_files.IDX_SHA256, "fashion_mnist", checksums)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (directory / f"{stem}.gz").unlink()
    loaded = data.load_data("fashion_mnist", data_dir=directory, splits=("test",))
    assert loaded.x_train is None and loaded.y_train is None
    np.testing.assert_array_equal(loaded.x_test, arrays["test"][0])
    with pytest.raises(DataError, match="holds no fashion_mnist: expected train-images-idx3-ubyte.gz"):
        data.load_data("fashion_mnist", data_dir=directory)


def test_npz_with_matching_checksum_loads(npz_file, monkeypatch):
    path, digest, arrays = npz_file
    monkeypatch.setitem(data_files.NPZ_SHA256, "mnist.npz", digest)
    loaded = data.load_data("mnist", data_dir=path.parent)
    np.testing.assert_array_equal(loaded.x_train, arrays["train"][0])
    assert "mnist.npz" in loaded.source and "SHA-256 verified" in loaded.source


def test_environment_variable_names_the_data_dir(npz_file, monkeypatch):
    path, digest, _ = npz_file
    monkeypatch.setitem(data_files.NPZ_SHA256, "mnist.npz", digest)
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
    monkeypatch.setitem(data_files.NPZ_SHA256, "mnist.npz", digest)
    cache = data.keras_cache_dir()
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(path.read_bytes())
    loaded = data.load_data("mnist", download=False)
    assert loaded.source.endswith("(the Keras cache)") and str(cache) in loaded.source


def test_debian_fashion_mnist_location_is_used(offline, idx_dir, monkeypatch):
    directory, checksums, _ = idx_dir
    monkeypatch.setitem(data_files.IDX_SHA256, "fashion_mnist", checksums)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", directory)
    assert "Debian's dataset-fashion-mnist" in data.load_data("fashion_mnist", download=False).source


def test_download_goes_through_the_keras_cache_and_is_verified(offline, npz_file, monkeypatch):
    path, digest, _ = npz_file
    monkeypatch.setitem(data_files.NPZ_SHA256, "mnist.npz", digest)

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
