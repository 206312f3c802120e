"""Figures for chapters 1-3, drawn with matplotlib.

Every function takes an ``ax`` (so a chapter can lay out several panels),
draws on it, sets the title and axis labels, and returns it. matplotlib is
imported only when a figure is drawn.
"""

import numpy as np

from mlpkit.perceptron import LOGIC_INPUTS

_SQUARE = (-0.25, 1.25)


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(4, 4))
    return ax


def plot_decision_lines(lines, targets=None, title="", ax=None):
    """The four logic inputs and the lines ``w1*x1 + w2*x2 + b = 0``.

    ``lines`` is a list of ``(weights, bias, label)`` with ``weights`` of two
    entries. Points are filled where ``targets`` is 1 and hollow where it is 0.
    The side of each line where the perceptron fires is shaded.
    """
    ax = _axes(ax)
    xs = np.linspace(*_SQUARE, 200)
    grid_x, grid_y = np.meshgrid(xs, xs)
    for index, (weights, bias, label) in enumerate(lines):
        w1, w2 = np.asarray(weights, dtype=float).reshape(-1)
        color = f"C{index}"
        ax.contourf(grid_x, grid_y, w1 * grid_x + w2 * grid_y + bias > 0, levels=[0.5, 1.5], colors=[color], alpha=0.12)
        if w2 != 0:
            ax.plot(xs, -(w1 * xs + bias) / w2, color=color, label=label)
        else:
            ax.axvline(-bias / w1, color=color, label=label)
    if targets is None:
        targets = np.zeros(len(LOGIC_INPUTS))
    targets = np.asarray(targets).reshape(-1)
    for (x1, x2), target in zip(LOGIC_INPUTS, targets):
        ax.scatter(
            [x1], [x2], s=120, zorder=3, edgecolors="black", facecolors="black" if target else "white", linewidths=1.5
        )
        ax.annotate(str(int(target)), (x1, x2), textcoords="offset points", xytext=(9, 9))
    ax.set_xlim(*_SQUARE)
    ax.set_ylim(*_SQUARE)
    ax.set_aspect("equal")
    ax.set_xlabel("first input $x_1$")
    ax.set_ylabel("second input $x_2$")
    ax.set_title(title)
    if lines:
        ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_function_and_derivative(fn, derivative, label, z=np.linspace(-8, 8, 401), ax=None):
    """``fn`` and ``derivative`` over ``z`` on one axis."""
    ax = _axes(ax)
    ax.plot(z, np.asarray(fn(z)), label=label)
    ax.plot(z, np.asarray(derivative(z)), label=f"derivative of {label}", linestyle="--")
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_xlabel("input $z$")
    ax.set_ylabel("output")
    ax.set_title(f"{label} and its derivative")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_descent(rows, key="w", ax=None, title="", log=False):
    """A quantity per gradient-descent step (``rows`` as the ``gradients`` module returns them)."""
    ax = _axes(ax)
    values = np.array([row[key] for row in rows], dtype=float)
    steps = np.arange(len(values))
    if log:
        ax.semilogy(steps, np.abs(values), marker="o")
        ax.set_ylabel(f"|{key}| (log scale)")
    else:
        ax.plot(steps, values, marker="o")
        ax.set_ylabel(key)
    ax.set_xlabel("update")
    ax.set_title(title)
    return ax
