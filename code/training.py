"""Chapter 4: mini-batch gradient descent on the sigmoid MLP, with MSE.

The training loop in plain Python is ``make_plain_epoch``: a loop over the shuffled
mini-batches, one eager step (``make_step``: forward pass, tape, update) per batch.
``train`` runs the same steps compiled into one function per epoch
(``make_epoch_function``, explained in chapter 5), shuffles the training set every epoch
(seeded), and evaluates loss and accuracy after every epoch on the training set and, if
given, on one held-out set (a validation split while settings are being chosen, the test
set at the end). Loss is ``reduce_mean((y - t)^2)`` over batch and classes, as in
chapter 3 (the book's output y and target t; in the code ``y`` and ``y_*`` name the
one-hot targets, as Keras does).

Training stops with ``TrainingDiverged`` and a message saying why when
- the loss or a weight becomes NaN or infinite (the model gets back the
  weights of its last finite epoch), or
- after an epoch, at least ``SATURATION_LIMIT`` of the output activations on
  the training set are exactly 0 or 1 in float32. For this sigmoid network
  that, not NaN, is what a far too large learning rate does: the first huge
  steps push the sigmoids into saturation, where their gradient is exactly 0,
  and training cannot recover. (tests/test_training.py: on the embedded
  MNIST, rates 0.01, 0.9 and 10 keep under 1 % of the outputs saturated for
  3 epochs; 1,000 and 1e38 reach the limit in the first epochs.)
The exception carries the ``History`` recorded so far as ``error.history``.
"""

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import tensorflow as tf

from mlpkit.defaults import THESIS_BATCH_SIZE, THESIS_EPOCHS, THESIS_LR
from mlpkit.gradients import mse
from mlpkit.progress import bar as progress_bar

# : Fraction of output activations pinned at exactly 0 or 1 that counts as a saturated
# network.
SATURATION_LIMIT = 0.2


class TrainingDiverged(RuntimeError):
    """The loss or the weights stopped being finite, or the outputs saturated;
    ``history`` holds the epochs so far."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


@dataclass
class TrainConfig:
    lr: float = THESIS_LR
    batch_size: int = THESIS_BATCH_SIZE
    epochs: int = THESIS_EPOCHS
    seed: int = 0
    jit_compile: bool = True

    def __post_init__(self):
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"learning rate must be a positive number; got {self.lr}")
        if int(self.batch_size) < 1:
            raise ValueError(f"batch size must be at least 1; got {self.batch_size}")
        if int(self.epochs) < 0:
            raise ValueError(f"epochs must be 0 or more; got {self.epochs}")


@dataclass
class History:
    """One row per epoch (epoch 0 is before training) and the final test results."""

    config: dict
    epochs: list = field(default_factory=list)
    confusion: list = None
    wall_seconds: float = 0.0
    test_predictions: np.ndarray = field(default=None, repr=False)

    @property
    def final(self):
        return self.epochs[-1]


def clear_of_ties(outputs, gap=1e-5):
    """Which rows of ``outputs`` (n, classes) have a largest value ahead of the second
    by more than ``gap``.

    Two ways of computing the same float32 network (eager and a saved graph, or two
    CPUs) round differently by about 1e-7, so only these rows are sure to get the same
    class from both.
    """
    top_two = np.sort(np.asarray(outputs), axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0] > gap


def confusion_matrix(true, predicted, classes=10):
    """``C[i, j]`` = number of examples of true class ``i`` predicted as ``j``."""
    true, predicted = (
        np.asarray(true, dtype=np.int64),
        np.asarray(predicted, dtype=np.int64),
    )
    return np.bincount(true * classes + predicted, minlength=classes * classes).reshape(
        classes, classes
    )


def per_class_accuracy(confusion):
    """Fraction of each true class predicted correctly (the confusion matrix's rows)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    totals = confusion.sum(axis=1)
    return np.divide(
        np.diag(confusion),
        totals,
        out=np.full(len(confusion), np.nan),
        where=totals > 0,
    )


@dataclass
class Evaluation:
    # by default the mean over examples and classes of (output - target)^2, as `mse`
    loss: float
    accuracy: float
    predictions: np.ndarray
    # fraction of outputs exactly 0 or 1 (sigmoid outputs; logits are never pinned so)
    saturated: float


def evaluate(model, x, y_onehot, loss=None, chunk=10_000):
    """Loss, accuracy, predictions and output saturation of ``model`` on preprocessed
    ``x`` and one-hot ``y``.

    ``loss(outputs, targets)`` is a batch's mean loss (chapter 7's cross-entropy, say);
    by default the MSE of this chapter, the mean over examples and classes. Works
    through ``chunk`` examples at a time, so evaluating 60,000 images never holds a
    second full-size copy of them.
    """
    n = int(x.shape[0])
    total, saturated, predictions = 0.0, 0, []
    for start in range(0, n, chunk):
        outputs = model(x[start : start + chunk])
        targets = tf.cast(y_onehot[start : start + chunk], outputs.dtype)
        if loss is None:  # the sum here, divided by examples and classes below
            total += float(tf.reduce_sum(tf.square(outputs - targets)))
        else:  # a batch mean, weighted by the batch's size
            total += float(loss(outputs, targets)) * int(outputs.shape[0])
        saturated += int(
            tf.reduce_sum(tf.cast((outputs == 0.0) | (outputs == 1.0), tf.int32))
        )
        predictions.append(tf.argmax(outputs, axis=1).numpy())
    predictions = np.concatenate(predictions)
    labels = np.argmax(np.asarray(y_onehot), axis=1)
    size = n * int(y_onehot.shape[1])
    mean_loss = total / size if loss is None else total / n
    return Evaluation(
        mean_loss, float(np.mean(predictions == labels)), predictions, saturated / size
    )


# Shown in book/training.md (literalinclude).
def make_step(model, lr):
    """One step of gradient descent on a batch: ``step(x_batch, y_batch) -> loss``.

    Plain Python: it runs eagerly when called directly, and becomes part of a graph when
    called inside a ``tf.function``.
    """
    params = model.params

    def step(x_batch, y_batch):
        with tf.GradientTape() as tape:
            loss = mse(model(x_batch), y_batch)
        for param, grad in zip(params, tape.gradient(loss, params)):
            param.assign_sub(lr * grad)
        return loss

    return step


# Shown in book/training.md (literalinclude).
def make_plain_epoch(model, lr, batch_size):
    """Chapter 4's training loop in plain Python: ``run_epoch(x, y, order) -> mean batch
    loss``.

    ``order`` is the epoch's permutation of example indices (a shuffle). Its first
    ``batch_size`` indices make the first mini-batch, the next ones the second, and so
    on; the last batch may be smaller. Each batch is one eager step of ``make_step``.
    ``make_epoch_function`` computes the same epoch compiled.
    """
    step = make_step(model, tf.constant(lr, tf.float32))
    batch_size = int(batch_size)

    def run_epoch(x, y, order):
        losses = []
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]  # the next B shuffled examples
            losses.append(step(tf.gather(x, index), tf.gather(y, index)))
        return float(tf.reduce_mean(losses))

    return run_epoch


# Shown in book/speed.md (literalinclude).
def make_epoch_function(model, lr, batch_size, jit_compile=True):
    """The kit's compiled training loop: ``run_epoch(x, y, order) -> mean batch loss``.

    The same epoch as ``make_plain_epoch``, as one compiled program.

    ``order`` is the epoch's permutation of example indices. Its full batches are cut
    into a ``(batches, batch_size)`` matrix of indices, and one compiled function lays
    the epoch's data out once, shuffled, as ``(batches, batch_size, 784)`` (one gather
    for the epoch), then loops over its rows with ``tf.range``: one Python call runs
    every full batch of the epoch. Every step has the same static shape, which lets XLA
    (``jit_compile``) compile the whole loop into one program, each step a slice of the
    laid-out data. A last, smaller batch, if any, is one more call. (Chapter 5 explains
    this and measures it against the alternatives.)
    """
    step = make_step(model, tf.constant(lr, tf.float32))
    batch_size = int(batch_size)

    @tf.function(jit_compile=jit_compile)
    def full_batches(x, y, batches):
        x_batches, y_batches = tf.gather(x, batches), tf.gather(y, batches)
        total = tf.constant(0.0, tf.float32)
        for i in tf.range(tf.shape(batches)[0]):
            total += step(x_batches[i], y_batches[i])
        return total

    @tf.function(jit_compile=jit_compile)
    def last_batch(x, y, index):
        return step(tf.gather(x, index), tf.gather(y, index))

    def run_epoch(x, y, order):
        order = np.asarray(order, dtype=np.int32)
        full = len(order) // batch_size
        total, count = 0.0, full
        if full:
            batches = order[: full * batch_size].reshape(full, batch_size)
            total += float(full_batches(x, y, tf.constant(batches)))
        if len(order) > full * batch_size:
            total += float(last_batch(x, y, tf.constant(order[full * batch_size :])))
            count += 1
        return total / count

    run_epoch.full_batches = full_batches  # the compiled loop, to count its traces
    return run_epoch


def _all_finite(model):
    return all(bool(tf.reduce_all(tf.math.is_finite(p))) for p in model.params)


def checked_config(config, overrides, x_test, y_test):
    """``train``'s ``config``, or a ``TrainConfig`` built from its keyword
    ``overrides``; ``ValueError`` for both at once, or for one of ``x_test, y_test``
    without the other."""
    if config is not None and overrides:
        raise ValueError(
            "give either config or keyword options such as lr=..., not both; got "
            f"config and {sorted(overrides)}"
        )
    if (x_test is None) != (y_test is None):
        raise ValueError("give both x_test and y_test, or neither")
    return config or TrainConfig(**overrides)


def record_epoch(history, model, train_set, held_out_set, held_out, epoch, seconds):
    """Append epoch ``epoch``'s row to ``history``: loss and accuracy on ``train_set``
    and, unless ``held_out_set`` is None, on it as ``{held_out}_loss`` and
    ``{held_out}_accuracy``; the fraction of saturated outputs on the training set; the
    epoch's ``seconds``. Return the held-out predictions (None without a set)."""
    on_train = evaluate(model, *train_set)
    row = {
        "epoch": epoch,
        "train_loss": on_train.loss,
        "train_accuracy": on_train.accuracy,
    }
    on_test = None
    if held_out_set is not None:
        on_test = evaluate(model, *held_out_set)
        row.update(
            {
                f"{held_out}_loss": on_test.loss,
                f"{held_out}_accuracy": on_test.accuracy,
            }
        )
    history.epochs.append(
        {**row, "saturated_outputs": on_train.saturated, "seconds": seconds}
    )
    return None if on_test is None else on_test.predictions


def stop_if_diverged(loss, model, saved, epoch, history):
    """If epoch ``epoch``'s ``loss`` or a weight is not finite, give ``model`` back the
    weights ``saved`` before it and raise ``TrainingDiverged`` with the ``history`` so
    far."""
    if np.isfinite(loss) and _all_finite(model):
        return
    model.set_weights(saved)
    raise TrainingDiverged(
        f"training diverged in epoch {epoch}: the loss became {loss} with "
        f"learning rate {history.config['lr']:g}. "
        "Check that the inputs are finite and scaled to [0, 1], or try a "
        "smaller learning rate "
        "(the thesis uses 0.9). The model keeps its weights from epoch "
        f"{epoch - 1}.",
        history,
    )


def stop_if_saturated(history, epoch, accuracy_key):
    """Raise ``TrainingDiverged`` if at least ``SATURATION_LIMIT`` of the outputs on the
    training set were exactly 0 or 1 after epoch ``epoch`` (the last row of
    ``history``), quoting the accuracy under ``accuracy_key``."""
    if history.final["saturated_outputs"] < SATURATION_LIMIT:
        return
    raise TrainingDiverged(
        f"training stopped in epoch {epoch}: "
        f"{history.final['saturated_outputs']:.0%} of the network's "
        "outputs are exactly 0 or 1. The sigmoids have saturated, so their "
        "gradients are 0 and training "
        "cannot recover; a too large learning rate does this (here "
        f"{history.config['lr']:g}). Train again with a "
        "smaller one (the thesis uses 0.9). "
        f"{accuracy_key.replace('_', ' ').capitalize()}: "
        f"{history.final[accuracy_key]:.1%}.",
        history,
    )


def show_epoch(bar, history, accuracy_key):
    """Move the progress ``bar`` on by an epoch, showing the last row's train loss and
    its accuracy under ``accuracy_key``."""
    bar.set_postfix(
        **{
            "loss": history.final["train_loss"],
            accuracy_key.replace("validation", "val").replace(
                "accuracy", "acc"
            ): f"{history.final[accuracy_key]:.2%}",
        }
    )
    bar.update()


def finish_history(history, start, predictions, y_test):
    """Complete ``history`` after the last epoch: the seconds since ``start`` and, with
    a held-out set (labels ``y_test``), its ``predictions`` and confusion matrix."""
    history.wall_seconds = time.perf_counter() - start
    if y_test is not None:
        history.test_predictions = predictions
        history.confusion = confusion_matrix(
            np.argmax(y_test, axis=1), predictions
        ).tolist()
    return history


def train(
    model,
    x_train,
    y_train,
    x_test=None,
    y_test=None,
    config=None,
    progress=True,
    stop_on_saturation=True,
    held_out="test",
    **overrides,
):
    """Train ``model`` in place on preprocessed data; return a ``History``.

    ``x_*`` are ``(n, 784)`` float32 in ``[0, 1]`` and ``y_*`` one-hot ``(n, 10)``, as
    tensors from ``mlpkit.data.preprocess`` (NumPy arrays work too, at the cost of a
    copy). ``x_test, y_test`` is the held-out set evaluated after every epoch, recorded
    as ``{held_out}_loss`` and ``{held_out}_accuracy`` (pass a validation split with
    ``held_out="validation"``); with ``None`` only the training set is evaluated, and
    ``confusion`` and ``test_predictions`` stay ``None``. ``config`` is a
    ``TrainConfig``; keyword overrides such as ``lr=0.1`` build one. ``progress``
    reports the epochs (see ``mlpkit.progress``). ``stop_on_saturation=False`` records
    saturated epochs instead of stopping (studies of saturation need them).
    """
    config = checked_config(config, overrides, x_test, y_test)
    x_train, y_train = (
        tf.convert_to_tensor(x_train, tf.float32),
        tf.convert_to_tensor(y_train, tf.float32),
    )
    held_out_set = None if x_test is None else (x_test, y_test)
    rng = np.random.default_rng(config.seed)
    run_epoch = make_epoch_function(
        model, config.lr, config.batch_size, config.jit_compile
    )
    history = History(config=asdict(config))
    accuracy_key = f"{held_out}_accuracy" if x_test is not None else "train_accuracy"

    def record(epoch, seconds):
        return record_epoch(
            history, model, (x_train, y_train), held_out_set, held_out, epoch, seconds
        )

    predictions = record(0, 0.0)
    start = time.perf_counter()
    bar = progress_bar(config.epochs, "training", "epoch") if progress else None
    for epoch in range(1, config.epochs + 1):
        saved = model.get_weights()
        epoch_start = time.perf_counter()
        loss = run_epoch(x_train, y_train, rng.permutation(len(x_train)))
        stop_if_diverged(loss, model, saved, epoch, history)
        predictions = record(epoch, time.perf_counter() - epoch_start)
        if stop_on_saturation:
            stop_if_saturated(history, epoch, accuracy_key)
        if bar:
            show_epoch(bar, history, accuracy_key)
    if bar:
        bar.close()
    return finish_history(history, start, predictions, y_test)
