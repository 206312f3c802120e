"""The ``{compare-modes}`` directive: the table of the checks' compare modes, read from the grader itself.

Each row is a key of `mlpkit.grading.checks.PREDICATES` and the first
paragraph of its function's docstring, so the page lists exactly the modes a
checks file can use, described where they are written.
"""

import inspect

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def rows():
    """``(mode, description)`` for every compare mode, in the grader's order."""
    from mlpkit.grading import checks

    out = []
    for name, function in checks.PREDICATES.items():
        doc = inspect.getdoc(function) or ""
        first = " ".join(doc.split("\n\n")[0].split())
        out.append((name, first.replace("|", "\\|")))
    return out


class CompareModesDirective(SphinxDirective):
    has_content = False

    def run(self):
        lines = ["| compare mode | what passes |", "|---|---|"]
        lines += [f"| `{name}` | {text} |" for name, text in rows()]
        container = nodes.container(classes=["mlpkit-compare-modes"])
        self.state.nested_parse(StringList(lines, source="compare-modes"), self.content_offset, container)
        return [container]


def setup(app):
    app.add_directive("compare-modes", CompareModesDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
