"""The ``{exercises}`` directive: a chapter's graded exercises, from the one exercise source.

    ```{exercises} perceptron
    ```

renders each exercise of ``code/exercise_bank/perceptron.py``: its number,
title and points, its statement and the starting code a student gets. The
public book never shows solutions; the instructor build
(``MLPKIT_SOLUTIONS=1``, ``make book-instructor``) adds each reference
solution below its exercise.
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
        from mlpkit import exercises

        chapter = self.arguments[0]
        for path in (exercises.BANK_DIR / f"{chapter}.py", exercises.BANK_DIR / f"{chapter}_checks.py"):
            self.env.note_dependency(str(path))  # edit an exercise, and the page is rebuilt
        try:
            text = exercises.book_markdown(chapter, solutions=solutions_enabled())
        except exercises.ExerciseError as error:
            raise self.error(str(error))
        container = nodes.container(classes=["mlpkit-exercises"])
        self.state.nested_parse(StringList(text.splitlines(), source=f"exercises:{chapter}"), self.content_offset, container)
        return [container]


def setup(app):
    app.add_directive("exercises", ExercisesDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
