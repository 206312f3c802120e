"""Ctrl-C and SIGTERM: the main process decides, cleans up once, quickly, and exits.

A terminal sends Ctrl-C (``SIGINT``) to every process of the foreground
group, and ``timeout`` and Slurm send ``SIGTERM``: the workers of ``mlpkit
grade`` and ``mlpkit study`` get them too. Here only the main process acts on
them:

- :func:`install` (``mlpkit.cli.main``) makes the first ``SIGINT`` raise
  ``KeyboardInterrupt`` and the first ``SIGTERM`` :class:`Terminated` (a
  ``KeyboardInterrupt`` too, so every clean-up that runs for Ctrl-C runs for
  it). Any later signal only notes itself: a clean-up is never interrupted or
  started twice. A backstop ends the process :data:`BACKSTOP` seconds after the
  first signal, should a clean-up hang.
- :func:`leave` prints the one line, flushes, ends what is left of the
  workers and exits at once (``os._exit``: multiprocessing's exit handlers,
  which wait on workers, never run), with status 130 or 143.
- :func:`blocked` holds both signals back, and ignores Ctrl-C, while a pool
  starts its processes: a worker starts ignoring Ctrl-C and its initializer
  ignores both (`mlpkit.runs.lifetime.ignore_signals`), so no worker ever
  prints a traceback for a Ctrl-C.
- :func:`stop_pool` ends a pool's workers without waiting for their work;
  :class:`Pool` does so when Ctrl-C or SIGTERM leaves its ``with`` block.
- :func:`deferred` holds a signal back while a few files are moved into place.
"""

import contextlib
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

SIGNALS = (signal.SIGINT, signal.SIGTERM)
BACKSTOP = 5.0  # seconds from the first signal to the exit, whatever a clean-up is doing
MESSAGES = {signal.SIGINT: ("mlpkit: interrupted", 130), signal.SIGTERM: ("mlpkit: terminated", 143)}

_state = {"first": None, "deferring": 0, "pending": None, "finished": False, "notes": []}


class Terminated(KeyboardInterrupt):
    """``SIGTERM`` arrived: cleaned up as for Ctrl-C, reported as ``mlpkit: terminated`` (status 143)."""


def signalled():
    """The first signal that arrived (``signal.SIGINT`` or ``signal.SIGTERM``), or None."""
    return _state["first"]


def _interrupt(signum):
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _handler(signum, frame):
    if _state["first"] is not None:
        return  # a clean-up is under way: it is neither interrupted nor started again
    if _state["finished"]:  # the command is done and Python is exiting (its exit handlers wait on workers)
        _state["first"] = signum
        leave(_interrupt(signum))
    if _state["deferring"]:
        _state["pending"] = _state["pending"] or signum
        return
    _state["first"] = signum
    # From here the process is ending: a pool's own threads fail as its workers and their server are ended
    # (a pool of single-task workers starting a replacement, say), and their tracebacks would bury the one line.
    threading.excepthook = lambda args: None
    threading.Thread(target=_backstop, args=(signum,), daemon=True).start()
    raise _interrupt(signum)


def _backstop(signum):
    time.sleep(BACKSTOP)
    _exit(signum)


def install():
    """Handle ``SIGINT`` and ``SIGTERM`` as this module says; returns the handlers they had (for :func:`restore`)."""
    _state.update(first=None, deferring=0, pending=None, finished=False, notes=[])
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        return {}
    return {number: signal.signal(number, _handler) for number in SIGNALS}


def restore(previous):
    for number, handler in previous.items():
        signal.signal(number, handler)


def finished():
    """The command is done; a signal from now on (while Python's exit handlers wait on workers) exits at once."""
    _state["finished"] = True


@contextlib.contextmanager
def deferred():
    """Hold ``SIGINT`` and ``SIGTERM`` back until the block ends, then act on them: for a few quick steps that must
    happen all or not at all."""
    _state["deferring"] += 1
    try:
        yield
    finally:
        _state["deferring"] -= 1
        signum = _state["pending"]
        if signum is not None and not _state["deferring"] and _state["first"] is None:
            _state["pending"] = None
            _handler(signum, None)


@contextlib.contextmanager
def blocked():
    """Start processes in this block: ``SIGINT`` and ``SIGTERM`` wait (none is lost) and ``SIGINT`` is ignored
    meanwhile, so that a process started here (a pool's worker, multiprocessing's fork server) starts ignoring
    Ctrl-C: a process that starts Python anew resets the signal mask but keeps what is ignored. Its initializer
    then ignores both (`mlpkit.runs.lifetime.ignore_signals`), so no worker ever prints a traceback for a Ctrl-C."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    main = threading.current_thread() is threading.main_thread()
    waiting = signal.SIGINT in signal.sigpending()  # ignoring it drops a pending Ctrl-C: sent again below
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGINT, handler)
            if waiting:
                os.kill(os.getpid(), signal.SIGINT)  # pending until the mask is restored
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _processes(pool):
    try:
        return [p for p in dict(getattr(pool, "_processes", None) or {}).values() if p is not None]
    except Exception:  # a pool stopped half-way through starting: nothing to end
        return []


def _wait(processes, seconds):
    from multiprocessing.connection import wait

    deadline = time.monotonic() + seconds
    waiting = list(processes)
    while waiting and time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            wait([p.sentinel for p in waiting], max(0.0, deadline - time.monotonic()))
        waiting = [p for p in waiting if _alive(p)]
    return waiting


def _alive(process):
    with contextlib.suppress(Exception):
        return process.exitcode is None
    return False


def _send(processes, number):
    for process in processes:
        with contextlib.suppress(Exception):
            os.kill(process.pid, number)


def stop_pool(pool, grace=0.0):
    """End ``pool`` (a ``ProcessPoolExecutor``) now: its queued work is cancelled and its workers are sent
    ``SIGTERM`` (a worker with ``grace`` seconds to clean up, e.g. a grading worker's submission process) or
    ``SIGKILL``; nothing waits for the work they were doing."""
    processes = _processes(pool)
    with contextlib.suppress(Exception):
        pool.shutdown(wait=False, cancel_futures=True)
    if grace > 0:
        _send(processes, signal.SIGTERM)
        processes = _wait(processes, grace)
    _send(processes, signal.SIGKILL)
    _wait(processes, 1.0)  # ended by the kernel within moments: reaped, so none outlives the run


class Pool(ProcessPoolExecutor):
    """A ``ProcessPoolExecutor`` that, left by Ctrl-C or SIGTERM, ends its workers at once (:func:`stop_pool`, with
    ``grace``) instead of waiting for their work."""

    def __init__(self, *args, grace=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.grace = grace

    def __exit__(self, kind, value, traceback):
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            stop_pool(self, self.grace)
            return False
        return super().__exit__(kind, value, traceback)


def note(text):
    """Add ``text`` (what a clean-up did, e.g. the unfinished output it removed) to the line printed at the end."""
    _state["notes"].append(text)


def line(error):
    """The one line for ``error`` (a ``KeyboardInterrupt``, or :class:`Terminated`) and its exit status."""
    message, status = MESSAGES[signal.SIGTERM if isinstance(error, Terminated) else signal.SIGINT]
    return "; ".join([message, *_state["notes"]]), status


def _exit(signum):
    message, status = line(_interrupt(signum))
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    os._exit(status)


def leave(error):
    """After a ``KeyboardInterrupt`` (or :class:`Terminated`) has been cleaned up after: end any worker still
    running, print the one line and exit with 130 (143 for ``SIGTERM``) at once."""
    import multiprocessing

    signum = signal.SIGTERM if isinstance(error, Terminated) else signal.SIGINT
    with contextlib.suppress(Exception):
        children = multiprocessing.active_children()
        _send(children, signal.SIGKILL)
        _wait(children, 1.0)
    with contextlib.suppress(Exception):
        # The quick part of multiprocessing's exit: its queues' semaphores are released (else its resource tracker
        # warns of them), but nothing waits on a worker's thread or process.
        from multiprocessing import util

        util._run_finalizers(0)
    _exit(signum)
