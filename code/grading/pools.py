"""The grading processes: the server the workers are forked from, the pools of workers, and the runs of the
Keras models submissions return.

Every process here is forked from one server that imported TensorFlow and nothing else of the kit's
(`mlpkit.grading.preloaded`), started with the kit's own small environment; each worker grades one submission
(or runs one submission's models) and ends. `mlpkit.grading.grader` grades with them.
"""

import contextlib
import multiprocessing
import os
import signal
import sys

from mlpkit.grading import models, worker
from mlpkit.runs import interrupts


def server_environment():
    """The whole environment of the grading processes and so of every submission's: the kit's choice, never the
    caller's, which may hold tokens and keys (an LMS's API token, a cloud's secret key)."""
    import tempfile

    temporary = tempfile.gettempdir()
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": temporary, "TMPDIR": temporary,
            "KERAS_HOME": os.path.join(temporary, ".keras"), "KERAS_BACKEND": "tensorflow",
            "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONDONTWRITEBYTECODE": "1"}


def _start_server(context):
    """Start the server the workers are forked from, with :func:`server_environment` as its whole environment: the
    caller's is never in its memory, nor in any process forked from it."""
    from multiprocessing import forkserver

    context.set_forkserver_preload(["mlpkit.grading.preloaded"])  # taken when the server starts, once per process
    caller = dict(os.environ)
    os.environ.clear()
    os.environ.update(server_environment())
    try:
        with interrupts.blocked(), _silenced_stderr():  # the server, and each worker it forks, ignores Ctrl-C
            forkserver.ensure_running()
    finally:
        os.environ.clear()
        os.environ.update(caller)


@contextlib.contextmanager
def _silenced_stderr():
    """Standard error pointed at /dev/null while the server starts, so that it and every process it forks write
    nothing to the terminal: they report to the grader through their pool only (what a worker would print as it
    starts while an interrupted grader is ending would bury the grader's one line)."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def stop_server():
    """End the server the workers are forked from, and wait until it has (each pool has already waited for its
    workers, and each worker's submission process and working folder end with it): a command that grades calls
    this last, so that it exits only when every process it started has ended."""
    from multiprocessing import forkserver

    server = forkserver._forkserver  # the module's own instance (private; used by multiprocessing's own tests)
    if interrupts.signalled() is not None and server._forkserver_pid is not None:
        # Ctrl-C or SIGTERM: no waiting for a server still importing TensorFlow; its workers end with it
        with contextlib.suppress(OSError):
            os.kill(server._forkserver_pid, signal.SIGKILL)
    server._stop()


def worker_pool(size):
    """A pool of ``size`` grading workers (`mlpkit.grading.worker`). Each is forked from a server process that has
    imported TensorFlow once (`mlpkit.grading.preloaded`) and nothing else of the kit's, started with the kit's own
    environment (:func:`server_environment`): a worker never imports this module or the checks and never holds an
    expected value. Each worker grades one submission and ends (``max_tasks_per_child=1``), so a submission's
    process, forked from its worker, starts from a process that has never held another submission's code, values
    or results. Each worker dies with that server, which ends with this process
    (:func:`mlpkit.grading.worker.start`), and each submission's child with its worker."""
    context = multiprocessing.get_context("forkserver")
    _start_server(context)
    # Left by Ctrl-C or SIGTERM, the pool ends its workers at once; each first ends its submission's process and
    # removes its working folder (worker.start), within the grace given.
    return interrupts.Pool(size, mp_context=context, initializer=worker.start, max_tasks_per_child=1, grace=1.0)


def run_models(raw, exercises, here=False):
    """``raw`` (a run's result) with each Keras model a call returned rebuilt from its architecture and run on the
    call's probe by the kit's own code (`mlpkit.grading.models`), in a grading worker of its own (``here``: in this
    process, which must fork no submission afterwards). Nothing in ``raw`` is trusted: what is not in the form a run
    has is left for `mlpkit.grading.units.validated` to refuse."""
    results = raw.get("exercises") if isinstance(raw, dict) else None
    found = []
    for exercise in exercises if isinstance(results, dict) else []:
        outcomes = results.get(exercise.name, {}).get("outcomes") if isinstance(results.get(exercise.name), dict) else 0
        for index, (call, outcome) in enumerate(zip(exercise.calls, outcomes or [])):
            value = outcome.get("value") if isinstance(outcome, dict) else None
            if isinstance(value, dict) and set(value) == {"keras_model"} and isinstance(value["keras_model"], dict):
                found.append((outcomes, index, value["keras_model"], call.options.get("probe") or {}))
    if not found:
        return raw
    items = [(spec.get("config"), probe) for _, _, spec, probe in found]
    try:
        if here:
            ran = models.run_configs(items, limit_memory=False)
        else:
            with worker_pool(1) as pool:
                ran = pool.submit(models.run_configs, items).result()
    except Exception as error:  # the process running them died (a model that took all its memory, say)
        ran = [{"error": f"the model could not be run ({type(error).__name__})"}] * len(found)
    for (outcomes, index, spec, _), result in zip(found, ran):
        outcomes[index] = {"error": spec["error"]} if isinstance(spec.get("error"), str) else result
    return raw
