"""Every chapter as a Jupyter notebook: made from its source, and run top to bottom in a fresh kernel.

The notebooks are the ones `make notebooks` writes (book/_ext/chapter_notebooks.py):
the MyST source with a set-up cell first that installs mlpkit from the
repository where it is missing. The committed copies in book/ (what Colab and
Binder open) must match the sources; each is executed with nbclient in a
temporary folder, as a student meets it outside the book. A cell that fails
is a failed test.
"""

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

from mlpkit.quiet import leaked_lines

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("chapter_notebooks", ROOT / "book" / "_ext" / "chapter_notebooks.py")
chapter_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(chapter_notebooks)

spec = importlib.util.spec_from_file_location("execution_cache", ROOT / "book" / "_ext" / "execution_cache.py")
execution_cache = importlib.util.module_from_spec(spec)
spec.loader.exec_module(execution_cache)

CHAPTERS = [path.stem for path in chapter_notebooks.chapters()]
URL, BRANCH = chapter_notebooks.repository()

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def test_every_chapter_has_a_notebook():
    assert {"perceptron", "xor", "gradients", "training", "speed", "evaluation"} <= set(CHAPTERS)
    assert "intro" not in CHAPTERS and "bibliography" not in CHAPTERS  # pages without code


def test_committed_notebooks_match_their_sources():
    assert chapter_notebooks.stale(ROOT / "book") == [], "run `make notebooks` and commit book/*.ipynb"


def test_check_command_names_a_stale_notebook(tmp_path):
    chapter_notebooks.write(tmp_path)
    (tmp_path / "xor.ipynb").write_text((tmp_path / "xor.ipynb").read_text().replace("XOR", "XNOR", 1))
    result = subprocess.run([sys.executable, str(ROOT / "book" / "_ext" / "chapter_notebooks.py"), "check", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "xor" in result.stderr and "make notebooks" in result.stderr


def test_first_cell_installs_from_the_configured_repository():
    for chapter in CHAPTERS:
        nb = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
        first = nb.cells[0]
        assert first.cell_type == "code" and f"git+{URL}@{BRANCH}" in first.source
        assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def _run_setup_cell(mlpkit_present):
    # Run the set-up cell in a fresh interpreter where `mlpkit` is (or seems)
    # missing; record the pip command instead of running it (no network here).
    cell = nbformat.read(ROOT / "book" / "xor.ipynb", as_version=4).cells[0].source
    harness = (
        "import importlib.util, json, subprocess\n"
        "calls = []\n"
        f"real_find_spec = importlib.util.find_spec\n"
        f"importlib.util.find_spec = lambda name, *a: (real_find_spec(name, *a) if {mlpkit_present} or name != 'mlpkit' else None)\n"
        "subprocess.run = lambda args, **kw: calls.append(args)\n"
        + cell
        + "\nprint('CALLS=' + json.dumps(calls))\n"
    )
    result = subprocess.run([sys.executable, "-c", harness], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    printed, calls = result.stdout.rsplit("CALLS=", 1)
    return printed, json.loads(calls)


def test_setup_cell_installs_mlpkit_where_it_is_missing_and_says_so():
    printed, calls = _run_setup_cell(mlpkit_present=False)
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", f"mlpkit @ git+{URL}@{BRANCH}"]]
    assert "not installed" in printed and "installing" in printed


def test_setup_cell_does_nothing_where_mlpkit_is_installed():
    printed, calls = _run_setup_cell(mlpkit_present=True)
    assert calls == [] and printed.strip() == "mlpkit is installed."


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_notebook_runs_in_a_fresh_kernel(tmp_path, chapter, monkeypatch):
    if execution_cache.executed_by_book(ROOT / "book" / f"{chapter}.md"):
        # The notebook is this source plus the set-up cell (both checked above), and the
        # book build has just run this source, as it reads now, in a fresh kernel.
        pytest.skip(f"`make book` ran book/{chapter}.md against this code without error")
    monkeypatch.setenv("MLPKIT_NO_DOWNLOAD", "1")
    nb = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    assert nb.cells[0].outputs[0]["text"].strip() == "mlpkit is installed."
    assert all(cell.get("outputs") is not None for cell in nb.cells if cell.cell_type == "code")
    assert any(cell.get("outputs") for cell in nb.cells[1:] if cell.cell_type == "code")
    printed = "\n".join(output.get("text", "") for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)
    assert leaked_lines(printed) == []  # no TensorFlow log line, no download chatter
