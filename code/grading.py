"""Checks for graded exercises: what to call, and how to judge what came back.

An exercise is checked by behaviour. Each check is a :class:`Call`: call the
student's function (or read a variable) by name with given arguments, and
compare the value it returns with the reference solution's value, or test it
with a named predicate (e.g. "these weights compute NAND"). Calls are plain
data: the grader runs them inside the submission's process
(`mlpkit.sandbox`), brings back only the values, encoded as JSON, and judges
them here, in a process the submission never touches. Nothing in this module
imports TensorFlow.

The checks of each chapter live beside its exercises in
``code/exercise_bank/CHAPTER_checks.py``; public checks are what a student's
self-check runs, and their messages are all a student ever sees of a check.
"""

import dataclasses
import math

import numpy as np


@dataclasses.dataclass
class Tensor:
    """An argument the submission receives as a ``tf.constant`` (made inside its process)."""

    value: object
    dtype: str = "float32"

    def array(self):
        return np.asarray(self.value, dtype=self.dtype)


@dataclasses.dataclass
class Call:
    """One check: call ``name(*args, **kwargs)`` (or read the variable ``name``) and judge the value.

    ``compare`` is ``"allclose"`` (shape, then values within ``rtol``/``atol``),
    ``"exact"`` (shape, dtype and values), or the name of a predicate in
    :data:`PREDICATES`, given ``options``. ``message`` is shown to the student
    when a public check fails; hidden checks are reported only as a count.
    """

    name: str
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    variable: bool = False
    public: bool = False
    compare: str = "allclose"
    rtol: float = 1e-5
    atol: float = 1e-6
    options: dict = dataclasses.field(default_factory=dict)
    message: str = ""


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


class ValueEncodingError(TypeError):
    """A returned value the grader cannot carry out of the submission's process."""


# -- values across the process boundary: JSON only (never pickle: the other side is untrusted) --

def encode(value, depth=0):
    """A returned value as JSON-safe data: arrays, numbers, booleans, strings, None, and lists/tuples/dicts of them."""
    if depth > 20:
        raise ValueEncodingError("the value is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"number": float(value) if isinstance(value, float) or abs(value) > 2**53 else int(value)}
    if isinstance(value, (list, tuple)):
        return {"sequence": [encode(item, depth + 1) for item in value], "tuple": isinstance(value, tuple)}
    if isinstance(value, dict):
        return {"mapping": {str(key): encode(item, depth + 1) for key, item in value.items()}}
    if hasattr(value, "count_params") and hasattr(value, "layers"):  # a Keras model: described, not carried
        return encode({"parameters": int(value.count_params()), "layers": [type(layer).__name__ for layer in value.layers],
                       "dropout": [float(layer.rate) for layer in value.layers if hasattr(layer, "rate")]}, depth + 1)
    if hasattr(value, "numpy") and callable(value.numpy):  # tf.Tensor, tf.Variable
        value = value.numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise ValueEncodingError(f"an array of {array.dtype} is not a number array")
        if array.size > 1_000_000:
            raise ValueEncodingError(f"an array of {array.size:,} numbers is far larger than any answer")
        return {"array": array.astype(float).ravel().tolist() if array.dtype.kind == "f" else array.ravel().tolist(),
                "dtype": str(array.dtype), "shape": list(array.shape)}
    raise ValueEncodingError(f"returned a {type(value).__module__}.{type(value).__name__}, not numbers or arrays")


def decode(data):
    """The inverse of :func:`encode`: arrays come back as NumPy arrays, numbers as NumPy scalars."""
    if data is None or isinstance(data, (bool, str)):
        return data
    if not isinstance(data, dict):
        raise ValueEncodingError(f"malformed value {data!r:.60}")
    if "number" in data:
        return np.asarray(data["number"])
    if "sequence" in data:
        items = [decode(item) for item in data["sequence"]]
        return tuple(items) if data.get("tuple") else items
    if "mapping" in data:
        return {key: decode(item) for key, item in data["mapping"].items()}
    if "array" in data:
        return np.asarray(data["array"], dtype=data["dtype"]).reshape(data["shape"])
    raise ValueEncodingError(f"malformed value {data!r:.60}")


def encode_args(call):
    """A call's arguments as JSON (for the student's release of public checks)."""
    def one(arg):
        if isinstance(arg, Tensor):
            return {"tensor": arg.array().tolist(), "dtype": arg.dtype}
        return {"value": encode(arg)}
    return {"args": [one(arg) for arg in call.args], "kwargs": {key: one(arg) for key, arg in call.kwargs.items()}}


def decode_args(data):
    def one(arg):
        if "tensor" in arg:
            return Tensor(arg["tensor"], arg["dtype"])
        return decode(arg["value"])
    return tuple(one(arg) for arg in data["args"]), {key: one(arg) for key, arg in data["kwargs"].items()}


# -- judging, in the grader's process -------------------------------------------

def _as_array(value, what="the value"):
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is not a number array ({type(value).__name__})") from None
    return array


def _allclose(value, reference, call):
    if isinstance(reference, (tuple, list)):  # e.g. (grad_w, grad_b, grad_x): element by element
        if not isinstance(value, (tuple, list)) or len(value) != len(reference):
            return False, f"expected a tuple of {len(reference)} arrays"
        for index, (got, want) in enumerate(zip(value, reference)):
            ok, detail = _allclose(got, want, call)
            if not ok:
                return False, f"item {index}: {detail}"
        return True, ""
    got, want = _as_array(value), _as_array(reference, "the reference")
    if got.shape != want.shape:
        return False, f"shape {got.shape}, expected {want.shape}"
    if not np.all(np.isfinite(got)):
        return False, "the result contains NaN or infinity"
    if not np.allclose(got, want, rtol=call.rtol, atol=call.atol):
        worst = np.unravel_index(np.argmax(np.abs(got - want) - call.rtol * np.abs(want)), got.shape) if got.ndim else ()
        return False, f"values differ beyond rtol={call.rtol:g}, atol={call.atol:g} (e.g. at index {tuple(int(i) for i in worst)})"
    return True, ""


def _exact(value, reference, call):
    got, want = np.asarray(value), np.asarray(reference)
    if got.shape != want.shape:
        return False, f"shape {got.shape}, expected {want.shape}"
    if got.dtype != want.dtype:
        return False, f"dtype {got.dtype}, expected {want.dtype}"
    if not np.array_equal(got, want):
        return False, "values differ"
    return True, ""


def _step(z):
    return (np.asarray(z, dtype=float) > 0).astype(float)


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
    out = _step(inputs @ w.reshape(2) + b.reshape(()))
    table = np.asarray(call.options["table"], dtype=float)
    if not np.array_equal(out, table):
        return False, f"on (0,0), (0,1), (1,0), (1,1) it gives {out.astype(int).tolist()}, expected {table.astype(int).tolist()}"
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
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    out = _step(_step(inputs @ w1 + b1.reshape(1, hidden)) @ w2.reshape(hidden, 1) + b2.reshape(1, 1)).ravel()
    table = np.asarray(call.options["table"], dtype=float)
    if not np.array_equal(out, table):
        return False, f"on (0,0), (0,1), (1,0), (1,1) it gives {out.astype(int).tolist()}, expected {table.astype(int).tolist()}"
    return True, ""


def _integer(value, reference, call):
    got = np.asarray(value)
    if got.shape != () or got.dtype.kind not in "iu" and not (got.dtype.kind == "f" and float(got).is_integer()):
        return False, f"expected a whole number, got {value!r:.40}"
    if int(got) != int(np.asarray(reference)):
        return False, "wrong count"
    return True, ""


def _keras_model(value, reference, call):
    """``value`` describes a Keras model (see :func:`encode`); it must have ``options``' parameter count and layers."""
    if not isinstance(value, dict) or "parameters" not in value:
        return False, "expected a Keras model"
    want = call.options
    if int(value["parameters"]) != want["parameters"]:
        return False, f"{int(value['parameters']):,} parameters, expected {want['parameters']:,}"
    for kind, count in want.get("layers", {}).items():
        if list(value["layers"]).count(kind) != count:
            return False, f"{list(value['layers']).count(kind)} {kind} layers, expected {count}"
    if "dropout" in want and [round(float(r), 6) for r in value["dropout"]] != want["dropout"]:
        return False, f"dropout rates {[float(r) for r in value['dropout']]}, expected {want['dropout']}"
    return True, ""


PREDICATES = {
    "keras_model": _keras_model,
    "allclose": _allclose,
    "exact": _exact,
    "computes_gate": _computes_gate,
    "computes_network": _computes_network,
    "integer": _integer,
}


def judge(call, outcome, reference=None):
    """``(passed, detail)`` for one call's outcome (``{"value": ...}`` or ``{"error": ...}``) against the reference value.

    ``detail`` may describe the student's own value or error, never the reference.
    """
    if "error" in outcome:
        return False, outcome["error"]
    try:
        value = decode(outcome["value"])
        return PREDICATES[call.compare](value, reference, call)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        return False, f"could not check the value: {error}"


def score(points, passed, checks):
    """Points for ``passed`` of ``checks`` checks of an exercise worth ``points``: in proportion, to 2 decimals."""
    return math.floor(points * passed / checks * 100 + 1e-9) / 100
