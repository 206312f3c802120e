"""Every chapter as a Jupyter notebook runs top to bottom in a fresh kernel.

The notebooks are made from the MyST sources with jupytext, as `make notebooks`
does, into a temporary folder (with the study results chapter 6 reads), and
executed there with nbclient. This is how a student meets a chapter outside
the book; a cell that fails is a failed test.
"""

import pathlib
import re
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = [entry for entry in re.findall(r"file:\s*book/(\S+)", (ROOT / "_toc.yml").read_text()) if entry != "bibliography"]

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")


@pytest.fixture(scope="module")
def notebook_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("notebooks")
    shutil.copytree(ROOT / "book" / "results", directory / "results")
    return directory


def test_every_chapter_is_listed():
    assert {"perceptron", "xor", "gradients", "training", "speed", "evaluation"} <= set(CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_notebook_runs_in_a_fresh_kernel(notebook_dir, chapter, monkeypatch):
    monkeypatch.setenv("MLPKIT_NO_DOWNLOAD", "1")
    notebook = jupytext.read(ROOT / "book" / f"{chapter}.md")
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if not code_cells:
        pytest.skip(f"{chapter} has no code")
    assert all(not cell.get("outputs") for cell in code_cells)  # nothing committed, nothing carried over
    jupytext.write(notebook, notebook_dir / f"{chapter}.ipynb")
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(notebook_dir)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    assert any(cell.get("outputs") for cell in code_cells)
