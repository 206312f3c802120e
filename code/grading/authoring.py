"""Writing a bank of one's own: a new chapter that validates as it stands, and the validation of a bank.

``mlpkit exercises new DIR NAME`` writes :func:`new_chapter`'s pair of files;
``mlpkit exercises validate DIR`` runs :func:`validate`, which refuses, naming
the chapter, exercise and check and what to change, a bank whose exercises
could grade wrongly: a reference solution that fails its own check, a released
stub that passes one, a hidden check with no public check of its kind (students
could not see what is asked), points that are not positive, a reference whose
values change from run to run, a function the exercise never defines, and
names that collide across chapters.

Validation runs the reference solution (twice) and the stubs as submissions
are run, in a grading worker (`mlpkit.grading.grader.worker_pool`).
"""

import ast
import keyword
import pathlib
import string

from mlpkit.grading import bank as bank_module
from mlpkit.grading import checks, grader, sandbox, units

TEMPLATE = string.Template('''\
# %% [markdown]
# # ${name}: exercises
#
# Each exercise is a statement (a markdown cell marked with its name) and a code
# cell with the reference solution between the BEGIN and END SOLUTION lines;
# students get the code with the solution replaced by `raise NotImplementedError`.

# %%
import tensorflow as tf

# %% [markdown] exercise="${exercise}"
# ## Mean squared error
#
# Write `${exercise}(y_true, y_pred)`: the mean over every entry of
# `(y_true - y_pred) ** 2`, for two float32 tensors of the same shape, returned
# as a scalar tensor.

# %% exercise="${exercise}"
def ${exercise}(y_true, y_pred):
    ### BEGIN SOLUTION
    return tf.reduce_mean(tf.square(y_true - y_pred))
    ### END SOLUTION
''')

CHECKS_TEMPLATE = string.Template('''\
"""Checks for the ${name} exercises (keep this file private: its hidden checks are the grade)."""
from mlpkit.grading import Call, Tensor, variant_choice, variant_rng

# Hidden inputs come from variant_rng (and variable parameters from variant_choice): with a course key
# (--course-key) they are the key's own values, which nobody can compute from this file alone.
rng = variant_rng(1)
rows = variant_choice("rows", [4, 5, 6, 7])

CHECKS = {
    "${exercise}": dict(points=2, calls=[
        Call("${exercise}", (Tensor([[1.0, 2.0], [3.0, 4.0]]), Tensor([[1.0, 0.0], [3.0, 6.0]])), public=True,
             message="for y_true = [[1, 2], [3, 4]] and y_pred = [[1, 0], [3, 6]] the mean squared error is 2.0"),
        Call("${exercise}", (Tensor(rng.normal(size=(rows, 3))), Tensor(rng.normal(size=(rows, 3))))),
    ]),
}
''')


def new_chapter(folder, name):
    """Write ``folder/NAME.py`` and ``folder/NAME_checks.py``, an example exercise with a public and a hidden check;
    return their paths. Refuses a name that is not a Python identifier and files that exist."""
    folder = pathlib.Path(folder)
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_") or name.endswith("_checks"):
        raise bank_module.ExerciseError(f"NAME {name!r}: expected a chapter name made of letters, digits and _ "
                                        "(a Python identifier, not starting with _ nor ending in _checks)")
    paths = [folder / f"{name}.py", folder / f"{name}_checks.py"]
    existing = [str(path) for path in paths if path.exists()]
    if existing:
        verb = "exist" if len(existing) > 1 else "exists"
        raise bank_module.ExerciseError(f"{', '.join(existing)} {verb}: a new chapter never replaces one "
                                        "(choose another NAME)")
    if folder.exists() and not folder.is_dir():
        raise bank_module.ExerciseError(f"DIR {folder}: not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    fields = {"name": name, "exercise": f"{name}_mse"}
    for path, template in zip(paths, (TEMPLATE, CHECKS_TEMPLATE)):
        with open(path, "x") as file:
            file.write(template.substitute(fields))
    return paths


# -- validation ------------------------------------------------------------------------

def _kind(call):
    """What a hidden check must have a public check of, so that students can see what is asked: its compare mode,
    its case, whether it reads a variable, expects an exception or checks the seed."""
    return (call.compare, call.case, call.variable, call.raises, "seed" in call.options)


def _describe_kind(call):
    parts = [f"compare={call.compare!r}"]
    if call.case:
        parts.append(f"case={call.case!r}")
    if call.variable:
        parts.append("variable=True")
    if call.raises:
        parts.append(f"raises={call.raises}")
    if "seed" in call.options:
        parts.append('options["seed"]')
    return ", ".join(parts)


def _static_problems(exercises, bank, chapters):
    """What can be told without running anything: points, public counterparts, defined names."""
    problems = []
    for exercise in exercises:
        where = f"{exercise.chapter}: exercise {exercise.name}"
        points = exercise.points
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not points > 0:
            problems.append(f"{where}: points={points!r}; give it a positive number of points")
        if not exercise.calls:
            problems.append(f"{where}: no checks; add at least one public Call")
        public = {_kind(call) for call in exercise.public_calls}
        for index, call in enumerate(exercise.calls):
            if not call.public and _kind(call) not in public:
                problems.append(f"{where}: check {index + 1} (hidden, {_describe_kind(call)}) has no public check of "
                                "its kind; add a public Call of that kind so students can see what is asked")
            if call.compare not in checks.PREDICATES:
                problems.append(f"{where}: check {index + 1}: compare={call.compare!r} is not one of "
                                f"{', '.join(sorted(checks.PREDICATES))}")
    defined = set()
    for chapter in chapters:
        for cell in bank.chapter_cells(chapter):
            if cell.kind == "code":
                defined |= _defined_names(cell.source)
    for exercise in exercises:
        for name in sorted({call.name for call in exercise.calls} - defined):
            problems.append(f"{exercise.chapter}: exercise {exercise.name}: its checks call {name!r}, which no code "
                            "cell of the chapter defines; define it in the exercise's code cell or fix the name")
    return problems


def _defined_names(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()  # the reference run names the syntax error
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


def _collisions(bank):
    """Exercise names that two chapters of the bank both use."""
    seen, problems = {}, []
    for chapter in bank.chapters:
        try:
            names = {cell.exercise for cell in bank.chapter_cells(chapter) if cell.exercise}
        except bank_module.ExerciseError as error:
            problems.append(str(error))
            continue
        for name in sorted(names):
            if name in seen:
                problems.append(f"exercise {name!r} is in both {seen[name]} and {chapter}; rename one (exercise "
                                "names, and so function names, are unique across a bank)")
            seen.setdefault(name, chapter)
    return problems


def _runs(exercises, reference_cells, stub_cells, limits):
    """In a grading worker: the reference run twice and the stubs once (`sandbox.run`'s results, Keras models
    still as the descriptions a run sends)."""
    sandbox.preload()
    run_plan = units.plan(exercises)
    return [sandbox.run(cells, run_plan, limits=limits) for cells in (reference_cells, reference_cells, stub_cells)]


def _run_problems(exercises, first, second, stubs):
    problems = []
    for label, note in first["cells"].items():
        problems.append(f"the reference solution's {label} fails: {note}; fix the cell")
    for exercise in exercises:
        where = f"{exercise.chapter}: exercise {exercise.name}"
        runs = [run["exercises"].get(exercise.name, {"error": "not run"}) for run in (first, second, stubs)]
        if "error" in runs[0]:
            problems.append(f"{where}: the reference solution fails: {runs[0]['error']}")
            continue
        for index, call in enumerate(exercise.calls):
            check = f"{where}, check {index + 1} ({'public' if call.public else 'hidden'})"
            outcome = runs[0]["outcomes"][index]
            if "error" in outcome and not call.raises:
                problems.append(f"{check}: the reference solution raises {outcome['error']}; fix the solution or "
                                "the check's arguments")
                continue
            expected = checks.decode(outcome["value"]) if "value" in outcome else None  # None: Call.raises
            passed, detail = checks.judge(call, outcome, expected)
            if not passed:
                problems.append(f"{check}: the reference solution fails its own check ({detail}); fix the check's "
                                "compare mode or options")
                continue
            again = {"error": runs[1]["error"]} if "error" in runs[1] else runs[1]["outcomes"][index]
            if not checks.judge(call, again, expected)[0]:
                problems.append(f"{check}: the reference solution gives another value on a second run; seed its "
                                "randomness (or compare with a tolerance that allows the difference)")
            stub = {"error": runs[2]["error"]} if "error" in runs[2] else runs[2]["outcomes"][index]
            if checks.judge(call, stub, expected)[0]:
                problems.append(f"{check}: the released stub (the code without its solution) passes it; the check "
                                "gives points for nothing: test what the solution must compute")
    return problems


def _count(number, noun):
    return f"{number} {noun}" + ("" if number == 1 else "s")


def validate(bank, chapters=None, limits=None):
    """``(problems, summary)`` for ``bank`` (a `mlpkit.grading.bank.Bank`): each problem one line naming the chapter,
    exercise and check and what to change; ``summary`` one line. Call from a process that may fork."""
    problems = _collisions(bank)
    if problems:
        return problems, f"{bank.path}: {_count(len(problems), 'problem')}"
    chapters = chapters or bank.chapters
    try:
        exercises = bank.load_exercises(chapters)
    except bank_module.ExerciseError as error:
        return [str(error)], f"{bank.path}: 1 problem"
    problems = _static_problems(exercises, bank, chapters)
    stub_cells = [(f"<{chapter} stub cell {number}>", cell.source)
                  for chapter in chapters
                  for number, cell in enumerate(bank.student_cells(chapter)) if cell.kind == "code"]
    limits = limits or sandbox.Limits()
    with grader.worker_pool(1) as pool:
        raws = pool.submit(_runs, exercises, bank.reference_cells(chapters), stub_cells, limits).result()
    run_plan = units.plan(exercises)  # each Keras model run by the kit's own code, as when grading
    first, second, stubs = [units.validated(grader.run_models(raw, exercises), run_plan) for raw in raws]
    problems += _run_problems(exercises, first, second, stubs)
    calls = sum(len(exercise.calls) for exercise in exercises)
    counts = f"{_count(len(chapters), 'chapter')}, {_count(len(exercises), 'exercise')}, {_count(calls, 'check')}"
    if problems:
        return problems, f"{bank.path}: {counts}: {_count(len(problems), 'problem')}"
    return [], f"{bank.path}: {counts}: valid"
