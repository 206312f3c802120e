"""Chapter 8: the same networks in Keras.

One MLP three ways (``Sequential``, the functional API and a ``keras.Model``
subclass), the source notebooks' models with their parameter counts, and
``train`` with Keras's ``fit`` recording the same history as
`mlpkit.modern.train`, so `mlpkit train --engine keras` plots and exports
like every other run.
"""

import time

import numpy as np

from mlpkit import quiet
from mlpkit.modern import ACTIVATIONS, LOSSES, split_validation
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
    import tensorflow as tf

    # Keras retraces its predict function for each split's size; TensorFlow's logger
    # would print a warning every time. Keep it quiet while this function runs.
    with quiet.errors_only():
        return _train(
            keras,
            tf,
            model,
            x_train,
            y_train,
            x_test,
            y_test,
            loss,
            optimizer,
            lr,
            epochs,
            batch_size,
            validation,
            seed,
            early_stopping,
            progress,
        )


def _train(
    keras,
    tf,
    model,
    x_train,
    y_train,
    x_test,
    y_test,
    loss,
    optimizer,
    lr,
    epochs,
    batch_size,
    validation,
    seed,
    early_stopping,
    progress,
):
    keras.utils.set_random_seed(seed)
    optimizer_name, loss_name = optimizer, loss
    model.compile(
        optimizer=make_optimizer(optimizer, lr),
        loss=make_loss(loss),
        metrics=["accuracy"],
    )
    x_train, y_train = (
        tf.convert_to_tensor(x_train, tf.float32),
        tf.convert_to_tensor(y_train, tf.float32),
    )
    (x_fit, y_fit), (x_val, y_val) = split_validation(x_train, y_train, validation)
    config = {
        "engine": "keras",
        "loss": loss_name,
        "optimizer": optimizer_name,
        "lr": float(model.optimizer.learning_rate.numpy()),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "validation": int(validation),
        "seed": seed,
        "early_stopping": early_stopping,
    }
    history = History(config=config)

    def record(epoch, seconds):
        row = {"epoch": epoch}
        for split, (x, y) in (
            ("train", (x_fit, y_fit)),
            ("validation", (x_val, y_val)),
            ("test", (x_test, y_test)),
        ):
            if split == "validation" and not validation:
                continue
            row[f"{split}_loss"], row[f"{split}_accuracy"] = (
                float(v) for v in model.evaluate(x, y, batch_size=2048, verbose=0)
            )
        row["seconds"] = seconds
        history.epochs.append(row)
        if not np.isfinite(row["train_loss"]):
            raise TrainingDiverged(
                f"training diverged in epoch {epoch}: the loss stopped being finite "
                f"with {optimizer_name} "
                f"at learning rate {config['lr']:g}; try a smaller one.",
                history,
            )

    class Recorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            record(epoch + 1, time.perf_counter() - self.start)

    callbacks = [Recorder()]
    if early_stopping:
        if not validation:
            raise ValueError(
                "early stopping watches the validation loss: give a validation split "
                "too"
            )
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=int(early_stopping),
                restore_best_weights=True,
            )
        )
    if progress:
        bar = progress_bar(int(epochs), "training", "epoch")

        class Bar(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                bar.set_postfix(
                    loss=history.final["train_loss"],
                    test_acc=f"{history.final['test_accuracy']:.2%}",
                )
                bar.update()

        callbacks.append(Bar())
    record(0, 0.0)
    start = time.perf_counter()
    model.fit(
        x_fit,
        y_fit,
        batch_size=int(batch_size),
        epochs=int(epochs),
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
        validation_data=(x_val, y_val) if validation else None,
    )
    if progress:
        bar.close()
    history.wall_seconds = time.perf_counter() - start
    # the best weights were restored: report them
    if early_stopping and len(history.epochs) - 1 < int(epochs):
        record(len(history.epochs), 0.0)
        history.epochs[-1]["restored_best"] = True
    history.test_predictions = np.argmax(
        model.predict(x_test, batch_size=2048, verbose=0), axis=1
    )
    history.confusion = confusion_matrix(
        np.argmax(np.asarray(y_test), axis=1), history.test_predictions
    ).tolist()
    return history
