"""The kit as a package and a book: layout, imports, and the book's sources."""

import json
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULES = sorted(path.stem for path in (ROOT / "code").glob("*.py"))


def _run(code, cwd):
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_every_chapter_module_is_found():
    assert {"perceptron", "xor", "gradients", "data", "model", "training", "export", "bench", "cli"} <= set(MODULES)


def test_mlpkit_is_the_code_folder():
    import mlpkit.perceptron

    assert pathlib.Path(mlpkit.perceptron.__file__).resolve().parent == ROOT / "code"
    assert not (ROOT / "code" / "__init__.py").exists()  # see pyproject.toml: `code` must not shadow the stdlib


@pytest.mark.parametrize("cwd", [ROOT, ROOT / "book", ROOT / "tests"])
def test_import_code_is_still_the_standard_library(cwd):
    result = _run("import code, json; print(json.dumps([code.__file__, hasattr(code, 'InteractiveConsole')]))", cwd)
    path, has_console = json.loads(result.stdout)
    assert has_console and not pathlib.Path(path).is_relative_to(ROOT)


def test_import_does_no_work(tmp_path):
    # Importing every module prints nothing, writes nothing and creates no TensorFlow variables.
    code = (
        "import gc, tensorflow as tf\n"
        + "".join(f"import mlpkit.{name}\n" for name in MODULES)
        + "print(sum(isinstance(o, tf.Variable) for o in gc.get_objects()))\n"
    )
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
    assert list(tmp_path.iterdir()) == []


def _toc_files():
    return re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text()) + ["book/intro"]


def test_every_toc_entry_exists_and_chapters_are_myst_notebooks():
    for entry in _toc_files():
        assert (ROOT / f"{entry}.md").is_file(), entry
    for chapter in ("perceptron", "xor", "gradients"):
        text = (ROOT / "book" / f"{chapter}.md").read_text()
        assert text.startswith("---\njupytext:") and "format_name: myst" in text and "kernelspec:" in text
        assert "```{code-cell} ipython3" in text


def test_chapters_show_code_from_the_package_not_copies():
    for chapter in ROOT.glob("book/*.md"):
        for path, obj in re.findall(r"```\{literalinclude\} (\S+)\n:pyobject: (\S+)", chapter.read_text()):
            source = (chapter.parent / path).resolve()
            assert source.is_relative_to(ROOT / "code") and source.is_file(), path
            text = source.read_text()
            for depth, part in enumerate(obj.split(".")):  # e.g. SigmoidMLP.__init__: a class, then its method
                assert re.search(rf"^{'    ' * depth}(def|class) {re.escape(part)}\b", text, re.M), f"{obj} not in {path}"


def test_no_committed_notebook_outputs():
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert tracked == []


def test_requirements_pin_what_breaks():
    text = (ROOT / "requirements.txt").read_text()
    assert "jupyter-book>=1,<2" in text
    assert re.search(r"^tensorflow>=2\.1[6-9],<3$", text, re.M)
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert "<" in line, f"unbounded requirement: {line}"
