"""The built book in a real browser: Debian's Chromium, driven by Playwright, with the network off.

Needs `make book` first (`.ci/run` builds the book before the tests) and the
`chromium` package (`.ci/run` installs it); skips with the reason otherwise.
Every page of the table of contents is opened from disk and checked: no
console errors, no failed or outgoing requests, math typeset by the local
MathJax, every image loaded and described, every internal link and anchor
present. A full-page screenshot of each goes to `_build/screenshots/`.
"""

import pathlib
import re
import shutil
import urllib.parse

import pytest

from mlpkit.quiet import leaked_lines

ROOT = pathlib.Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# sphinx-book-theme logs this once on a fresh browser profile; it comes from the theme, not the book.
KNOWN_THEME_ERROR = "Got invalid theme mode"

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.xdist_group("browser"),  # one worker opens the pages once (make test: --dist loadgroup)
    pytest.mark.skipif(not pathlib.Path(CHROMIUM).is_file(), reason="no chromium (apt-get install chromium)"),
    pytest.mark.skipif(not (HTML / "index.html").is_file(), reason="the book is not built (run `make book` first)"),
]


def _pages():
    entries = re.findall(r"(?:file|root):\s*(\S+)", (ROOT / "_toc.yml").read_text())
    return [f"{entry}.html" for entry in entries]


PAGES = _pages()

VISIBLE_TEXT = """() => {
    const copy = document.querySelector('main') ? document.querySelector('main').cloneNode(true) : document.body.cloneNode(true);
    copy.querySelectorAll('pre, code, script, style, mjx-container').forEach(el => el.remove());
    return copy.innerText;
}"""


@pytest.fixture(scope="module")
def visits():
    """Open every page once; return what each showed and did."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    records = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
        for name in PAGES:
            record = {"errors": [], "failed": [], "outgoing": []}
            page = context.new_page()
            page.on("console", lambda m, r=record: m.type == "error" and r["errors"].append(m.text))
            page.on("pageerror", lambda e, r=record: r["errors"].append(str(e)))
            page.on("requestfailed", lambda q, r=record: r["failed"].append(q.url))
            page.on("request", lambda q, r=record: not q.url.startswith(("file:", "data:", "blob:", "about:")) and r["outgoing"].append(q.url))
            page.goto((HTML / name).as_uri(), wait_until="load")
            page.evaluate("() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise")
            record["math"] = page.locator("mjx-container").count()
            record["text"] = page.evaluate(VISIBLE_TEXT)
            record["images"] = page.evaluate(
                "() => Array.from(document.querySelectorAll('main article img')).map(i => ({src: i.getAttribute('src'),"
                " loaded: i.complete && i.naturalWidth > 0, alt: i.getAttribute('alt') || ''}))"
            )
            record["outputs"] = page.evaluate(
                "() => Array.from(document.querySelectorAll('.cell_output')).map(o => o.innerText).join('\\n')")
            record["links"] = page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")
            page.screenshot(path=str(SHOTS / (name.replace("/", "_").replace(".html", ".png"))), full_page=True)
            page.close()
            records[name] = record
        browser.close()
    return records


@pytest.mark.parametrize("name", PAGES)
def test_no_log_line_in_any_output(visits, name):
    assert leaked_lines(visits[name]["outputs"]) == []  # TensorFlow's log lines, download chatter


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
    if "$" in source.replace("```", ""):
        assert visits[name]["math"] > 0
    text = visits[name]["text"]
    for raw in ("$$", "\\(", "\\[", "\\frac", "\\begin{"):
        assert raw not in text, f"raw TeX {raw!r} left in the text of {name}"


@pytest.mark.parametrize("name", PAGES)
def test_images_load_and_have_alt_text(visits, name):
    if "{code-cell}" in (ROOT / name.replace(".html", ".md")).read_text():
        assert visits[name]["images"], f"no figure found in the article of {name}"  # every chapter plots
    for image in visits[name]["images"]:
        assert image["loaded"], f"{image['src']} did not load on {name}"
        assert len(image["alt"]) > 20, f"{image['src']} on {name} has no real alt text"


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
        row = re.search(rf"{re.escape(name.replace('.html', ''))}\s+(\S+ \S+)\s+(cache|execute)\s+([\d.]+)\s+(\S+)", text)
        assert row, f"{name} is not in the execution table"
        assert float(row.group(3)) > 0 and row.group(4) == "✅", row.group(0)


@pytest.mark.parametrize("name", [n for n in CHAPTER_PAGES if "{exercises}" in (ROOT / n.replace(".html", ".md")).read_text()])
def test_exercises_are_shown_without_solutions(visits, name):
    text = visits[name]["text"] + (HTML / name).read_text()
    assert re.search(r"Exercise \d\.1: ", text) and "write your solution here" in text
    assert "Solution:" not in text
