"""Chapter 4: export a trained model as a SavedModel that takes raw images.

The contract of the exported model, the same for any TensorFlow program
(``tf.saved_model.load(path)``, no mlpkit needed) and for :func:`load_model`:

- ``model(images)`` takes either **uint8 pixels 0-255** or **floats (float32 or float64)
  already scaled to [0, 1]**, as a NumPy array or a tensor, of shape ``(n, 28, 28)`` (a
  batch; ``n`` may be 0) or ``(28, 28)`` (one image). It does the preprocessing itself
  (uint8 divided by 255, then flattened).
- It returns the predicted class of each image as an int64 tensor: shape ``(n,)`` for a
  batch, a scalar (shape ``()``) for one image.
- Anything else is refused with a message that starts ``mlpkit model: expected`` and
  says what was expected and what came: another shape (``(n, 784)`` rows, say), a float
  value outside [0, 1] (pixels 0-255 passed as floats, or NaN), another dtype (int32,
  int64, float16, bool ...). Through :func:`load_model` it is a ``ValueError`` (shape,
  range) or ``TypeError`` (dtype), raised before TensorFlow sees the input; through
  plain ``tf.saved_model.load`` it is a ``tf.errors.InvalidArgumentError`` with the same
  text. (Values that are not numbers at all, such as strings, get TensorFlow's own
  ``ValueError`` there.)
- The SavedModel records the data set it was trained on: ``model.dataset`` (a string
  variable, ``"mnist"`` or ``"fashion_mnist"``; read it with
  ``model.dataset.numpy().decode()``) and ``model.class_names`` (a string vector).
  :class:`ExportedModel` offers both as Python values; ``mlpkit evaluate`` uses them to
  pick its test set.
"""

import numpy as np
import tensorflow as tf

from mlpkit.data import CLASS_NAMES

#: The input dtypes of the contract; every other one in OTHER_DTYPES gets a clear error.
ACCEPTED_DTYPES = (tf.uint8, tf.float32, tf.float64)
OTHER_DTYPES = (
    tf.int8,
    tf.int16,
    tf.int32,
    tf.int64,
    tf.uint16,
    tf.uint32,
    tf.uint64,
    tf.float16,
    tf.bool,
)
EXPECTED_SHAPE = (
    "mlpkit model: expected one image of shape (28, 28) or a batch of shape (n, 28, 28)"
)
EXPECTED_DTYPE = "mlpkit model: expected uint8 pixels 0-255 or float pixels in [0, 1]"
EXPECTED_RANGE = "mlpkit model: expected float pixels in [0, 1] (or uint8 pixels 0-255)"


class ModelError(RuntimeError):
    """A model folder cannot be loaded or used; the message names the folder and what
    was expected."""


def _checked_pixels(images):
    """``images`` as float32 in [0, 1], after run-time checks of shape and (for floats)
    range."""
    shape = tf.shape(images)
    last_two = tf.concat([[0, 0], shape], 0)[-2:]
    shape_ok = tf.logical_and(
        tf.logical_or(tf.equal(tf.size(shape), 2), tf.equal(tf.size(shape), 3)),
        tf.reduce_all(tf.equal(last_two, [28, 28])),
    )
    checks = [tf.debugging.Assert(shape_ok, [f"{EXPECTED_SHAPE}; got shape", shape])]
    pixels = tf.cast(images, tf.float32)
    valid = shape_ok
    if images.dtype.is_floating:
        in_range = tf.reduce_all((pixels >= 0.0) & (pixels <= 1.0))
        checks.append(
            tf.debugging.Assert(
                in_range,
                [
                    f"{EXPECTED_RANGE}; got values from",
                    tf.reduce_min(pixels),
                    "to",
                    tf.reduce_max(pixels),
                ],
            )
        )
        valid = tf.logical_and(valid, in_range)
    else:
        pixels = pixels / 255.0
    with tf.control_dependencies(checks):
        # The stand-in for invalid input is never used (the checks fail first); it keeps
        # TensorFlow from rejecting a wrong static shape with its own message before the
        # checks run.
        return tf.cond(
            valid, lambda: tf.identity(pixels), lambda: tf.zeros([1, 28, 28])
        )


# Shown in book/training.md (literalinclude).
class ExportModule(tf.Module):
    """Input checks + preprocessing + model + argmax, traced for every dtype it knows
    (see the module docstring)."""

    def __init__(self, model, dataset="mnist", name=None):
        super().__init__(name=name)
        if dataset not in CLASS_NAMES:
            raise ValueError(
                f"unknown dataset {dataset!r}; expected one of {', '.join(CLASS_NAMES)}"
            )
        self.model = model
        self.dataset = tf.Variable(dataset, trainable=False, name="dataset")
        self.class_names = tf.Variable(
            CLASS_NAMES[dataset], trainable=False, name="class_names"
        )

    @tf.function
    def __call__(self, images):
        if images.dtype not in ACCEPTED_DTYPES:
            tf.debugging.Assert(
                tf.constant(False), [f"{EXPECTED_DTYPE}; got dtype {images.dtype.name}"]
            )
            return tf.zeros([0], tf.int64)
        pixels = _checked_pixels(images)
        classes = tf.argmax(
            self.model(tf.reshape(pixels, [-1, 784])), axis=1, output_type=tf.int64
        )
        # (n,) for a batch, () for one image
        return tf.reshape(classes, tf.shape(images)[:-2])


def export_model(model, path, dataset="mnist"):
    """Save ``model`` with its preprocessing and the name of its data set to ``path`` (a
    folder); returns the path."""
    module = ExportModule(model, dataset)
    for dtype in ACCEPTED_DTYPES + OTHER_DTYPES:
        module.__call__.get_concrete_function(tf.TensorSpec(None, dtype, name="images"))
    tf.saved_model.save(module, str(path))
    return path


def check_images(images):
    """``images`` as a NumPy array if they meet the contract, else ``TypeError`` (dtype)
    or ``ValueError`` (shape, range)."""
    array = np.asarray(images)
    if array.dtype not in (np.uint8, np.float32, np.float64):
        raise TypeError(f"{EXPECTED_DTYPE}; got dtype {array.dtype}")
    if array.ndim not in (2, 3) or array.shape[-2:] != (28, 28):
        raise ValueError(f"{EXPECTED_SHAPE}; got shape {array.shape}")
    if array.dtype != np.uint8:
        outside = array[~((array >= 0) & (array <= 1))]
        if outside.size:
            raise ValueError(
                f"{EXPECTED_RANGE}; got {outside.size:,} values outside it, such as "
                f"{outside.flat[0]:g}"
            )
    return array


class ExportedModel:
    """An exported model as :func:`load_model` returns it: the same call, with the input
    checked in Python first.

    ``model(images)`` raises ``TypeError`` or ``ValueError`` (with the messages of the
    module docstring) before TensorFlow sees a bad input. ``dataset`` and
    ``class_names`` are what the model records (``None`` for a model exported without
    them); ``module`` is the loaded SavedModel itself.
    """

    def __init__(self, module):
        self.module = module

    def __call__(self, images):
        return self.module(check_images(images))

    @property
    def dataset(self):
        recorded = getattr(self.module, "dataset", None)
        return None if recorded is None else recorded.numpy().decode()

    @property
    def class_names(self):
        recorded = getattr(self.module, "class_names", None)
        return (
            None if recorded is None else [name.decode() for name in recorded.numpy()]
        )


def load_model(path):
    """Load an exported model as an :class:`ExportedModel`; ``ModelError`` if ``path``
    holds none."""
    path = str(path)
    try:
        loaded = tf.saved_model.load(path)
    except Exception as error:
        # TensorFlow raises OSError, ValueError and others for damaged files
        raise ModelError(
            f"{path}: cannot load the SavedModel ({type(error).__name__}); expected a "
            "model folder "
            "written by `mlpkit train` (saved_model.pb and variables/)"
        ) from None
    if not callable(loaded):
        raise ModelError(
            f"{path}: this SavedModel cannot be called on images; expected one written "
            "by `mlpkit train`"
        )
    return ExportedModel(loaded)
