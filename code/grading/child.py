"""What runs inside a submission's process: confinement first, then the submission, then the calls.

:func:`main` is all a forked child of `mlpkit.grading.sandbox` runs. It sets its
limits, imports TensorFlow, asks the kernel to confine it
(`mlpkit.grading.confine`), installs the audit hook (PEP 578) as a second
layer, runs the submission's cells one by one, then makes each exercise's calls
(`mlpkit.grading.calls`) and sends the values back over a pipe, one JSON line
at a time. Everything here runs beside the submission's code and may be read
or altered by it, so nothing here knows an expected value or how a value is
judged: this module imports only `mlpkit.grading.calls` and
`mlpkit.grading.confine`, and the worker it is forked from never imports the
checks, the exercise bank or the grader.
"""

import ast
import json
import linecache
import math
import os
import re
import sys
import tempfile
import traceback

from mlpkit.grading import calls, confine

DENIED_EVENTS = {
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.kill", "os.killpg", "signal.pthread_kill", "pty.spawn", "ctypes.dlopen", "ctypes.dlsym",
    "ctypes.call_function", "socket.connect", "socket.bind", "socket.sendto",
    "webbrowser.open",
}
PATH_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.link", "os.symlink",
               "os.truncate", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile", "os.chdir"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _install_guard(workdir, denied, threads=256):
    """The audit hook: what the kernel also stops (writes, reads of what is denied, other processes), refused with
    a clearer message, and a new thread once the process has ``threads``."""
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
            writing = ((isinstance(mode, str) and any(c in mode for c in "wax+"))
                       or (isinstance(flags, int) and flags & WRITE_FLAGS))
            if inside(real, workdir):
                return
            if writing and real != os.devnull:
                refuse(f"writing {real} (only the working directory is writable)")
            if any(inside(real, root) for root in denied):
                refuse(f"reading {real}")
            if real.startswith("/proc/") and real.split("/")[2].isdigit() and real.split("/")[2] != me:
                refuse(f"reading {real}")
        elif event == "_thread.start_new_thread":
            if len(os.listdir("/proc/self/task")) >= threads:
                refuse(f"more than {threads} threads")
        elif event in DENIED_EVENTS:
            refuse(event)
        elif event in PATH_EVENTS:
            for arg in args:
                path = isinstance(arg, (str, bytes, os.PathLike))
                if path and not inside(os.path.realpath(os.fsdecode(arg)), workdir):
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


def main(write_fd, cells, plan, skip_cells, skip_exercises, workdir, denied, limits):
    """The child's whole life: set up, confine itself, run the cells, make the calls, report each step."""
    def send(message):
        os.write(write_fd, (json.dumps(message) + "\n").encode())

    _set_up(write_fd, workdir, limits)
    import numpy  # noqa: F401  (both are in memory already: the worker imported them before forking)
    import tensorflow  # noqa: F401

    for name in [name for name in sys.modules if name == "mlpkit" or name.startswith("mlpkit.")]:
        del sys.modules[name]  # the kit's modules cannot be imported again: their folder is out of reach
    if limits.kernel_guard or confine.available():
        try:
            confine.confine(workdir, readable_paths())
        except BaseException as error:  # never run the submission with less protection than asked for
            send({"unconfined": f"{type(error).__name__}: {error}"})
            return
    _install_guard(workdir, denied, limits.threads)
    namespace = _run_cells(cells, skip_cells, send)
    send({"loaded": True})
    for exercise, exercise_calls in plan:
        if exercise not in skip_exercises:
            send({"start": exercise})
            send({"result": exercise, "outcomes": [_outcome(call, namespace) for call in exercise_calls]})
    send({"end": True})


def _set_up(write_fd, workdir, limits):
    """A process group of its own, the working folder, no output, no descriptor but the channel, and the limits
    (``limits.total_seconds`` is the CPU time left to the whole submission)."""
    import resource

    os.setpgid(0, 0)
    os.chdir(workdir)
    # AutoGraph writes each converted function to a temporary file: here, where writing is allowed.
    tempfile.tempdir = workdir
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, write_fd)
    os.closerange(write_fd + 1, 1024)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # The kernel kills the process (SIGKILL: soft and hard limits are equal) once it has used the CPU time left
    # to the whole submission; the parent's own checks of each step normally stop it well before.
    cpu = math.ceil(limits.total_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
    with open(f"/proc/{os.getpid()}/statm") as statm:
        virtual = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (virtual + limits.memory, virtual + limits.memory))


def _run_cells(cells, skip_cells, send):
    """Run the submission's cells (but ``skip_cells``) one by one in one namespace, and return it."""
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    for index, (label, source) in enumerate(cells):
        if index in skip_cells:
            continue
        send({"cell": index})
        try:
            exec(_compiled(label, source), namespace)
        except BaseException as error:  # SystemExit and KeyboardInterrupt included: a cell cannot stop the run
            send({"cell_error": index, "error": _describe(error)})
    return namespace


BLOCK_LABEL = re.compile(r"^<(?:cell (\d+), )?lines? (\d+)")


def _compiled(label, source):
    """A block's code, its lines numbered from the first line its label names (``<line 27>``, ``<cell 3, line
    5>``, ``<lines 10-19>``), under the name of its file or notebook cell (``<file>``, ``<cell 3>``). Its lines
    go where inspect finds them (as IPython keeps a notebook's): AutoGraph reads a function's source to turn a
    loop over a tensor inside a tf.function into a loop in the graph. One list of lines per file or cell, so the
    memory is the file's size, however many blocks it has."""
    match = BLOCK_LABEL.match(label)
    first = int(match.group(2)) if match else 1
    name = (f"<cell {match.group(1)}>" if match.group(1) else "<file>") if match else label
    lines = source.splitlines(True)
    known = linecache.cache.get(name, (0, None, [], name))[2]
    if len(known) < first - 1 + len(lines):
        known.extend([""] * (first - 1 + len(lines) - len(known)))
    known[first - 1 : first - 1 + len(lines)] = lines
    linecache.cache[name] = (len(known), None, known, name)  # no file to check it against: the size is unused
    try:
        tree = ast.parse(source, name)
    except SyntaxError as error:
        if error.lineno:
            error.lineno += first - 1
        raise
    ast.increment_lineno(tree, first - 1)
    return compile(tree, name, "exec")


def _argument(arg):
    """A check's argument as the submission's function gets it: a fresh tensor or array of its own."""
    import numpy as np
    import tensorflow as tf

    if isinstance(arg, calls.Tensor):
        return tf.constant(arg.array())
    if isinstance(arg, (list, tuple)):  # e.g. the argument tuples of options["calls"]
        return type(arg)(_argument(item) for item in arg)
    return np.array(arg, copy=True) if isinstance(arg, np.ndarray) else arg


def _outcome(call, namespace):
    """What one call of a check gave: ``{"value": encoded}`` or ``{"error": one line}``."""
    try:
        if call.name not in namespace:
            raise NameError(f"no {'variable' if call.variable else 'function'} named {call.name!r} is defined")
        target = namespace[call.name]
        if call.variable:
            return {"value": calls.encode(target, probe=call.options.get("probe"))}
        if not callable(target):
            raise TypeError(f"{call.name} is a {type(target).__name__}, not a function")
        args, kwargs = _arguments(call)
        finite = call.options.get("finite", False)
        if call.options.get("calls"):
            return {"value": _calls(target, args[:-1], kwargs, args[-1], finite)}
        if call.options.get("seed") is not None:
            return {"value": _seeded(target, call, finite)}
        return {"value": calls.encode(_call(target, args, kwargs, finite=finite), probe=call.options.get("probe"))}
    except BaseException as error:
        if call.raises:  # the names of its classes, for a check that expects an exception (or a subclass of it)
            return {"error": _describe(error), "raised": [cls.__name__ for cls in type(error).__mro__][:32]}
        return {"error": _describe(error)}


def _arguments(call, seed=None):
    """Fresh copies of a call's ``(args, kwargs)``; with ``seed``, the seed argument (``options["seed"]``,
    a position or a keyword) replaced by it."""
    args, kwargs = [_argument(a) for a in call.args], {k: _argument(a) for k, a in call.kwargs.items()}
    if seed is not None:
        where = call.options["seed"]
        (kwargs if isinstance(where, str) else args)[where] = seed
    return args, kwargs


def _seeded(target, call, finite=False):
    """For ``options["seed"]``: the values of three calls, each with fresh arguments: as given, as given again,
    and with the seed replaced by ``options.get("other_seed", seed + 1)``; encoded as
    ``{"value": ..., "same_seed": ..., "other_seed": ...}``."""
    where = call.options["seed"]
    seed = call.kwargs[where] if isinstance(where, str) else call.args[where]
    other = call.options.get("other_seed", seed + 1)
    values = [calls.encode(_call(target, *_arguments(call, chosen), finite=finite)) for chosen in (None, None, other)]
    return {"mapping": dict(zip(("value", "same_seed", "other_seed"), values))}


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


def _calls(factory, args, kwargs, argument_tuples, finite=False):
    """For ``options["calls"]``: ``factory(*args, **kwargs)`` returns a function, which is called once per
    tuple of ``argument_tuples``, in order. Returns, encoded, ``{"outputs": [...], "traces": n}``: each output
    as it was right after its call (a returned ``tf.Variable`` is read then), and the function's
    ``experimental_get_tracing_count()`` after the last call, or None if it has none (not a ``tf.function``)."""
    function = _call(factory, args, kwargs, finite=finite)
    if not callable(function):
        raise TypeError(f"returned a {type(function).__name__}, not a function")
    outputs = [calls.encode(_call(function, list(arguments), {}, finite=finite)) for arguments in argument_tuples]
    count = getattr(function, "experimental_get_tracing_count", None)
    traces = calls.encode(count()) if callable(count) else None
    return {"mapping": {"outputs": {"sequence": outputs, "tuple": False}, "traces": traces}}


def _describe(error):
    """One line for an exception from the submission: its type, message and the submission's line."""
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r})"
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename.startswith("<")]
    where = f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
    text = str(error).splitlines()[0][:300] if str(error) else ""
    return f"{type(error).__name__}: {text}{where}" if text else f"{type(error).__name__}{where}"
