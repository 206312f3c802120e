"""The instructor's HTML report of a grading run (`mlpkit.grading.html_report`), opened in a real browser.

A small class is graded (the classes of ``tests/test_similarity.py`` and two
students whose names and code carry HTML and a script); the report is opened
from disk in Debian's Chromium, driven by Playwright with the network off, as
``tests/test_browser.py`` does: its headings and plots show, every image has
loaded and has alt text, the page does not scroll sideways at 1280 px, and
the hostile names and code show as text, never run. A full-page screenshot
goes to ``_build/screenshots/report.png``.
"""

import pathlib
import shutil

import pytest
from test_similarity import CAROL, CHAPTERS, write_class

from mlpkit.grading import grader, html_report
from mlpkit.grading.sandbox import Limits

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE_FILE = "mallory<script>window.pwned=1;<.py"
HOSTILE_CODE = "# </pre></div><script>window.pwned = 2</script><img src=x onerror='window.pwned = 3'>\n"

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(not pathlib.Path(CHROMIUM).is_file(), reason="no chromium (apt-get install chromium)")

PAGE_FACTS = """() => ({
    headings: Array.from(document.querySelectorAll('h1, h2')).map(h => h.innerText),
    images: Array.from(document.images).map(i => ({loaded: i.complete && i.naturalWidth > 0,
        alt: i.getAttribute('alt') || '', visible: i.getBoundingClientRect().width > 0,
        data: i.getAttribute('src').startsWith('data:image/png;base64,')})),
    scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
    scripts: document.scripts.length, links: document.querySelectorAll('link, iframe, object, embed').length,
    pwned: window.pwned === undefined ? null : window.pwned, text: document.body.innerText,
    marks: document.querySelectorAll('mark').length})"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = write_class(tmp_path_factory.mktemp("class") / "class")
    (folder / HOSTILE_FILE).write_text(HOSTILE_CODE + CAROL)
    (folder / "trent.py").write_text(CAROL.replace("    return", "    # mine\n    return") + HOSTILE_CODE)
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    grader.grade(folder, out, chapters=CHAPTERS, workers=2, limits=Limits(seconds=120), progress=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        requests = []
        page.on("request", lambda q: requests.append(q.url))
        page.goto(html_report.report_path(out).as_uri(), wait_until="load")
        facts = page.evaluate(PAGE_FACTS)
        page.screenshot(path=str(SHOTS / "report.png"), full_page=True)
        browser.close()
    facts["requests"] = [url for url in requests if not url.startswith(("file:", "data:"))]
    return facts


def test_the_report_shows_its_sections_and_plots(report):
    assert report["headings"][0].startswith("Grading report")
    for heading in ["Totals", "Exercises", "Checks: what the class got wrong", "Similar submissions",
                    "What could not be judged"]:
        assert heading in report["headings"]
    assert len(report["images"]) == 3
    assert all(i["loaded"] and i["visible"] and i["data"] and len(i["alt"]) > 20 for i in report["images"])
    assert report["requests"] == [] and report["links"] == 0  # self-contained


def test_the_page_does_not_scroll_sideways_at_1280_pixels(report):
    assert report["scrollWidth"] <= report["clientWidth"]


def test_hostile_names_and_code_are_shown_as_text_and_never_run(report):
    assert report["pwned"] is None and report["scripts"] == 0
    # the name becomes a safe key (the student column of grades.csv); the code is shown as it is, as text
    assert "mallory_script_window.pwned_1" in report["text"]
    assert "<script>window.pwned = 2</script>" in report["text"]


def test_the_shared_code_and_what_was_not_judged_are_shown(report):
    assert report["marks"] > 0
    assert "alice and bob share code" in report["text"]
    assert "dave and published solutions matches the published solutions" in report["text"]
    assert "fred: not compared: fred.ipynb: not a readable notebook" in report["text"]
