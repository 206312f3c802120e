"""What a grading worker does: read a submission's file into cells and run them in a confined child.

A worker is a process of its own (started by `mlpkit.grading.grader`), which
imports TensorFlow once and forks a child per submission
(`mlpkit.grading.sandbox`). A child starts as a copy of its worker, so the
worker imports only this module, the sandbox and the calls: never the checks'
comparison code, the exercise bank or the grader, and it is never given a
reference value. A test (``tests/test_grading.py``) checks which of the kit's
modules a worker has loaded.
"""

import json
import os
import pathlib
import re
import signal

from mlpkit.grading import sandbox
from mlpkit.runs import lifetime

MAGIC = re.compile(r"^\s*[%!]")
MAX_FILE_BYTES = 32 * 2**20  # a notebook with its outputs rarely takes a tenth of this


class UnreadableSubmission(ValueError):
    """The submission's file cannot be read or is not a notebook; the message names the file."""


def submission_cells(path):
    """``(label, source)`` per top-level statement of a notebook's code cells or of a ``.py`` file.

    IPython magics and shell lines (``%pip``, ``!ls``) become comments. A ``.py``
    file that does not parse as a whole is split at its ``# %%`` markers or
    top-level ``def``/``class``/``import`` lines, so one syntax error loses only
    its block; each block then runs on its own, so an error, a hang or an exit
    at one statement loses only what that statement would have defined.
    """
    path = pathlib.Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableSubmission(f"{path.name}: {size / 2**20:,.0f} MB; a submitted file may be at most "
                                       f"{MAX_FILE_BYTES / 2**20:.0f} MB (clear the notebook's outputs)")
        text = path.read_text(errors="replace")
    except OSError as error:
        raise UnreadableSubmission(f"{path}: cannot read ({error.strerror})") from None
    if path.suffix == ".ipynb":
        sources = _notebook_sources(path, text)
        blocks = []
        for number, source in enumerate(sources, 1):
            source = _comment_magics(source)
            blocks += _python_blocks(source, cell=number)
        return blocks
    return _python_blocks(_comment_magics(text))


def _notebook_sources(path, text):
    """The sources of a notebook's code cells, or :class:`UnreadableSubmission` naming what is not as nbformat has it
    (JSON nested past Python's recursion limit included)."""
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise UnreadableSubmission(f"{path.name}: not a readable notebook (not JSON: {type(error).__name__})") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise UnreadableSubmission(f"{path.name}: not a readable notebook (no list of cells)")
    sources = []
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            raise UnreadableSubmission(f"{path.name}: not a readable notebook (cell {number} is not a cell)")
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise UnreadableSubmission(f"{path.name}: not a readable notebook (cell {number}'s source is not text)")
        sources.append(source)
    return sources


def _comment_magics(source):
    return "\n".join("# " + line if MAGIC.match(line) else line for line in source.splitlines())


def _python_blocks(text, cell=None):
    """A ``.py`` file as blocks run one at a time: its top-level statements, or if it does not
    parse, the stretches between ``# %%`` markers and top-level ``def``/``class``/``import`` lines."""
    import ast

    lines = text.splitlines()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        if cell:  # a notebook cell: it is lost as a whole
            return [(f"<cell {cell}>", text)]
        starts = [0]
        for number, line in enumerate(lines):
            if number and (line.startswith("# %%") or re.match(r"(def|class|import|from|@)\b", line)):
                starts.append(number)
        starts.append(len(lines))
        return [(f"<lines {a + 1}-{b}>", "\n".join(lines[a:b])) for a, b in zip(starts, starts[1:]) if a < b]
    blocks = []
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        # The label names the first line: the child numbers the block's lines from it (`mlpkit.grading.child`), so
        # tracebacks give the file's line numbers and a block costs memory for its own lines only.
        label = f"<cell {cell}, line {first}>" if cell else f"<line {first}>"
        blocks.append((label, "\n".join(lines[first - 1 : node.end_lineno])))
    return blocks


def run_submission(path, run_plan, denied, limits):
    """In a worker: the raw values of one submission (or why it could not be read)."""
    try:
        cells = submission_cells(path)
    except UnreadableSubmission as error:
        return {"cells": {"<file>": str(error)}, "exercises": {name: {"error": str(error)} for name, _ in run_plan}}
    return sandbox.run(cells, run_plan, denied=denied, limits=limits)


def run_marked(marker, path, run_plan, denied, limits):
    """In a worker: :func:`run_submission`, with ``marker`` present while it runs (a worker that dies leaves it)."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(os.getpid()))
    raw = run_submission(path, run_plan, denied, limits)
    marker.unlink(missing_ok=True)
    return raw


def start():
    """A grading worker's first step (the pool's initializer), in a process forked by multiprocessing's forkserver.

    The forkserver hands each process it forks a copy of the descriptor whose
    closing tells it that the grader's main process has ended; a worker that
    kept it open would keep the forkserver, and so itself, alive after a
    ``kill -9`` of the grader. The worker closes it, then dies with the
    forkserver (`mlpkit.runs.lifetime`), which ends when the main process does.
    """
    from multiprocessing import forkserver

    server = forkserver._forkserver  # the module's own instance; the attribute is private, hence getattr
    alive = getattr(server, "_forkserver_alive_fd", None)
    if alive is not None:
        try:
            os.close(alive)
        except OSError:
            pass
        server._forkserver_alive_fd = None
    # Told to end (the server it was forked from has ended, or the pool stops it): the submission's process and
    # its working folder go first, so that a killed grading run leaves nothing behind.
    signal.signal(signal.SIGTERM, _end)
    lifetime.ignore_signals((signal.SIGINT,))  # Ctrl-C is the main process's to act on
    lifetime.die_with_parent(signal_number=signal.SIGTERM)
    sandbox.preload()


def _end(signum, frame):
    sandbox.abandon()
    os._exit(1)
