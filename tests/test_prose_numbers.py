"""Every number in the book's prose is glued from a run, cited, or allowed for a stated reason.

See tests/prose_numbers.py for what counts as prose and what is allowed;
`python tests/prose_numbers.py book/PAGE.md` lists a page's bare numbers.
"""

import pathlib

import pytest

from prose_numbers import bare_numbers

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "book").glob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_bare_number_in_the_prose(page):
    bare = bare_numbers(page)
    assert not bare, "numbers typed into the prose (glue them from the run, or cite their source):\n" + "\n".join(
        f"  {page.name}:{line}: {token}  | {context}" for line, token, context in bare)


def _page(tmp_path, body):
    path = tmp_path / "page.md"
    path.write_text("---\nkernelspec:\n  name: python3\n---\n\n# A page\n\n" + body)
    return path


def test_a_typed_in_result_is_found(tmp_path):
    page = _page(tmp_path, "The network reaches 72.8 % on the test set, and 1,230 steps per second.\n")
    assert [token for _, token, _ in bare_numbers(page)] == ["72.8", "1,230"]


def test_a_result_typed_into_a_formula_is_found(tmp_path):
    page = _page(tmp_path, "The rate $\\eta = 0.37$ gives $C \\approx 0.052$ in $W^{(784)}$, $\\tfrac12 x^2$.\n")
    assert [token for _, token, _ in bare_numbers(page)] == ["0.37", "0.052"]  # integers: the formula's own


def test_glued_cited_and_allowed_numbers_pass(tmp_path):
    page = _page(tmp_path, (
        "The network reaches {glue:text}`accuracy:.1f` % on the test set.\n\n"
        "The thesis reports 90.81 % {cite}`pojunas2021`. Chapter 14 and Figure 24 are numbered; so is 2021.\n\n"
        "The layers are [784, 100, 10], or 784-15-10, with $\\tfrac12 w^2$ and `x[:203]`.\n\n"
        "```{code-cell} ipython3\nmodel.fit(lr=0.25)\n```\n\nThe rate is 0.25, as the code says.\n"))
    assert bare_numbers(page) == []


def test_numbers_in_code_math_and_options_are_not_prose(tmp_path):
    page = _page(tmp_path, (
        "```python\nprint(123.4)\n```\n\n$$\nC = 0.36\n$$\n\n"
        "```{figure} plot.png\n:width: 640px\n\nA caption with 47.5 % in it.\n```\n"))
    assert [token for _, token, _ in bare_numbers(page)] == ["47.5"]


def test_a_number_in_an_admonition_or_table_is_prose(tmp_path):
    page = _page(tmp_path, ":::{note}\nIt took 13.7 s.\n:::\n\n| variant | steps/s |\n|---|---|\n| eager | 1,230 |\n")
    assert [token for _, token, _ in bare_numbers(page)] == ["13.7", "1,230"]


def test_a_measurement_names_the_command_that_timed_it(tmp_path):
    page = _page(tmp_path, (
        "`time make test` took 6 min 41 s here.\n\n"
        "Measured with `/usr/bin/time -v mlpkit train`:\n\n| run | seconds |\n|---|---|\n| train | 13.5 |\n\n"
        "Without a command, 13.5 s is a typed-in number.\n"))
    assert [token for _, token, _ in bare_numbers(page)] == ["13.5"]
