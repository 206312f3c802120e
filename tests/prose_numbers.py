"""Find the bare numbers in the book's prose: numbers typed into the text.

A number a chapter computes reaches its prose through MyST-NB's ``glue`` (the
``{glue:text}`` role), so the text and the run that made it cannot disagree.
A number taken from a source sits in a sentence that cites the source
(``{cite}``, ``{cite:p}``, ``{cite:t}``). This module lists every other number
in the prose, so that a test can fail on it. Run it on a page to see them::

    python tests/prose_numbers.py book/training.md

What counts as prose: the Markdown text of a page and the text of its
directives (admonitions, figure captions, tables), not its code cells, code
blocks, directive options, display math, inline code or role targets (the
decimal numbers of inline math are prose: a value typed into ``$\\eta = 0.9$``
is checked as one typed into a sentence). These numbers
are allowed, each for a reason:

- in a sentence that cites a source;
- a year (1900-2099) and integers up to 12 (counts of things: "two inputs",
  "10 classes", "3 layers");
- a number right after a word that names a part of a text or of a run:
  chapter, figure, table, section, exercise, equation, algorithm, step, seed,
  epoch, layer, version, page (and their plurals);
- a layer-size list such as ``[784, 100, 10]`` or ``784-15-10``, and an
  image size such as ``28 × 28``;
- a number written as a literal in one of the page's own code cells (a
  setting the code shows, such as a learning rate or a batch size: if the code
  changes, the prose no longer matches and this finds it);
- a measurement reported with the command that measured it: a number in a
  sentence whose inline code runs a timer (`` `time ...` ``,
  `` `/usr/bin/time ...` ``), or in a table right after a paragraph that does;
- the few entries of ``ALLOWED`` below, each with its reason.
"""

import pathlib
import re
import sys

# A short allow-list: page -> {number as written: reason}.
ALLOWED = {
    "training.md": {"255": "the largest uint8 grey level, which preprocessing divides by"},
    "commands.md": {"255": "the largest uint8 grey level, which a SavedModel accepts",
                    "130": "the exit status of a command stopped by Ctrl-C (128 + SIGINT's 2), as shells report it",
                    "143": "the exit status of a command stopped by SIGTERM (128 + 15)"},
    "teaching.md": {"130": "the exit status of a command stopped by Ctrl-C (128 + SIGINT's 2), as shells report it",
                    "143": "the exit status of a command stopped by SIGTERM (128 + 15)"},
    "gradients.md": {"2.2": "float64's machine epsilon, 2.2e-16, a property of the format (np.finfo)"},
    "speed.md": {"128": "chapter 7's batch size, the default of mlpkit.modern.train"},
}

NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])")
SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=[A-Z(*_`{$\[])|\n\s*\n")
PART_WORDS = re.compile(
    r"(?:chapters?|figures?|fig\.|tables?|sections?|exercises?|equations?|eq\.|algorithms?|steps?|seeds?|"
    r"epochs?|layers?|versions?|pages?|pp?\.|python|tensorflow|keras|numpy|issue|part|item|rule|abi)"
    r"(?:\s+\d+(?:\.\d+)?\s*(?:,|and|to|or|-|\u2013))*\s*\(?$",
    re.IGNORECASE,
)
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`[^`]*`")
TIMED = re.compile(r"`(?:/usr/bin/)?time\s[^`]+`")  # a measurement's source: the command that timed it
CODE_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})\s*(\{[^}]*\}|[\w+-]*)?(.*)$")
SKIPPED_DIRECTIVES = {
    "{code-cell}", "{code-block}", "{code}", "{literalinclude}", "{math}", "{raw}", "{eval-rst}", "{glossary}",
    "{exercises}", "{bibliography}", "{toctree}", "{tableofcontents}", "{glue:figure}", "{glue:math}", "{mermaid}",
}


def _prose_lines(text):
    """Yield (line number, line) for the prose of a MyST page."""
    lines = text.splitlines()
    i = 0
    if lines and lines[0].strip() == "---":  # front matter
        i = 1
        while i < len(lines) and lines[i].strip() != "---":
            i += 1
        i += 1
    stack = []  # open fences: (marker, skipped)
    in_options = False
    in_html_comment = False
    while i < len(lines):
        line = lines[i]
        number = i + 1
        i += 1
        if in_html_comment:
            if "-->" in line:
                in_html_comment = False
            continue
        if line.lstrip().startswith("<!--"):
            in_html_comment = "-->" not in line
            continue
        match = CODE_FENCE.match(line)
        if match:
            marker, name = match.group(2), (match.group(3) or "")
            if (
                stack
                and marker[0] == stack[-1][0][0]
                and len(marker) >= len(stack[-1][0])
                and not name
                and not match.group(4).strip()
            ):
                stack.pop()
                in_options = False
                continue
            skipped = any(s for _, s in stack) or not name.startswith("{") or name in SKIPPED_DIRECTIVES
            stack.append((marker, skipped))
            in_options = True
            continue
        if stack and stack[-1][1]:
            continue
        if in_options:  # a directive's options: `:name: value` lines or a --- YAML block
            stripped = line.strip()
            if stripped == "---":
                while i < len(lines) and lines[i].strip() != "---":
                    i += 1
                i += 1
                in_options = False
                continue
            if re.match(r"^:[\w-]+:", stripped):
                continue
            in_options = False
        if line.startswith("    ") and not stack and not line.lstrip().startswith(("-", "*", "|")) and False:
            continue
        if line.strip() in ("$$",):  # display math on its own lines
            j = i
            while j < len(lines) and lines[j].strip() != "$$":
                j += 1
            i = j + 1
            continue
        if line.lstrip().startswith(("(", "#")) and re.match(r"^\s*\([\w-]+\)=\s*$", line):  # targets
            continue
        yield number, line


def _math_numbers(math):
    """The decimal numbers of an inline formula, which is where a value typed into one (``$\\eta = 0.9$``,
    ``$C \\approx 0.052$``) hides; its integers are the formula's own arithmetic (``4a^4/45``, ``10^{-18}``, a
    matrix's entries), left to the reader to check."""
    return " ".join(re.findall(r"(?<![\w.])\d+\.\d+", math))


def _strip_inline(text):
    """Remove what is not prose from one paragraph: math, inline code, role targets, link targets."""
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"(?<!\\)\$([^$\n]+?)(?<!\\)\$", lambda m: " " + _math_numbers(m[1]) + " ", text)
    text = re.sub(r"\{glue(?::[a-z]+)?\}`[^`]*`", " ", text)
    text = re.sub(r"\{(?:doc|ref|numref|term|download|eq|abbr|sub-ref)\}`([^`<]*)(?:<[^`]*>)?`", r" \1 ", text)
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", text)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "] ", text)
    text = re.sub(r"<https?://[^>]*>|https?://\S+", " ", text)
    return text


def _code_literals(text):
    """Numbers written as literals in the page's code cells."""
    literals = set()
    for cell in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)\n```", text, flags=re.S):
        for match in re.finditer(r"(?<![\w.])(\d[\d_]*)(\.\d+)?(?:e(-?\d+))?", cell):
            whole = match.group(1).replace("_", "") + (match.group(2) or "")
            literals.add(_normal(whole))
    return literals


def _normal(token):
    token = token.replace(",", "")
    try:
        value = float(token)
    except ValueError:
        return token
    return repr(value)


def _paragraphs(path):
    """(first line number, paragraph text) for each prose paragraph of a page."""
    text = path.read_text()
    paragraph, start, last = [], None, None
    for number, line in _prose_lines(text):
        if not line.strip() or (last is not None and number != last + 1):
            if paragraph:
                yield start, "\n".join(paragraph)
            paragraph, start = [], None
        if line.strip():
            if start is None:
                start = number
            paragraph.append(line)
        last = number
    if paragraph:
        yield start, "\n".join(paragraph)


def bare_numbers(path):
    """Every number in the prose of ``path`` that is neither glued, cited nor allowed: (line, number, context)."""
    path = pathlib.Path(path)
    text = path.read_text()
    literals = _code_literals(text)
    allowed = ALLOWED.get(path.name, {})
    found = []
    previous = ""
    for start, paragraph in _paragraphs(path):
        timed_table = paragraph.lstrip().startswith("|") and TIMED.search(previous)
        previous = paragraph
        if timed_table:
            continue
        for sentence in SENTENCE_END.split(paragraph):
            if not sentence or CITE.search(sentence) or TIMED.search(sentence):
                continue
            plain = _strip_inline(sentence)
            plain = re.sub(r"\[\s*\d+(?:\s*,\s*\d+)+\s*\]", " ", plain)  # layer sizes [784, 100, 10]
            plain = re.sub(r"\b\d+(?:[-\u2013]\d+){2,}\b", " ", plain)  # 784-15-10
            plain = re.sub(r"\b(\d+) ?(?:\u00d7|by) ?\1\b", " ", plain)  # image sizes: 28 × 28, 28 by 28
            for match in NUMBER.finditer(plain):
                token = match.group(0)
                value = float(token.replace(",", ""))
                before = plain[: match.start()].rstrip()
                if token in allowed:
                    continue
                if match.group(2) is None and (value <= 12 or (1900 <= value <= 2099 and len(token) == 4)):
                    continue
                if PART_WORDS.search(before[-40:]) or re.search(r"[A-Za-z]-$", before):  # Figure 24, SHA-256
                    continue
                if _normal(token) in literals:
                    continue
                line = (
                    start + paragraph[: paragraph.find(sentence.strip()[:20])].count("\n")
                    if sentence.strip()
                    else start
                )
                found.append((line, token, " ".join(sentence.split())[:160]))
    return found


def main(argv):
    total = 0
    for name in argv or sorted(str(p) for p in pathlib.Path(__file__).resolve().parents[1].glob("book/*.md")):
        for line, token, context in bare_numbers(name):
            print(f"{name}:{line}: {token}   | {context}")
            total += 1
    print(f"{total} bare numbers")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
