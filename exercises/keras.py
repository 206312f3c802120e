# %% [markdown]
# # Exercises: the same networks in Keras
#
# Write each function where it says so, replacing `raise NotImplementedError`.
# Use NumPy, TensorFlow and Keras. Check your work with
# `mlpkit exercises check FILE`.

# %%
import keras
import numpy as np

# %% [markdown] exercise="build_dropout_model"
# ## The two-layer dropout model
#
# Write `build_dropout_model()`, returning an uncompiled Keras model for
# `(28, 28)` images: flatten them, then two `Dense(50, activation="relu")`
# layers, each followed by `Dropout(0.2)`, then `Dense(10,
# activation="softmax")`. It has 42,310 parameters.
#
# The checks judge what it does: they give it their own weights and compare
# its outputs with the described model's in inference mode, and, over many
# passes in training mode (dropout on), how much its outputs vary.

# %% exercise="build_dropout_model"
def build_dropout_model():
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(50, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(50, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ])
    ### END SOLUTION

# %% [markdown] exercise="normalise_confusion"
# ## A confusion matrix normalised by true class
#
# Write `normalise_confusion(confusion)`: for a square NumPy array of counts
# (row `i`: examples of true class `i`; column `j`: predicted as `j`), return
# a float array in which each row is divided by its own total, so each row
# sums to 1. A row of zeros stays zeros.

# %% exercise="normalise_confusion"
def normalise_confusion(confusion):
    ### BEGIN SOLUTION
    confusion = np.asarray(confusion, dtype=float)
    totals = confusion.sum(axis=1, keepdims=True)
    return np.divide(confusion, totals, out=np.zeros_like(confusion), where=totals > 0)
    ### END SOLUTION

# %% [markdown] exercise="early_stopping_epoch"
# ## Where early stopping stops
#
# `val_losses[k]` is the validation loss after epoch `k + 1`. Early stopping
# with patience `p` stops after the first epoch at which the loss has not
# improved on its best for `p` epochs in a row (a loss equal to the best is
# no improvement), and restores the weights of the best epoch. Write
# `early_stopping_epoch(val_losses, patience)` returning the pair
# `(stopped, best)` of epoch numbers (counting from 1); if it never stops,
# `stopped` is the last epoch.

# %% exercise="early_stopping_epoch"
def early_stopping_epoch(val_losses, patience):
    ### BEGIN SOLUTION
    best, best_loss, waited = 1, float("inf"), 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best, best_loss, waited = epoch, loss, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch, best
    return len(val_losses), best
    ### END SOLUTION
