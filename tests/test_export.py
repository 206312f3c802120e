"""The SavedModel contract (mlpkit.export): raw uint8 images in, class numbers out, without mlpkit."""

import json
import subprocess
import sys

import numpy as np
import pytest

from mlpkit import data
from mlpkit.export import export_model, load_model
from mlpkit.model import SigmoidMLP


def test_saved_model_predicts_like_the_model_without_mlpkit(embedded, tmp_path):
    _, _, x_test, _, _ = embedded
    (_, _), (raw_test, _) = data.embedded_mnist()
    net = SigmoidMLP(seed=0)
    outputs = net(x_test).numpy()
    expected = outputs.argmax(axis=1)
    # The SavedModel runs as a graph, which TensorFlow may fuse and round differently (oneDNN), so its
    # outputs can differ from these in the last float32 bits (~1e-7). Exact equality of the classes
    # below is safe because no image is that close to a tie between its two largest outputs.
    top_two = np.sort(outputs, axis=1)[:, -2:]
    assert np.min(top_two[:, 1] - top_two[:, 0]) > 1e-5  # 8e-5 for this seed
    export_model(net, tmp_path / "model")
    np.testing.assert_array_equal(load_model(tmp_path / "model")(raw_test).numpy(), expected)
    np.save(tmp_path / "images.npy", raw_test)
    script = (
        "import json, sys, numpy as np, tensorflow as tf\n"
        f"model = tf.saved_model.load({str(tmp_path / 'model')!r})\n"
        f"out = model(np.load({str(tmp_path / 'images.npy')!r}))\n"
        "print(json.dumps({'dtype': out.dtype.name, 'pred': out.numpy().tolist(),\n"
        "                  'mlpkit': any(m.startswith('mlpkit') for m in sys.modules)}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["dtype"] == "int64" and loaded["mlpkit"] is False
    np.testing.assert_array_equal(loaded["pred"], expected)


def test_saved_model_rejects_wrong_input(embedded, tmp_path):
    export_model(SigmoidMLP(), tmp_path / "model")
    model = load_model(tmp_path / "model")
    with pytest.raises((ValueError, TypeError)):
        model(np.zeros((2, 784), np.uint8))
