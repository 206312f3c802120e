"""Chapter 6: k-fold cross-validation studies: grids, folds, one unit of training,
summaries and plots.

A study is a grid of configurations (layer sizes, learning rate, epochs,
batch size, initialisation), each trained once per fold. A grid is a dict
(or a JSON/YAML file, or one of the named files in ``grids/``, such as
``figure18``) with list-valued keys whose product gives the configurations,
or with ``configs``, an explicit list of them; ``folds`` is k, ``seed`` the
base seed. A key left out takes the thesis's value (``DEFAULTS``).

Done right, unlike the thesis's version:
- the folds are scikit-learn's ``StratifiedKFold`` over the training set
  only (``make_folds``); the test set is never inside a fold, and every
  fold's model is evaluated on it too. With k = 1 the study is the plain
  train/test split;
- every fold trains a fresh model, built from ``seed`` and the fold number
  (``fold_seed``).

``run_unit`` trains one configuration on one fold; ``cross_validate`` runs a
small grid here, in memory; ``summarise`` gives each configuration's mean and
spread over folds, which the plots draw. Running full studies (``mlpkit
study``: unit files, resuming, worker processes, shards, merging) is
``mlpkit.runs.studies``; what a study folder holds, ``mlpkit.runs.study_files``.
"""

import itertools
import json
import math
import pathlib
import time

import numpy as np

from mlpkit.defaults import INITS, MAX_SEED, THESIS_RECIPE

GRID_DIR = pathlib.Path(__file__).parent / "grids"
# Summaries of the full studies chapter 6 plots (`make studies` rewrites them). They
# ship inside the package, so the chapter also runs where only the package is installed
# (Colab, a bare Jupyter).
RESULT_DIR = pathlib.Path(__file__).parent / "results"
#: A grid key left out takes the thesis's value (``mlpkit.defaults``).
DEFAULTS = THESIS_RECIPE
STUDY_KEYS = {"title", "folds", "seed", "configs"}


class StudyError(RuntimeError):
    """The study cannot run as asked; the message says why and what to do."""


def grid_names():
    return sorted(path.stem for path in GRID_DIR.glob("*.json"))


def published_results(name):
    """The committed summary of the full study ``name`` (as `results.json` of ``mlpkit
    study``)."""
    path = RESULT_DIR / f"{name}.json"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in RESULT_DIR.glob("*.json")))
        raise StudyError(f"no published results named {name!r}; there are: {names}")
    return json.loads(path.read_text())


def load_grid(name_or_path):
    """A grid from a file (``.json``, ``.yaml``, ``.yml``) or by name (``figure18``)."""
    path = pathlib.Path(name_or_path)
    if path.is_dir():
        raise StudyError(
            f"GRID {path}: is a folder; expected a .json or .yaml grid file or a named "
            "grid "
            f"({', '.join(grid_names())})"
        )
    if not path.is_file():
        path = GRID_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise StudyError(
                f"no grid file or named grid {name_or_path!r}; "
                f"the named grids are {', '.join(grid_names())}"
            )
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            grid = yaml.safe_load(path.read_text())
        else:
            grid = json.loads(path.read_text())
    except Exception as error:
        raise StudyError(f"{path}: not a readable grid file ({error})") from None
    if not isinstance(grid, dict):
        raise StudyError(
            f"{path}: a grid is a mapping of keys to lists; got {type(grid).__name__}"
        )
    return grid


def is_int(value):
    """Whether ``value`` is a whole number (an ``int``, not a ``bool``)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_value(key, value):
    """Raise ``StudyError`` unless ``value`` is a valid value of the configuration key
    ``key``."""
    expected = {
        "layers": (
            "lists of at least two positive whole numbers from 784 to 10, such as "
            "[784, 15, 10]",
            isinstance(value, list) and all(is_int(n) for n in value),
        ),
        "lr": (
            "positive numbers such as 0.9",
            _is_number(value) and math.isfinite(value) and value > 0,
        ),
        "epochs": ("whole numbers 1 or more, such as 10", is_int(value) and value >= 1),
        "batch_size": (
            "whole numbers 1 or more, such as 10",
            is_int(value) and value >= 1,
        ),
        "init": (f"one of {', '.join(map(repr, INITS))}", value in INITS),
    }
    what, valid = expected[key]
    if not valid:
        raise StudyError(f"grid key {key!r}: expected {what}; got {value!r}")


def configurations(grid):
    """The list of configurations a grid describes, each a complete dict, in the grid's
    order."""
    from mlpkit.model import check_layer_sizes

    unknown = set(grid) - set(DEFAULTS) - STUDY_KEYS
    if unknown:
        raise StudyError(
            f"unknown grid keys {sorted(unknown)}; expected "
            f"{sorted(set(DEFAULTS) | STUDY_KEYS)}"
        )
    if "configs" in grid:
        if not isinstance(grid["configs"], list) or not grid["configs"]:
            raise StudyError(
                "grid key 'configs' must be a non-empty list of configurations; got "
                f"{grid['configs']!r}"
            )
        shared = {}
        # beside explicit configs, a key is a default for all of them
        for key in set(DEFAULTS) & set(grid):
            if not isinstance(grid[key], list) or len(grid[key]) != 1:
                raise StudyError(
                    f"beside explicit configs, {key!r} must be a one-value list (a "
                    "default for each); "
                    f"got {grid[key]!r}"
                )
            shared[key] = grid[key][0]
        configs = []
        for entry in grid["configs"]:
            if not isinstance(entry, dict) or set(entry) - set(DEFAULTS):
                raise StudyError(
                    f"each entry of configs maps some of {sorted(DEFAULTS)} to one "
                    f"value; got {entry!r}"
                )
            configs.append({**DEFAULTS, **shared, **entry})
    else:
        axes = {key: grid.get(key, [value]) for key, value in DEFAULTS.items()}
        for key, values in axes.items():
            if not isinstance(values, list) or not values:
                raise StudyError(
                    f"grid key {key!r} must be a non-empty list, "
                    f'e.g. "lr": [0.9, 0.1]; got {values!r}'
                )
        configs = [
            dict(zip(axes, values)) for values in itertools.product(*axes.values())
        ]
    for config in configs:
        for key in DEFAULTS:
            _check_value(key, config[key])
        try:
            config["layers"] = check_layer_sizes(config["layers"])
        except ValueError as error:
            raise StudyError(f"grid key 'layers': {error}") from None
    return configs


def check_grid(grid):
    """``(configurations, folds, seed)`` of a grid, or ``StudyError`` saying what is
    wrong (no data needed)."""
    configs = configurations(grid)
    folds, seed, title = (
        grid.get("folds", 5),
        grid.get("seed", 0),
        grid.get("title", ""),
    )
    if not is_int(folds) or folds < 1:
        raise StudyError(
            "folds must be a whole number, 1 (the plain train/test split) or more; "
            f"got {folds!r}"
        )
    if not is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise StudyError(
            f"seed must be a whole number from 0 to {MAX_SEED}; got {seed!r}"
        )
    if not isinstance(title, str):
        raise StudyError(f"title must be a string; got {title!r}")
    return configs, folds, seed


def config_key(config):
    """A readable, unique name for a configuration, e.g.
    ``784-15-10_lr0.9_e10_b10_uniform``."""
    layers = "-".join(map(str, config["layers"]))
    lr, epochs, batch_size = config["lr"], config["epochs"], config["batch_size"]
    return f"{layers}_lr{lr!r}_e{epochs}_b{batch_size}_{config['init']}"


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

    The same units ``mlpkit study`` runs, without its files, worker
    processes or resuming (``mlpkit.runs.studies``): for a small grid, such as
    the chapter's. ``images`` takes a stratified subset of the training set.
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
    """Per layer, the fraction of sigmoid units on the batch ``x`` whose slope ``σ'(z) =
    a(1 - a)`` is below ``slope``.

    A unit that far into saturation passes back less than ``slope`` of the
    gradient that reaches it, so it barely learns. For networks whose layers
    are all sigmoids: chapter 4's ``SigmoidMLP``, or chapter 9's
    ``modern.MLP`` with sigmoid hidden layers and output (``ValueError``
    otherwise).
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


# --- figures --------------------------------------------------------------------------


def _label(row, axis):
    if axis == "layers":
        return str(row["layers"])
    return f"{row[axis]:g}" if isinstance(row[axis], float) else str(row[axis])


def varying_axis(rows):
    """The configuration key that differs between rows (``layers`` if several do)."""
    varying = [
        key
        for key in ("lr", "epochs", "batch_size", "init")
        if len({str(r[key]) for r in rows}) > 1
    ]
    return varying[0] if len(varying) == 1 else "layers"


def plot_accuracy(rows, title="", ax=None):
    """Mean fold accuracy per configuration with ±1 standard deviation error bars."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    axis = varying_axis(rows)
    labels = [_label(r, axis) for r in rows]
    ax.errorbar(
        range(len(rows)),
        [r["accuracy_mean"] for r in rows],
        yerr=[r["accuracy_std"] for r in rows],
        fmt="o",
        capsize=5,
    )
    ax.set_xticks(
        range(len(rows)),
        labels,
        rotation=20 if axis == "layers" else 0,
        fontsize="small",
    )
    ax.set_xlabel({"lr": "learning rate", "layers": "layer sizes"}.get(axis, axis))
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(title or "Mean over folds, ±1 standard deviation")
    return ax


def plot_error_curves(rows, title="", ax=None):
    """Mean validation loss per epoch for each configuration (thesis Figure 21)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    axis = varying_axis(rows)
    for row in rows:
        curve = row["validation_loss_per_epoch"]
        ax.plot(range(len(curve)), curve, marker=".", label=_label(row, axis))
    ax.set_xlabel("epoch (0 = before training)")
    ax.set_ylabel("validation MSE (mean over folds)")
    ax.set_title(title or "Validation error per epoch")
    ax.legend(fontsize="small", title={"lr": "learning rate"}.get(axis, axis))
    return ax


# : How a label names each setting when several differ between configurations, and the
# name of each.
_SETTING_LABELS = {
    "layers": str,
    "lr": "lr {:g}".format,
    "epochs": "{} epochs".format,
    "batch_size": "batch {}".format,
    "init": str,
}
_SETTING_NAMES = {
    "layers": "layer sizes",
    "lr": "learning rate",
    "epochs": "epochs",
    "batch_size": "batch size",
    "init": "initialisation",
}
# : Height added to the accuracy plot for labels that name several settings, slanted
# under it.
_SLANTED_LABEL_INCHES = 1.0


def _settings_that_vary(rows):
    """The configuration keys whose values differ between ``rows``, layer sizes
    first."""
    return [key for key in _SETTING_LABELS if len({str(row[key]) for row in rows}) > 1]


def configuration_labels(rows):
    """One label per row that tells the configurations apart.

    With one setting varying, its value (as the plots label it); with
    several, each of them, such as ``[784, 30, 15, 10], 25 epochs``.
    """
    keys = _settings_that_vary(rows)
    if len(keys) <= 1:
        return [_label(row, varying_axis(rows)) for row in rows]
    return [", ".join(_SETTING_LABELS[key](row[key]) for key in keys) for row in rows]


def _name_every_setting(ax_accuracy, ax_curves, rows):
    """Relabel both plots by ``configuration_labels`` when more than one setting varies
    between ``rows``."""
    keys = _settings_that_vary(rows)
    if len(keys) <= 1:
        return
    labels = configuration_labels(rows)
    names = ", ".join(_SETTING_NAMES[key] for key in keys)
    ax_accuracy.set_xticks(
        range(len(rows)),
        labels,
        rotation=30,
        ha="right",
        rotation_mode="anchor",
        fontsize="small",
    )
    ax_accuracy.set_xlabel(names)
    ax_accuracy.figure.set_figheight(
        ax_accuracy.figure.get_figheight() + _SLANTED_LABEL_INCHES
    )
    for line, label in zip(ax_curves.get_lines(), labels):
        line.set_label(label)
    ax_curves.legend(fontsize="small", title=names)


def report_figures(report):
    """The figures ``write_plots`` saves, laid out, by file name.

    ``accuracy.png`` shows the mean accuracy per configuration and
    ``error_curves.png`` the validation error per (whole) epoch; when several
    settings vary between configurations, both name every one of them.
    """
    from mlpkit.plotting import whole_number_ticks

    rows, title = report["results"], report.get("title", "")
    if report.get("partial"):  # a merge with units missing says so on every plot
        partial = report["partial"]
        present, total = partial["units_present"], partial["units_total"]
        title = f"{title + ': ' if title else ''}partial, {present} of {total} units"
    ax_accuracy = plot_accuracy(rows, title)
    ax_curves = plot_error_curves(rows, title)
    whole_number_ticks(ax_curves.xaxis)
    _name_every_setting(ax_accuracy, ax_curves, rows)
    figures = {"accuracy.png": ax_accuracy.figure, "error_curves.png": ax_curves.figure}
    for figure in figures.values():
        figure.tight_layout()
    return figures


def write_plots(report, out):
    """Save ``report_figures`` of a study report into the folder ``out`` at 100 dpi."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = pathlib.Path(out)
    for name, figure in report_figures(report).items():
        figure.savefig(out / name, dpi=100)
    plt.close("all")
