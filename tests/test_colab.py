"""The set-up cell of every notebook the course hands out (`mlpkit.colab`); how it behaves when run is tested in
tests/test_notebooks.py, through a chapter's notebook."""

import pathlib

import yaml

from mlpkit import colab

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_the_package_installs_from_the_repository_the_book_names():
    """Released exercise notebooks take the repository from the package, the chapters from `_config.yml`: the
    two must be the same."""
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    assert (repository["url"].rstrip("/"), repository.get("branch", "main")) == colab.REPOSITORY


def test_the_cell_is_python_and_installs_from_the_url_and_branch_given():
    cell = colab.install_cell("https://example.org/a/course", "term2")
    compile(cell, "<set-up cell>", "exec")
    assert 'MLPKIT = "mlpkit @ git+https://example.org/a/course@term2"' in cell
    assert f"git+{colab.REPOSITORY[0]}@{colab.REPOSITORY[1]}" in colab.install_cell()
