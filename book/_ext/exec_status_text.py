"""The ``{nb-exec-table}`` on the status page says "passed" or "failed" in words.

MyST-NB marks each chapter's status with an emoji, which shows as an empty
box where no emoji font is installed. This transform builds the same table
(with MyST-NB's own ``make_stat_table``) just before MyST-NB would, and
replaces the emoji of the Status column with text; a failed run keeps its
error message as the cell's tooltip.
"""

from docutils import nodes
from myst_nb.ext.execution_tables import ExecutionStatsNode, make_stat_table
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.transforms.post_transforms import SphinxPostTransform

WORDS = {"✅": "passed", "❌": "failed"}


class ExecutionStatusInWords(SphinxPostTransform):
    default_priority = 7  # MyST-NB fills the table at 8

    def run(self, **kwargs):
        for node in list(self.document.findall(ExecutionStatsNode)):
            table = make_stat_table(self.env.docname, NbMetadataCollector.get_doc_data(self.env))
            header = [entry.astext() for entry in next(table.findall(nodes.thead)).findall(nodes.entry)]
            column = header.index("Status")
            for row in next(table.findall(nodes.tbody)).findall(nodes.row):
                cell = row.children[column]
                for text in list(cell.findall(nodes.Text)):
                    if text.astext().strip() in WORDS:
                        text.parent.replace(text, nodes.Text(WORDS[text.astext().strip()]))
            node.replace_self(table)


def setup(app):
    app.add_post_transform(ExecutionStatusInWords)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
