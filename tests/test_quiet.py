"""No TensorFlow log lines in what the kit prints (mlpkit.quiet), at import, while training and saving."""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from mlpkit import quiet

ROOT = pathlib.Path(__file__).resolve().parents[1]
START_UP_LINES = [  # as TensorFlow 2.21 (and the last, 2.16) write them on a CPU-only machine
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795406697.115108    2752 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will "
    "not be used.",
    "E0000 00:00:1795406709.645195    2752 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
    "W1123 04:05:06.123456   12345 some/dir/file_name.cc:120] a warning after logging is set up",
    "2026-11-23 04:27:40.771683: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] TF-TRT Warning: Could not "
    "find TensorRT",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.",
]


def _env(**extra):
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_CPP")}
    return {**env, **extra}


def _python(code, **env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300,
                          env=_env(**env), cwd=ROOT)


@pytest.mark.parametrize("line", START_UP_LINES)
def test_start_up_lines_are_recognised(line):
    assert quiet.is_log_line(line)


@pytest.mark.parametrize("line", ["Traceback (most recent call last):", "ImportError: libcudart.so: cannot open",
                                  "I think this is fine", "E0000 is not a log line without the rest"])
def test_other_lines_are_kept(line):
    assert not quiet.is_log_line(line)
    assert quiet.without_log_lines("\n".join(START_UP_LINES + [line])) == line


def test_tensorflow_imports_runs_and_saves_a_model_without_printing(tmp_path):
    result = _python(f"""
        from mlpkit.quiet import import_tensorflow
        tf = import_tensorflow()
        import tensorflow
        twice = tf.function(lambda v: v * 2, jit_compile=True)
        print(float(tf.reduce_sum(tf.ones(3))), twice(tf.ones(2)).numpy().sum())
        from mlpkit.export import export_model
        from mlpkit.model import SigmoidMLP
        export_model(SigmoidMLP([784, 3, 10], seed=0), {str(tmp_path / "model")!r})
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3.0", "4.0"]
    assert result.stderr == "", f"printed on stderr:\n{result.stderr}"
    assert (tmp_path / "model" / "saved_model.pb").is_file()


def test_whatever_a_plain_import_prints_is_recognised():
    """The control: the lines a plain ``import tensorflow`` prints on this machine are exactly what is filtered."""
    result = _python("import tensorflow as tf; tf.config.list_physical_devices()")
    assert result.returncode == 0, result.stderr
    assert quiet.without_log_lines(result.stderr) == ""


def test_other_output_during_the_import_is_passed_on(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        textwrap.dedent("""
        import logging, os, types
        os.write(2, b"I0000 00:00:1795406697.115108    2752 cudart_stub.cc:31] Could not find cuda drivers\\n")
        os.write(2, b"a message that matters\\n")
        config = types.SimpleNamespace(list_physical_devices=lambda: [])
        get_logger = lambda: logging.getLogger("tensorflow")
        function = lambda f, **options: f
        zeros = lambda shape: 0.0
    """)
    )
    result = _python("from mlpkit.quiet import import_tensorflow; import_tensorflow()", PYTHONPATH=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "a message that matters\n"


def test_a_failing_import_still_says_why(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\nos.write(2, b'cannot load libtensorflow\\n')\nraise ImportError('broken')\n"
    )
    result = _python("from mlpkit.quiet import import_tensorflow; import_tensorflow()", PYTHONPATH=str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith("cannot load libtensorflow\n")
    assert "ImportError: broken" in result.stderr


def test_retracing_warnings_are_collected_not_printed(capfd):
    tf = quiet.import_tensorflow()

    @tf.function
    def scaled(v, factor):
        return v * factor

    with quiet.tensorflow_warnings() as warnings:
        for factor in range(8):
            scaled(tf.ones(2), factor)
    assert warnings, "TensorFlow's logger warned about nothing"
    assert capfd.readouterr() == ("", "")
    for factor in range(8, 12):  # and afterwards the logger is quiet again
        scaled(tf.ones(2), factor)
    assert capfd.readouterr() == ("", "")


def test_a_download_through_keras_prints_nothing(monkeypatch, capfd):
    import keras

    from mlpkit import data

    def chatty_load_data():
        print("Downloading data from https://example.invalid/mnist.npz")
        print("\r11490434/11490434 ━━━━━━━━━━ 1s 0us/step", file=sys.stderr)

    monkeypatch.setattr(keras.datasets.mnist, "load_data", chatty_load_data)
    data._download("mnist")
    assert capfd.readouterr() == ("", "")


# -- progress reports -------------------------------------------------------------


def test_leaks_are_found_wherever_they_stand():
    text = "\n".join(
        [
            "a result: 97.5%",
            "Downloading data from https://example.invalid/x.npz",
            "INFO:tensorflow:Assets written to: /tmp/model/assets",
            "   " + START_UP_LINES[1],
            "the end",
        ]
    )
    assert quiet.leaked_lines(text) == text.splitlines()[1:4]

