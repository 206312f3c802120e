"""Checks for graded exercises: what to call, and how to judge what came back.

An exercise is checked by behaviour. Each check is a :class:`Call`: call the
student's function (or read a variable) by name with given arguments, and
compare the value it returns with the reference solution's value, or test it
with a named predicate (e.g. "these weights compute NAND"). Calls are plain
data (`mlpkit.grading.calls`): the grader makes them inside the submission's
confined process (`mlpkit.grading.child`), brings back only the values, encoded
as JSON, and judges them here, in a process the submission never touches. No
worker that forks a submission's process imports this module, and nothing in
it imports TensorFlow.

The checks of each chapter live beside its exercises in
``exercises/CHAPTER_checks.py``; public checks are what a student's
self-check runs, and their messages are all a student ever sees of a check.
"""

import dataclasses
import math

import numpy as np

# The calls and the encoding of values are shared with the submission's process; the rest of this module is not.
from mlpkit.grading.calls import (  # noqa: F401
    MAX_EXCEPTION_CLASSES,
    Call,
    ModelDescription,
    ModelRun,
    Tensor,
    ValueEncodingError,
    decode,
    decode_args,
    encode,
    encode_args,
)


@dataclasses.dataclass
class Exercise:
    name: str
    chapter: str
    points: float
    title: str
    calls: list

    @property
    def public_calls(self):
        return [call for call in self.calls if call.public]


# -- judging, in the grader's process -------------------------------------------

def _as_array(value, what="the value"):
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is not a number array ({type(value).__name__})") from None
    return array


def _allclose(value, reference, call):
    """The shape of the reference's value, and values within ``rtol`` and ``atol`` of it (element by element for a
    tuple of arrays); with ``options["dtype"]``, that dtype too."""
    if isinstance(reference, (tuple, list)):  # e.g. (grad_w, grad_b, grad_x): element by element
        if not isinstance(value, (tuple, list)) or len(value) != len(reference):
            return False, f"expected a tuple of {len(reference)} arrays"
        for index, (got, want) in enumerate(zip(value, reference)):
            ok, detail = _allclose(got, want, call)
            if not ok:
                return False, f"item {index}: {detail}"
        return True, ""
    dtype = call.options.get("dtype")
    if dtype and np.asarray(value).dtype != np.dtype(dtype):
        return False, f"dtype {np.asarray(value).dtype}, expected {dtype}"
    got, want = _as_array(value), _as_array(reference, "the reference")
    if got.shape != want.shape:
        return False, f"shape {got.shape}, expected {want.shape}"
    if not np.all(np.isfinite(got)):
        return False, "the result contains NaN or infinity"
    if not np.allclose(got, want, rtol=call.rtol, atol=call.atol):
        return False, _differ(np.asarray(value).dtype, got, want, call)
    return True, ""


def _differ(dtype, got, want, call):
    """Why ``got`` (the student's, of ``dtype``) is not close to ``want``: the student's value where they differ
    most, beside the expected one only for a public check (whose expected value the student has anyway), and
    whether the dtype alone explains it: float32 cannot meet a tolerance below its own precision."""
    tolerance = f"rtol={call.rtol:g}, atol={call.atol:g}"
    if dtype.kind == "f" and np.finfo(dtype).eps > call.rtol and np.allclose(got, want, rtol=4 * np.finfo(dtype).eps,
                                                                              atol=max(call.atol, 1e-30)):
        return (f"your value is {dtype}; compared with {tolerance} it needs float64: "
                "return a Python float or float64 (compute in float64, and do not cast to float32)")
    if got.ndim:
        worst = np.unravel_index(np.argmax(np.abs(got - want) - call.rtol * np.abs(want)), got.shape)
        where, mine, theirs = f" at index {tuple(int(i) for i in worst)}", got[worst], want[worst]
    else:
        where, mine, theirs = "", got, want
    shown = f"got {mine:.10g}" + (f", expected {theirs:.10g}" if call.public else "")
    return f"values differ beyond {tolerance}{where}: {shown}"


def _exact(value, reference, call):
    """The reference's shape, dtype and values exactly: for answers that are truly discrete, such as 0/1 outputs."""
    got, want = np.asarray(value), np.asarray(reference)
    if got.shape != want.shape:
        return False, f"shape {got.shape}, expected {want.shape}"
    if got.dtype != want.dtype:
        return False, f"dtype {got.dtype}, expected {want.dtype}"
    if not np.array_equal(got, want):
        return False, "values differ"
    return True, ""


# A weighted sum within this fraction of its terms' size of 0 is 0, as in exact arithmetic: weights such as
# w = (-0.1, -0.2), b = 0.3 put (1, 1) on the boundary, where step(0) = 0, whatever the rounding.
BOUNDARY = 1e-6


def _step(z, scale):
    """1 where ``z`` is above 0 by more than rounding (``BOUNDARY * scale``), else 0."""
    return (np.asarray(z, dtype=float) > BOUNDARY * scale).astype(float)


def _computes_gate(value, reference, call):
    """``value`` is ``(w, b)`` for a step perceptron on two inputs; it must compute ``options["table"]``."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return False, "expected a pair (w, b)"
    w, b = (_as_array(part) for part in value)
    if w.size != 2 or b.size != 1:
        return False, f"w needs 2 numbers and b one; got {w.size} and {b.size}"
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
        return False, "the weights are not finite"
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    out = _step(inputs @ w.reshape(2) + b.reshape(()), np.abs(w).sum() + np.abs(b).sum())
    table = np.asarray(call.options["table"], dtype=float)
    if not np.array_equal(out, table):
        return (
            False,
            f"on (0,0), (0,1), (1,0), (1,1) it gives {out.astype(int).tolist()}, expected {table.astype(int).tolist()}",
        )
    return True, ""


def _computes_network(value, reference, call):
    """``value`` is ``(w1, b1, w2, b2)`` of a two-layer step network on two inputs computing ``options["table"]``."""
    if not isinstance(value, (tuple, list)) or len(value) != 4:
        return False, "expected four arrays (w1, b1, w2, b2)"
    w1, b1, w2, b2 = (_as_array(part) for part in value)
    if w1.ndim != 2 or w1.shape[0] != 2:
        return False, f"w1 must have shape (2, hidden); got {w1.shape}"
    hidden = w1.shape[1]
    if b1.size != hidden or w2.size != hidden or b2.size != 1:
        return False, f"with {hidden} hidden units: b1 needs {hidden} numbers, w2 shape ({hidden}, 1), b2 one number"
    if not all(np.all(np.isfinite(part)) for part in (w1, b1, w2, b2)):
        return False, "the weights are not finite"
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    b1, w2 = b1.reshape(1, hidden), w2.reshape(hidden, 1)
    h = _step(inputs @ w1 + b1, np.abs(w1).sum(axis=0) + np.abs(b1))
    out = _step(h @ w2 + b2.reshape(1, 1), np.abs(w2).sum() + np.abs(b2).sum()).ravel()
    table = np.asarray(call.options["table"], dtype=float)
    if not np.array_equal(out, table):
        return (
            False,
            f"on (0,0), (0,1), (1,0), (1,1) it gives {out.astype(int).tolist()}, expected {table.astype(int).tolist()}",
        )
    return True, ""


def _integer(value, reference, call):
    """Whole numbers (a count, or a tuple of epoch numbers) equal to the reference's, in any integer type."""
    try:
        got = np.asarray(value)
    except ValueError:
        got = np.asarray(None)
    want = np.asarray(reference)
    whole = got.dtype.kind in "iu" or (
        got.dtype.kind == "f" and bool(np.all(np.isfinite(got) & (got == np.round(got))))
    )
    if not whole or got.shape != want.shape:
        return (
            False,
            f"expected {'a whole number' if want.shape == () else f'{want.size} whole numbers'}, got {value!r:.60}",
        )
    if not np.array_equal(got.astype(np.int64), want.astype(np.int64)):
        return False, "wrong count" if want.shape == () else f"got {got.astype(np.int64).tolist()}"
    return True, ""


def _model(value, call):
    """``(description, "")`` of a model that ran on the probe (see :func:`encode`), or ``(None, why not)``.
    Only a real ``keras.Model`` comes back as a :class:`ModelRun`; a dict that describes one is a dict."""
    if isinstance(value, ModelDescription):
        return None, value.get("error") or "the model could not be run"
    if not isinstance(value, ModelRun):
        got = "a dict that describes one" if isinstance(value, dict) else f"a {type(value).__name__}"
        return None, f"expected a Keras model (a keras.Model), got {got}"
    if int(value["parameters"]) != call.options["parameters"]:
        return None, f"{int(value['parameters']):,} parameters, expected {call.options['parameters']:,}"
    if "probe_error" in value:
        return None, f"it could not run with the check's weights on (n, 28, 28) images: {value['probe_error']}"
    return value, ""


def _model_outputs(value, reference, call):
    """A Keras model with ``options["parameters"]`` parameters, given the probe's weights, gives the reference's
    outputs in inference mode."""
    model, detail = _model(value, call)
    if model is None:
        return False, detail
    ok, detail = _allclose(model["inference"], reference["inference"], call)
    return ok, "" if ok else f"in inference mode, with the check's weights: {detail}"


def _model_dropout(value, reference, call):
    """Over many passes in training mode, each output's mean and spread (standard deviation) match the
    reference's within the relative distances ``options["mean"]`` and ``options["spread"]``, set well
    above those between two runs of the reference (the dropout masks are random)."""
    model, detail = _model(value, call)
    if model is None:
        return False, detail
    mean, spread = _as_array(model["training_mean"]), _as_array(model["training_std"])
    want_mean, want_spread = _as_array(reference["training_mean"]), _as_array(reference["training_std"])
    if mean.shape != want_mean.shape:
        return False, f"outputs of shape {mean.shape}, expected {want_mean.shape}"
    rates = [round(float(rate), 6) for rate in model["dropout"]]
    if np.linalg.norm(spread) <= 1e-3 * np.linalg.norm(want_spread):
        return (
            False,
            "in training mode its outputs do not change from pass to pass: "
            f"no dropout is active (Dropout rates {rates})",
        )
    spread_gap = np.linalg.norm(spread - want_spread) / np.linalg.norm(want_spread)
    mean_gap = np.linalg.norm(mean - want_mean) / np.linalg.norm(want_mean)
    if spread_gap > call.options["spread"] or mean_gap > call.options["mean"]:
        return False, (
            f"in training mode its outputs vary differently (spread {spread_gap:.0%} off, allowed "
            f"{call.options['spread']:.0%}; mean {mean_gap:.1%} off, allowed {call.options['mean']:.1%}): "
            f"a Dropout layer is missing, misplaced or has another rate (its Dropout rates: {rates})"
        )
    return True, ""


def _traced_calls(value, reference, call):
    """What the submission's process brings back for ``options["calls"]`` (`mlpkit.grading.child`): the returned
    function's output after each call, each as ``allclose`` with the reference's, and its number of traces,
    which must be at least 1 (a ``tf.function`` that ran) and at most ``options["traces"]``."""
    if not isinstance(value, dict) or not isinstance(value.get("outputs"), list):
        return False, "expected the outputs of the function it returns"
    outputs, wanted = value["outputs"], reference["outputs"]
    if len(outputs) != len(wanted):
        return False, f"{len(outputs)} outputs for {len(wanted)} calls"
    for number, (got, want) in enumerate(zip(outputs, wanted), 1):
        ok, detail = _allclose(got, want, call)
        if not ok:
            return False, f"call {number} of {len(wanted)}: {detail}"
    traces, limit = value.get("traces"), call.options["traces"]
    if traces is None:
        return False, "the function it returns is not a tf.function (it has no experimental_get_tracing_count)"
    count = np.asarray(traces) if isinstance(traces, np.ndarray) else np.asarray(None)
    if count.shape != () or count.dtype.kind not in "iu":
        return False, f"its experimental_get_tracing_count() gave {traces!r:.40}, not a whole number"
    if not 1 <= int(count) <= limit:
        return False, (
            f"right values, but traced {int(count)} times in {len(wanted)} calls (at most {limit} allowed): "
            "each new shape or dtype of a tensor argument, and each new value of a Python argument, "
            "makes a new trace"
        )
    return True, ""


def _stratified_folds(value, reference, call):
    """``value`` is k index arrays (``call.args``: the labels, then k) that together hold every example once,
    each fold holding ``floor(n_c / k)`` or ``ceil(n_c / k)`` of the ``n_c`` examples of each class ``c``.
    Any such split passes: the reference's own split (another seed, another shuffle) is not compared."""
    labels = np.asarray(call.args[0]).ravel().astype(np.int64)
    k, n = int(np.asarray(call.args[1])), len(np.asarray(call.args[0]).ravel())
    if isinstance(value, np.ndarray) and value.ndim == 2:  # k folds of equal size, as one array
        value = list(value)
    if not isinstance(value, (list, tuple)):
        return False, f"expected a list of k = {k} index arrays, got {type(value).__name__}"
    if len(value) != k:
        return False, f"{len(value)} folds, expected k = {k}"
    seen, folds = np.zeros(n, dtype=np.int64), []
    for number, fold in enumerate(value, 1):
        try:
            index = np.asarray(fold)
        except ValueError:
            return False, f"fold {number} is not an array of indices"
        if index.ndim != 1 or (index.size and index.dtype.kind not in "iu"):
            return (
                False,
                f"fold {number}: expected a 1-D array of whole-number indices, "
                f"got {index.dtype} of shape {index.shape}",
            )
        index = index.astype(np.int64)
        if index.size and (index.min() < 0 or index.max() >= n):
            return False, f"fold {number}: indices must be from 0 to {n - 1} (one per example)"
        np.add.at(seen, index, 1)
        folds.append(index)
    if np.any(seen > 1):
        return (
            False,
            f"example {int(np.argmax(seen > 1))} is in {int(seen.max())} folds; each example belongs to exactly one",
        )
    if np.any(seen == 0):
        return (
            False,
            f"{int(np.sum(seen == 0))} of the {n} examples are in no fold (e.g. example {int(np.argmax(seen == 0))})",
        )
    classes, totals = np.unique(labels, return_counts=True)
    for number, index in enumerate(folds, 1):
        for label, total in zip(classes, totals):
            count = int(np.sum(labels[index] == label))
            low, high = total // k, -(-total // k)
            if not low <= count <= high:
                allowed = f"{low}" if low == high else f"{low} or {high}"
                return False, (
                    f"fold {number} has {count} examples of class {label}; with {total} in all and k = {k}, "
                    f"each fold should have {allowed}: not stratified"
                )
    return True, ""


def _uniform_weights(value, reference, call):
    """Random weights judged by their statistics: ``options["shape"]`` and ``["dtype"]``, every value within
    ``±options["limit"]``, and mean, variance (``options["variance"]``) and kurtosis those of a uniform
    distribution on that range within ``options.get("sigmas", 6)`` standard deviations of their sampling error."""
    options = call.options
    got = np.asarray(value) if isinstance(value, np.ndarray) else None
    if got is None or got.dtype.kind not in "iuf":
        return False, f"expected an array of numbers, got {type(value).__name__}"
    if list(got.shape) != list(options["shape"]):
        return False, f"shape {got.shape}, expected {tuple(options['shape'])}"
    if got.dtype != np.dtype(options["dtype"]):
        return False, f"dtype {got.dtype}, expected {options['dtype']}"
    w = got.astype(np.float64)
    if not np.all(np.isfinite(w)):
        return False, "the weights contain NaN or infinity"
    limit, variance, sigmas, n = options["limit"], options["variance"], options.get("sigmas", 6.0), w.size
    if np.abs(w).max() > limit * (1 + 1e-6):
        return False, f"a weight of {np.abs(w).max():.4g} lies outside ±{limit:.4g}"
    if abs(w.mean()) > sigmas * limit / np.sqrt(3 * n):
        return False, f"their mean, {w.mean():.3g}, is too far from 0"
    second = float(np.mean(w**2))
    # U(-a, a): the sample mean of w^2 has relative standard deviation sqrt(0.8 / n), the kurtosis about 1.15 / sqrt(n)
    if abs(second / variance - 1) > sigmas * np.sqrt(0.8 / n):
        return False, f"their variance is {second:.4g}, expected {variance:.4g}"
    if second == 0 or abs(float(np.mean(w**4)) / second**2 - 1.8) > sigmas * 1.15 / np.sqrt(n):
        return False, "they are not spread as a uniform distribution is (is it another distribution?)"
    return True, ""


PREDICATES = {
    "uniform_weights": _uniform_weights,
    "allclose": _allclose,
    "exact": _exact,
    "computes_gate": _computes_gate,
    "computes_network": _computes_network,
    "integer": _integer,
    "model_outputs": _model_outputs,
    "model_dropout": _model_dropout,
    "traced_calls": _traced_calls,
    "stratified_folds": _stratified_folds,
}


def _raised(call, outcome):
    """A call that expects an exception (``call.raises``): passed if the outcome is an error whose classes
    (sent by the submission's process, its own first) include that name."""
    if "error" not in outcome:
        return False, f"returned a value; expected it to raise {call.raises}"
    if call.raises in outcome.get("raised", []):
        return True, ""
    return False, f"{outcome['error']} (expected {call.raises})"


def _seeded(value):
    """The three values of an ``options["seed"]`` call (`mlpkit.grading.child`): as given, again, another seed."""
    if not isinstance(value, dict) or set(value) != {"value", "same_seed", "other_seed"}:
        raise ValueError("expected the values of three calls")
    return value["value"], value["same_seed"], value["other_seed"]


def _same(one, two):
    """Whether two decoded values are identical: the same structure, shapes, dtypes and numbers."""
    if isinstance(one, (list, tuple)) or isinstance(two, (list, tuple)):
        return (type(one) is type(two) and len(one) == len(two)) and all(map(_same, one, two))
    if isinstance(one, dict) or isinstance(two, dict):
        return type(one) is type(two) and one.keys() == two.keys() and all(_same(one[k], two[k]) for k in one)
    if isinstance(one, np.ndarray) or isinstance(two, np.ndarray):
        return (isinstance(one, np.ndarray) and isinstance(two, np.ndarray) and one.dtype == two.dtype
                and np.array_equal(one, two, equal_nan=one.dtype.kind == "f"))
    return type(one) is type(two) and one == two


def _deterministic(first, again, other, call):
    """Same seed, same value; another seed, another value (``options["seed"]``)."""
    if not _same(again, first):
        return False, (
            "called twice with the same seed it returned different values: draw from a generator made "
            "from the seed argument, not from an unseeded or shared one"
        )
    if _same(other, first):
        return False, "another seed gave the same values: the result must depend on the seed argument"
    return True, ""


def judge(call, outcome, reference=None):
    """``(passed, detail)`` for one call's outcome (``{"value": ...}`` or ``{"error": ...}``) against the reference
    value.

    ``detail`` may describe the student's own value or error; the reference's value only for a public check,
    whose expected value the student's ``checks.json`` holds anyway.
    """
    if call.raises:
        return _raised(call, outcome)
    if "error" in outcome:
        return False, outcome["error"]
    try:
        value = decode(outcome["value"])
        seeded = call.options.get("seed") is not None
        if seeded:
            (value, again, other), reference = _seeded(value), None if reference is None else _seeded(reference)[0]
        passed, detail = PREDICATES[call.compare](value, reference, call)
        if not passed:  # a known mistake gets its hint
            for mistake in call.options.get("mistakes", []):
                if _allclose(value, decode(mistake["value"]), call)[0]:
                    return False, mistake["hint"]
        if passed and seeded:
            return _deterministic(value, again, other, call)
        return passed, detail
    except Exception as error:  # the value is the submission's: whatever it breaks fails this check only
        return False, f"could not check the value: {type(error).__name__}: {str(error)[:200]}"


def score(points, passed, checks):
    """Points for ``passed`` of ``checks`` checks of an exercise worth ``points``: in proportion, to 2 decimals."""
    return math.floor(points * passed / checks * 100 + 1e-9) / 100
