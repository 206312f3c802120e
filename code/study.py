"""Chapter 6: k-fold cross-validation studies: folds, one unit of training, summaries
and saturation.

A study trains each configuration of a grid (``mlpkit.study_grids``: what a grid holds
and how it is checked) once per fold.

Done right, unlike the thesis's version:
- the folds are scikit-learn's ``StratifiedKFold`` over the training set
  only (``make_folds``); the test set is never inside a fold, and every
  fold's model is evaluated on it too. With k = 1 the study is the plain
  train/test split;
- every fold trains a fresh model, built from ``seed`` and the fold number
  (``fold_seed``).

``run_unit`` trains one configuration on one fold; ``cross_validate`` runs a small grid
here, in memory; ``summarise`` gives each configuration's mean and spread over folds,
which the plots draw (``mlpkit.study_plots``). Running full studies (``mlpkit study``:
unit files, resuming, worker processes, shards, merging) is ``mlpkit.runs.studies``;
what a study folder holds, ``mlpkit.runs.study_files``.
"""

import json
import pathlib
import time

import numpy as np

from mlpkit.study_grids import StudyError, check_grid, config_key

# Summaries of the full studies chapter 6 plots (`make studies` rewrites them). They
# ship inside the package, so the chapter also runs where only the package is installed
# (Colab, a bare Jupyter).
RESULT_DIR = pathlib.Path(__file__).parent / "results"


def published_results(name):
    """The committed summary of the full study ``name`` (as `results.json` of
    ``mlpkit study``)."""
    path = RESULT_DIR / f"{name}.json"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in RESULT_DIR.glob("*.json")))
        raise StudyError(f"no published results named {name!r}; there are: {names}")
    return json.loads(path.read_text())


# Shown in book/evaluation.md (literalinclude).
def make_folds(labels, k, seed):
    """Stratified k-fold ``(train_index, validation_index)`` pairs over ``labels``."""
    from sklearn.model_selection import StratifiedKFold

    if k < 2:
        raise ValueError(
            f"k-fold needs k >= 2; got {k} (k = 1 is the plain train/test split)"
        )
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels))


def fold_seed(seed, fold):
    """The seed of fold ``fold``'s model and data order: different per fold, the same
    for the same seed."""
    return 1000 * seed + fold


# --- one unit of work ------------------------------------------------------------

_DATA = {}  # per process: the data set, loaded once


def load_unit_data(dataset, data_dir, images):
    """``(x_train, y_train, x_test, y_test, source, fingerprint)`` as the units use them
    (loaded once per process)."""
    key = (dataset, data_dir, images)
    if key not in _DATA:
        from mlpkit import data

        loaded = data.load_data(dataset, data_dir=data_dir, download=False)
        x_train, y_train, x_test, y_test = (
            loaded.x_train,
            loaded.y_train,
            loaded.x_test,
            loaded.y_test,
        )
        if images:  # a stratified subset of the training set, for quick studies
            x_train, y_train = subsample(x_train, y_train, images)
        _DATA.clear()
        _DATA[key] = (
            x_train,
            y_train,
            x_test,
            y_test,
            loaded.source,
            loaded.fingerprint,
        )
    return _DATA[key]


def subsample(x, y, n, seed=0):
    """A stratified subset of ``n`` examples."""
    from sklearn.model_selection import train_test_split

    if n >= len(y):
        return x, y
    keep, _ = train_test_split(
        np.arange(len(y)), train_size=n, stratify=y, random_state=seed
    )
    return x[np.sort(keep)], y[np.sort(keep)]


def run_unit(config, fold, folds, seed, dataset, data_dir=None, images=None):
    """Train one configuration on one fold (``fold`` is ``None`` for the plain split);
    returns the unit's result."""
    from mlpkit import data, training
    from mlpkit.model import SigmoidMLP

    x_train, y_train, x_test, y_test, source, fingerprint = load_unit_data(
        dataset, data_dir, images
    )
    if folds > 1:
        train_index, val_index = make_folds(y_train, folds, seed)[fold]
        x_fit, y_fit, x_val, y_val = (
            x_train[train_index],
            y_train[train_index],
            x_train[val_index],
            y_train[val_index],
        )
    else:
        x_fit, y_fit, x_val, y_val = x_train, y_train, x_test, y_test
    unit_seed = fold_seed(seed, fold or 0)
    model = SigmoidMLP(config["layers"], init=config["init"], seed=unit_seed)
    start = time.perf_counter()
    train_config = training.TrainConfig(
        lr=config["lr"],
        batch_size=config["batch_size"],
        epochs=config["epochs"],
        seed=unit_seed,
    )
    x_val_t, y_val_t = data.preprocess(x_val, y_val)
    history = training.train(
        model,
        *data.preprocess(x_fit, y_fit),
        x_val_t,
        y_val_t,
        config=train_config,
        progress=False,
        stop_on_saturation=False,
    )
    on_test = training.evaluate(model, *data.preprocess(x_test, y_test))
    confusion = np.array(history.confusion)
    return {
        "config": config,
        "fold": fold,
        "train_images": len(y_fit),
        "validation_images": len(y_val),
        "validation_accuracy": history.final["test_accuracy"],
        "validation_loss": history.final["test_loss"],
        "test_accuracy": on_test.accuracy,
        "test_loss": on_test.loss,
        "per_class_correct": np.diag(confusion).tolist(),
        "per_class_total": confusion.sum(axis=1).tolist(),
        "history": history.epochs,
        "wall_seconds": time.perf_counter() - start,
        "data_source": source,
        "data_fingerprint": fingerprint,
    }


def fold_names(folds):
    """The folds of a unit: ``0, ..., k - 1``, or ``None`` alone for the plain split (k
    = 1)."""
    return list(range(folds)) if folds > 1 else [None]


def cross_validate(grid, dataset="mnist", data_dir=None, images=None):
    """Train every configuration of ``grid`` on every fold, here and in memory; returns
    ``summarise``'s rows.

    The same units ``mlpkit study`` runs, without its files, worker processes or
    resuming (``mlpkit.runs.studies``): for a small grid, such as the chapter's.
    ``images`` takes a stratified subset of the training set.
    """
    configs, folds, seed = check_grid(grid)
    results = [
        run_unit(config, fold, folds, seed, dataset, data_dir, images)
        for config in configs
        for fold in fold_names(folds)
    ]
    return summarise(configs, results)


def summarise(configs, results):
    """One row per configuration with results: fold statistics, per-class counts,
    curves, wall time.

    ``results`` are unit results (``run_unit``'s); configurations without any are left
    out.
    """
    results = list(results)
    rows = []
    for config in configs:
        units = sorted(
            (r for r in results if r["config"] == config), key=lambda r: r["fold"] or 0
        )
        if not units:
            continue
        accuracy = [100 * u["validation_accuracy"] for u in units]
        loss = [u["validation_loss"] for u in units]
        curves = np.mean(
            [[e["test_loss"] for e in u["history"]] for u in units], axis=0
        )
        rows.append(
            {
                "key": config_key(config),
                **config,
                "folds": len(units),
                "accuracy_mean": float(np.mean(accuracy)),
                "accuracy_std": float(np.std(accuracy, ddof=1))
                if len(units) > 1
                else 0.0,
                "accuracy_per_fold": accuracy,
                "loss_mean": float(np.mean(loss)),
                "loss_std": float(np.std(loss, ddof=1)) if len(units) > 1 else 0.0,
                "test_accuracy_mean": float(
                    np.mean([100 * u["test_accuracy"] for u in units])
                ),
                "per_class_correct": np.sum(
                    [u["per_class_correct"] for u in units], axis=0
                ).tolist(),
                "per_class_total": np.sum(
                    [u["per_class_total"] for u in units], axis=0
                ).tolist(),
                "validation_loss_per_epoch": curves.tolist(),
                "max_saturated_outputs": max(
                    max(e["saturated_outputs"] for e in u["history"]) for u in units
                ),
                "wall_seconds": float(sum(u["wall_seconds"] for u in units)),
            }
        )
    return rows


# --- saturation -----------------------------------------------------------------------

# : A sigmoid unit is saturated when its slope ``σ'(z) = a(1 - a)`` is below this
# (chapters 6 and 9).
SATURATED_SLOPE = 0.01


def saturated_fraction(model, x, slope=SATURATED_SLOPE):
    """Per layer, the fraction of sigmoid units on the batch ``x`` whose slope
    ``σ'(z) = a(1 - a)`` is below ``slope``.

    A unit that far into saturation passes back less than ``slope`` of the gradient that
    reaches it, so it barely learns. For networks whose layers are all sigmoids: chapter
    4's ``SigmoidMLP``, or chapter 9's ``modern.MLP`` with sigmoid hidden layers and
    output (``ValueError`` otherwise).
    """
    from mlpkit.gradients import forward

    activation, output = (
        getattr(model, "activation", "sigmoid"),
        getattr(model, "output", "sigmoid"),
    )
    if activation != "sigmoid" or output != "sigmoid":
        raise ValueError(
            f"saturation is measured on sigmoid layers; this network has {activation} "
            "hidden "
            f"layers and a {output} output"
        )
    return [
        float(np.mean(a.numpy() * (1.0 - a.numpy()) < slope))
        for a in forward(model.params, x)[1:]
    ]
