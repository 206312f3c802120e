"""Chapter 6: the figures of a study: accuracy per configuration and error curves.

``plot_accuracy`` draws each configuration's mean fold accuracy with its spread,
``plot_error_curves`` the mean validation error per epoch; both take ``summarise``'s
rows (``mlpkit.study``) or those of a published study. ``report_figures`` lays out both
for a study report, naming every setting that varies, and ``write_plots`` saves them
(``mlpkit study`` does).
"""

import pathlib


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
        _, ax = plt.subplots(figsize=(6.7, 3.8))
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
        _, ax = plt.subplots(figsize=(6.7, 3.8))
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
    """The configuration keys whose values differ across ``rows``, layers first."""
    return [key for key in _SETTING_LABELS if len({str(row[key]) for row in rows}) > 1]


def configuration_labels(rows):
    """One label per row that tells the configurations apart.

    With one setting varying, its value (as the plots label it); with several, each of
    them, such as ``[784, 30, 15, 10], 25 epochs``.
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

    ``accuracy.png`` shows the mean accuracy per configuration and ``error_curves.png``
    the validation error per (whole) epoch; when several settings vary between
    configurations, both name every one of them.
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
