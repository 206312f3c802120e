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

This side trusts none of it. It enforces a limit of CPU time per cell and per
exercise (the child's own, as the kernel counts it, so a busy machine changes
no grade), a wall-clock backstop several times longer for a child that sleeps
or waits, and the memory limit, all from outside the child; it restarts the
clocks only on progress in the expected order, caps what the child may send,
and parses every line as hostile data. When the child hangs, runs out of
memory or ends itself, it is killed, the failure is noted, and a fresh child
skips the cell or exercise at fault. Verdicts are made elsewhere (`mlpkit.grading.checks`),
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

from mlpkit.grading import calls, child, cleanup, confine, procstat
from mlpkit.runs import lifetime

PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[1]  # the kit's modules and the exercise bank
# What a submission's children may send, in all and in one message. The reference's answers to all 35 exercises
# take 5.5 MB, the largest exercise's 5.2 MB; parsed, a message takes at most about 15 times its size.
MAX_SENT = 16 * 2**20
MAX_MESSAGE = 8 * 2**20
DISK_CHECK_SECONDS = 0.25


@dataclasses.dataclass
class Limits:
    """Per-cell and per-exercise time and memory (resident, bytes) for one submission.

    ``seconds`` (per cell and per exercise) and ``total_seconds`` (the whole submission, over all its restarts)
    are CPU time: what the submission's process spent running on a CPU, in all its threads together, as the
    kernel counts it. A busy machine makes a submission wait longer but not use more CPU time, so it changes no
    grade. TensorFlow may run one operation on several cores at once, so CPU time can exceed the wall-clock time.
    The whole submission's CPU time is also the kernel's own limit on its process (``RLIMIT_CPU``), a backstop
    for the grader's checks. A submission that sleeps or waits uses wall-clock time but almost no CPU time:
    ``wall_factor`` times each limit is its wall-clock backstop, and a submission stopped by it is graded again
    with no other submission beside it (`mlpkit.grading.grader`).
    """

    seconds: float = 60.0  # CPU time per cell and per exercise
    memory: int = 3 * 2**30  # TensorFlow alone is about 0.7 GB resident
    file_size: int = 64 * 2**20
    disk: int = 256 * 2**20  # bytes of all the files in its working folder
    files: int = 10_000  # files and folders in its working folder
    total_seconds: float = 600.0  # CPU time of the whole submission
    wall_factor: float = 4.0  # the wall-clock backstop, as a multiple of each CPU-time limit
    # threads of the submission's process, TensorFlow's own pools included (a few per core)
    threads: int = dataclasses.field(default_factory=lambda: max(256, 8 * (os.cpu_count() or 1)))
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

# What a stopped submission's notes say; the grader tells the wall-clock ones by WALL_CLOCK.
WALL_CLOCK = "stopped by the wall clock"


def cpu_note(seconds):
    return f"used more than {seconds:g} s of CPU time"


def wall_note(seconds, limits):
    return (f"{WALL_CLOCK} after {seconds * limits.wall_factor:g} s ({limits.wall_factor:g} times its "
            f"{seconds:g} s limit of CPU time, not counting time it waited for a CPU) while using less CPU time than "
            "that: it was sleeping or waiting")


@dataclasses.dataclass
class _Spent:
    """What a submission has used so far over all its children: CPU seconds, and when its wall-clock backstop ends."""

    cpu: float
    wall_deadline: float
    wall_clock: bool = False  # whether a wall-clock backstop stopped it


def _kill(pid):
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


# The child this worker is running and its working folder, for `abandon` (a worker told to end).
_CURRENT = {}


def abandon():
    """Kill the running child, if any, and remove its working folder (a worker ending early calls this)."""
    pid, workdir = _CURRENT.pop("pid", None), _CURRENT.pop("workdir", None)
    if pid:
        _kill(pid)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    if workdir:
        cleanup.remove_tree(workdir)


FORGED = "wrote to the grader's channel"  # a message no genuine run sends, or sent out of order


def _attempt(cells, plan, skip_cells, skip_exercises, denied, limits, spent, budget):
    """Fork one child; return its messages, the bytes it sent and, if it did not finish, why and where; add the
    CPU time it used to ``spent``. ``budget``: the bytes this child may still send (what earlier children of the
    submission sent counts)."""
    read_fd, write_fd = os.pipe()
    workdir = tempfile.mkdtemp(prefix="mlpkit-submission-")
    # The kernel's backstop: the child is killed once the whole submission's CPU time is used up.
    child_limits = dataclasses.replace(limits, total_seconds=max(limits.total_seconds - spent.cpu, 0.0))
    _CURRENT["workdir"] = workdir
    pid = _fork_child(read_fd, write_fd, cells, plan, skip_cells, skip_exercises, workdir, denied, child_limits)
    _CURRENT["pid"] = pid
    os.close(write_fd)
    clocks = lambda: (procstat.cpu_seconds(pid), procstat.wall_clock(pid))  # noqa: E731
    progress = _Progress(cells, plan, skip_cells, skip_exercises, clocks)
    try:
        failure, received = _watch(pid, read_fd, workdir, progress, limits, spent, budget)
    finally:
        _kill(pid)
        _, status, usage = os.wait4(pid, 0)
        _CURRENT.clear()
        os.close(read_fd)
        cleanup.remove_tree(workdir)
    spent.cpu += usage.ru_utime + usage.ru_stime  # all its threads, as the kernel counted them
    if failure is None and not progress.ended:
        over = spent.cpu >= limits.total_seconds
        failure = "the whole submission " + cpu_note(limits.total_seconds) if over else _how_it_ended(status)
    return progress.messages, received, failure, progress.where


def _fork_child(read_fd, write_fd, cells, plan, skip_cells, skip_exercises, workdir, denied, limits):
    """Fork the child that runs the submission (`mlpkit.grading.child.main`); return its pid."""
    worker = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child never returns
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the worker's clean-up
            lifetime.die_with_parent(worker)  # a worker that is killed takes its child with it
            os.close(read_fd)
            child.main(write_fd, cells, plan, skip_cells, skip_exercises, workdir, denied, limits)
            os._exit(0)
        except BaseException:
            os._exit(70)
    return pid


def _watch(pid, read_fd, workdir, progress, limits, spent, budget):
    """Read what the child sends, keeping its limits, until it ends, is gone or fails; return
    ``(why it failed or None, the bytes it sent)``.

    The child's CPU time is read before what it has sent, and judged only if that held no progress: a time
    read before the child moved on belongs to the step it was in, however late this process gets to run."""
    reader = _Reader(read_fd, progress, budget)
    next_disk_check = 0.0
    while True:
        cpu, wall, steps = procstat.cpu_seconds(pid), procstat.wall_clock(pid), progress.steps
        failure = reader.read()
        if failure or reader.gone or progress.ended:
            return failure, reader.received
        if progress.steps != steps:
            continue
        failure = _overrun(progress, cpu, wall, limits, spent)
        if failure:
            return failure, reader.received
        if procstat.rss(pid) > limits.memory:
            return f"used more than {limits.memory / 2**30:.1f} GB of memory", reader.received
        if procstat.threads(pid) > limits.threads:
            return f"started more than {limits.threads:,} threads", reader.received
        if time.monotonic() > next_disk_check:
            next_disk_check = time.monotonic() + DISK_CHECK_SECONDS
            if not procstat.within_disk_limit(workdir, limits.disk, limits.files):
                return f"wrote more than {limits.disk / 2**20:.0f} MB or {limits.files:,} files", reader.received


def _overrun(progress, cpu, wall, limits, spent):
    """Which time limit the child has passed, or None (``cpu``: its CPU time, or None if unknown; ``wall``: its
    :func:`_wall_clock`)."""
    if cpu is not None and cpu - progress.step_cpu > limits.seconds:
        return cpu_note(limits.seconds)
    if cpu is not None and spent.cpu + cpu > limits.total_seconds:
        return "the whole submission " + cpu_note(limits.total_seconds)
    if wall - progress.step_wall > limits.seconds * limits.wall_factor:
        spent.wall_clock = True
        return wall_note(limits.seconds, limits)
    if time.monotonic() > spent.wall_deadline:
        spent.wall_clock = True
        return "the whole submission was " + wall_note(limits.total_seconds, limits)
    return None


class _Reader:
    """The child's channel: takes what is there (waiting a moment for it) and hands each whole line to
    :meth:`_Progress.take`, within the bytes the child may send."""

    def __init__(self, read_fd, progress, budget):
        self.fd, self.progress, self.budget = read_fd, progress, budget
        self.buffer, self.received, self.gone = b"", 0, False

    def read(self):
        """Take what the child has sent (up to 1 MB at a time); return why it fails, or None."""
        wait = 0.05
        for _ in range(16):
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                return None
            wait = 0
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:  # the child is gone
                self.gone = True
                return None
            self.buffer += chunk
            self.received += len(chunk)
            if self.received > self.budget or len(self.buffer) > MAX_MESSAGE:  # the worker's memory stays bounded
                return "sent more data than any answer needs"
            *lines, self.buffer = self.buffer.split(b"\n")
            for line in lines:
                failure = self.progress.take(line)
                if failure or self.progress.ended:
                    return failure
        return None


def _how_it_ended(status):
    """Why a child that sent no ``end`` stopped, from its wait status."""
    if os.WIFSIGNALED(status):
        return f"the process was killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"the process ended itself (exit code {os.WEXITSTATUS(status)}, e.g. os._exit)"


class _Progress:
    """What one child has reported, held to the order a genuine run reports in: cells in increasing order, then
    the plan's exercises in order, each result once. The child's own progress messages restart the per-step
    clock, so only genuine progress may: a forged message cannot buy a submission more time."""

    def __init__(self, cells, plan, skip_cells, skip_exercises, clocks):
        self.plan, self.clocks = plan, clocks  # clocks(): the child's CPU time and its _wall_clock
        self.next_cells = iter(sorted(i for i in range(len(cells)) if i not in skip_cells))
        self.next_exercises = iter([exercise for exercise, _ in plan if exercise not in skip_exercises])
        # a cell and its error per cell, a start and a result per exercise, ...
        self.most = 2 * len(cells) + 2 * len(plan) + 4
        self.messages, self.answered, self.where, self.loaded, self.ended = [], set(), ("setup", None), False, False
        self.steps = 0
        self._restart_clocks()

    def _restart_clocks(self):
        """A step begins: its CPU time counts from now, as does its wall-clock backstop."""
        self.steps += 1
        cpu, self.step_wall = self.clocks()
        self.step_cpu = cpu or 0.0

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
            self._restart_clocks()
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
            calls.check_outcome(outcome, from_child=True)  # a model's run is never the child's
        except calls.ValueEncodingError:
            return False
    return True


def run(cells, plan, denied=(), limits=None):
    """Run ``cells`` (a list of ``(label, source)``) and then each exercise of ``plan``
    (a list of ``(exercise name, [Call, ...])``) in sandboxed children.

    Returns ``{"cells": {label: note}, "exercises": {name: {"outcomes": [...]} or {"error": note}},
    "wall_clock": bool}``: a note for every cell that failed, for every exercise either one outcome per call
    (``{"value": ...}`` or ``{"error": ...}``) or why it could not be run, and whether a wall-clock backstop
    stopped any of it (a busy machine may have caused that; see :class:`Limits`).
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
    spent = _Spent(cpu=0.0, wall_deadline=time.monotonic() + limits.total_seconds * limits.wall_factor)
    budget = MAX_SENT
    for _ in range(len(cells) + len(plan) + 2):
        messages, sent, failure, where = _attempt(cells, plan, skip_cells, skip_exercises, denied, limits, spent,
                                                  budget)
        budget -= sent
        _keep(messages, cells, calls_of, cell_notes, exercises, skip_exercises)
        if failure is None:
            break
        kind, key = where
        whole = _whole_submission_stopped(spent, limits)
        if whole:
            for name, _ in plan:
                exercises.setdefault(name, {"error": f"not run: {whole}"})
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
    return {"cells": cell_notes, "exercises": exercises, "wall_clock": spent.wall_clock}


def _keep(messages, cells, calls_of, cell_notes, exercises, skip_exercises):
    """Note the failed cells and keep the results that one child's ``messages`` (each checked by
    :class:`_Progress`) report."""
    for message in messages:
        failed_cell = message.get("cell_error")
        if isinstance(failed_cell, int) and 0 <= failed_cell < len(cells):
            cell_notes[cells[failed_cell][0]] = str(message.get("error", ""))[:500]
        if "result" in message and message["result"] in calls_of and message["result"] not in exercises:
            exercises[message["result"]] = {"outcomes": message["outcomes"]}  # checked by _well_formed
            skip_exercises.add(message["result"])


def _whole_submission_stopped(spent, limits):
    """Why the whole submission may not go on (it used its CPU time, or passed its wall-clock backstop), or None."""
    if spent.cpu >= limits.total_seconds:
        return "the whole submission " + cpu_note(limits.total_seconds)
    if time.monotonic() > spent.wall_deadline:
        spent.wall_clock = True
        return "the whole submission was " + wall_note(limits.total_seconds, limits)
    return None
