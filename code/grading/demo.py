"""A made-up class to try the grader on (`mlpkit exercises demo-class`).

Each submission answers every exercise of the chosen chapters (by default
`Bank.demo_chapters`) with the reference solution, the stub or
a wrong answer, at random, as a notebook or a ``.py`` file; the points each
should get come back with it, for comparing with what `mlpkit grade` gives.
"""

import json
import pathlib
import random

from mlpkit.grading import bank as bank_module

ANSWER_KEY = "expected.json"  # beside the submissions: the points each should get


def is_answer_key(path):
    """Whether ``path`` is the answer key :func:`make_demo_class`'s command writes beside the submissions (a JSON
    object of student ids and points): the kit's own file, no student's entry."""
    path = pathlib.Path(path)
    if path.name != ANSWER_KEY or path.is_symlink() or not path.is_file():
        return False
    try:
        key = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(key, dict) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in key.values())


def make_demo_class(folder, students=200, chapters=None, seed=0, bank=None):
    """Write ``students`` made-up submissions to ``folder``: each exercise solved, left as the stub or
    answered wrongly at random, as notebooks and ``.py`` files. Returns the points each should get."""
    bank = bank or bank_module.default()
    chapters = chapters or bank.demo_chapters
    rng = random.Random(seed)
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    loaded = {e.name: e for e in bank.load_exercises(chapters)}
    expected = {}
    for number in range(students):
        cells, points = [], 0.0
        for chapter in chapters:
            for cell in bank.chapter_cells(chapter):
                if cell.kind != "code":
                    continue
                if cell.exercise is None:
                    cells.append(cell)
                    continue
                choice = rng.choice(["solved", "solved", "stub", "wrong"])
                if choice == "solved":
                    points += loaded[cell.exercise].points
                    cells.append(cell)
                elif choice == "stub":
                    stub = bank_module.strip_solutions(cell.source, cell.exercise)
                    cells.append(bank_module.Cell("code", stub, cell.exercise))
                else:  # runs, returns nonsense of no use to any check
                    head = cell.source.split(bank_module.BEGIN)[0]
                    cells.append(bank_module.Cell("code", head + "return None\n", cell.exercise))
        student = f"s{number:04d}"
        if number % 2:
            (folder / f"{student}.ipynb").write_text(json.dumps(bank_module.notebook_json(cells)))
        else:
            (folder / f"{student}.py").write_text(bank_module.python_text(cells))
        expected[student] = points
    return expected
