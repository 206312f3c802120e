"""What crosses the boundary between the grader and a submission's process: the calls to make, and the values that come
back.

A check (`mlpkit.grading.checks`) is made of a :class:`Call`: plain data
naming a function (or variable) of the submission and the arguments to call
it with. The confined child (`mlpkit.grading.child`) makes the calls and sends
each value back encoded by :func:`encode` as JSON, never pickled: the grader's
side decodes it (:func:`decode`) as hostile data. This module is all of the
grading code that runs inside a submission's process, beside the child and the
confinement; it holds no reference value and no comparison.
"""

import dataclasses
import math
import sys

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

    How the value is judged (``compare``, one of :data:`mlpkit.grading.checks.PREDICATES`):

    - ``"allclose"`` (the default): shape, then values within ``rtol``/``atol``
      of the reference's (a tuple or list item by item); with
      ``options["dtype"]``, the dtype too;
    - ``"exact"``: shape, dtype and values, for answers that are truly
      discrete, such as 0/1 outputs;
    - ``"integer"``: whole numbers equal to the reference's, in any integer type;
    - ``"computes_gate"`` / ``"computes_network"``: weights ``(w, b)`` /
      ``(w1, b1, w2, b2)`` of a step perceptron / two-layer step network that
      computes the truth table ``options["table"]`` on (0,0), (0,1), (1,0), (1,1);
    - ``"model_outputs"`` / ``"model_dropout"``: a Keras model with
      ``options["parameters"]`` parameters, run on ``options["probe"]``, gives
      the reference's outputs in inference mode / its outputs' mean and spread
      in training mode within ``options["mean"]`` and ``options["spread"]``;
    - ``"traced_calls"``: with ``options["calls"]`` (below), each output as
      ``"allclose"`` and at most ``options["traces"]`` traces;
    - ``"stratified_folds"``: ``args`` are ``(labels, k, ...)``; k folds that
      hold every example once, each class spread evenly (any such split);
    - ``"uniform_weights"``: random weights of ``options["shape"]`` and
      ``options["dtype"]`` within ``±options["limit"]``, with the variance
      ``options["variance"]`` of a uniform distribution (within
      ``options.get("sigmas", 6)`` standard deviations of sampling error).

    ``raises`` (an exception class, or its name: it is kept as the name)
    expects the call to raise that exception or a subclass of it (the
    submission's process sends the names of the exception's classes): a
    returned value fails, and so does another exception; ``compare`` is then
    not used and the reference's value is None.

    Options that change how the submission's process makes the call:

    - ``options["finite"]`` runs it with TensorFlow's and NumPy's checks for
      infinities and NaN on, so an intermediate value that overflows fails it;
    - ``options["probe"]`` runs a returned Keras model on the probe's inputs
      with the probe's weights (:func:`encode`);
    - ``options["calls"]`` makes the last argument a list of argument tuples:
      the function, called with the others, returns a function, which is
      called on each tuple in turn; the value is its outputs and its number
      of traces (`mlpkit.grading.child`; judged by ``"traced_calls"``);
    - ``options["seed"]`` (the position of the seed in ``args``, or its
      keyword in ``kwargs``) checks determinism: the function is called three
      times, with fresh copies of the arguments: as given, as given again, and
      with the seed replaced by ``options.get("other_seed", seed + 1)``. The
      first value is judged by ``compare``; the second must equal it exactly
      (same seed, same value) and the third must differ from it (another seed,
      another value), so a function that ignores its seed, or draws from an
      unseeded or global generator, fails.

    ``options["mistakes"]`` lists known wrong answers (encoded values) with a
    hint shown when one is matched.

    ``message`` is shown to the student when a public check fails, with the
    detail of what failed (for a public check, the expected value where it
    helps: a public check's expected value is in the student's
    ``checks.json`` anyway); hidden checks are reported only as a count.

    ``case`` names what the check tests beyond an ordinary call (``"tie"``,
    ``"zero row"``, ``"boundary"`` for an input exactly on a threshold, such as
    a weighted sum that is exactly 0 in floating point, ``"invalid k"`` for an
    expected exception): every case a hidden check tests has a public check too.
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
    case: str = ""
    raises: str = ""

    def __post_init__(self):
        if isinstance(self.raises, type) and issubclass(self.raises, BaseException):
            self.raises = self.raises.__name__  # plain data: the name crosses processes and files as JSON
        if not isinstance(self.raises, str):
            raise TypeError(f"Call.raises: expected an exception class or its name, got {self.raises!r:.60}")


class ValueEncodingError(TypeError):
    """A returned value the grader cannot carry out of the submission's process."""


# -- values across the process boundary: JSON only (never pickle: the other side is untrusted) --

DTYPES = {
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
}
MAX_NUMBERS = 1_000_000  # numbers in one array: far more than any answer
MAX_DEPTH = 24
MAX_MESSAGE_CHARACTERS = 1 << 20  # a model's description or why it has none


def encode(value, probe=None, depth=0):
    """A returned value as JSON-safe data: arrays, numbers, booleans, strings, None, and lists/tuples/dicts of them.

    A Keras model (an instance of ``keras.Model``) is sent as its architecture
    (:func:`describe_model`, under ``"keras_model"``), never run
    here: a process of the grader's own rebuilds and runs it, and only that
    process makes a model's run (``"model"``). ``probe`` is not used here.
    """
    if depth > 20:
        raise ValueEncodingError("the value is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"number": float(value) if isinstance(value, float) or abs(value) > 2**53 else int(value)}
    if isinstance(value, (list, tuple)):
        return {"sequence": [encode(item, depth=depth + 1) for item in value], "tuple": isinstance(value, tuple)}
    if isinstance(value, dict):
        return {"mapping": {str(key): encode(item, depth=depth + 1) for key, item in value.items()}}
    if _is_keras_model(value):  # its architecture, rebuilt and run by the grader's own process
        return {"keras_model": describe_model(value)}
    if hasattr(value, "numpy") and callable(value.numpy):  # tf.Tensor, tf.Variable
        value = value.numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise ValueEncodingError(f"an array of {array.dtype} is not a number array")
        if array.size > MAX_NUMBERS:
            raise ValueEncodingError(f"an array of {array.size:,} numbers is far larger than any answer")
        return {
            "array": array.astype(float).ravel().tolist() if array.dtype.kind == "f" else array.ravel().tolist(),
            "dtype": str(array.dtype),
            "shape": list(array.shape),
        }
    raise ValueEncodingError(f"returned a {type(value).__module__}.{type(value).__name__}, not numbers or arrays")


def _is_keras_model(value):
    keras = sys.modules.get("keras")  # imported by the submission's process before any submission runs
    return keras is not None and isinstance(value, keras.Model)


class ModelRun(dict):
    """What a Keras model returned by a submission did in its process (:func:`encode`): only :func:`decode`
    makes one, from a value encoded under ``"model"``, which only a real ``keras.Model`` is."""


def describe_model(model):
    """What a submission's process sends for a returned ``keras.Model``: its architecture, or why it has none."""
    try:
        config = model.to_json()
    except Exception as error:  # a subclassed model has no architecture to send
        return {"error": f"{type(error).__name__}: the model cannot be described by its layers (build it with "
                         "keras.Sequential or Keras's functional API from Keras's own layers)"}
    return {"config": config}


class ModelDescription(dict):
    """A Keras model's architecture as a submission's process sent it, not yet rebuilt and run."""


def _number(value, in_array=False):
    return (
        isinstance(value, (int, float))
        and (in_array or not isinstance(value, bool))
        and not (isinstance(value, int) and abs(value) >= 2**64)
    )


def check_encoded(data, depth=0, runs=True):
    """Raise ``ValueEncodingError`` unless ``data`` has exactly a form :func:`encode` gives (with ``runs``, or a
    model's run, which only `mlpkit.grading.models` makes: never in what a submission's process sends).

    What a submission's process sends is hostile: this checks its form (known
    keys only, a known dtype, as many numbers as the shape says, at most
    ``MAX_NUMBERS`` in an array, nesting at most ``MAX_DEPTH`` deep) before
    anything is built from it, so a forged dtype or shape cannot make the
    grader allocate what it asks for.
    """
    if depth > MAX_DEPTH:
        raise ValueEncodingError("the value is nested too deeply")
    if data is None or isinstance(data, (bool, str)):
        return
    keys = set(data) if isinstance(data, dict) else None
    if keys == {"number"} and _number(data["number"]):
        return
    if keys == {"sequence", "tuple"} and isinstance(data["sequence"], list) and isinstance(data["tuple"], bool):
        for item in data["sequence"]:
            check_encoded(item, depth + 1, runs)
        return
    if keys == {"mapping"} and isinstance(data["mapping"], dict):
        for item in data["mapping"].values():
            check_encoded(item, depth + 1, runs)
        return
    if runs and keys == {"model"} and isinstance(data["model"], dict) and set(data["model"]) == {"mapping"}:
        check_encoded(data["model"], depth + 1)
        return
    if keys == {"keras_model"} and isinstance(data["keras_model"], dict) and len(data["keras_model"]) == 1:
        (key, text), = data["keras_model"].items()
        if key in ("config", "error") and isinstance(text, str) and len(text) <= MAX_MESSAGE_CHARACTERS:
            return
    if keys == {"array", "dtype", "shape"}:
        shape, numbers = data["shape"], data["array"]
        if (
            data["dtype"] in DTYPES
            and isinstance(shape, list)
            and len(shape) <= 32
            and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_NUMBERS for n in shape)
            and isinstance(numbers, list)
            and len(numbers) == math.prod(shape) <= MAX_NUMBERS
            and all(_number(x, in_array=True) for x in numbers)
        ):
            return
    raise ValueEncodingError(
        f"malformed value (a {type(data).__name__}"
        f"{' with keys ' + ', '.join(sorted(map(str, data))[:4]) if isinstance(data, dict) else ''})"
    )


def decode(data):
    """The inverse of :func:`encode`, for data of the form :func:`check_encoded` accepts (else ``ValueEncodingError``):
    arrays come back as NumPy arrays, numbers as NumPy scalars, a Keras model's run as a :class:`ModelRun`."""
    check_encoded(data)
    return _decode(data)


def _decode(data):
    if data is None or isinstance(data, (bool, str)):
        return data
    if "number" in data:
        return np.asarray(data["number"])
    if "sequence" in data:
        items = [_decode(item) for item in data["sequence"]]
        return tuple(items) if data["tuple"] else items
    if "mapping" in data:
        return {key: _decode(item) for key, item in data["mapping"].items()}
    if "array" in data:
        return np.asarray(data["array"], dtype=data["dtype"]).reshape(data["shape"])
    if "keras_model" in data:  # a model no process of the grader's has run: it is judged as none
        return ModelDescription(data["keras_model"])
    return ModelRun(_decode(data["model"]))


def encode_args(call):
    """A call's arguments as JSON (for the student's release of public checks)."""

    def one(arg):
        if isinstance(arg, Tensor):
            return {"tensor": arg.array().tolist(), "dtype": arg.dtype}
        if isinstance(arg, (list, tuple)) and _holds_tensor(arg):  # e.g. the argument tuples of options["calls"]
            return {"items": [one(item) for item in arg], "tuple": isinstance(arg, tuple)}
        return {"value": encode(arg)}

    return {"args": [one(arg) for arg in call.args], "kwargs": {key: one(arg) for key, arg in call.kwargs.items()}}


def _holds_tensor(value):
    return isinstance(value, Tensor) or (isinstance(value, (list, tuple)) and any(map(_holds_tensor, value)))


def decode_args(data):
    def one(arg):
        if "tensor" in arg:
            return Tensor(arg["tensor"], arg["dtype"])
        if "items" in arg:
            items = [one(item) for item in arg["items"]]
            return tuple(items) if arg["tuple"] else items
        # a Python int or float, as the grader passes it
        if isinstance(arg["value"], dict) and "number" in arg["value"]:
            return arg["value"]["number"]
        return decode(arg["value"])

    return tuple(one(arg) for arg in data["args"]), {key: one(arg) for key, arg in data["kwargs"].items()}


MAX_EXCEPTION_CLASSES = 32


def check_outcome(outcome, from_child=False):
    """Raise ``ValueEncodingError`` unless ``outcome`` has a form the submission's process sends for one call:
    ``{"value": encoded}``, ``{"error": one line}``, or, for a call that expects an exception (``Call.raises``),
    ``{"error": one line, "raised": [the names of the exception's classes, its own first]}``. ``from_child``: as
    it came from that process, where a model's run is a forgery."""
    if not isinstance(outcome, dict) or set(outcome) not in ({"value"}, {"error"}, {"error", "raised"}):
        raise ValueEncodingError("malformed outcome")
    if "value" in outcome:
        check_encoded(outcome["value"], runs=not from_child)
        return
    raised = outcome.get("raised", [])
    if (not isinstance(outcome["error"], str) or not isinstance(raised, list)
            or len(raised) > MAX_EXCEPTION_CLASSES or not all(isinstance(n, str) and len(n) <= 200 for n in raised)):
        raise ValueEncodingError("malformed error outcome")
