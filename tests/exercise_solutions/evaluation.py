"""More right and wrong answers for chapter 6's exercises (see tests/test_exercise_solutions.py)."""

from helpers import code

# The exercise's cell gives start_weights; a submission keeps it.
START_WEIGHTS = code("""
    def start_weights(n_in, n_out, seed):
        rng = np.random.Generator(np.random.PCG64(seed))
        return rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_out)), np.zeros(n_out)
""")

ALTERNATIVES = {
    "stratified_folds": [
        code("""
            def stratified_folds(labels, k, seed):
                from sklearn.model_selection import StratifiedKFold

                if k < 2 or k > len(labels):
                    raise ValueError(f"k must be between 2 and {len(labels)}, got {k}")
                splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
                return [validation for _, validation in splitter.split(np.zeros(len(labels)), labels)]
        """),
        code("""
            def stratified_folds(labels, k, seed):
                labels = np.asarray(labels)
                if not 2 <= k <= labels.size:
                    raise ValueError(f"expected 2 <= k <= {labels.size}; got k = {k}")
                tiebreak = np.random.default_rng(seed).random(labels.size)
                order = np.lexsort((tiebreak, labels))  # by class, shuffled within each class
                return [order[i::k] for i in range(k)]
        """),
    ],
    "fold_losses": [
        START_WEIGHTS + "\n\n" + code("""
            def fold_losses(x, t, folds, lr, steps, seed):
                x, t = tf.constant(x, tf.float64), tf.constant(t, tf.float64)
                losses = []
                for i, validation in enumerate(folds):
                    keep = np.ones(x.shape[0], dtype=bool)
                    keep[validation] = False
                    x_train, t_train = tf.boolean_mask(x, keep), tf.boolean_mask(t, keep)
                    w, b = (tf.Variable(v) for v in start_weights(x.shape[1], t.shape[1], 1000 * seed + i))
                    for _ in range(steps):
                        with tf.GradientTape() as tape:
                            cost = tf.reduce_mean((tf.sigmoid(x_train @ w + b) - t_train) ** 2)
                        grad_w, grad_b = tape.gradient(cost, [w, b])
                        w.assign_sub(lr * grad_w)
                        b.assign_sub(lr * grad_b)
                    y = tf.sigmoid(tf.gather(x, validation) @ w + b)
                    losses.append(float(tf.reduce_mean((y - tf.gather(t, validation)) ** 2)))
                return np.array(losses)
        """),
        START_WEIGHTS + "\n\n" + code("""
            def fold_losses(x, t, folds, lr, steps, seed):
                def cost(w, b, rows):
                    return np.mean((1 / (1 + np.exp(-(x[rows] @ w + b))) - t[rows]) ** 2)

                result = np.zeros(len(folds))
                for fold, validation in enumerate(folds):
                    train = np.array([row for row in range(len(x)) if row not in set(validation.tolist())])
                    w, b = start_weights(x.shape[1], t.shape[1], seed * 1000 + fold)
                    for _ in range(steps):
                        z = x[train] @ w + b
                        a = np.exp(-np.logaddexp(0, -z))                     # sigmoid(z)
                        delta = (a - t[train]) * a * (1 - a) * 2 / a.size    # dC/dz, (rows, n_out)
                        w, b = w - lr * np.einsum("ri,ro->io", x[train], delta), b - lr * delta.sum(axis=0)
                    result[fold] = cost(w, b, validation)
                return result
        """),
    ],
    "mean_and_spread": [
        code("""
            def mean_and_spread(scores):
                import statistics

                values = [float(s) for s in scores]
                return statistics.mean(values), statistics.stdev(values)
        """),
        code("""
            def mean_and_spread(scores):
                scores = tf.constant(scores, tf.float64)
                k = tf.cast(tf.size(scores), tf.float64)
                mean = tf.reduce_mean(scores)
                return mean, tf.sqrt(tf.reduce_sum((scores - mean) ** 2) / (k - 1))
        """),
    ],
}

# name: [(solution, what is wrong with it)]
WRONG = {
    "stratified_folds": [
        (code("""
            def stratified_folds(labels, k, seed):
                order = np.random.default_rng(seed).permutation(len(labels))
                return np.array_split(order, k)
        """), "shuffled but not stratified"),
        (code("""
            def stratified_folds(labels, k, seed):
                return np.array_split(np.arange(len(labels)), k)
        """), "consecutive blocks: not stratified"),
        (code("""
            def stratified_folds(labels, k, seed):
                rng = np.random.default_rng(seed)
                return [rng.choice(len(labels), len(labels) // k, replace=False) for _ in range(k)]
        """), "each fold drawn on its own: examples in two folds or in none"),
    ],
    "fold_losses": [
        (START_WEIGHTS + "\n\n" + code("""
            def fold_losses(x, t, folds, lr, steps, seed):
                w, b = start_weights(x.shape[1], t.shape[1], 1000 * seed)  # one model for every fold
                losses = []
                for validation in folds:
                    train = np.setdiff1d(np.arange(len(x)), validation)
                    for _ in range(steps):
                        a = 1 / (1 + np.exp(-(x[train] @ w + b)))
                        delta = 2 * (a - t[train]) / a.size * a * (1 - a)
                        w, b = w - lr * x[train].T @ delta, b - lr * delta.sum(axis=0)
                    a = 1 / (1 + np.exp(-(x[validation] @ w + b)))
                    losses.append(np.mean((a - t[validation]) ** 2))
                return np.array(losses)
        """), "one model reused across the folds: each fold starts from the last one's trained weights"),
        (START_WEIGHTS + "\n\n" + code("""
            def fold_losses(x, t, folds, lr, steps, seed):
                losses = []
                for validation in folds:
                    train = np.setdiff1d(np.arange(len(x)), validation)
                    w, b = start_weights(x.shape[1], t.shape[1], seed)  # the same start for every fold
                    for _ in range(steps):
                        a = 1 / (1 + np.exp(-(x[train] @ w + b)))
                        delta = 2 * (a - t[train]) / a.size * a * (1 - a)
                        w, b = w - lr * x[train].T @ delta, b - lr * delta.sum(axis=0)
                    a = 1 / (1 + np.exp(-(x[validation] @ w + b)))
                    losses.append(np.mean((a - t[validation]) ** 2))
                return np.array(losses)
        """), "every fold's network from the same seed, not the fold's own"),
        (START_WEIGHTS + "\n\n" + code("""
            def fold_losses(x, t, folds, lr, steps, seed):
                losses = []
                for i, validation in enumerate(folds):
                    train = np.setdiff1d(np.arange(len(x)), validation)
                    w, b = start_weights(x.shape[1], t.shape[1], 1000 * seed + i)
                    for _ in range(steps):
                        a = 1 / (1 + np.exp(-(x[train] @ w + b)))
                        delta = 2 * (a - t[train]) / a.size * a * (1 - a)
                        w, b = w - lr * x[train].T @ delta, b - lr * delta.sum(axis=0)
                    a = 1 / (1 + np.exp(-(x[train] @ w + b)))
                    losses.append(np.mean((a - t[train]) ** 2))
                return np.array(losses)
        """), "the loss on the training rows, not the fold's"),
    ],
    "mean_and_spread": [
        (code("""
            def mean_and_spread(scores):
                return float(np.mean(scores)), float(np.std(scores))
        """), "the population standard deviation (ddof=0)"),
        (code("""
            def mean_and_spread(scores):
                return float(np.mean(scores)), float(np.var(scores, ddof=1))
        """), "the variance, not the standard deviation"),
    ],
}
