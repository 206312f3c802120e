"""Chapter 5: the peers ``mlpkit bench`` measures the kit against, and the machine's
limit.

- JAX (an optional extra: ``pip install "mlpkit[jax]"``), when installed: chapter 4's
  network trained by a jitted step called once per batch (``jax_step``) and by a whole
  jitted epoch, its steps one ``lax.scan`` (``jax_epoch``); chapter 7's network (ReLU,
  cross-entropy, the kit's Adam rule) the same two ways. Each starts from the kit's
  initial weights and takes the batches in the same order, so after an epoch its
  weights can be checked against the kit's.
- ``matmul_program`` and ``time_matmuls``: how many floating-point operations per
  second TensorFlow's own matrix products reach on the shapes of one step of chapter
  7's network (``step_flops``), the ceiling that a training step, which is mostly those
  products, can approach.
"""

import importlib.util
import time

import numpy as np
import tensorflow as tf

from mlpkit import bench_variants
from mlpkit.defaults import THESIS_BATCH_SIZE, THESIS_LAYERS, THESIS_LR

PEERS = ("jax_epoch", "jax_step")
MODERN_PEERS = ("jax_epoch", "jax_step")


def jax_available():
    """Whether JAX can be imported (the peers are measured only then)."""
    return importlib.util.find_spec("jax") is not None


class _JaxTrainer:
    """Parameters as JAX arrays, trained by ``update(params, x_batch, y_batch) ->
    (params, loss)``, one jitted step a batch or one jitted ``lax.scan`` an epoch."""

    def __init__(self, params, update, batch_size, scan):
        import jax

        self.jax, self.params, self.batch_size = jax, params, int(batch_size)
        self.step = jax.jit(update)

        def epoch(params, x, y, batches):
            def body(params, index):
                return update(params, x[index], y[index])

            params, losses = jax.lax.scan(body, params, batches)
            return params, losses

        self.epoch = jax.jit(epoch) if scan else None
        self.data = None

    def run_epoch(self, x, y, order):
        jnp = self.jax.numpy
        if self.data is None or self.data[0] is not x:
            self.data = (x, jnp.asarray(np.asarray(x)), jnp.asarray(np.asarray(y)))
        _, x_all, y_all = self.data
        order, size = np.asarray(order, np.int32), self.batch_size
        full = len(order) // size
        losses = []
        if self.epoch is not None and full:
            batches = jnp.asarray(order[: full * size].reshape(full, size))
            self.params, scanned = self.epoch(self.params, x_all, y_all, batches)
            losses.append(scanned)
            starts = range(full * size, len(order), size)
        else:
            starts = range(0, len(order), size)
        for start in starts:
            index = jnp.asarray(order[start : start + size])
            self.params, loss = self.step(self.params, x_all[index], y_all[index])
            losses.append(loss[None])
        return float(np.mean(np.concatenate([np.asarray(v) for v in losses])))

    def get_weights(self):
        return [np.asarray(p) for p in self.jax.tree_util.tree_leaves(self.params)]


def sigmoid_trainer(name, weights, lr, batch_size):
    """Chapter 4's network (sigmoid, MSE, gradient descent) in JAX: ``name`` is
    ``"jax_epoch"`` or ``"jax_step"``."""
    import jax
    import jax.numpy as jnp

    def loss(params, x, y):
        a = x
        for w, b in zip(params[0::2], params[1::2]):
            a = jax.nn.sigmoid(a @ w + b)
        return jnp.mean((a - y) ** 2)

    def update(params, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        return [p - lr * g for p, g in zip(params, grads)], value

    params = [jnp.asarray(w) for w in weights]
    return _JaxTrainer(params, update, batch_size, scan=name == "jax_epoch")


def modern_trainer(name, weights, batch_size, lr=0.001, betas=(0.9, 0.999), eps=1e-7):
    """Chapter 7's network (ReLU, softmax cross-entropy, Adam in
    ``mlpkit.modern_optimizers.Adam``'s form) in JAX from ``weights``."""
    import jax
    import jax.numpy as jnp

    def loss(params, x, y):
        a = x
        for w, b in zip(params[0:-2:2], params[1:-2:2]):
            a = jax.nn.relu(a @ w + b)
        logits = a @ params[-2] + params[-1]
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(logits), axis=-1))

    def update(state, x, y):
        params, m, v, t = state
        value, grads = jax.value_and_grad(loss)(params, x, y)
        t = t + 1.0
        m = [betas[0] * a + (1 - betas[0]) * g for a, g in zip(m, grads)]
        v = [betas[1] * a + (1 - betas[1]) * g * g for a, g in zip(v, grads)]
        rate = lr * jnp.sqrt(1 - betas[1] ** t) / (1 - betas[0] ** t)
        params = [p - rate * a / (jnp.sqrt(b) + eps) for p, a, b in zip(params, m, v)]
        return (params, m, v, t), value

    params = [jnp.asarray(w) for w in weights]
    zeros = [jnp.zeros_like(p) for p in params]
    state = (params, zeros, list(zeros), jnp.float32(0.0))
    trainer = _JaxTrainer(state, update, batch_size, scan=name == "jax_epoch")
    count = len(params)
    trainer.get_weights = lambda: _JaxTrainer.get_weights(trainer)[:count]
    return trainer


def check_peers(
    x, y, layer_sizes=THESIS_LAYERS, lr=THESIS_LR, batch_size=THESIS_BATCH_SIZE, seed=0
):
    """One epoch of each JAX peer and of the kit's default from the same weights in the
    same order: ``{peer: max |peer weight - default weight|}`` (empty without JAX)."""
    if not jax_available():
        return {}
    weights, orders = bench_variants.starting_point(layer_sizes, seed, len(x), 1)
    reference = bench_variants.train_variant(
        bench_variants.DEFAULT_VARIANT,
        weights,
        x,
        y,
        orders,
        layer_sizes,
        lr,
        batch_size,
    )
    differences = {}
    for name in PEERS:
        trainer = sigmoid_trainer(name, weights, lr, batch_size)
        trainer.run_epoch(x, y, orders[0])
        differences[name] = max(
            float(np.max(np.abs(a - b)))
            for a, b in zip(trainer.get_weights(), reference)
        )
    return differences


def blas_in_use():
    """NumPy's BLAS library, its kernel (architecture) and threads, from threadpoolctl
    if installed, else from NumPy's build configuration (a short text)."""
    try:
        from threadpoolctl import threadpool_info

        pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    except ImportError:
        pools = []
    if pools:
        pool = pools[0]
        return (
            f"{pool['internal_api']} {pool.get('version') or ''} "
            f"({pool.get('architecture') or '?'} kernel, {pool['num_threads']} threads)"
        )
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    return f"{blas.get('name', '?')} {blas.get('version', '')} (NumPy's build)".strip()


# -- the machine's limit ---------------------------------------------------------------


def step_flops(layer_sizes, batch_size):
    """Floating-point operations of the matrix products of one training step: forward,
    the weights' gradients, and the gradients passed back to every layer but the
    first (2 per multiply-add)."""
    pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    products = 2 * sum(n_in * n_out for n_in, n_out in pairs)
    products += sum(n_in * n_out for n_in, n_out in pairs[1:])
    return 2 * int(batch_size) * products


def matmul_program(layer_sizes, batch_size, seed=0):
    """``run()``: one step's matrix products alone, with the shapes of a training step
    of a network of ``layer_sizes`` at ``batch_size``, as a ``tf.function``."""
    rng = np.random.default_rng(seed)
    pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    inputs = [tf.constant(rng.random((batch_size, n), np.float32)) for n, _ in pairs]
    deltas = [tf.constant(rng.random((batch_size, n), np.float32)) for _, n in pairs]
    weights = [tf.constant(rng.random(pair, np.float32)) for pair in pairs]

    @tf.function
    def run():
        total = tf.constant(0.0)
        for layer, (a, d, w) in enumerate(zip(inputs, deltas, weights)):
            total += tf.reduce_sum(a @ w) + tf.reduce_sum(tf.transpose(a) @ d)
            if layer:
                total += tf.reduce_sum(d @ tf.transpose(w))
        return total

    return run


def time_matmuls(run, steps):
    """Seconds for ``steps`` calls of a ``matmul_program``."""
    start = time.perf_counter()
    for _ in range(steps):
        run()
    float(run())
    return time.perf_counter() - start
