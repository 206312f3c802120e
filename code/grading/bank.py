"""The exercise bank: read the exercises, their solutions and checks, and render them.

Each chapter's exercises are written once, in ``exercises/CHAPTER.py``
(percent-format cells: ``# %% [markdown] exercise="NAME"`` for a statement,
``# %% exercise="NAME"`` for its code), with the reference solution between
``### BEGIN SOLUTION`` and ``### END SOLUTION``. Their checks, with points,
are in ``CHAPTER_checks.py`` beside it (see `mlpkit.grading.checks`). This
module reads them (:func:`load_exercises`, :func:`reference_cells`, the
cells a student gets: :func:`student_cells`) and renders them: as a notebook
or a ``.py`` file (:func:`notebook_json`, :func:`python_text`) and as the
exercise blocks of the book, with or without solutions
(:func:`book_markdown`). What is made from it lives elsewhere:
`mlpkit.grading.release` writes the student materials, and
`mlpkit.grading.grader` grades against the reference, the source as written.

The bank is part of a clone of the repository, not of the installed package
(students who ``pip install`` the kit do not get the solutions); the
commands that need it say so when it is missing.
"""

import dataclasses
import importlib.util
import pathlib
import re

from mlpkit.grading import checks


def _repository_bank():
    """``exercises/`` at the root of the clone this package runs from (an editable install), else ``None``."""
    root = pathlib.Path(__file__).resolve().parents[2]
    if (root / "_toc.yml").is_file() and (root / "exercises").is_dir():
        return root / "exercises"
    return None


# The built-in bank: course content beside book/, not part of the package's code (nor of its wheel).
BANK_DIR = _repository_bank() or pathlib.Path(__file__).resolve().parents[2] / "exercises"
BOOK_ORDER = ["perceptron", "xor", "gradients", "training", "speed", "evaluation", "modern", "keras", "deep"]
NUMBERS = {chapter: number for number, chapter in enumerate(BOOK_ORDER, start=1)}  # chapter numbers
# The chapters with exercises, in book order: those with a source in the bank (every chapter when the bank is
# absent, so that asking for one says the bank is missing rather than that the chapter has none).
CHAPTERS = [c for c in BOOK_ORDER if (BANK_DIR / f"{c}.py").is_file()] if BANK_DIR.is_dir() else list(BOOK_ORDER)
# What `mlpkit grade`, `mlpkit exercises gradescope` and `mlpkit exercises demo-class` cover unless told otherwise:
# the first three chapters (perceptron, xor, gradients). Their exercises are functions of a few small arrays (no
# training step or epoch, no tf.function, no Keras model, as from chapter 4 on), so a class of them grades fastest.
DEMO_CHAPTERS = CHAPTERS[:3]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CELL_MARKER = re.compile(r"^# %%(?: \[(\w+)\])?(.*)$")


class ExerciseError(RuntimeError):
    """An exercise command cannot do what was asked; the message says why and what to do."""


@dataclasses.dataclass
class Cell:
    kind: str  # "code" or "markdown"
    source: str
    exercise: str | None = None


def _bank_file(chapter, suffix=""):
    if chapter not in CHAPTERS:
        raise ExerciseError(f"no exercises for chapter {chapter!r}; "
                            f"the chapters with exercises are {', '.join(CHAPTERS)}")
    path = BANK_DIR / f"{chapter}{suffix}.py"
    if not path.is_file():
        raise ExerciseError(f"{path} not found: the exercise sources are in a clone of the repository "
                            "(its folder exercises/), not in an installed package")
    return path


def parse_cells(text):
    """Percent-format text as :class:`Cell` objects (markdown comment markers removed)."""
    cells, kind, exercise, lines = [], None, None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.splitlines())
        cells.append(Cell(kind, body, exercise))

    for line in text.splitlines():
        match = CELL_MARKER.match(line)
        if match:
            flush()
            kind = "markdown" if match.group(1) == "markdown" else "code"
            found = re.search(r'exercise="(\w+)"', match.group(2))
            exercise, lines = (found.group(1) if found else None), []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def strip_solutions(source, name="this exercise"):
    """``source`` with every solution region replaced by ``raise NotImplementedError``, at the region's indentation."""
    out, inside = [], False
    for number, line in enumerate(source.splitlines(), 1):
        if line.strip() == BEGIN:
            if inside:
                raise ExerciseError(f"{name}: {BEGIN} inside a solution region (line {number})")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f'{indent}raise NotImplementedError("{name}: write your solution here")')
        elif line.strip() == END:
            if not inside:
                raise ExerciseError(f"{name}: {END} without {BEGIN} (line {number})")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ExerciseError(f"{name}: {BEGIN} without {END}")
    return "\n".join(out)


def load_checks(chapter):
    """The chapter's ``CHECKS`` (points and calls per exercise), from its checks file."""
    path = _bank_file(chapter, "_checks")
    spec = importlib.util.spec_from_file_location(f"mlpkit_exercise_checks_{chapter}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CHECKS


def source_key(chapters):
    """A short hash of the chapters' exercise sources and checks: results graded against other ones are stale."""
    import hashlib

    text = "".join(_bank_file(c).read_text() + _bank_file(c, "_checks").read_text() for c in chapters)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def chapter_cells(chapter):
    return parse_cells(_bank_file(chapter).read_text())


def load_exercises(chapters=None):
    """Every :class:`~mlpkit.grading.checks.Exercise` of ``chapters`` (default: all), in book order."""
    exercises = []
    for chapter in chapters or CHAPTERS:
        cells, checks_of = chapter_cells(chapter), load_checks(chapter)
        named = [cell.exercise for cell in cells if cell.exercise and cell.kind == "code"]
        if sorted(named) != sorted(checks_of):
            raise ExerciseError(f"{chapter}: exercises {sorted(named)} and checks {sorted(checks_of)} do not match")
        for name in named:
            statement = next(cell.source for cell in cells if cell.exercise == name and cell.kind == "markdown")
            title = statement.splitlines()[0].lstrip("# ").strip()
            exercises.append(checks.Exercise(name, chapter, checks_of[name]["points"], title, checks_of[name]["calls"]))
    names = [exercise.name for exercise in exercises]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ExerciseError(f"exercise names must be unique across chapters: {sorted(duplicates)}")
    return exercises


def reference_cells(chapters=None):
    """The reference solution of ``chapters`` as a submission: ``(label, source)`` per code cell."""
    cells = []
    for chapter in chapters or CHAPTERS:
        for number, cell in enumerate(chapter_cells(chapter)):
            if cell.kind == "code":
                cells.append((f"<{chapter} cell {number}>", cell.source))
    return cells


def student_cells(chapter):
    """The chapter's cells as a student gets them: solutions replaced by ``raise NotImplementedError``."""
    def source(cell):
        return strip_solutions(cell.source, cell.exercise or chapter) if cell.kind == "code" else cell.source

    return [Cell(cell.kind, source(cell), cell.exercise) for cell in chapter_cells(chapter)]


# -- rendering: numbered statements, notebooks and .py files ---------------------------------------

def _heading(exercise_number, exercise):
    return f"Exercise {exercise_number}: {exercise.title} ({exercise.points:g} points, `{exercise.name}`)"


def numbered(cells, exercises, chapter_number):
    """Cells with each statement's first heading numbered and given its points."""
    by_name = {exercise.name: exercise for exercise in exercises}
    order = [cell.exercise for cell in cells if cell.kind == "markdown" and cell.exercise]
    out = []
    for cell in cells:
        if cell.kind == "markdown" and cell.exercise in by_name:
            first, _, rest = cell.source.partition("\n")
            number = f"{chapter_number}.{order.index(cell.exercise) + 1}"
            cell = Cell(cell.kind, f"## {_heading(number, by_name[cell.exercise])}\n{rest}", cell.exercise)
        out.append(cell)
    return out


def notebook_json(cells):
    def lines(text):
        parts = text.split("\n")
        return [part + "\n" for part in parts[:-1]] + [parts[-1]]

    return {
        "cells": [
            {"cell_type": cell.kind, "id": f"cell-{i}",
             "metadata": {"exercise": cell.exercise} if cell.exercise else {}, "source": lines(cell.source),
             **({"execution_count": None, "outputs": []} if cell.kind == "code" else {})}
            for i, cell in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def python_text(cells):
    parts = []
    for cell in cells:
        marker = "# %%" + (" [markdown]" if cell.kind == "markdown" else "")
        marker += f' exercise="{cell.exercise}"' if cell.exercise else ""
        body = cell.source
        if cell.kind == "markdown":
            body = "\n".join(("# " + line).rstrip() for line in cell.source.splitlines())
        parts.append(f"{marker}\n{body}\n")
    return "\n".join(parts)


# -- the book ----------------------------------------------------------------------

def book_markdown(chapter, solutions=False):
    """The chapter's exercises as MyST markdown for the book: statements and starting code, and solutions if asked.

    Each exercise is a colon-fenced ``admonition`` (classes ``note exercise``)
    titled "Exercise N.M: title (P points, `name`)": a backtick fence's info
    string may not contain a backtick, a colon fence's may. Every fence is
    longer than any run of its character that starts a line inside it, so no
    statement or code can close it early. The solution (``tip solution``)
    follows its exercise.
    """
    exercises = load_exercises([chapter])
    cells = numbered(chapter_cells(chapter), exercises, NUMBERS[chapter])
    by_name = {exercise.name: exercise for exercise in exercises}
    order = [name for name in dict.fromkeys(cell.exercise for cell in cells) if name in by_name]
    out = []
    for name in order:
        statements = [cell.source for cell in cells if cell.exercise == name and cell.kind == "markdown"]
        code = [cell.source for cell in cells if cell.exercise == name and cell.kind == "code"]
        title, _, body = statements[0].partition("\n")
        body = "\n\n".join([body.strip("\n"), *(text.strip("\n") for text in statements[1:])])
        blocks = [_code_block(strip_solutions(source, name)) for source in code]
        out.append(_admonition(re.sub(r"^#+\s*", "", title).strip(), "note exercise", [body, *blocks]))
        if solutions:
            number = re.match(r"Exercise ([\d.]+):", title.lstrip("# "))
            label = f"exercise {number.group(1)}, " if number else ""
            out.append(_admonition(f"Solution: {label}`{name}`", "tip solution",
                                   [_code_block(_solution_only(source)) for source in code]))
    return "\n".join(out)


def _fence(char, text):
    """A fence of ``char``: three, or one more than the longest run of it that starts a line of ``text``."""
    runs = [len(match.group(1)) for match in re.finditer(rf"^[ \t]*({re.escape(char)}+)", text, re.MULTILINE)]
    return char * max([3] + [run + 1 for run in runs])


def _code_block(source, language="python"):
    fence = _fence("`", source)
    return f"{fence}{language}\n{source}\n{fence}"


def _admonition(title, classes, parts):
    body = "\n\n".join(part for part in parts if part.strip())
    fence = _fence(":", body)
    return f"{fence}{{admonition}} {title}\n:class: {classes}\n\n{body}\n{fence}\n"


def _solution_only(source):
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))
