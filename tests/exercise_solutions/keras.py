"""Right and wrong answers for chapter 8's exercises (see tests/test_exercise_solutions.py)."""

from helpers import code

ALTERNATIVES = {
    "build_dropout_model": [
        code("""
            def build_dropout_model():  # dropout before the ReLU is the same: ReLU(0) = 0, and the scale is positive
                inputs = keras.Input(shape=(28, 28))
                x = keras.layers.Flatten()(inputs)
                for _ in range(2):
                    x = keras.layers.Dense(50)(x)
                    x = keras.layers.Dropout(0.2)(x)
                    x = keras.layers.ReLU()(x)
                return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
        """),
        code("""
            def build_dropout_model():
                model = keras.Sequential()
                model.add(keras.Input((28, 28)))
                model.add(keras.layers.Reshape((784,)))
                model.add(keras.layers.Dense(50, activation="relu"))
                model.add(keras.layers.Dropout(rate=0.2))
                model.add(keras.layers.Dense(50, activation=keras.activations.relu))
                model.add(keras.layers.Dropout(rate=0.2))
                model.add(keras.layers.Dense(10))
                model.add(keras.layers.Activation("softmax"))
                return model
        """),
    ],
    "normalise_confusion": [
        code("""
            def normalise_confusion(confusion):
                c = np.asarray(confusion, dtype=float)
                return c / np.maximum(c.sum(axis=1, keepdims=True), 1)
        """),
        code("""
            def normalise_confusion(confusion):
                rows = []
                for row in np.asarray(confusion, dtype=np.float64):
                    total = row.sum()
                    rows.append(row / total if total else np.zeros_like(row))
                return np.array(rows)
        """),
        code("""
            def normalise_confusion(confusion):
                c = tf.cast(confusion, tf.float64)
                return tf.math.divide_no_nan(c, tf.reduce_sum(c, axis=1, keepdims=True))
        """),
    ],
    "early_stopping_epoch": [
        code("""
            def early_stopping_epoch(val_losses, patience):
                losses = list(val_losses)
                for epoch in range(1, len(losses) + 1):
                    best = int(np.argmin(losses[:epoch])) + 1  # the first of equal minima
                    if epoch - best >= patience:
                        return epoch, best
                return len(losses), int(np.argmin(losses)) + 1
        """),
        code("""
            def early_stopping_epoch(val_losses, patience):
                losses = np.asarray(val_losses, dtype=float)
                improved = np.r_[True, losses[1:] < np.minimum.accumulate(losses)[:-1]]
                best = 0
                for index in range(len(losses)):
                    if improved[index]:
                        best = index
                    elif index - best >= patience:
                        return index + 1, best + 1
                return len(losses), best + 1
        """),
    ],
}


WRONG = {
    "build_dropout_model": [
        (
            code("""
            def build_dropout_model():
                return keras.Sequential([
                    keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dropout(0.2),
                    keras.layers.Dense(50, activation="relu"), keras.layers.Dense(50, activation="relu"),
                    keras.layers.Dropout(0.2), keras.layers.Dense(10, activation="softmax"),
                ])
        """),
            "misordered: the first Dropout on the inputs",
        ),
        (
            code("""
            def build_dropout_model():
                return keras.Sequential([
                    keras.Input((28, 28)), keras.layers.Flatten(),
                    keras.layers.Dense(50, activation="relu"), keras.layers.Dropout(0.2),
                    keras.layers.Dense(50), keras.layers.Dropout(0.2),
                    keras.layers.Dense(10, activation="softmax"),
                ])
        """),
            "the second hidden layer's ReLU missing",
        ),
        (
            code("""
            def build_dropout_model():
                return keras.Sequential([
                    keras.Input((28, 28)), keras.layers.Flatten(),
                    keras.layers.Dense(50, activation="relu"), keras.layers.Dropout(0.5),
                    keras.layers.Dense(50, activation="relu"), keras.layers.Dropout(0.5),
                    keras.layers.Dense(10, activation="softmax"),
                ])
        """),
            "dropout rate 0.5",
        ),
    ],
    "normalise_confusion": [
        (
            code("""
            def normalise_confusion(confusion):
                c = np.asarray(confusion, dtype=float)
                totals = c.sum(axis=0, keepdims=True)
                return np.divide(c, totals, out=np.zeros_like(c), where=totals > 0)
        """),
            "divided by the column totals",
        ),
        (
            code("""
            def normalise_confusion(confusion):
                c = np.asarray(confusion, dtype=float)
                return c / c.sum(axis=1, keepdims=True)
        """),
            "NaN for a row of zeros",
        ),
    ],
    "early_stopping_epoch": [
        (
            code("""
            def early_stopping_epoch(val_losses, patience):
                best, best_loss, waited = 1, float("inf"), 0
                for epoch, loss in enumerate(val_losses, start=1):
                    if loss <= best_loss:
                        best, best_loss, waited = epoch, loss, 0
                    else:
                        waited += 1
                        if waited >= patience:
                            return epoch, best
                return len(val_losses), best
        """),
            "a tie counted as an improvement",
        ),
        (
            code("""
            def early_stopping_epoch(val_losses, patience):
                best, best_loss, waited = 0, float("inf"), 0
                for epoch, loss in enumerate(val_losses):
                    if loss < best_loss:
                        best, best_loss, waited = epoch, loss, 0
                    else:
                        waited += 1
                        if waited >= patience:
                            return epoch, best
                return len(val_losses) - 1, best
        """),
            "epochs counted from 0",
        ),
        (
            code("""
            def early_stopping_epoch(val_losses, patience):
                best, best_loss, waited = 1, float("inf"), 0
                for epoch, loss in enumerate(val_losses, start=1):
                    if loss < best_loss:
                        best, best_loss, waited = epoch, loss, 0
                    else:
                        waited += 1
                        if waited > patience:
                            return epoch, best
                return len(val_losses), best
        """),
            "one epoch too patient",
        ),
    ],
}
