"""Processes that end with the process that started them.

`mlpkit grade` and `mlpkit study` run their work in worker processes, and the
grader's workers fork a child per submission. If the main process is killed
(``kill -9``, an out-of-memory kill, a closed terminal), nothing would stop the
workers and their children: they would run on, holding memory and writing
files. :func:`die_with_parent` asks the Linux kernel to send the calling
process ``SIGKILL`` when its parent ends (``prctl(PR_SET_PDEATHSIG)``), and
closes the race where the parent ended just before the request. Elsewhere it
does nothing: workers then notice only when they next talk to their parent.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid=None, signal_number=signal.SIGKILL):
    """Be killed when the parent ends; ``parent_pid`` is the parent's pid as the parent knew it before starting us
    (None: the parent this process has now, for a process forked by a server such as multiprocessing's forkserver).
    ``signal_number``: the signal the kernel sends then (``SIGTERM`` for a process that cleans up first).

    The kernel tracks the thread that created this process: call it in a
    process started by a parent's main thread (as ``concurrent.futures`` and
    ``os.fork`` from the main thread do)."""
    if not sys.platform.startswith("linux"):
        return
    parent_pid = os.getppid() if parent_pid is None else parent_pid
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal_number), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent ended before the request: nothing will send the signal
        os._exit(1)


SIGNALS = (signal.SIGINT, signal.SIGTERM)


def ignore_signals(ignored=SIGNALS):
    """In a worker (started ignoring Ctrl-C: `mlpkit.runs.interrupts.blocked`): ignore ``ignored``, and make sure
    neither is blocked. The main process decides what a signal ends."""
    for number in ignored:
        signal.signal(number, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def start_worker(parent_pid, then=None):
    """A pool worker's initializer: die with ``parent_pid`` (None: its parent), leave Ctrl-C and SIGTERM to the main
    process (`mlpkit.runs.interrupts`), then run ``then`` (e.g. importing TensorFlow)."""
    die_with_parent(parent_pid)
    ignore_signals()
    if then is not None:
        then()
