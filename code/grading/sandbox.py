"""The boundary: fork a confined process for a submission, keep its limits, and take back only values.

:func:`run` forks a child from a worker that has already imported TensorFlow
(importing it costs seconds; a fork costs milliseconds). The child
(`mlpkit.grading.child`) works in a fresh temporary directory, confined by the
kernel (`mlpkit.grading.confine`: Landlock and seccomp, which nothing it does
can undo) and then by an audit hook; the hook alone is the weaker guard,
allowed only with ``Limits(kernel_guard=False)`` where the kernel offers no
confinement. It runs the submission's cells one by one (an error in one cell
loses only what that cell defines), then each exercise's calls, and reports
over a pipe, one JSON line at a time.

This side trusts none of it. It enforces a time limit per cell and per
exercise and the memory limit from outside the child, restarts the clock only
on progress in the expected order, caps what the child may send, and parses
every line as hostile data. When the child hangs, runs out of memory or ends
itself, it is killed, the failure is noted, and a fresh child skips the cell
or exercise at fault. Verdicts are made elsewhere (`mlpkit.grading.checks`),
from the values alone, in a process no submission runs in.

The worker must not run TensorFlow operations before forking (its thread
pools would not survive the fork); it only imports TensorFlow.
"""

import dataclasses
import json
import os
import pathlib
import select
import signal
import tempfile
import time

from mlpkit.grading import calls, child, cleanup, confine
from mlpkit.runs import lifetime

PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[1]  # the kit's modules and the exercise bank
# What a submission's children may send, in all and in one message. The reference's answers to all 35 exercises
# take 5.5 MB, the largest exercise's 5.2 MB; parsed, a message takes at most about 15 times its size.
MAX_SENT = 16 * 2**20
MAX_MESSAGE = 8 * 2**20
DISK_CHECK_SECONDS = 0.25


@dataclasses.dataclass
class Limits:
    """Per-cell and per-exercise time (seconds of wall time) and memory (resident, bytes) for one submission."""

    seconds: float = 60.0
    memory: int = 3 * 2**30  # TensorFlow alone is about 0.7 GB resident
    file_size: int = 64 * 2**20
    disk: int = 256 * 2**20  # bytes of all the files in its working folder
    files: int = 10_000  # files and folders in its working folder
    total_seconds: float = 600.0
    # Kernel confinement (`mlpkit.grading.confine`) is required; False allows the audit hook alone where the kernel
    # offers none.
    kernel_guard: bool = True


def preload():
    """Import what children need (TensorFlow and Keras) once, in the parent, without running any op."""
    from mlpkit.quiet import import_tensorflow

    import_tensorflow(compile_xla=False)  # lists the devices (no op runs): children do not print the CUDA probe's lines
    import keras  # noqa: F401
    import numpy  # noqa: F401


# -- the parent ------------------------------------------------------------------

def _rss(pid):
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _within_disk_limit(workdir, limit, most_files):
    """Whether the files under ``workdir`` take at most ``limit`` bytes of disk and number at most ``most_files``
    (the walk stops as soon as either is passed; links are not followed)."""
    used, files, stack = 0, 0, [workdir]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                files += 1
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    used += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
                if used > limit or files > most_files:
                    return False
    return True


def _kill(pid):
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


FORGED = "wrote to the grader's channel"  # a message no genuine run sends, or sent out of order


def _attempt(cells, plan, skip_cells, skip_exercises, denied, limits, deadline, budget):
    """Fork one child; return its messages, the bytes it sent and, if it did not finish, why and where.
    ``budget``: the bytes this child may still send (what earlier children of the submission sent counts)."""
    read_fd, write_fd = os.pipe()
    workdir = tempfile.mkdtemp(prefix="mlpkit-submission-")
    pid = _fork_child(read_fd, write_fd, cells, plan, skip_cells, skip_exercises, workdir, denied, limits)
    os.close(write_fd)
    progress = _Progress(cells, plan, skip_cells, skip_exercises, limits)
    try:
        failure, received = _watch(pid, read_fd, workdir, progress, limits, deadline, budget)
    finally:
        _kill(pid)
        _, status = os.waitpid(pid, 0)
        os.close(read_fd)
        _remove(workdir)
    if failure is None and not progress.ended:
        failure = _how_it_ended(status)
    return progress.messages, received, failure, progress.where


def _fork_child(read_fd, write_fd, cells, plan, skip_cells, skip_exercises, workdir, denied, limits):
    """Fork the child that runs the submission (`mlpkit.grading.child.main`); return its pid."""
    worker = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child never returns
        try:
            lifetime.die_with_parent(worker)  # a worker that is killed takes its child with it
            os.close(read_fd)
            child.main(write_fd, cells, plan, skip_cells, skip_exercises, workdir, denied, limits)
            os._exit(0)
        except BaseException:
            os._exit(70)
    return pid


def _watch(pid, read_fd, workdir, progress, limits, deadline, budget):
    """Read what the child sends, keeping its limits, until it ends, is gone or fails; return
    ``(why it failed or None, the bytes it sent)``."""
    buffer, received, next_disk_check = b"", 0, 0.0
    while True:
        now = time.monotonic()
        if now > min(progress.step_deadline, deadline):
            if now > progress.step_deadline:
                return f"took longer than {limits.seconds:g} s", received
            return "the whole submission ran out of time", received
        if _rss(pid) > limits.memory:
            return f"used more than {limits.memory / 2**30:.1f} GB of memory", received
        if now > next_disk_check:
            next_disk_check = now + DISK_CHECK_SECONDS
            if not _within_disk_limit(workdir, limits.disk, limits.files):
                return f"wrote more than {limits.disk / 2**20:.0f} MB or {limits.files:,} files", received
        ready, _, _ = select.select([read_fd], [], [], 0.05)
        if not ready:
            continue
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:  # the child is gone
            return None, received
        buffer += chunk
        received += len(chunk)
        if received > budget or len(buffer) > MAX_MESSAGE:  # the worker's memory stays bounded
            return "sent more data than any answer needs", received
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            failure = progress.take(line)
            if failure or progress.ended:
                return failure, received


def _how_it_ended(status):
    """Why a child that sent no ``end`` stopped, from its wait status."""
    if os.WIFSIGNALED(status):
        return f"the process was killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"the process ended itself (exit code {os.WEXITSTATUS(status)}, e.g. os._exit)"


class _Progress:
    """What one child has reported, held to the order a genuine run reports in: cells in increasing order, then
    the plan's exercises in order, each result once. The child's own progress messages restart the per-step
    clock, so only genuine progress may: a forged message cannot buy a submission more time."""

    def __init__(self, cells, plan, skip_cells, skip_exercises, limits):
        self.plan, self.seconds = plan, limits.seconds
        self.next_cells = iter(sorted(i for i in range(len(cells)) if i not in skip_cells))
        self.next_exercises = iter([exercise for exercise, _ in plan if exercise not in skip_exercises])
        # a cell and its error per cell, a start and a result per exercise, ...
        self.most = 2 * len(cells) + 2 * len(plan) + 4
        self.messages, self.answered, self.where, self.loaded, self.ended = [], set(), ("setup", None), False, False
        self.step_deadline = time.monotonic() + self.seconds

    def take(self, line):
        """Parse and check one line the child sent, keeping it if it passes; return why it fails, or None."""
        if len(self.messages) >= self.most:
            return FORGED
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):  # not JSON, a number too long to read, nesting too deep
            return FORGED
        if not isinstance(message, dict):
            return FORGED
        failure = self._follow(message)
        if failure:
            return failure
        if "cell" in message or "start" in message or "loaded" in message:
            self.step_deadline = time.monotonic() + self.seconds
        self.messages.append(message)  # only once it has passed the checks above
        self.ended = "end" in message
        return None

    def _follow(self, message):
        """Move on to where ``message`` says the child is; why it cannot be there, or None."""
        if "result" in message:  # the values of the exercise that is running, once, in the form encode gives
            name = message["result"]
            if self.where != ("exercise", name) or name in self.answered or not _well_formed(message, self.plan):
                return FORGED
            self.answered.add(name)
        if "unconfined" in message and self.where == ("setup", None):
            return f"the kernel's confinement failed ({str(message['unconfined'])[:300]})"
        if "cell" in message:
            if self.where[0] not in ("setup", "cell") or message["cell"] != next(self.next_cells, None):
                return FORGED
            self.where = ("cell", message["cell"])
        elif "start" in message:
            if message["start"] != next(self.next_exercises, None):
                return FORGED
            self.where = ("exercise", message["start"])
        elif "loaded" in message:
            if self.where[0] == "exercise" or self.loaded:
                return FORGED
            self.loaded = True
        return None


def _well_formed(message, plan):
    """Whether a result message has one outcome per call of its exercise, each of a form
    :func:`mlpkit.grading.calls.check_outcome` accepts: an error (a string) or a value as
    :func:`mlpkit.grading.calls.encode` gives it."""
    outcomes = message.get("outcomes")
    expected = dict(plan).get(message.get("result"))
    if expected is None or not isinstance(outcomes, list) or len(outcomes) != len(expected):
        return False
    for outcome in outcomes:
        try:
            calls.check_outcome(outcome)
        except calls.ValueEncodingError:
            return False
    return True


def _remove(path):
    cleanup.remove_tree(path)


def run(cells, plan, denied=(), limits=None):
    """Run ``cells`` (a list of ``(label, source)``) and then each exercise of ``plan``
    (a list of ``(exercise name, [Call, ...])``) in sandboxed children.

    Returns ``{"cells": {label: note}, "exercises": {name: {"outcomes": [...]} or {"error": note}}}``:
    a note for every cell that failed, and for every exercise either one outcome per call
    (``{"value": ...}`` or ``{"error": ...}``) or why it could not be run.
    """
    limits = limits or Limits()
    if limits.kernel_guard and not confine.available():
        raise RuntimeError("cannot confine submissions with the kernel: "
                           f"{confine.status().reason or 'Landlock and seccomp are not available'} "
                           "(Limits(kernel_guard=False) allows the weaker audit hook alone)")
    denied = [PACKAGE_DIR, *denied]
    calls_of = dict(plan)
    skip_cells, skip_exercises = set(), set()
    cell_notes, exercises = {}, {}
    deadline = time.monotonic() + limits.total_seconds
    budget = MAX_SENT
    for _ in range(len(cells) + len(plan) + 2):
        messages, sent, failure, where = _attempt(cells, plan, skip_cells, skip_exercises, denied, limits, deadline,
                                                  budget)
        budget -= sent
        for message in messages:
            failed_cell = message.get("cell_error")
            if isinstance(failed_cell, int) and 0 <= failed_cell < len(cells):
                cell_notes[cells[failed_cell][0]] = str(message.get("error", ""))[:500]
            if "result" in message and message["result"] in calls_of and message["result"] not in exercises:
                exercises[message["result"]] = {"outcomes": message["outcomes"]}  # checked by _well_formed
                skip_exercises.add(message["result"])
        if failure is None:
            break
        kind, key = where
        if time.monotonic() > deadline:
            for name, _ in plan:
                exercises.setdefault(name, {"error": "not run: the whole submission ran out of time"})
            break
        if kind == "cell" and isinstance(key, int) and 0 <= key < len(cells):
            cell_notes[cells[key][0]] = failure
            skip_cells.add(key)
        elif kind == "exercise" and key in calls_of:
            exercises.setdefault(key, {"error": failure})
            skip_exercises.add(key)
        else:  # failed before running anything of the submission's: nothing to skip, so stop
            for name, _ in plan:
                exercises.setdefault(name, {"error": f"the submission could not be run: {failure}"})
            break
    for name, _ in plan:
        exercises.setdefault(name, {"error": "not run"})
    return {"cells": cell_notes, "exercises": exercises}
