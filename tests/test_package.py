"""The kit as a package: its layout, what importing it does, its wheel, requirements and README."""

import ast
import json
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULES = sorted(path.stem for path in (ROOT / "code").glob("*.py"))
# The command line's modules (the subpackage code/cli/), as import names; __main__ runs the command.
CLI_MODULES = sorted(f"cli.{path.stem}".removesuffix(".__init__") for path in (ROOT / "code" / "cli").glob("*.py")
                     if path.stem != "__main__")


def _run(code, cwd):
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_every_chapter_module_is_found():
    assert {"perceptron", "xor", "gradients", "data", "model", "training", "export", "bench"} <= set(MODULES)
    assert {"cli", "cli.train", "cli.study", "cli.types", "cli.common"} <= set(CLI_MODULES)


def test_mlpkit_is_the_code_folder():
    import mlpkit.perceptron

    assert pathlib.Path(mlpkit.perceptron.__file__).resolve().parent == ROOT / "code"
    assert not (ROOT / "code" / "__init__.py").exists()  # see pyproject.toml: `code` must not shadow the stdlib


@pytest.mark.parametrize("cwd", [ROOT, ROOT / "book", ROOT / "tests"])
def test_import_code_is_still_the_standard_library(cwd):
    result = _run("import code, json; print(json.dumps([code.__file__, hasattr(code, 'InteractiveConsole')]))", cwd)
    path, has_console = json.loads(result.stdout)
    assert has_console and not pathlib.Path(path).is_relative_to(ROOT)


def test_import_does_no_work(tmp_path):
    # Importing every module prints nothing, writes nothing and creates no TensorFlow variables.
    code = (
        "import gc, tensorflow as tf\n"
        + "".join(f"import mlpkit.{name}\n" for name in MODULES + CLI_MODULES)
        + "print(sum(isinstance(o, tf.Variable) for o in gc.get_objects()))\n"
    )
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
    assert list(tmp_path.iterdir()) == []


def _toc_files():
    return re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text()) + ["book/intro"]


def _top_level_imports(source, skip_guarded=True):
    """Top-level module names a piece of Python imports (imports inside `try` count as optional)."""
    tree = ast.parse(source)
    guarded = {id(node) for t in ast.walk(tree) if isinstance(t, ast.Try) for s in t.body for node in ast.walk(s)}
    names = set()
    for node in ast.walk(tree):
        if skip_guarded and id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


# Import names whose distribution is named differently.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "pyyaml"}


def test_package_declares_what_the_package_and_its_chapters_import():
    # `pip install mlpkit` (a chapter's set-up cell in Colab) must bring every
    # module the package and the chapters import; the book's own tools
    # (myst_nb) are imported only inside `try`.
    import tomllib

    declared = {re.split(r"[<>=\[ ]", dep)[0].lower()
                for dep in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    imported = set()
    for path in [*(ROOT / "code").glob("*.py"), *(ROOT / "code" / "cli").glob("*.py")]:
        imported |= _top_level_imports(path.read_text())
    jupytext = pytest.importorskip("jupytext")
    for chapter in (ROOT / "book").glob("*.md"):
        if "kernelspec:" not in chapter.read_text():
            continue  # a page without code
        for cell in jupytext.read(chapter).cells:
            if cell.cell_type == "code":
                imported |= _top_level_imports(
                    "\n".join(line for line in cell.source.splitlines() if not line.startswith(("%", "!")))
                )
    third_party = imported - set(sys.stdlib_module_names) - {"mlpkit"}
    optional = {"yaml"}  # only for YAML grid files (`mlpkit study grid.yaml`); JSON needs nothing
    # only for `mlpkit bench`'s peers, timed when importable: an extra, never a dependency
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    optional |= {re.split(r"[<>=\[ ]", dep)[0].lower() for deps in extras.values() for dep in deps}
    assert "jax" in optional and "jax" not in declared
    missing = {DISTRIBUTIONS.get(name, name) for name in third_party - optional} - declared
    assert missing == set(), f"imported but not in pyproject.toml's dependencies: {sorted(missing)}"


def test_wheel_carries_the_grids_and_published_results(tmp_path):
    # What a non-editable install (pip install git+URL, as in Colab) gets.
    source = tmp_path / "source"  # a copy: building writes build/ beside the sources
    shutil.copytree(ROOT / "code", source / "code", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("mlpkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("grids", "results"):
        for path in (ROOT / "code" / folder).glob("*.json"):
            assert f"mlpkit/{folder}/{path.name}" in names
    assert {f"mlpkit/{path.name}" for path in (ROOT / "code").glob("*.py")} <= names
    for package in (ROOT / "code").glob("*/__init__.py"):  # every subpackage: cli, grading, runs
        folder = package.parent
        assert {f"mlpkit/{folder.name}/{path.name}" for path in folder.glob("*.py")} <= names
    # the solutions stay in the repository
    assert not [name for name in names if name.startswith("exercises/") or "_checks" in name]


def test_requirements_pin_what_breaks():
    text = (ROOT / "requirements.txt").read_text()
    assert "jupyter-book>=1,<2" in text
    assert re.search(r"^tensorflow>=2\.1[6-9],<3$", text, re.M)
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert "<" in line, f"unbounded requirement: {line}"


def test_readme_is_short_and_points_only_at_pages_of_the_book():
    readme = (ROOT / "README.md").read_text()
    assert len(readme) < 8000, f"README.md has {len(readme)} characters; the details belong in the book"
    toc = set(re.findall(r"(?:file|root):\s*(\S+)", (ROOT / "_toc.yml").read_text()))
    linked = re.findall(r"\]\((book/[\w-]+)\.md\)", readme)
    assert len(linked) >= 5
    missing = [page for page in linked if page not in toc]
    assert not missing, f"README.md links to pages that are not in _toc.yml: {missing}"
    built = ROOT / "_build" / "html"
    if (built / "index.html").is_file():  # after `make book`: each linked page was built
        assert [page for page in linked if not (built / f"{page}.html").is_file()] == []


def test_readme_lists_every_chapter_its_modules_and_the_exercise_count():
    """The README's chapter table follows _toc.yml's chapters, names modules that exist, and counts the bank's
    exercises."""
    from mlpkit.grading import bank

    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (\d+) \| [^|]+ \| ([^|]+) \|$", readme, re.M)
    assert [int(number) for number, _ in rows] == list(range(1, len(bank.BOOK_ORDER) + 1))
    for _, modules in rows:
        for module in re.findall(r"`mlpkit\.(\w+)`", modules):
            assert (ROOT / "code" / f"{module}.py").is_file(), f"README names mlpkit.{module}, which does not exist"
    named = {module for _, modules in rows for module in re.findall(r"`mlpkit\.(\w+)`", modules)}
    (layout_row,) = [line for line in readme.splitlines() if line.startswith("| `code/*.py` |")]
    support = set(re.findall(r"`(\w+)`", layout_row.split("beside them", 1)[1]))  # the layout table names them
    assert support and all((ROOT / "code" / f"{name}.py").is_file() for name in support), support
    lessons = {path.stem for path in (ROOT / "code").glob("*.py")} - support
    assert lessons <= named, f"the README's chapter table does not name {sorted(lessons - named)}"
    total = sum(len(bank.load_exercises([chapter])) for chapter in bank.CHAPTERS)
    assert f"({total} in all)" in readme, f"the README should say there are {total} exercises"
    assert set(bank.CHAPTERS) == set(bank.BOOK_ORDER), "every chapter has exercises, as the README says"


def test_every_module_and_subpackage_has_its_test_file():
    """As the README says: the tests of ``mlpkit.NAME`` (a module or a subpackage) are in ``tests/test_NAME.py``."""
    code = ROOT / "code"
    names = [path.stem for path in code.glob("*.py")] + [path.parent.name for path in code.glob("*/__init__.py")]
    missing = [name for name in sorted(names) if not (ROOT / "tests" / f"test_{name}.py").is_file()]
    assert not missing, f"no tests/test_NAME.py for {missing}"
    readme = (ROOT / "README.md").read_text()
    assert "Each module's tests are in `tests/test_MODULE.py`" in readme
    subpackages = [path.parent.name for path in code.glob("*/__init__.py")]
    assert [name for name in subpackages if f"`code/{name}/`" not in readme] == [], "the README's layout table"


def test_make_install_builds_with_the_locked_setuptools_only():
    import re

    makefile = (ROOT / "Makefile").read_text()
    editable = [line for line in makefile.splitlines() if "pip install --python $(BIN)" in line and "-e ." in line]
    assert editable and all("--no-build-isolation" in line for line in editable)  # no build backend from outside
    locked = re.search(r"^setuptools==([\d.]+) \\$", (ROOT / "requirements.lock").read_text(), re.MULTILINE)
    required = re.search(r'requires = \["setuptools>=(\d+)"\]', (ROOT / "pyproject.toml").read_text())
    assert locked and required and int(locked.group(1).split(".")[0]) >= int(required.group(1))
