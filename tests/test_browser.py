"""The built book in a real browser: Debian's Chromium, driven by Playwright, with the network off.

Needs `make book` first (`.ci/run` builds the book before the tests) and the
`chromium` package (`.ci/run` installs it); skips with the reason otherwise.
Every page of the table of contents is opened from disk and checked: no
console errors, no failed or outgoing requests, math typeset by the local
MathJax, every image loaded and described, every internal link and anchor
present; no MyST or Markdown markup and no log line left in the text a reader
sees; no cell output wider than its box; each chapter's exercises shown as
numbered exercise blocks, without solutions (and, where `make book-instructor`
has built the instructor's book, each solution below its exercise). A
full-page screenshot of each page goes to `_build/screenshots/`, and one of
each exercises section.
"""

import pathlib
import re
import shutil
import urllib.parse

import pytest

from helpers import BOOK_COLUMN_PX
from mlpkit.grading import bank
from mlpkit.quiet import leaked_lines

ROOT = pathlib.Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
INSTRUCTOR_HTML = ROOT / "_build" / "instructor" / "_build" / "html"  # make book-instructor
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# sphinx-book-theme logs this once on a fresh browser profile; it comes from the theme, not the book.
KNOWN_THEME_ERROR = "Got invalid theme mode"

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.skipif(not pathlib.Path(CHROMIUM).is_file(), reason="no chromium (apt-get install chromium)"),
    pytest.mark.skipif(not (HTML / "index.html").is_file(), reason="the book is not built (run `make book` first)"),
]


def _pages():
    entries = re.findall(r"(?:file|root):\s*(\S+)", (ROOT / "_toc.yml").read_text())
    return [f"{entry}.html" for entry in entries]


PAGES = _pages()


def _numbered_chapters():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [f"{entry['file']}.html" for part in toc["parts"] if part.get("numbered") for entry in part["chapters"]]


NUMBERED_CHAPTERS = _numbered_chapters()

VISIBLE_TEXT = """() => {
    const copy = (document.querySelector('main') || document.body).cloneNode(true);
    copy.querySelectorAll('pre, code, script, style, mjx-container').forEach(el => el.remove());
    return copy.innerText;
}"""

# The text the reader sees in the article (innerText of the laid-out page: nothing collapsed or hidden),
# with the elements matching `hide` left out; the page is as it was afterwards.
SHOWN_TEXT = """(hide) => {
    const root = document.querySelector('main article') || document.querySelector('main') || document.body;
    const hidden = hide ? Array.from(root.querySelectorAll(hide)) : [];
    const styles = hidden.map(el => el.getAttribute('style'));
    hidden.forEach(el => el.style.setProperty('display', 'none', 'important'));
    try {
        return root.innerText;
    } finally {
        hidden.forEach((el, i) => styles[i] === null
            ? el.removeAttribute('style') : el.setAttribute('style', styles[i]));
    }
}"""

# Cell inputs and outputs (and their boxes) and exercise code whose content is wider than the box: the end of a line
# is cut off, or hidden behind a scroll bar.
OVERFLOWING_OUTPUTS = """() => Array.from(document.querySelectorAll(
        '.cell_input pre, .cell_output, .cell_output .output, .cell_output pre, .mlpkit-exercises pre'))
    .filter(el => el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
    .map(el => ({box: el.tagName.toLowerCase() + '.' + Array.from(el.classList).join('.'), width: el.clientWidth,
                 content: el.scrollWidth,
                 line: el.innerText.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), '').slice(0, 160)}))"""

# Every admonition in the article: its classes, its title and what it holds.
ADMONITIONS = """() => Array.from(document.querySelectorAll('main article div.admonition')).map(a => {
    const title = a.querySelector('.admonition-title');
    return {classes: Array.from(a.classList), title: title ? title.innerText : '',
            title_code: title ? Array.from(title.querySelectorAll('code')).map(c => c.innerText) : [],
            paragraphs: Array.from(a.querySelectorAll(':scope > p:not(.admonition-title)')).map(p => p.innerText),
            python: Array.from(a.querySelectorAll('div.highlight-python pre')).map(p => p.innerText),
            text: a.innerText};
})"""

# Every image in the article: its alt text, the number and caption of the figure it is in (empty when it is in none),
# and its width as shown against the width of the PNG itself.
FIGURES = """() => Array.from(document.querySelectorAll('main article img')).map(img => {
    const figure = img.closest('figure');
    const found = (selector) => figure && figure.querySelector(selector);
    const part = (selector) => found(selector) ? found(selector).innerText : '';
    return {src: img.getAttribute('src'), alt: img.getAttribute('alt') || '',
            number: part('figcaption .caption-number'), caption: part('figcaption .caption-text'),
            id: figure ? figure.id : '',
            shown: img.getBoundingClientRect().width, natural: img.naturalWidth};
})"""

# Each cell of a table in the article, row by row, with the table's header.
TABLES = """() => Array.from(document.querySelectorAll('main article table')).map(t => ({
    header: Array.from(t.querySelectorAll('thead th')).map(c => c.innerText.trim()),
    rows: Array.from(t.querySelectorAll('tbody tr')).map(r => Array.from(r.children).map(c => c.innerText.trim()))}))"""

# MyST and Markdown that did not render: (what it is, a pattern for one line of visible text).
MARKUP = [
    ("a code or directive fence", re.compile(r"^\s*(`{3,}|:{3,})")),
    # {cite:p}`key`, a line starting {admonition}, or a name this book uses anywhere (code's f"{k}" is not one)
    ("a role", re.compile(r"\{[a-z][\w.-]*(?::[\w.-]+)*\}`")),
    ("a directive", re.compile(r"^\s*\{[a-z][\w.-]*(?::[\w.-]+)*\}(\s|$)")),
    (
        "a directive or role name",
        re.compile(
            r"\{(admonition|seealso|exercises|glue|glue:\w+|cite:\w+|numref|code-cell|code-block|literalinclude|list-table|"
            r"toctree|nb-exec-table|bibliography|glossary|dropdown|margin|sidebar|epigraph|py:\w+)\}"
        ),
    ),
    ("a directive option", re.compile(r"^\s*:[a-z][\w-]*:(\s|$)")),  # :class: note
    ("display math delimiters", re.compile(r"\$\$")),
    ("a substitution", re.compile(r"\{\{\s*[A-Za-z_][\w.]*\s*\}\}")),  # {{ name }}
]
# Markdown that only shows in prose (code and outputs may hold these legitimately).
PROSE_MARKUP = [
    ("a Markdown heading", re.compile(r"^\s*#{1,6} \S")),
    ("a Markdown link", re.compile(r"\]\([^)\s]+\)")),
    ("Markdown emphasis", re.compile(r"(^|\s)(\*\*|__)\S.*\S\2($|[\s.,;:])")),
]


# During an element's screenshot the page scrolls under its sticky headers: keep them at the top of the page.
UNSTICK = (
    "header, .bd-header-article, .bd-header { position: static !important; } .skip-link { display: none !important; }"
)


def _screenshot_of(page, selector, path):
    """A screenshot of the first element matching ``selector``, if there is one."""
    element = page.locator(selector)
    if element.count():
        element.first.screenshot(path=str(path), style=UNSTICK)


@pytest.fixture(scope="module")
def visits():
    """Open every page once; return what each showed and did."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    records = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        # a common laptop's width, at which a code cell's 88 characters fit the column
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        for name in PAGES:
            record = {"errors": [], "failed": [], "outgoing": []}
            page = context.new_page()
            page.on("console", lambda m, r=record: m.type == "error" and r["errors"].append(m.text))
            page.on("pageerror", lambda e, r=record: r["errors"].append(str(e)))
            page.on("requestfailed", lambda q, r=record: r["failed"].append(q.url))
            page.on(
                "request",
                lambda q, r=record: (
                    not q.url.startswith(("file:", "data:", "blob:", "about:")) and r["outgoing"].append(q.url)
                ),
            )
            page.goto((HTML / name).as_uri(), wait_until="load")
            page.evaluate("() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise")
            record["math"] = page.locator("mjx-container").count()
            record["text"] = page.evaluate(VISIBLE_TEXT)
            record["everything"] = page.evaluate(SHOWN_TEXT, "script, style")
            # What is not a chapter's code: prose, cell outputs and any other literal block (exercise code, say).
            record["shown"] = page.evaluate(SHOWN_TEXT, ".cell_input, script, style, mjx-container")
            record["prose"] = page.evaluate(SHOWN_TEXT, "pre, code, .cell, script, style, mjx-container")
            record["overflowing"] = page.evaluate(OVERFLOWING_OUTPUTS)
            record["admonitions"] = page.evaluate(ADMONITIONS)
            record["tables"] = page.evaluate(TABLES)
            record["images"] = page.evaluate(
                "() => Array.from(document.querySelectorAll('main article img')).map(i => ({src: i.getAttribute('src'),"
                " loaded: i.complete && i.naturalWidth > 0, alt: i.getAttribute('alt') || ''}))"
            )
            record["figures"] = page.evaluate(FIGURES)
            record["outputs"] = page.evaluate(
                "() => Array.from(document.querySelectorAll('.cell_output')).map(o => o.innerText).join('\\n')"
            )
            record["links"] = page.evaluate(
                "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))"
            )
            page.screenshot(path=str(SHOTS / (name.replace("/", "_").replace(".html", ".png"))), full_page=True)
            _screenshot_of(page, ".mlpkit-exercises", SHOTS / name.replace("/", "_").replace(".html", "-exercises.png"))
            page.close()
            records[name] = record
        browser.close()
    return records


@pytest.mark.parametrize("name", PAGES)
def test_no_log_line_in_any_output(visits, name):
    assert leaked_lines(visits[name]["outputs"]) == []  # TensorFlow's log lines, download chatter


@pytest.mark.parametrize("name", PAGES)
def test_no_log_line_anywhere_in_the_visible_text(visits, name):
    assert leaked_lines(visits[name]["everything"]) == []


def _markup(text, patterns):
    return [
        f"{what}: {line.strip()[:120]!r}"
        for line in text.splitlines()
        for what, pattern in patterns
        if pattern.search(line)
    ]


@pytest.mark.parametrize("name", PAGES)
def test_no_myst_or_markdown_markup_is_shown(visits, name):
    """What failed to render shows as its source: a fence, a directive's or role's name, an option, $$."""
    found = _markup(visits[name]["shown"], MARKUP) + _markup(visits[name]["prose"], PROSE_MARKUP)
    assert found == [], f"{name} shows unrendered markup:\n" + "\n".join(found)


@pytest.mark.parametrize("name", PAGES)
def test_code_outputs_and_exercise_code_fit_their_boxes(visits, name):
    """Code cells keep to 88 characters (tests/test_book_text.py), which fit the column; long output lines wrap
    (book/_static/mlpkit.css); none runs out of its box behind a scroll bar."""
    assert visits[name]["overflowing"] == [], f"{name}: code, output or exercise code cut off"


def test_every_page_of_the_toc_was_built():
    assert len(PAGES) >= 7
    for name in PAGES:
        assert (HTML / name).is_file(), name


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_without_errors(visits, name):
    record = visits[name]
    assert [e for e in record["errors"] if KNOWN_THEME_ERROR not in e] == []
    assert record["failed"] == [] and record["outgoing"] == []


@pytest.mark.parametrize("name", PAGES)
def test_math_is_typeset(visits, name):
    source = (ROOT / name.replace(".html", ".md")).read_text()
    # no code blocks, no code spans
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"^(```|~~~).*?^\1", "", source, flags=re.S | re.M))
    if "$" in prose:
        assert visits[name]["math"] > 0
    text = visits[name]["text"]
    for raw in ("$$", "\\(", "\\[", "\\frac", "\\begin{"):
        assert raw not in text, f"raw TeX {raw!r} left in the text of {name}"


@pytest.mark.parametrize("name", PAGES)
def test_images_load_and_have_alt_text(visits, name):
    if name in NUMBERED_CHAPTERS:
        assert visits[name]["images"], f"no figure found in the article of {name}"  # every chapter plots
    for image in visits[name]["images"]:
        assert image["loaded"], f"{image['src']} did not load on {name}"
        assert len(image["alt"]) > 20, f"{image['src']} on {name} has no real alt text"


@pytest.mark.parametrize("name", PAGES)
def test_every_image_is_a_numbered_figure_with_a_caption_and_alt_text(visits, name):
    """A plot the text can refer to: inside a <figure> numbered "Fig. N" (Sphinx numbers only figures with a name),
    with a caption, and described for a reader who cannot see it."""
    unnumbered = [
        f"{figure['src']} (number {figure['number']!r}, caption {figure['caption'][:40]!r}, alt {figure['alt'][:40]!r})"
        for figure in visits[name]["figures"]
        if not (re.fullmatch(r"Fig\. \d+(\.\d+)*", figure["number"].strip()) and figure["caption"].strip()
                and figure["alt"].strip() and figure["id"])
    ]
    assert unnumbered == [], f"{name}: images outside a numbered, captioned figure with alt text: {unnumbered}"


@pytest.mark.parametrize("name", PAGES)
def test_figures_are_shrunk_no_more_than_to_the_column(visits, name):
    """tests/test_plotting.py holds a figure's text to 8 points as shown, taking a figure wider than BOOK_COLUMN_PX
    to be shrunk to that width and no further: every image is shown at its own width or at least that wide."""
    shrunk = [
        f"{figure['src']}: {figure['natural']} px shown at {figure['shown']:.0f} px"
        for figure in visits[name]["figures"]
        if figure["shown"] + 1 < min(figure["natural"], BOOK_COLUMN_PX)
    ]
    assert shrunk == [], f"{name}: figures shown narrower than tests/test_plotting.py assumes: {shrunk}"


@pytest.mark.parametrize("name", PAGES)
def test_internal_links_and_anchors_resolve(visits, name):
    here = HTML / name
    for href in visits[name]["links"]:
        parsed = urllib.parse.urlparse(href)
        if parsed.scheme or href.startswith("mailto:") or href.startswith("javascript:"):
            continue
        target = (here.parent / urllib.parse.unquote(parsed.path)).resolve() if parsed.path else here
        if target.is_dir():
            target = target / "index.html"
        assert target.is_file(), f"{name}: link {href!r} points to a missing file"
        if parsed.fragment and target.suffix == ".html":
            assert f'id="{parsed.fragment}"' in target.read_text(), f"{name}: link {href!r} has no anchor"


def test_screenshots_are_written(visits):
    for name in PAGES:
        shot = SHOTS / name.replace("/", "_").replace(".html", ".png")
        assert shot.is_file() and shot.stat().st_size > 10_000


def _repository():
    import yaml

    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    org, name = urllib.parse.urlparse(repo["url"]).path.strip("/").split("/")[:2]
    return repo["url"].rstrip("/"), org, name, repo.get("branch", "main")


CHAPTER_PAGES = [name for name in PAGES if "kernelspec:" in (ROOT / name.replace(".html", ".md")).read_text()]


@pytest.mark.parametrize("name", CHAPTER_PAGES)
def test_launch_buttons_open_the_chapter_notebook_in_the_repository(visits, name):
    url, org, repo, branch = _repository()
    notebook = name.replace(".html", ".ipynb")  # e.g. book/training.ipynb, committed beside its source
    links = set(visits[name]["links"])
    assert f"https://colab.research.google.com/github/{org}/{repo}/blob/{branch}/{notebook}" in links
    assert f"https://mybinder.org/v2/gh/{org}/{repo}/{branch}?urlpath=lab/tree/{notebook}" in links
    assert url in links  # the repository button
    assert (ROOT / notebook).is_file()  # what Colab and Binder will find there


@pytest.mark.parametrize("name", CHAPTER_PAGES)
def test_download_button_offers_the_chapter_notebook(visits, name):
    (href,) = [h for h in visits[name]["links"] if h.endswith(".ipynb") and "://" not in h]
    downloaded = (HTML / name).parent / href
    assert downloaded.resolve().is_file(), href
    # The same notebook as `make notebooks` writes and Colab opens: set-up cell first, no outputs.
    assert downloaded.read_text() == (ROOT / name.replace(".html", ".ipynb")).read_text()


def test_status_page_lists_every_chapter_with_its_run_time(visits):
    text = visits["book/status.html"]["text"]
    for name in CHAPTER_PAGES:
        row = re.search(
            rf"{re.escape(name.replace('.html', ''))}\s+(\S+ \S+)\s+(cache|execute)\s+([\d.]+)\s+(\S+)", text
        )
        assert row, f"{name} is not in the execution table"
        assert float(row.group(3)) > 0 and row.group(4) == "passed", row.group(0)


def test_status_column_says_passed_in_words(visits):
    """A status emoji shows as an empty box without an emoji font: the cells say it in text."""
    (table,) = [t for t in visits["book/status.html"]["tables"] if "Status" in t["header"]]
    column = table["header"].index("Status")
    statuses = {row[0]: row[column] for row in table["rows"]}
    assert statuses and all(status == "passed" for status in statuses.values()), statuses
    assert {name.replace(".html", "") for name in CHAPTER_PAGES} <= set(statuses)


def _exercise_chapter(name):
    found = re.search(r"^```\{exercises\}\s+(\w+)", (ROOT / name.replace(".html", ".md")).read_text(), re.MULTILINE)
    return found.group(1) if found else None


EXERCISE_PAGES = [name for name in CHAPTER_PAGES if _exercise_chapter(name)]


def _typographic(text):
    return (
        text.replace("`", "")
        .replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
    )


def test_every_chapter_with_exercises_shows_them():
    assert sorted(_exercise_chapter(name) for name in EXERCISE_PAGES) == sorted(bank.CHAPTERS)


@pytest.mark.parametrize("name", EXERCISE_PAGES)
def test_exercises_are_numbered_blocks_without_solutions(visits, name):
    chapter = _exercise_chapter(name)
    loaded = bank.load_exercises([chapter])
    blocks = [a for a in visits[name]["admonitions"] if "exercise" in a["classes"]]
    assert len(blocks) == len(loaded), (
        f"{name}: {len(blocks)} exercise blocks for the {len(loaded)} exercises of {chapter}"
    )
    for number, (block, exercise) in enumerate(zip(blocks, loaded), 1):
        points = f"{exercise.points:g} point" + ("" if exercise.points == 1 else "s")  # "1 point", "2 points"
        title = f"Exercise {bank.NUMBERS[chapter]}.{number}: {exercise.title} ({points}, {exercise.name})"
        assert _typographic(block["title"]) == _typographic(title)
        assert exercise.name in block["title_code"]  # the function's name set as code
        assert block["paragraphs"] and all(p.strip() for p in block["paragraphs"])  # the statement, as text
        (code,) = block["python"]  # the starting code, highlighted as Python
        assert exercise.name in code and "write your solution here" in code and bank.BEGIN not in code
    assert not [a for a in visits[name]["admonitions"] if "solution" in a["classes"]]
    assert "Solution:" not in visits[name]["shown"] and "Solution:" not in (HTML / name).read_text()
    shown = "\n".join(block["text"] for block in blocks)
    hidden = _solution_lines(chapter)
    assert hidden and not [line for line in hidden if line in shown], f"{name} shows solution lines"


def _solution_lines(chapter):
    """The lines of the chapter's reference solutions (inside BEGIN/END SOLUTION), stripped."""
    lines, inside = [], False
    for line in (bank.BANK_DIR / f"{chapter}.py").read_text().splitlines():
        if line.strip() in (bank.BEGIN, bank.END):
            inside = line.strip() == bank.BEGIN
        elif inside and len(line.strip()) > 8:
            lines.append(line.strip())
    return lines


@pytest.fixture(scope="module")
def instructor_visits():
    """The exercise blocks of each chapter page of the instructor's book (`make book-instructor`)."""
    if not (INSTRUCTOR_HTML / "index.html").is_file():
        pytest.skip("the instructor's book is not built (make book-instructor)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    records = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
        for name in EXERCISE_PAGES:
            page = context.new_page()
            page.goto((INSTRUCTOR_HTML / name).as_uri(), wait_until="load")
            records[name] = {
                "admonitions": page.evaluate(ADMONITIONS),
                "shown": page.evaluate(SHOWN_TEXT, ".cell_input, script, style, mjx-container"),
            }
            _screenshot_of(
                page, ".mlpkit-exercises", SHOTS / name.replace("/", "_").replace(".html", "-exercises-instructor.png")
            )
            page.close()
        browser.close()
    return records


@pytest.mark.parametrize("name", EXERCISE_PAGES)
def test_instructor_book_shows_each_solution_below_its_exercise(instructor_visits, name):
    chapter = _exercise_chapter(name)
    loaded = bank.load_exercises([chapter])
    blocks = [a for a in instructor_visits[name]["admonitions"] if {"exercise", "solution"} & set(a["classes"])]
    kinds = ["exercise" if "exercise" in block["classes"] else "solution" for block in blocks]
    assert kinds == ["exercise", "solution"] * len(loaded), f"{name}: {kinds}"
    for number, (solution, exercise) in enumerate(zip(blocks[1::2], bank), 1):
        assert solution["title"] == f"Solution: exercise {bank.NUMBERS[chapter]}.{number}, {exercise.name}"
        (code,) = solution["python"]
        assert exercise.name in code and "write your solution here" not in code and bank.BEGIN not in code
    shown = "\n".join(block["text"] for block in blocks[1::2])
    assert all(line in shown for line in _solution_lines(chapter))
    found = _markup(instructor_visits[name]["shown"], MARKUP)
    assert found == [], f"{name} (instructor) shows unrendered markup:\n" + "\n".join(found)


# The code boxes that show the package's own code (literalinclude: Sphinx's "default" highlighting, outside any
# cell): for each, its longest line and whether the box scrolls sideways.
PACKAGE_CODE = """() => Array.from(document.querySelectorAll('main article div.highlight-default pre'))
    .filter(pre => !pre.closest('.cell'))
    .map(pre => ({scrolls: pre.scrollWidth > pre.clientWidth + 1,
                  line: pre.innerText.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), '')}))"""


def test_package_code_a_chapter_shows_fits_its_box_at_1280_pixels():
    """Lesson modules keep to 88 characters a line (code/ruff.toml); at a 1280 px window their code shows whole."""
    pages = {page.name: page.read_text().count("```{literalinclude}") for page in (ROOT / "book").glob("*.md")}
    pages = {name: count for name, count in pages.items() if count}
    assert sum(pages.values()) >= 20
    boxes = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        for source in sorted(pages):
            page = context.new_page()
            page.goto((HTML / "book" / source.replace(".md", ".html")).as_uri(), wait_until="load")
            boxes[source] = page.evaluate(PACKAGE_CODE)
            page.close()
        browser.close()
    assert {name: len(found) for name, found in boxes.items()} == pages  # every literalinclude, and no other box
    assert {name: [box["line"] for box in found if box["scrolls"]] for name, found in boxes.items()} == {
        name: [] for name in pages
    }
