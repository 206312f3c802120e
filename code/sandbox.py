"""Run a student's submission in a process of its own and bring back only values.

:func:`run` forks a child from a process that has already imported TensorFlow
(importing it costs seconds; a fork costs milliseconds). The child works in a
fresh temporary directory, with its output sent to ``/dev/null``, a memory
limit, a file-size limit and an audit hook (PEP 578) that refuses to open
files outside that directory for writing, to read the exercise sources, the
kit's own modules, the submissions folder or the gradebook, and to start
processes, send signals, load C libraries or open sockets. Before that hook,
the kernel confines the child (`mlpkit.confine`: Landlock and seccomp), which
plain Python cannot undo: the hook alone is the weaker guard, allowed only with
``Limits(kernel_guard=False)`` where the kernel offers no confinement. It runs the
submission's cells one by one (an error in one cell loses only what that cell
defines), then each exercise's calls, and reports over a pipe, one JSON line
at a time. The parent enforces a time limit per cell and per exercise and the
memory limit; when the child hangs, runs out of memory or ends itself, the
parent kills it, notes what happened, and forks a fresh child that skips the
cell or exercise at fault. Verdicts are made elsewhere (`mlpkit.grading`),
from the values alone.

The parent must not run TensorFlow operations before forking (its thread
pools would not survive the fork); it only imports TensorFlow.
"""

import dataclasses
import json
import linecache
import os
import pathlib
import select
import signal
import sys
import tempfile
import time
import traceback

from mlpkit import confine, grading, lifetime

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
MAX_SENT = 64 * 2**20  # bytes a child may send in all; answers to every exercise take far less


@dataclasses.dataclass
class Limits:
    """Per-cell and per-exercise time (seconds of wall time) and memory (resident, bytes) for one submission."""

    seconds: float = 60.0
    memory: int = 3 * 2**30  # TensorFlow alone is about 0.7 GB resident
    file_size: int = 64 * 2**20
    total_seconds: float = 600.0
    # Kernel confinement (`mlpkit.confine`) is required; False allows the audit hook alone where the kernel offers none.
    kernel_guard: bool = True


def preload():
    """Import what children need (TensorFlow and Keras) once, in the parent, without running any op."""
    from mlpkit.quiet import import_tensorflow

    import_tensorflow(compile_xla=False)  # lists the devices (no op runs): children do not print the CUDA probe's lines
    import keras  # noqa: F401
    import numpy  # noqa: F401


# -- the child -----------------------------------------------------------------

DENIED_EVENTS = {
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.kill", "os.killpg", "signal.pthread_kill", "pty.spawn", "ctypes.dlopen", "ctypes.dlsym",
    "ctypes.call_function", "socket.connect", "socket.bind", "socket.sendto",
    "webbrowser.open",
}
PATH_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.link", "os.symlink",
               "os.truncate", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile", "os.chdir"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _install_guard(workdir, denied):
    workdir = os.path.realpath(workdir)
    denied = [os.path.realpath(path) for path in denied]
    me = str(os.getpid())

    def inside(path, root):
        return path == root or path.startswith(root + os.sep)

    def refuse(what):
        raise PermissionError(f"not allowed in a graded submission: {what}")

    def guard(event, args):
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int) or path is None:
                return
            real = os.path.realpath(os.fsdecode(path))
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & WRITE_FLAGS)
            if inside(real, workdir):
                return
            if writing and real != os.devnull:
                refuse(f"writing {real} (only the working directory is writable)")
            if any(inside(real, root) for root in denied):
                refuse(f"reading {real}")
            if real.startswith("/proc/") and real.split("/")[2].isdigit() and real.split("/")[2] != me:
                refuse(f"reading {real}")
        elif event in DENIED_EVENTS:
            refuse(event)
        elif event in PATH_EVENTS:
            for arg in args:
                if isinstance(arg, (str, bytes, os.PathLike)) and not inside(os.path.realpath(os.fsdecode(arg)), workdir):
                    refuse(f"{event} on {os.fsdecode(arg)}")

    sys.addaudithook(guard)


def readable_paths():
    """What a confined child may read: Python, its libraries and the system's, and its own /proc entries.
    Not the kit's folder, the submissions or the gradebook (the virtual environment is a folder of its own)."""
    roots = [sys.base_prefix, sys.prefix, "/usr"]
    paths = [*roots, "/lib", "/lib64", "/etc/ld.so.cache", "/etc/localtime", "/proc/self", "/proc/thread-self",
             "/sys/devices/system/cpu", "/dev/null", "/dev/urandom", "/dev/zero"]
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if os.path.isdir(real) and any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
            paths.append(real)
    return list(dict.fromkeys(paths))


def _child(write_fd, cells, plan, skip_cells, skip_exercises, workdir, denied, limits):
    import resource

    def send(message):
        os.write(write_fd, (json.dumps(message) + "\n").encode())

    os.setpgid(0, 0)
    os.chdir(workdir)
    tempfile.tempdir = workdir  # AutoGraph writes each converted function to a temporary file: here, where writing is allowed
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, write_fd)
    os.closerange(write_fd + 1, 1024)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
    with open(f"/proc/{os.getpid()}/statm") as statm:
        virtual = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (virtual + limits.memory, virtual + limits.memory))
    import numpy as np
    import tensorflow as tf

    for name in [name for name in sys.modules if name.startswith("mlpkit.") and name not in ("mlpkit.grading", "mlpkit.sandbox")]:
        del sys.modules[name]
    if limits.kernel_guard or confine.available():
        try:
            confine.confine(workdir, readable_paths())
        except BaseException as error:  # never run the submission with less protection than asked for
            send({"unconfined": f"{type(error).__name__}: {error}"})
            return
    _install_guard(workdir, denied)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    for index, (label, source) in enumerate(cells):
        if index in skip_cells:
            continue
        send({"cell": index})
        # The cell's lines, where inspect finds them (as IPython keeps a notebook's): AutoGraph reads a
        # function's source to turn a loop over a tensor inside a tf.function into a loop in the graph.
        linecache.cache[label] = (len(source), None, source.splitlines(True), label)
        try:
            exec(compile(source, label, "exec"), namespace)
        except BaseException as error:  # SystemExit and KeyboardInterrupt included: a cell cannot stop the run
            send({"cell_error": index, "error": _describe(error)})
    send({"loaded": True})

    def argument(arg):
        if isinstance(arg, grading.Tensor):
            return tf.constant(arg.array())
        if isinstance(arg, (list, tuple)):  # e.g. the argument tuples of options["calls"]
            return type(arg)(argument(item) for item in arg)
        return np.array(arg, copy=True) if isinstance(arg, np.ndarray) else arg

    for exercise, calls in plan:
        if exercise in skip_exercises:
            continue
        send({"start": exercise})
        outcomes = []
        for call in calls:
            try:
                if call.name not in namespace:
                    raise NameError(f"no {'variable' if call.variable else 'function'} named {call.name!r} is defined")
                target = namespace[call.name]
                if call.variable:
                    value = target
                else:
                    if not callable(target):
                        raise TypeError(f"{call.name} is a {type(target).__name__}, not a function")
                    args, kwargs = [argument(a) for a in call.args], {k: argument(a) for k, a in call.kwargs.items()}
                    finite = call.options.get("finite", False)
                    if call.options.get("calls"):
                        outcomes.append({"value": _calls(target, args[:-1], kwargs, args[-1], finite)})
                        continue
                    value = _call(target, args, kwargs, finite=finite)
                outcomes.append({"value": grading.encode(value, probe=call.options.get("probe"))})
            except BaseException as error:
                outcomes.append({"error": _describe(error)})
        send({"result": exercise, "outcomes": outcomes})
    send({"end": True})


def _call(target, args, kwargs, finite=False):
    """``target(*args, **kwargs)``; with ``finite``, a TensorFlow or NumPy operation that gives an infinity
    or NaN (an overflow, even one the result hides) raises ``FloatingPointError``."""
    if not finite:
        return target(*args, **kwargs)
    import numpy as np
    import tensorflow as tf

    tf.debugging.enable_check_numerics()
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            return target(*args, **kwargs)
    except tf.errors.InvalidArgumentError as error:
        if "Infinity or NaN" not in str(error):
            raise
        op = str(error).partition('op "')[2].partition('"')[0] or "an operation"
        raise FloatingPointError(f"{op} gave an infinity or NaN") from None
    finally:
        tf.debugging.disable_check_numerics()


def _calls(factory, args, kwargs, calls, finite=False):
    """For ``options["calls"]``: ``factory(*args, **kwargs)`` returns a function, which is called once per
    argument tuple of ``calls``, in order. Returns, encoded, ``{"outputs": [...], "traces": n}``: each output
    as it was right after its call (a returned ``tf.Variable`` is read then), and the function's
    ``experimental_get_tracing_count()`` after the last call, or None if it has none (not a ``tf.function``)."""
    function = _call(factory, args, kwargs, finite=finite)
    if not callable(function):
        raise TypeError(f"returned a {type(function).__name__}, not a function")
    outputs = [grading.encode(_call(function, list(arguments), {}, finite=finite)) for arguments in calls]
    count = getattr(function, "experimental_get_tracing_count", None)
    traces = grading.encode(count()) if callable(count) else None
    return {"mapping": {"outputs": {"sequence": outputs, "tuple": False}, "traces": traces}}


def _describe(error):
    """One line for an exception from the submission: its type, message and the submission's line."""
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r})"
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename.startswith("<")]
    where = f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
    text = str(error).splitlines()[0][:300] if str(error) else ""
    return f"{type(error).__name__}: {text}{where}" if text else f"{type(error).__name__}{where}"


# -- the parent ------------------------------------------------------------------

def _rss(pid):
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _kill(pid):
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


def _attempt(cells, plan, skip_cells, skip_exercises, denied, limits, deadline):
    """Fork one child; return its messages and, if it did not finish, why and where."""
    read_fd, write_fd = os.pipe()
    workdir = tempfile.mkdtemp(prefix="mlpkit-submission-")
    worker = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child never returns
        try:
            lifetime.die_with_parent(worker)  # a worker that is killed takes its child with it
            os.close(read_fd)
            _child(write_fd, cells, plan, skip_cells, skip_exercises, workdir, denied, limits)
            os._exit(0)
        except BaseException:
            os._exit(70)
    os.close(write_fd)
    messages, buffer, where, failure, received, loaded = [], b"", ("setup", None), None, 0, False
    # The child's own progress messages restart the per-step clock, so only genuine progress may: cells in
    # increasing order, then the plan's exercises in order. A forged message cannot buy a submission more time.
    next_cells = iter(sorted(i for i in range(len(cells)) if i not in skip_cells))
    next_exercises = iter([exercise for exercise, _ in plan if exercise not in skip_exercises])
    step_deadline = time.monotonic() + limits.seconds
    try:
        while True:
            now = time.monotonic()
            if now > min(step_deadline, deadline):
                failure = f"took longer than {limits.seconds:g} s" if now > step_deadline else "the whole submission ran out of time"
                break
            if _rss(pid) > limits.memory:
                failure = f"used more than {limits.memory / 2**30:.1f} GB of memory"
                break
            ready, _, _ = select.select([read_fd], [], [], 0.05)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:  # the child is gone
                break
            buffer += chunk
            received += len(chunk)
            if received > MAX_SENT:  # all a submission sends, not one message: the parent's memory stays bounded
                failure = "sent more data than any answer needs"
                break
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    failure = "wrote to the grader's channel"
                    break
                if not isinstance(message, dict):
                    failure = "wrote to the grader's channel"
                    break
                messages.append(message)
                if "unconfined" in message and where == ("setup", None):
                    failure = f"the kernel's confinement failed ({str(message['unconfined'])[:300]})"
                    break
                if "cell" in message:
                    if where[0] != "setup" and where[0] != "cell" or message["cell"] != next(next_cells, None):
                        failure = "wrote to the grader's channel"
                        break
                    where = ("cell", message["cell"])
                elif "start" in message:
                    if message["start"] != next(next_exercises, None):
                        failure = "wrote to the grader's channel"
                        break
                    where = ("exercise", message["start"])
                elif "loaded" in message:
                    if where[0] == "exercise" or loaded:
                        failure = "wrote to the grader's channel"
                        break
                    loaded = True
                if "cell" in message or "start" in message or "loaded" in message:
                    step_deadline = time.monotonic() + limits.seconds
                if "end" in message:
                    return messages, None, where
            if failure:
                break
    finally:
        _kill(pid)
        _, status = os.waitpid(pid, 0)
        os.close(read_fd)
        _remove(workdir)
    if failure is None:
        if os.WIFSIGNALED(status):
            failure = f"the process was killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
        else:
            failure = f"the process ended itself (exit code {os.WEXITSTATUS(status)}, e.g. os._exit)"
    return messages, failure, where


def _remove(path):
    import shutil

    shutil.rmtree(path, ignore_errors=True)


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
    for _ in range(len(cells) + len(plan) + 2):
        messages, failure, where = _attempt(cells, plan, skip_cells, skip_exercises, denied, limits, deadline)
        for message in messages:
            if "cell_error" in message and isinstance(message.get("cell_error"), int) and 0 <= message["cell_error"] < len(cells):
                cell_notes[cells[message["cell_error"]][0]] = str(message.get("error", ""))[:500]
            if "result" in message and message["result"] in calls_of and message["result"] not in exercises:
                expected = len(calls_of[message["result"]])
                outcomes = message.get("outcomes")
                if (isinstance(outcomes, list) and len(outcomes) == expected
                        and all(isinstance(o, dict) and ("value" in o or "error" in o) for o in outcomes)):
                    exercises[message["result"]] = {"outcomes": outcomes}
                else:
                    exercises[message["result"]] = {"error": "the grader's channel was tampered with"}
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
