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
# An instructor's bank in place of the built-in one for the commands run under this variable (`--bank` wins).
BANK_VARIABLE = "MLPKIT_BANK"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CELL_MARKER = re.compile(r"^# %%(?: \[(\w+)\])?(.*)$")


class ExerciseError(RuntimeError):
    """An exercise command cannot do what was asked; the message says why and what to do."""


@dataclasses.dataclass
class Cell:
    kind: str  # "code" or "markdown"
    source: str
    exercise: str | None = None


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


class Bank:
    """A folder of exercise chapters: ``NAME.py`` (statements, starting code and reference solutions) beside
    ``NAME_checks.py`` (points and checks), for each chapter ``NAME``.

    ``course_key``: the bytes of an instructor's course key (`mlpkit.grading.variants`); the hidden checks' random
    inputs, and the parameters an exercise declares variable, are drawn from it, so they differ from the values
    anyone can compute from the bank alone.
    """

    def __init__(self, path, course_key=None):
        self.path = pathlib.Path(path)
        self.course_key = course_key
        if self.path.is_dir():
            names = [p.stem for p in self.path.glob("*.py") if not p.stem.endswith("_checks") and p.stem.isidentifier()
                     and not p.stem.startswith("_")]
            # the book's chapters in book order, then any other chapter by name
            self.chapters = [c for c in BOOK_ORDER if c in names] + sorted(set(names) - set(BOOK_ORDER))
        else:  # every book chapter, so that asking for one says the bank is missing rather than that it has none
            self.chapters = list(BOOK_ORDER)

    def __repr__(self):
        return f"Bank({str(self.path)!r}{', with a course key' if self.course_key else ''})"

    @property
    def demo_chapters(self):
        """What `mlpkit grade`, `mlpkit exercises gradescope` and `demo-class` cover unless told otherwise: the first
        three chapters (of the built-in bank: perceptron, xor, gradients). Their exercises are functions of a few
        small arrays (no training step, no tf.function, no Keras model, as from chapter 4 on): they grade fastest."""
        return self.chapters[:3]

    def number(self, chapter):
        """The chapter's number in headings: its book chapter's, or its place in this bank for a bank of its own."""
        if all(c in NUMBERS for c in self.chapters):
            return NUMBERS[chapter]
        return self.chapters.index(chapter) + 1

    def file(self, chapter, suffix=""):
        if chapter not in self.chapters:
            raise ExerciseError(f"no exercises for chapter {chapter!r} in {self.path}; "
                                f"the chapters with exercises are {', '.join(self.chapters) or 'none'}")
        path = self.path / f"{chapter}{suffix}.py"
        if not path.is_file():
            if self.path == BANK_DIR:
                raise ExerciseError(f"{path} not found: the exercise sources are in a clone of the repository "
                                    "(its folder exercises/), not in an installed package")
            raise ExerciseError(f"{path} not found: a bank has NAME.py and NAME_checks.py for each chapter NAME")
        return path

    def load_checks(self, chapter):
        """The chapter's ``CHECKS`` (points and calls per exercise), from its checks file, drawn for the course key."""
        from mlpkit.grading import variants

        path = self.file(chapter, "_checks")
        spec = importlib.util.spec_from_file_location(f"mlpkit_exercise_checks_{chapter}", path)
        module = importlib.util.module_from_spec(spec)
        with variants.drawing(self.course_key, chapter):
            try:
                spec.loader.exec_module(module)
            except Exception as error:
                raise ExerciseError(f"{path}: could not be loaded: {type(error).__name__}: {error}") from error
        if not isinstance(getattr(module, "CHECKS", None), dict):
            raise ExerciseError(f"{path}: defines no CHECKS dictionary (exercise name: dict(points=..., calls=[...]))")
        return module.CHECKS

    def source_key(self, chapters):
        """A short hash of the chapters' sources and checks (and the course key's, if any): results graded against
        other ones are stale."""
        import hashlib

        text = "".join(self.file(c).read_text() + self.file(c, "_checks").read_text() for c in chapters)
        if self.course_key:
            text += hashlib.sha256(b"mlpkit course key " + self.course_key).hexdigest()
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def chapter_cells(self, chapter):
        return parse_cells(self.file(chapter).read_text())

    def load_exercises(self, chapters=None):
        """Every :class:`~mlpkit.grading.checks.Exercise` of ``chapters`` (default: all), in the bank's order."""
        exercises = []
        for chapter in chapters or self.chapters:
            cells, checks_of = self.chapter_cells(chapter), self.load_checks(chapter)
            named = [cell.exercise for cell in cells if cell.exercise and cell.kind == "code"]
            if sorted(named) != sorted(checks_of):
                raise ExerciseError(f"{chapter}: exercises {sorted(named)} and checks {sorted(checks_of)} do not match")
            for name in named:
                statements = [cell.source for cell in cells if cell.exercise == name and cell.kind == "markdown"]
                if not statements:
                    raise ExerciseError(f"{chapter}: exercise {name!r} has code but no statement (a markdown cell "
                                        f'marked exercise="{name}")')
                title = statements[0].splitlines()[0].lstrip("# ").strip() if statements[0] else name
                spec = checks_of[name]
                if not isinstance(spec, dict) or "points" not in spec or "calls" not in spec:
                    raise ExerciseError(f"{chapter}: CHECKS[{name!r}] should be dict(points=..., calls=[Call(...)])")
                exercises.append(checks.Exercise(name, chapter, spec["points"], title, spec["calls"]))
        names = [exercise.name for exercise in exercises]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ExerciseError(f"exercise names must be unique across chapters: {sorted(duplicates)}")
        return exercises

    def reference_cells(self, chapters=None):
        """The reference solution of ``chapters`` as a submission: ``(label, source)`` per code cell."""
        cells = []
        for chapter in chapters or self.chapters:
            for number, cell in enumerate(self.chapter_cells(chapter)):
                if cell.kind == "code":
                    cells.append((f"<{chapter} cell {number}>", cell.source))
        return cells

    def student_cells(self, chapter):
        """The chapter's cells as a student gets them: solutions replaced by ``raise NotImplementedError``."""
        def source(cell):
            return strip_solutions(cell.source, cell.exercise or chapter) if cell.kind == "code" else cell.source

        return [Cell(cell.kind, source(cell), cell.exercise) for cell in self.chapter_cells(chapter)]


BUILT_IN = Bank(BANK_DIR)
# The built-in bank's chapters with exercises, in book order (every chapter when the bank is absent).
CHAPTERS = BUILT_IN.chapters
DEMO_CHAPTERS = BUILT_IN.demo_chapters


def default():
    """The bank commands use unless given ``--bank``: ``$MLPKIT_BANK`` if set, else the built-in bank."""
    import os

    path = os.environ.get(BANK_VARIABLE)
    return open_bank(path, f"${BANK_VARIABLE}") if path else BUILT_IN


def open_bank(path, what="--bank", course_key=None):
    """The bank in the folder ``path``, refused with a clear error if it is not a folder of chapters."""
    bank = Bank(pathlib.Path(path).expanduser(), course_key)
    if not bank.path.is_dir():
        raise ExerciseError(f"{what} {path}: not a folder (a bank is a folder of NAME.py and NAME_checks.py files)")
    if not bank.chapters:
        raise ExerciseError(f"{what} {path}: no chapters in it (a bank has NAME.py and NAME_checks.py for each "
                            "chapter NAME; `mlpkit exercises new DIR NAME` writes one)")
    return bank



# The same for the built-in bank (the book's exercises and the tests').
load_checks = BUILT_IN.load_checks
source_key = BUILT_IN.source_key
chapter_cells = BUILT_IN.chapter_cells
load_exercises = BUILT_IN.load_exercises
reference_cells = BUILT_IN.reference_cells
student_cells = BUILT_IN.student_cells


# -- rendering: numbered statements, notebooks and .py files ---------------------------------------

def _heading(exercise_number, exercise):
    points = f"{exercise.points:g} point{'' if exercise.points == 1 else 's'}"  # 1 point, 2 points, 0.5 points
    return f"Exercise {exercise_number}: {exercise.title} ({points}, `{exercise.name}`)"


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

def book_markdown(chapter, solutions=False, bank=None):
    """The chapter's exercises as MyST markdown for the book: statements and starting code, and solutions if asked.

    Each exercise is a colon-fenced ``admonition`` (classes ``note exercise``)
    titled "Exercise N.M: title (P points, `name`)": a backtick fence's info
    string may not contain a backtick, a colon fence's may. Every fence is
    longer than any run of its character that starts a line inside it, so no
    statement or code can close it early. The solution (``tip solution``)
    follows its exercise.
    """
    bank = bank or BUILT_IN
    exercises = bank.load_exercises([chapter])
    cells = numbered(bank.chapter_cells(chapter), exercises, bank.number(chapter))
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
