"""Chapter notebooks: one ``.ipynb`` per chapter, made from its MyST source.

Every notebook starts with a set-up cell: where ``mlpkit`` is not installed
(Colab, a bare Jupyter) it installs the kit from the repository whose URL is
set once, in ``_config.yml`` (``repository.url`` and ``repository.branch``),
and says so. Outputs are empty.

One function makes the notebook; three places use it:

- ``python book/_ext/chapter_notebooks.py write DIR...`` (``make notebooks``)
  writes them, to ``_build/notebooks/`` and to ``book/`` beside the sources,
  where the Colab and Binder buttons find them in the repository;
- ``python book/_ext/chapter_notebooks.py check book`` fails when a committed
  notebook differs from its source (``tests/test_notebooks.py`` runs it);
- as a Sphinx extension (``_config.yml``), each page's download button offers
  the same notebook.
"""

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def repository(config_path=ROOT / "_config.yml"):
    """``(url, branch)`` of the course repository, from ``_config.yml``."""
    import yaml

    config = yaml.safe_load(pathlib.Path(config_path).read_text()) or {}
    repo = config.get("repository") or {}
    if not repo.get("url"):
        raise SystemExit(f"{config_path}: set repository.url (the chapters' set-up cell installs mlpkit from it)")
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def chapters(root=ROOT):
    """The MyST notebooks of the table of contents (pages with code), in book order."""
    import re

    entries = re.findall(r"(?:file|root):\s*(\S+)", (root / "_toc.yml").read_text())
    pages = [root / f"{entry}.md" for entry in entries]
    return [page for page in pages if "kernelspec:" in page.read_text().split("\n---", 1)[0]]


def notebook(source, url, branch):
    """The chapter at ``source`` (a MyST ``.md``) as a notebook with the set-up cell first, no outputs."""
    import jupytext
    import nbformat

    nb = jupytext.read(source)
    from mlpkit.colab import install_cell

    setup = nbformat.v4.new_code_cell(install_cell(url, branch))
    nb.cells.insert(0, setup)
    for number, cell in enumerate(nb.cells):
        cell.id = f"{pathlib.Path(source).stem}-{number}"  # stable ids: a rewrite changes nothing
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def render(source, url, branch):
    import nbformat

    return nbformat.writes(notebook(source, url, branch)) + "\n"


def write(directory, root=ROOT, only=None):
    """Write the chapter notebooks (``only``: just these chapters, by name) into ``directory``."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    url, branch = repository(root / "_config.yml")
    sources = chapters(root)
    unknown = sorted(set(only or []) - {source.stem for source in sources})
    if unknown:
        raise SystemExit(
            f"no chapter named {', '.join(unknown)}; the chapters are {', '.join(s.stem for s in sources)}"
        )
    written = []
    for source in sources:
        if only and source.stem not in only:
            continue
        target = directory / f"{source.stem}.ipynb"
        target.write_text(render(source, url, branch))
        written.append(target)
    return written


def stale(directory, root=ROOT):
    """Chapters whose notebook in ``directory`` is missing or differs from a fresh one."""
    url, branch = repository(root / "_config.yml")
    directory = pathlib.Path(directory)
    return [
        source.stem
        for source in chapters(root)
        if not (directory / f"{source.stem}.ipynb").is_file()
        or (directory / f"{source.stem}.ipynb").read_text() != render(source, url, branch)
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write_parser = commands.add_parser("write", help="write every chapter notebook into each DIR")
    write_parser.add_argument("dirs", nargs="+")
    write_parser.add_argument("--only", nargs="+", metavar="CHAPTER", help="just these chapters (e.g. gradients)")
    commands.add_parser("check", help="fail if DIR's notebooks differ from the sources").add_argument("dir")
    args = parser.parse_args(argv)
    if args.command == "write":
        for directory in args.dirs:
            print(f"{len(write(directory, only=args.only))} chapter notebooks in {directory}/")
        return 0
    out_of_date = stale(args.dir)
    if out_of_date:
        print(
            f"out of date in {args.dir}/: {', '.join(out_of_date)}; run `make notebooks` and commit them",
            file=sys.stderr,
        )
        return 1
    return 0


# -- Sphinx: the page's download button offers the chapter notebook ----------


def _offer_notebook(app, pagename, templatename, context, doctree):
    # sphinx-book-theme (priority 501) copies the executed notebook to
    # _sources/ for its download button; replace it with the chapter notebook.
    if not context.get("ipynb_source"):
        return
    source = pathlib.Path(app.env.doc2path(pagename))
    url, branch = repository()
    target = pathlib.Path(app.outdir) / "_sources" / context["ipynb_source"]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(source, url, branch))


def setup(app):
    app.connect("html-page-context", _offer_notebook, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.exit(main())
