"""A chapter's first cell, ``glue = start_chapter()`` (mlpkit.notebook): TensorFlow imported without its log lines,
and a ``glue`` that does nothing where myst-nb is missing (Colab), so every chapter runs there."""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from mlpkit import quiet

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _python(code):
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_CPP")}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300,
                          env=env, cwd=ROOT)


def test_start_chapter_imports_tensorflow_quietly_and_gives_a_glue_that_does_nothing_without_myst_nb():
    # As in Colab: myst_nb is not installed, so the chapter's glue(...) calls must run and show nothing.
    result = _python("""
        import sys
        sys.modules["myst_nb"] = None  # `import myst_nb` raises ImportError, as where it is not installed
        from mlpkit.notebook import no_glue, start_chapter
        glue = start_chapter()
        assert glue is no_glue and "tensorflow" in sys.modules
        assert glue("accuracy", 0.9) is None and glue("loss", 0.1, display=False) is None
        import tensorflow as tf
        print(tf.reduce_sum(tf.ones([3])).numpy())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3.0"
    assert quiet.leaked_lines(result.stderr) == [] and quiet.leaked_lines(result.stdout) == []


def test_start_chapter_gives_myst_nbs_glue_where_it_is_installed():
    myst_nb = pytest.importorskip("myst_nb")
    from mlpkit.notebook import start_chapter

    assert start_chapter() is myst_nb.glue


def test_every_chapter_starts_with_start_chapter_and_has_no_glue_of_its_own():
    jupytext = pytest.importorskip("jupytext")
    chapters = [p for p in sorted((ROOT / "book").glob("*.md")) if "kernelspec:" in p.read_text().split("\n---", 1)[0]]
    assert len(chapters) >= 9
    for chapter in chapters:
        cells = [cell.source for cell in jupytext.read(chapter).cells if cell.cell_type == "code"]
        first = [line for line in cells[0].splitlines() if line.strip()]
        assert first[0] == "from mlpkit.notebook import start_chapter", chapter.name
        assert first[1].startswith("glue = start_chapter()"), chapter.name
        source = "\n".join(cells)
        assert "myst_nb" not in source and "def glue" not in source and "import_tensorflow" not in source, chapter.name
