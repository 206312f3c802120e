"""TensorFlow without its start-up log lines.

Importing TensorFlow on a machine without a GPU writes a burst of C++ log lines to the
process's standard error before TensorFlow's own logging is set up, so
``TF_CPP_MIN_LOG_LEVEL`` cannot hold all of them back::

    WARNING: All log messages before absl::InitializeLog() is called are written to
    STDERR
    I0000 00:00:... cudart_stub.cc:31] Could not find cuda drivers on your machine, ...
    E0000 00:00:... cuda_platform.cc:52] failed call to cuInit: ...

They say nothing is wrong (a CPU-only machine has no CUDA driver), yet a student reads
red text as a failure. :func:`import_tensorflow` imports TensorFlow and lets it find its
devices (the second burst comes then) with the process's file descriptor 2 pointed at a
temporary file, then passes on every line that is not such a log line. Call it first,
before anything imports TensorFlow; after that, ``import tensorflow as tf`` is silent.

TensorFlow's Python logger (``tf.get_logger()``) is set to show errors only. A warning a
lesson wants to show, such as chapter 5's retracing warning, is collected with
:func:`tensorflow_warnings` and printed by the lesson itself.
"""

import contextlib
import logging
import os
import re
import sys
import tempfile

# absl's C++ log line: level letter, MMDD, time (00:00:SECONDS before logging is set
# up), thread, file:line]
_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] ")
# the format of TensorFlow's own C++ logging (2.16 and older): date, time: level
# file:line]
_TSL_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w./-]+:\d+\] ")
_NOISE = (
    _LOG_LINE,
    _TSL_LINE,
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called"),
    # rest of a cpu_feature_guard line
    re.compile(r"^To enable the following instructions: .*rebuild TensorFlow"),
)


def is_log_line(line):
    """Whether ``line`` is one of TensorFlow's C++ start-up log lines (see the module
    docstring)."""
    return any(pattern.match(line) for pattern in _NOISE)


# What else must never reach a reader: Keras's download chatter and TensorFlow's Python
# log records.
_LEAKS = (
    re.compile(r"^Downloading data from "),
    re.compile(r"^(INFO|WARNING|ERROR):(tensorflow|absl):"),
)


def leaked_lines(text):
    """The lines of ``text`` (a page, a notebook output, a command's output) that no
    reader should see."""
    return [
        line
        for line in text.splitlines()
        if is_log_line(line.strip()) or any(p.match(line.strip()) for p in _LEAKS)
    ]


def without_log_lines(text):
    """``text`` without TensorFlow's start-up log lines and blank lines."""
    return "\n".join(
        line for line in text.splitlines() if line.strip() and not is_log_line(line)
    )


@contextlib.contextmanager
def _stderr_to(handle):
    """Point file descriptor 2 (what C++ code writes to) at ``handle`` while the block
    runs."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(handle.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow(compile_xla=True):
    """Import TensorFlow and initialise its devices without its start-up log lines;
    return the module.

    With ``compile_xla`` it also compiles a one-line function with XLA, since TensorFlow
    before 2.21 logs XLA's start ("XLA service ... initialized", "Compiled cluster using
    XLA!") at the first compilation of a process (about 0.1 s). That runs an operation,
    which a process that will fork must not do (see ``mlpkit.grading.sandbox``): it
    passes ``compile_xla=False``.

    Lines on standard error that are not TensorFlow's log lines (a real error message,
    say) are written to ``sys.stderr`` afterwards. Safe to call more than once, and
    after a plain ``import tensorflow``: the import's own lines are out by then, but the
    device probe's, which come at the first use of a device, are still held back.
    """
    # INFO and WARNING lines after start-up
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryFile(mode="w+b") as captured:
        try:
            with _stderr_to(captured):
                import tensorflow as tf

                # the CUDA probe logs here, not at import
                tf.config.list_physical_devices()
                if compile_xla:
                    tf.function(lambda v: v + 1.0, jit_compile=True, autograph=False)(
                        tf.zeros([1])
                    )
        finally:  # also when the import fails: what it said about why is passed on
            captured.seek(0)
            kept = without_log_lines(captured.read().decode("utf-8", errors="replace"))
            if kept:
                print(kept, file=sys.stderr)
    tf.get_logger().setLevel(logging.ERROR)
    return tf


@contextlib.contextmanager
def errors_only():
    """TensorFlow's Python logger says only errors in the block (its level is restored
    after).

    For code that retraces by design (a fresh ``tf.function`` per trainer, Keras's
    predict function per split size), where the "retracing" warning would only distract.
    """
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def tensorflow_warnings():
    """Collect the warnings TensorFlow's Python logger emits in the block; yields the
    list of messages.

    The messages are not printed: the caller shows the ones it teaches.
    """
    logger = logging.getLogger("tensorflow")
    handler, level, propagate = _Collect(), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    # tf.get_logger() prints through its own handler; collect instead of printing
    others = [h for h in logger.handlers if h is not handler]
    for other in others:
        logger.removeHandler(other)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        for other in others:
            logger.addHandler(other)
        logger.setLevel(level)
        logger.propagate = propagate
