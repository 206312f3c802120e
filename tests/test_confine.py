"""The kernel keeps a submission's process confined, whatever Python it runs.

Each test forks a child from a worker that has imported TensorFlow (as the
grader's workers do: the pytest process has run operations, so it must not
fork children that use TensorFlow), confines it to a fresh working folder with
`mlpkit.grading.confine`, tries one thing there and reports back over a pipe.
"""

import concurrent.futures
import errno
import json
import multiprocessing
import os
import shutil
import statistics
import tempfile
import time

import pytest

from mlpkit.grading import bank, child, confine, sandbox, units

STATUS = confine.status()
pytestmark = pytest.mark.skipif(not confine.available(), reason=STATUS.reason or "no kernel confinement here")

BANK_FILE = str(bank.BANK_DIR / "perceptron.py")


@pytest.fixture(scope="module")
def worker():
    """A process that has imported TensorFlow without running an operation: it forks the children."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context, initializer=sandbox.preload) as pool:
        yield lambda function, *args: pool.submit(function, *args).result(timeout=300)


def _confined(probe, arg=None):
    """In the worker: fork a child, confine it, run ``PROBES[probe](workdir, arg)``; return what happened."""
    workdir = tempfile.mkdtemp(prefix="mlpkit-confine-test-")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            tempfile.tempdir = workdir
            start = time.process_time()  # CPU time: what confining costs, however busy the machine
            confine.confine(workdir, child.readable_paths())
            report = {"seconds": time.process_time() - start}
            try:
                report["value"] = PROBES[probe](workdir, arg)
            except BaseException as error:
                report.update(error=type(error).__name__, errno=getattr(error, "errno", None), text=str(error)[:300])
            os.write(write_fd, json.dumps(report, default=repr).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    data = b""
    while chunk := os.read(read_fd, 1 << 16):
        data += chunk
    os.close(read_fd)
    os.waitpid(pid, 0)
    shutil.rmtree(workdir, ignore_errors=True)
    return json.loads(data) if data else {"error": "no report"}


def _read(workdir, path):
    with open(path, "rb") as handle:
        return len(handle.read())


def _write(workdir, path):
    with open(path.replace("WORKDIR", workdir), "w") as handle:
        return handle.write("x")


def _fork(workdir, _):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def _thread(workdir, path):
    import threading

    seen = {}

    def body():
        try:
            seen["value"] = _read(workdir, path)
        except OSError as error:
            seen["errno"] = error.errno
    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return seen


def _syscall_execve(workdir, _):
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    argv = (ctypes.c_char_p * 2)(b"/bin/true", None)
    result = libc.syscall(59 if os.uname().machine == "x86_64" else 221, b"/bin/true", argv, None)  # SYS_execve
    if result < 0:
        raise OSError(ctypes.get_errno(), "execve")
    return result


def _raise_limit(workdir, _):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the soft limit up to the hard one
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _tensorflow(workdir, _):
    import tensorflow as tf

    @tf.function
    def square(x):
        return x * x

    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = square(x)
    return [float(tf.constant(1.0) + 1), float(y), float(tape.gradient(y, x))]


def _remove(path):
    os.remove(path)


def _immutable(workdir, _):
    import fcntl
    import struct

    path = os.path.join(workdir, "stuck")
    with open(path, "w") as file:
        fcntl.ioctl(file.fileno(), 0x40086602, struct.pack("l", 0x10))  # FS_IOC_SETFLAGS, FS_IMMUTABLE_FL


PROBES = {
    "read": _read,
    "write": _write,
    "listdir": lambda workdir, path: os.listdir(path),
    "mkdir": lambda workdir, path: os.mkdir(path),
    "remove": lambda workdir, path: os.remove(path),
    "rename": lambda workdir, path: os.rename(path, path + ".moved"),
    "rename_in": lambda workdir, path: os.rename(path, os.path.join(workdir, "moved")),
    "link_in": lambda workdir, path: os.link(path, os.path.join(workdir, "linked")),
    "execv": lambda workdir, _: os.execv("/bin/true", ["true"]),
    "subprocess": lambda workdir, _: __import__("subprocess").run(["/bin/true"]).returncode,
    "fork": _fork,
    "thread": _thread,
    "socket_inet": lambda workdir, _: __import__("socket").socket().fileno(),
    "socket_unix": lambda workdir, _: __import__("socket").socket(__import__("socket").AF_UNIX).fileno(),
    "kill_parent": lambda workdir, _: os.kill(os.getppid(), 0),
    "kill_group": lambda workdir, _: os.kill(0, 0),
    "kill_self": lambda workdir, _: os.kill(os.getpid(), 0),
    "memfd": lambda workdir, _: os.memfd_create("x"),
    "raise_limit": _raise_limit,
    "syscall_execve": _syscall_execve,
    "chmod": lambda workdir, path: os.chmod(path, 0o777),
    "renice": lambda workdir, _: os.setpriority(os.PRIO_PROCESS, os.getppid(), 19),
    "proc_root": lambda workdir, path: _read(workdir, "/proc/self/root" + path),
    "pidfd": lambda workdir, _: __import__("signal").pidfd_send_signal(os.pidfd_open(os.getppid()), 0),
    "tensorflow": _tensorflow,
    "immutable": _immutable,
    "nothing": lambda workdir, _: None,
}


@pytest.fixture
def outside(tmp_path):
    """A file outside the child's working folder, readable and writable by the test itself."""
    path = tmp_path / "outside.txt"
    path.write_text("secret")
    return str(path)


def test_the_kernel_offers_landlock_and_seccomp_here():
    assert STATUS.landlock_abi >= 1 and STATUS.seccomp and STATUS.reason == ""


@pytest.mark.parametrize("probe, target", [
    ("read", BANK_FILE), ("read", "OUTSIDE"), ("listdir", str(bank.BANK_DIR)), ("write", "OUTSIDE"),
    ("write", "/tmp/mlpkit-confine-escape.txt"), ("mkdir", "OUTSIDE.d"), ("remove", "OUTSIDE"), ("rename", "OUTSIDE"),
    ("rename_in", "OUTSIDE"), ("link_in", "OUTSIDE"), ("proc_root", BANK_FILE), ("chmod", "OUTSIDE"),
])
def test_files_outside_the_working_folder_are_out_of_reach(worker, outside, probe, target):
    report = worker(_confined, probe, target.replace("OUTSIDE", outside))
    assert report.get("errno") in (errno.EACCES, errno.EPERM, errno.EXDEV), report
    assert open(outside).read() == "secret" and os.stat(outside).st_mode & 0o777 != 0o777
    assert not os.path.exists("/tmp/mlpkit-confine-escape.txt")


def test_the_working_folder_is_writable_and_python_readable(worker):
    assert worker(_confined, "write", "WORKDIR/answer.txt")["value"] == 1
    assert worker(_confined, "read", os.__file__)["value"] > 0


@pytest.mark.parametrize(
    "probe",
    [
        "execv",
        "subprocess",
        "fork",
        "syscall_execve",
        "socket_inet",
        "socket_unix",
        "kill_parent",
        "kill_group",
        "memfd",
        "raise_limit",
        "pidfd",
        "renice",
        "immutable",
    ],
)
def test_processes_sockets_signals_and_limits_are_refused(worker, probe):
    report = worker(_confined, probe)
    if probe == "raise_limit":  # Python reports setrlimit's EPERM as a ValueError
        assert report.get("error") == "ValueError", report
    else:
        assert report.get("error") == "PermissionError" and report["errno"] == errno.EPERM, report


def test_a_thread_works_and_is_confined_too(worker, outside):
    assert worker(_confined, "thread", outside)["value"] == {"errno": errno.EACCES}
    assert worker(_confined, "thread", os.__file__)["value"]["value"] > 0


def test_a_signal_to_itself_works(worker):
    assert "error" not in worker(_confined, "kill_self")


def test_tensorflow_works_when_confined(worker):
    assert worker(_confined, "tensorflow")["value"] == [2.0, 9.0, 6.0]


def test_confining_takes_milliseconds(worker):
    seconds = statistics.median(worker(_confined, "nothing")["seconds"] for _ in range(20))
    print(f"\nconfine(): median {seconds * 1000:.1f} ms of CPU time per child")
    assert seconds < 0.5


# -- through the sandbox -------------------------------------------------------------

# What the audit hook lets through, and the kernel does not.
HOSTILE = [
    ("<list the bank>", f"import os\nos.listdir({str(bank.BANK_DIR)!r})\n"),
    ("<signal the grader>", "import os, signal\nsignal.pidfd_send_signal(os.pidfd_open(os.getppid()), 0)\n"),
    ("<read the bank>", f"import io\nraise RuntimeError(io.FileIO({BANK_FILE!r}).read()[:40])\n"),
]


def _run(cells, chapters, limits):
    return sandbox.run(cells, units.plan(bank.load_exercises(chapters)), limits=limits)


def test_a_confined_submission_gets_nothing_and_its_answers_still_count(worker):
    raw = worker(_run, HOSTILE + bank.reference_cells(["gradients"]), ["gradients"], sandbox.Limits())
    assert raw["cells"]["<list the bank>"].startswith("PermissionError")
    assert raw["cells"]["<signal the grader>"].startswith("PermissionError")
    assert raw["cells"]["<read the bank>"].startswith("PermissionError")
    assert len(raw["cells"]) == 3, raw["cells"]
    assert raw["exercises"] and all(
        "outcomes" in result and not any("error" in o for o in result["outcomes"])
        for result in raw["exercises"].values()
    ), raw["exercises"]


def _run_unavailable(limits):
    available, confine.available = confine.available, lambda: False
    try:
        return _run([("<cell>", "x = 1\n")], ["perceptron"], limits)
    except RuntimeError as error:
        return f"RuntimeError: {error}"
    finally:
        confine.available = available


def test_without_kernel_confinement_the_sandbox_refuses_unless_told_otherwise(worker):
    refused = worker(_run_unavailable, sandbox.Limits())
    assert refused.startswith("RuntimeError") and "Landlock" in refused and "kernel_guard" in refused
    weaker = worker(_run_unavailable, sandbox.Limits(kernel_guard=False))
    assert isinstance(weaker, dict) and not weaker["cells"]  # run with the audit hook alone


def test_a_child_that_cannot_be_confined_runs_nothing(worker):
    report = worker(_run_broken)
    assert not report["cells"]
    assert all("confinement failed" in result["error"] for result in report["exercises"].values()), report


def _run_broken():
    def broken(workdir, readable):
        raise OSError(errno.EINVAL, "landlock_restrict_self")

    original, confine.confine = confine.confine, broken
    try:
        return _run([("<cell>", "raise RuntimeError('ran')\n")], ["perceptron"], sandbox.Limits())
    finally:
        confine.confine = original


FORGER = """
import os, time
for _ in range(40):  # 10 s of forged progress messages on every descriptor the child might hold
    for fd in range(3, 64):
        for message in (b'{"loaded": true}\\n', b'{"cell": 0}\\n'):
            try:
                os.write(fd, message)
            except OSError:
                pass
    time.sleep(0.25)
"""


def _timed_run(cells, chapters, limits):
    start = time.monotonic()
    raw = _run(cells, chapters, limits)
    return raw, time.monotonic() - start


def test_forged_progress_messages_buy_no_time(worker):
    """Progress messages restart the per-step clock only in order: forging them ends the step early, never late.

    Forged messages that bought time would let the forger run its 10 s loop, past the 4 s wall-clock backstop of
    its 1 s limit of CPU time (it mostly sleeps). Its run is timed against a cell that only sleeps past the same
    backstop, in the same worker: a ratio, whatever the load."""
    limits = sandbox.Limits(seconds=1, total_seconds=120)
    _, sleeper = worker(_timed_run, [("<sleep>", "import time\ntime.sleep(10)\n")], ["perceptron"], limits)
    raw, forger = worker(
        _timed_run,
        [("<forge>", FORGER), ("<after>", "y = 2\n")],
        ["perceptron"],
        limits,
    )
    assert raw["cells"]["<forge>"] == "wrote to the grader's channel" or sandbox.WALL_CLOCK in raw["cells"]["<forge>"]
    assert "<after>" not in raw["cells"]  # the next cell still runs, in a fresh child
    assert forger < 2 * sleeper, f"the forger ran {forger:.1f} s, the sleeper {sleeper:.1f} s, both limited to 3 s"
