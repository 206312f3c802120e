"""The ``{test-files}`` directive: a table of the test files, each with what it checks.

    ```{test-files}
    ```

renders one row per ``tests/test_*.py``: its name and the first paragraph of
its docstring. The table is read from the files, so it names every test
file there is and no other; the page is rebuilt when a test file changes.
"""

import ast
import pathlib

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

TESTS = pathlib.Path(__file__).resolve().parents[2] / "tests"


def summaries(folder=TESTS):
    """``(file name, first docstring paragraph)`` for every test file in ``folder``, sorted by name."""
    rows = []
    for path in sorted(folder.glob("test_*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        first = " ".join(doc.split("\n\n")[0].split())
        if not first:
            raise ValueError(f"{path.name} has no docstring: say what it checks in its first paragraph")
        rows.append((path.name, first))
    return rows


class TestFilesDirective(SphinxDirective):
    has_content = False

    def run(self):
        for path in TESTS.glob("test_*.py"):
            self.env.note_dependency(str(path))
        try:
            rows = summaries()
        except ValueError as error:
            raise self.error(str(error)) from None
        cell = lambda text: text.replace("|", "\\|")  # noqa: E731 - a pipe would end the table cell
        lines = ["| test file | what it checks |", "|---|---|"]
        lines += [f"| `tests/{name}` | {cell(text)} |" for name, text in rows]
        container = nodes.container(classes=["mlpkit-test-files"])
        self.state.nested_parse(StringList(lines, source="test-files"), self.content_offset, container)
        if len(list(container.findall(nodes.row))) != len(rows) + 1:
            raise self.error(f"the table of {len(rows)} test files did not parse as a table")
        return [container]


def setup(app):
    app.add_directive("test-files", TestFilesDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
