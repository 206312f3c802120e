"""Chapter 8: the same networks in Keras.

One MLP three ways (``Sequential``, the functional API and a ``keras.Model`` subclass),
the source notebooks' models with their parameter counts, and ``train`` with Keras's
``fit`` recording the same history as `mlpkit.modern.train`, so
`mlpkit train --engine keras` plots and exports like every other run.
"""

import time

import numpy as np

from mlpkit import quiet
from mlpkit.modern import ACTIVATIONS, LOSSES, evaluation_splits, show_epoch
from mlpkit.modern_optimizers import DEFAULT_LR, OPTIMIZERS
from mlpkit.progress import bar as progress_bar
from mlpkit.training import History, TrainingDiverged, confusion_matrix

STYLES = ("sequential", "functional", "subclassed")


def _keras():
    import keras

    return keras


def _layers(keras, sizes, activation, dropout, output):
    out = []
    for units in sizes[1:-1]:
        out.append(keras.layers.Dense(units, activation=activation))
        if dropout:
            out.append(keras.layers.Dropout(dropout))
    out.append(keras.layers.Dense(sizes[-1], activation=output))
    return out


def build_model(
    layer_sizes=(784, 700, 500, 10),
    activation="relu",
    dropout=0.0,
    output=None,
    style="sequential",
    seed=0,
):
    """An MLP on flat inputs ``(None, layer_sizes[0])``; ``output`` is the last layer's
    activation (None: logits)."""
    keras = _keras()
    if style not in STYLES:
        raise ValueError(
            f"unknown style {style!r}; expected one of {', '.join(STYLES)}"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; expected one of "
            f"{', '.join(ACTIVATIONS)}"
        )
    sizes = [int(n) for n in layer_sizes]
    keras.utils.set_random_seed(seed)
    if style == "sequential":
        model = keras.Sequential(
            [
                keras.Input((sizes[0],)),
                *_layers(keras, sizes, activation, dropout, output),
            ]
        )
    elif style == "functional":
        inputs = keras.Input((sizes[0],))
        x = inputs
        for layer in _layers(keras, sizes, activation, dropout, output):
            x = layer(x)
        model = keras.Model(inputs, x)
    else:
        model = mlp_model_class()(sizes, activation, dropout, output)
        model(np.zeros((1, sizes[0]), np.float32))  # a first call creates the weights
    return model


def _subclass():
    keras = _keras()

    class MLPModel(keras.Model):
        """The same MLP as a ``keras.Model`` subclass: layers made in ``__init__``,
        wired in ``call``."""

        def __init__(
            self, sizes, activation="relu", dropout=0.0, output=None, **kwargs
        ):
            super().__init__(**kwargs)
            self.stack = _layers(keras, sizes, activation, dropout, output)

        def call(self, x, training=False):
            for layer in self.stack:
                x = (
                    layer(x, training=training)
                    if isinstance(layer, keras.layers.Dropout)
                    else layer(x)
                )
            return x

    return MLPModel


_MLP_MODEL = []


def mlp_model_class():
    """The subclassed model's class (defined on first use, so importing this module does
    not import Keras)."""
    if not _MLP_MODEL:
        _MLP_MODEL.append(_subclass())
    return _MLP_MODEL[0]


def source_models():
    """The source notebooks' models (inputs ``(28, 28)`` images), with the parameter
    counts they print."""
    keras = _keras()
    Dense, Dropout = keras.layers.Dense, keras.layers.Dropout

    def image_input(*layers):
        return keras.Sequential(
            [keras.Input((28, 28)), keras.layers.Flatten(), *layers]
        )

    return {
        # CSC notebook (001), task 0: 785*20 + 21*10
        "dense20": (
            lambda: image_input(
                Dense(20, activation="relu"), Dense(10, activation="softmax")
            ),
            15_910,
        ),
        # CSC notebook (001), task 1: two Dense(50) each followed by Dropout(0.2)
        "dense50_dropout": (
            lambda: image_input(
                Dense(50, activation="relu"),
                Dropout(0.2),
                Dense(50, activation="relu"),
                Dropout(0.2),
                Dense(10, activation="softmax"),
            ),
            42_310,
        ),
        # LearnOpenCV (003): 784 inputs, 128-128-10
        "dense128": (
            lambda: image_input(
                Dense(128, activation="relu"),
                Dense(128, activation="relu"),
                Dense(10, activation="softmax"),
            ),
            118_282,
        ),
        # Fashion-MNIST notebook (004): 64-32-10 with tanh
        "tanh64": (
            lambda: image_input(
                Dense(64, activation="tanh"),
                Dense(32, activation="tanh"),
                Dense(10, activation="softmax"),
            ),
            52_650,
        ),
    }


def make_optimizer(name, lr=None):
    keras = _keras()
    if name not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}"
        )
    lr = DEFAULT_LR[name] if lr is None else lr
    return {
        "sgd": lambda: keras.optimizers.SGD(lr),
        "momentum": lambda: keras.optimizers.SGD(lr, momentum=0.9),
        "nesterov": lambda: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
        "rmsprop": lambda: keras.optimizers.RMSprop(lr),
        "adam": lambda: keras.optimizers.Adam(lr),
    }[name]()


def make_loss(name):
    keras = _keras()
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}")
    return (
        keras.losses.MeanSquaredError()
        if name == "mse"
        else keras.losses.CategoricalCrossentropy(from_logits=True)
    )


def train(
    model,
    x_train,
    y_train,
    x_test,
    y_test,
    loss="cross_entropy",
    optimizer="adam",
    lr=None,
    epochs=10,
    batch_size=128,
    validation=0,
    seed=0,
    early_stopping=None,
    progress=True,
):
    """Compile and ``fit`` ``model`` on preprocessed data (one-hot labels); return a
    ``mlpkit.training.History``.

    ``early_stopping`` (an int) stops when the validation loss has not improved for that
    many epochs and restores the best weights. For MSE the model must end in a sigmoid.
    """
    keras = _keras()
    # Keras retraces its predict function for each split's size; TensorFlow's logger
    # would print a warning every time. Keep it quiet while this function runs.
    with quiet.errors_only():
        keras.utils.set_random_seed(seed)
        model.compile(
            optimizer=make_optimizer(optimizer, lr),
            loss=make_loss(loss),
            metrics=["accuracy"],
        )
        config = {
            "engine": "keras",
            "loss": loss,
            "optimizer": optimizer,
            "lr": float(model.optimizer.learning_rate.numpy()),
            "epochs": int(epochs),
            "batch_size": int(batch_size),
            "validation": int(validation),
            "seed": seed,
            "early_stopping": early_stopping,
        }
        history = History(config=config)
        data = (x_train, y_train, x_test, y_test)
        return fit_and_record(keras, model, history, data, progress)


def record_epoch(history, model, splits, epoch, seconds):
    """Append epoch ``epoch``'s row to ``history``: Keras's loss and accuracy on each of
    ``splits`` (``{name: (x, y)}``) and the epoch's ``seconds``. Raise
    ``TrainingDiverged`` if the training loss is not finite."""
    row = {"epoch": epoch}
    for split, (x, y) in splits.items():
        row[f"{split}_loss"], row[f"{split}_accuracy"] = (
            float(v) for v in model.evaluate(x, y, batch_size=2048, verbose=0)
        )
    row["seconds"] = seconds
    history.epochs.append(row)
    if not np.isfinite(row["train_loss"]):
        raise TrainingDiverged(
            f"training diverged in epoch {epoch}: the loss stopped being finite "
            f"with {history.config['optimizer']} "
            f"at learning rate {history.config['lr']:g}; try a smaller one.",
            history,
        )


def recorder(keras, record):
    """A Keras callback that times each epoch and calls ``record(epoch, seconds)`` after
    it (epochs counted from 1)."""

    class Recorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            record(epoch + 1, time.perf_counter() - self.start)

    return Recorder()


def early_stopper(keras, patience, validation):
    """Keras's ``EarlyStopping`` on the validation loss, restoring the best weights;
    ``ValueError`` without a ``validation`` split to watch."""
    if not validation:
        raise ValueError(
            "early stopping watches the validation loss: give a validation split too"
        )
    return keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=int(patience), restore_best_weights=True
    )


def progress_callback(keras, bar, history):
    """A Keras callback that moves the progress ``bar`` on after each epoch."""

    class Bar(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            show_epoch(bar, history)

    return Bar()


def fit_and_record(keras, model, history, data, progress):
    """``fit`` the compiled ``model`` on ``data`` (``x_train, y_train, x_test, y_test``)
    with the settings of ``history.config``, recording each epoch in ``history`` (and
    the restored best weights, if early stopping ended the run); return ``history``."""
    config, (x_train, y_train, x_test, y_test) = history.config, data
    epochs, validation = config["epochs"], config["validation"]
    splits = evaluation_splits(x_train, y_train, x_test, y_test, validation)

    def record(epoch, seconds):
        record_epoch(history, model, splits, epoch, seconds)

    callbacks = [recorder(keras, record)]
    if config["early_stopping"]:
        callbacks.append(early_stopper(keras, config["early_stopping"], validation))
    bar = progress_bar(epochs, "training", "epoch") if progress else None
    if progress:
        callbacks.append(progress_callback(keras, bar, history))
    record(0, 0.0)
    start = time.perf_counter()
    model.fit(
        *splits["train"],
        batch_size=config["batch_size"],
        epochs=epochs,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
        validation_data=splits.get("validation"),
    )
    if progress:
        bar.close()
    history.wall_seconds = time.perf_counter() - start
    # the best weights were restored: report them
    if config["early_stopping"] and len(history.epochs) - 1 < epochs:
        record(len(history.epochs), 0.0)
        history.epochs[-1]["restored_best"] = True
    history.test_predictions = np.argmax(
        model.predict(x_test, batch_size=2048, verbose=0), axis=1
    )
    history.confusion = confusion_matrix(
        np.argmax(np.asarray(y_test), axis=1), history.test_predictions
    ).tolist()
    return history
