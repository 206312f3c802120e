"""The ``{exercises}`` directive: a chapter's graded exercises, from the one exercise source.

    ```{exercises} perceptron
    ```

renders each exercise of ``exercises/perceptron.py`` as an
admonition (classes ``exercise`` and ``note``): its number, title and points,
its statement and the starting code a student gets. The
public book never shows solutions; the instructor build
(``MLPKIT_SOLUTIONS=1``, ``make book-instructor``) adds each reference
solution below its exercise (classes ``solution`` and ``tip``). The markdown
comes from `mlpkit.grading.bank.book_markdown`; if it makes fewer or more
blocks than there are exercises, the build fails.

The exercises come from the bank `mlpkit.grading.bank.default` names: the
built-in one, or an instructor's own where ``MLPKIT_BANK`` is set
(``make book-instructor BANK=DIR``); a chapter that bank has no exercises
for says so in place of the blocks.
"""

import os

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def solutions_enabled():
    return os.environ.get("MLPKIT_SOLUTIONS") == "1"


class ExercisesDirective(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self):
        from mlpkit.grading import bank

        chapter = self.arguments[0]
        try:
            chosen = bank.default()
        except bank.ExerciseError as error:
            raise self.error(str(error))
        for path in (chosen.path / f"{chapter}.py", chosen.path / f"{chapter}_checks.py"):
            self.env.note_dependency(str(path))  # edit an exercise, and the page is rebuilt
        if chosen is not bank.BUILT_IN and chapter not in chosen.chapters:
            text = f"The bank in {chosen.path} has no exercises for this chapter."
            return [nodes.paragraph(text, text, classes=["mlpkit-exercises"])]
        try:
            text = bank.book_markdown(chapter, solutions=solutions_enabled(), bank=chosen)
        except bank.ExerciseError as error:
            raise self.error(str(error))
        container = nodes.container(classes=["mlpkit-exercises"])
        self.state.nested_parse(
            StringList(text.splitlines(), source=f"exercises:{chapter}"), self.content_offset, container
        )
        # Markup that does not parse shows up as literal text, not as an error: count the blocks it made.
        expected = len(chosen.load_exercises([chapter]))
        made = {
            kind: sum(1 for node in container.findall(nodes.admonition) if kind in node["classes"])
            for kind in ("exercise", "solution")
        }
        if made["exercise"] != expected or made["solution"] != (expected if solutions_enabled() else 0):
            raise self.error(
                f"{chapter}: {expected} exercises, but their markdown made {made['exercise']} exercise "
                f"and {made['solution']} solution blocks (see mlpkit.grading.bank.book_markdown)"
            )
        return [container]


def setup(app):
    app.add_directive("exercises", ExercisesDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
