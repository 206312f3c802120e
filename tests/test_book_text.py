"""The book's sources read as text: the table of contents, notation, errata, code shown from the package."""

import argparse
import ast
import json
import pathlib
import re
import subprocess
import sys

import pytest

from helpers import BOOK, ROOT


def _toc_files():
    return re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text()) + ["book/intro"]


def test_chapter_4_names_every_option_of_mlpkit_train():
    from mlpkit import cli

    parser = cli.build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    options = {option for action in commands.choices["train"]._actions for option in action.option_strings}
    options -= {"-h", "--help"}
    chapter = (pathlib.Path(__file__).resolve().parents[1] / "book" / "training.md").read_text()
    missing = sorted(option for option in options if f"`{option}`" not in chapter)
    assert len(options) > 10 and not missing, f"chapter 4 does not name {missing}"


def _glossary_entry(term):
    text = (pathlib.Path(__file__).resolve().parents[1] / "book" / "glossary.md").read_text()
    entry = text.split(f"\n{term}\n", 1)[1]
    return entry.split("\n\n", 1)[0]


def test_glossary_uses_the_notation_page_symbols():
    # The notation page: learning rate eta, output y against target t, epochs from 1,
    # and the test set kept apart until the end (choices on a validation set).
    assert r"\eta" in _glossary_entry("learning rate") and "$r$" not in _glossary_entry("learning rate")
    assert r"\eta" in _glossary_entry("gradient descent")
    assert "(y - t)^2" in _glossary_entry("mean squared error")
    assert "counts epochs from 1" in _glossary_entry("epoch")
    assert "untouched until the end" in _glossary_entry("validation set")
    assert "once, at the end" in _glossary_entry("test set")


# Symbols the notation page replaces: the thesis's target y-hat and learning rate r, and the input a.
OTHER_SYMBOLS = [r"\hat y", r"\hat{y}", "$r$", "$r =", "$f(w)$", "$a = 2", "$a_3"]


@pytest.mark.parametrize("page", ["perceptron", "xor", "gradients", "intro"])
def test_chapters_link_the_notation_page(page):
    assert "{doc}`notation`" in (BOOK / f"{page}.md").read_text()
    toc = (BOOK.parent / "_toc.yml").read_text()
    assert toc.index("file: book/glossary") < toc.index("file: book/notation") < toc.index("file: book/errata")


@pytest.mark.parametrize("page", ["perceptron", "xor", "gradients"])
def test_other_symbols_appear_only_where_a_source_is_quoted(page):
    text = (BOOK / f"{page}.md").read_text()
    prose = "\n".join(part for i, part in enumerate(text.split("```")) if i % 2 == 0)  # outside code fences
    for paragraph in prose.split("\n\n"):
        for sentence in paragraph.replace("\n", " ").split(". "):
            found = [symbol for symbol in OTHER_SYMBOLS if symbol in sentence]
            assert not found or "{cite}" in sentence, f"{page}: {found} outside a quoted source: {sentence[:120]}"


@pytest.mark.parametrize("page", ["evaluation.md", "errata.md"])
def test_no_prose_line_starts_with_a_percent_sign(page):
    # In MyST a line that starts with % is a comment: "92.94\n% of ..." would silently drop the rest of the line.
    text = (pathlib.Path(__file__).resolve().parents[1] / "book" / page).read_text()
    prose = "\n".join(part for index, part in enumerate(text.split("```")) if index % 2 == 0)
    assert [line for line in prose.splitlines() if line.startswith("%")] == []


def test_every_toc_entry_exists_and_chapters_are_myst_notebooks():
    for entry in _toc_files():
        assert (ROOT / f"{entry}.md").is_file(), entry
    for chapter in ("perceptron", "xor", "gradients"):
        text = (ROOT / "book" / f"{chapter}.md").read_text()
        assert text.startswith("---\njupytext:") and "format_name: myst" in text and "kernelspec:" in text
        assert "```{code-cell} ipython3" in text


def test_chapters_show_code_from_the_package_not_copies():
    for chapter in ROOT.glob("book/*.md"):
        for path, obj in re.findall(r"```\{literalinclude\} (\S+)\n:pyobject: (\S+)", chapter.read_text()):
            source = (chapter.parent / path).resolve()
            assert source.is_relative_to(ROOT / "code") and source.is_file(), path
            text = source.read_text()
            for depth, part in enumerate(obj.split(".")):  # e.g. SigmoidMLP.__init__: a class, then its method
                assert re.search(rf"^{'    ' * depth}(def|class) {re.escape(part)}\b", text, re.M), (
                    f"{obj} not in {path}"
                )


def test_no_committed_notebook_outputs():
    # The only notebooks in git are the chapter notebooks in book/ (for Colab and Binder), without outputs.
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert all(path.startswith("book/") for path in tracked), tracked
    for path in tracked:
        cells = json.loads((ROOT / path).read_text())["cells"]
        assert all(cell.get("outputs", []) == [] and cell.get("execution_count") is None for cell in cells), path


def test_errata_page_names_tests_and_sections_that_exist():
    text = (ROOT / "book" / "errata.md").read_text()
    tests = re.findall(r"`tests/(test_\w+)\.py::(\w+)`", text)
    assert len(tests) >= 10
    for module, name in tests:
        assert re.search(rf"^def {name}\(", (ROOT / "tests" / f"{module}.py").read_text(), re.M), f"{module}::{name}"
    for chapter, section in re.findall(r"In \{doc\}`(\w+)`, section \"([^\"]+)\"", text):
        headings = re.findall(r"^#+ (.+)$", (ROOT / "book" / f"{chapter}.md").read_text(), re.M)
        assert section in headings, f"{chapter} has no section {section!r}"


def test_command_reference_has_a_section_for_every_command():
    """book/commands.md's reference is generated from the parsers: every (sub)command gets its own section."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import cli_reference
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    from mlpkit import cli

    names = [name for name, _ in cli_reference._commands(cli.build_parser(), "mlpkit")]
    assert {"mlpkit train", "mlpkit grade", "mlpkit exercises check", "mlpkit study"} <= set(names)
    page = ROOT / "_build" / "html" / "book" / "commands.html"
    if not page.is_file():
        pytest.skip("the book is not built (run `make book` first)")
    html = page.read_text()
    for name in names:
        assert f'id="cli-{name.replace(" ", "-")}"' in html, f"no section for {name} in the built reference"
    for option in ("--shard", "--lms-export", "--time-limit"):  # options of three different commands
        assert option in html


def _shown_objects():
    """``{(source file, dotted name): page}`` for every object a chapter shows with ``literalinclude``."""
    shown = {}
    for page in sorted(BOOK.glob("*.md")):
        for path, obj in re.findall(r"```\{literalinclude\} (\S+)\n:pyobject: (\S+)", page.read_text()):
            shown[((page.parent / path).resolve(), obj)] = page.name
    return shown


def _defined(tree, dotted):
    node = tree
    for part in dotted.split("."):
        node = next(
            n for n in ast.iter_child_nodes(node) if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part
        )
    return node


def test_every_object_a_page_shows_says_so_where_it_is_defined():
    """A change to code a chapter shows is made knowing a page shows it: the line above it says which."""
    shown = _shown_objects()
    assert len(shown) >= 20
    for (source, obj), page in shown.items():
        lines = source.read_text().splitlines()
        node = _defined(ast.parse("\n".join(lines)), obj)
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        assert lines[start - 2].strip().startswith(f"# Shown in book/{page}"), f"{source.name}: {obj} lacks its comment"
    marked = set()
    for source in (ROOT / "code").rglob("*.py"):
        lines = source.read_text().splitlines()
        for number, line in enumerate(lines):
            found = re.match(r"\s*# Shown in book/(\S+) \(literalinclude\)", line)
            if found:
                name = re.match(r"\s*(?:def|class) (\w+)", lines[number + 1]).group(1)
                marked.add((source.resolve(), name, found.group(1)))
    assert marked == {(source, obj.split(".")[-1], page) for (source, obj), page in shown.items()}


def test_no_code_cell_line_is_wider_than_its_box():
    """A chapter's code-cell lines keep to 88 characters, as the lesson modules do: at a 1280 px window each shows
    whole, its assertions included (the cell's own options and metadata are not shown, so they do not count)."""
    wide = []
    for page in sorted(BOOK.glob("*.md")):
        for cell in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)\n```", page.read_text(), re.S):
            lines = cell.split("\n")
            if lines[0].strip() == "---":  # the cell's metadata block
                lines = lines[lines.index("---", 1) + 1 :]
            lines = [line for line in lines if not re.match(r"^:\w[\w-]*:", line)]
            wide += [f"{page.name}: {line[:60]}..." for line in lines if len(line) > 88]
    assert wide == []


def test_the_page_on_banks_documents_every_compare_mode_option_and_field():
    import dataclasses
    import inspect

    from mlpkit.grading import bank, checks
    from mlpkit.grading.calls import Call

    page = (BOOK / "banks.md").read_text()
    assert "```{compare-modes}" in page  # the table of modes is read from the grader
    undocumented = [name for name, f in checks.PREDICATES.items() if not (inspect.getdoc(f) or "").strip()]
    assert not undocumented, f"compare modes without a docstring for the page: {undocumented}"
    options = {key for e in bank.load_exercises() for call in e.calls for key in call.options}
    options |= {"finite", "probe", "calls", "mistakes", "dtype", "seed"}  # what the child and judge read
    missing = [key for key in sorted(options) if f"`{key}`" not in page and f'options["{key}"]' not in page]
    # options a compare mode reads are named in its row (from the docstring), the rest in the page's own table
    rows = " ".join(inspect.getdoc(f) or "" for f in checks.PREDICATES.values())
    missing = [key for key in missing if f'["{key}"]' not in rows and f'"{key}"' not in rows]
    assert not missing, f"options used by checks but not on the page: {missing}"
    fields = [field.name for field in dataclasses.fields(Call)]
    assert [f for f in fields if f"`{f}`" not in page and f"`{f}=" not in page] == []


def _numbered_chapters():
    """The numbered part of ``_toc.yml``: the chapters, in order."""
    toc = (ROOT / "_toc.yml").read_text()
    numbered = toc.split("numbered: true", 1)[1].split("- caption:", 1)[0]
    return [entry.split("/")[-1] for entry in re.findall(r"file:\s*(\S+)", numbered)]


def test_intro_lists_every_chapter_of_the_table_of_contents_in_order():
    # The intro's numbered list once stopped at chapter 8 of nine.
    chapters = _numbered_chapters()
    intro = (BOOK / "intro.md").read_text()
    listed = re.findall(r"^(\d+)\. \{doc\}`(\w+)`", intro, re.M)
    assert len(chapters) == 9
    assert listed == [(str(number), page) for number, page in enumerate(chapters, start=1)]


def test_intro_says_which_chapters_end_with_exercises_as_they_do():
    chapters = _numbered_chapters()
    with_exercises = [page for page in chapters if "```{exercises}" in (BOOK / f"{page}.md").read_text()]
    assert with_exercises == chapters  # all nine
    intro = " ".join((BOOK / "intro.md").read_text().split())
    assert "Every chapter ends with graded exercises." in intro
    assert not re.search(r"Chapters [\d, to and]+ end with graded exercises", intro)


def _prose_lines(text):
    """The lines of a MyST source outside code fences and display math, as (number, line)."""
    inside, kept = None, []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if inside is None and (stripped.startswith("```") or stripped.startswith("~~~")):
            inside = stripped[:3]
        elif inside is not None and stripped.startswith(inside):
            inside = None
        elif inside is None and stripped == "$$":
            inside = "$$"
        elif inside is None:
            kept.append((number, line))
            continue
        kept.append((number, ""))  # a fence, math or code: not prose
    return kept


def unintended_list_items(text):
    """Lines that start with ``N. `` or ``N) `` in the middle of a paragraph: a wrapped
    sentence that Markdown would turn into an ordered list (a number 1 does so even
    there). A line is an intended item when it starts its block (after a blank line) or
    follows the block's item N - 1."""
    found, previous, last_number = [], "", None
    for number, line in _prose_lines(text):
        if not line.strip():
            previous, last_number = "", None
            continue
        item = re.match(r"^\s*(\d+)[.)] ", line)
        if item:
            value = int(item.group(1))
            if previous.strip() and last_number != value - 1:
                found.append(f"{number}: {line.strip()[:60]}")
            last_number = value
        previous = line
    return found


def test_unintended_list_items_are_found():
    assert unintended_list_items("rows do not sum to\n1. The next sentence.\n") != []
    assert unintended_list_items("- an item that wraps\n  1. and goes on\n") != []
    assert unintended_list_items("at\n800. The hidden units\n") != []
    assert unintended_list_items("Steps:\n\n1. one\n   more\n2. two\n3) three\n") == []
    assert unintended_list_items("```\nx = 1\n1. not prose\n```\n") == []


@pytest.mark.parametrize("page", sorted(path.name for path in BOOK.glob("*.md")))
def test_no_wrapped_line_starts_an_ordered_list(page):
    assert unintended_list_items((BOOK / page).read_text()) == []


def test_glossary_and_chapter_9_agree_on_what_glorot_was_derived_for():
    # Derived for units linear near 0 and symmetric (tanh); the sigmoid fits it only
    # loosely (slope 1/4 at 0, mean 1/2): neither page may say it was made for the
    # sigmoid, nor that the sigmoid fits neither derivation while the other says it fits.
    entry = " ".join(_glossary_entry("Glorot initialisation").split())
    chapter = " ".join((BOOK / "deep.md").read_text().split())
    assert "Made for sigmoid" not in entry and "fits neither" not in chapter
    for text in (entry, chapter):
        assert "tanh" in text and "$1/4$" in text and "only loosely" in text
        assert "{cite}`glorot2010`" in text


def test_dropout_and_the_convergence_theorem_cite_their_sources():
    bib = (BOOK / "references.bib").read_text()
    assert "@misc{hinton2012," in bib and "@inproceedings{novikoff1962," in bib
    for page in BOOK.glob("*.md"):
        text = page.read_text()
        if "{cite}`srivastava2014`" in text:  # the journal paper, after the first one
            assert "{cite}`hinton2012`" in text, page.name
    perceptron = " ".join((BOOK / "perceptron.md").read_text().split())
    assert "convergence theorem {cite}`novikoff1962`" in perceptron
    assert "{cite}`hinton2012`" in (BOOK / "keras.md").read_text()


def test_chapter_9_writes_backpropagation_in_the_books_rows():
    # W_l is (n_{l-1}, n_l) (book/notation.md): the recursion is delta_{l+1} W_{l+1}^T,
    # not the column form W_{l+1}^T delta_{l+1}, which does not fit those shapes.
    text = (BOOK / "deep.md").read_text()
    assert "(n_{l-1}, n_l)" in (BOOK / "notation.md").read_text().replace("$", "")
    assert r"W_{l+1}^\top \delta_{l+1}" not in text and "written as a column" not in text
    assert r"\delta_l = \left(\delta_{l+1} W_{l+1}^\top\right) \odot \sigma'(z_l)" in text


def test_chapter_5_claims_no_speed_from_xla_it_does_not_measure():
    # In a built run the static epoch without XLA was as fast as the XLA epoch: the
    # speed is credited to the graph around the epoch, XLA's ratio is only reported.
    text = " ".join((BOOK / "speed.md").read_text().split())
    assert "Three things make it fast" not in text
    assert "{glue:text}`xla_over_static" in text and "claims no gain from XLA" in text
    assert 'assert min(speeds[name] for name in graph_epochs) > 3 * speeds["function_step"]' in text
