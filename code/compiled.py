"""Chapters 5 and 7: a training step and a whole epoch compiled by XLA, for any model.

``make_epoch_function`` in ``mlpkit.training`` compiles chapter 4's epoch; the two
functions here do the same for any model of the kit, any loss and any optimizer of
``mlpkit.modern_optimizers`` (chapter 7's network with Adam, say):

- ``make_compiled_step``: one step ``step(x, y) -> loss`` as a ``tf.function``,
  compiled by XLA with ``jit_compile=True``, so the forward pass, the gradients and the
  optimizer's update of every weight are fused into a few kernels instead of dozens of
  separate passes over the weights;
- ``make_compiled_epoch``: every full batch of an epoch in one call: the epoch's data
  laid out once, shuffled, as ``(batches, batch_size, features)``, and a ``tf.range``
  loop over it in the same compiled program; the batches' losses come back together, so
  Python waits for the machine once per epoch, not once per step.

The optimizer's slots (Adam's moments) are made before the first trace, so no variable
is created inside the compiled program. Compiled or not, a step is the same arithmetic:
``tests/test_modern_compiled.py`` checks that an epoch ends with the same weights as the
plain loop (``mlpkit.modern.make_train_step``) to float32 precision. One exception:
dropout's random masks. XLA draws them with its own random number generator, so a
compiled run with dropout is reproducible from its seed but drops other units than the
plain loop would.
"""

import numpy as np
import tensorflow as tf


def _loss_and_update(model, loss, optimizer):
    """``update(x, y) -> loss``: forward pass (in training mode, for a model that has
    one), tape and ``optimizer``'s update, in plain Python (traced by the callers)."""
    variables = model.params
    takes_training = "training" in model.__call__.__code__.co_varnames
    if getattr(optimizer, "slots", 0) is None:
        optimizer._make_slots(variables, optimizer.slot_count)

    def update(x, y):
        with tf.GradientTape() as tape:
            outputs = model(x, training=True) if takes_training else model(x)
            value = loss(outputs, y)
        optimizer.apply(tape.gradient(value, variables), variables)
        return value

    return update


def make_compiled_step(model, loss, optimizer, jit_compile=True):
    """One compiled step ``step(x, y) -> loss`` on one batch (XLA with
    ``jit_compile``)."""
    return tf.function(
        _loss_and_update(model, loss, optimizer), jit_compile=jit_compile
    )


def make_compiled_epoch(model, loss, optimizer, batch_size, jit_compile=True):
    """``run_epoch(x, y, order) -> the batches' losses`` (a NumPy array), the epoch's
    full batches in one compiled call.

    ``order`` is the epoch's permutation of example indices; its first ``batch_size``
    make the first batch, and so on, as ``mlpkit.modern.run_epoch``. A last, smaller
    batch, if any, is one more call of the step, as a ``tf.function`` without XLA.
    """
    update = _loss_and_update(model, loss, optimizer)
    batch_size = int(batch_size)

    @tf.function(jit_compile=jit_compile)
    def full_batches(x, y, batches):
        x_batches, y_batches = tf.gather(x, batches), tf.gather(y, batches)
        count = tf.shape(batches)[0]
        losses = tf.TensorArray(tf.float32, size=count)
        for i in tf.range(count):
            losses = losses.write(
                i, tf.cast(update(x_batches[i], y_batches[i]), tf.float32)
            )
        return losses.stack()

    # one step an epoch: not worth a second XLA compilation (seconds per ``train``)
    last_batch = tf.function(update)

    def run_epoch(x, y, order):
        order = np.asarray(order, dtype=np.int32)
        full = len(order) // batch_size
        losses = []
        if full:
            batches = order[: full * batch_size].reshape(full, batch_size)
            losses.append(full_batches(x, y, tf.constant(batches)).numpy())
        if len(order) > full * batch_size:
            rest = tf.constant(order[full * batch_size :])
            losses.append([float(last_batch(tf.gather(x, rest), tf.gather(y, rest)))])
        return np.concatenate(losses) if losses else np.zeros(0, np.float32)

    # the compiled functions, for counting their traces
    run_epoch.full_batches, run_epoch.last_batch = full_batches, last_batch
    return run_epoch
