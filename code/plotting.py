"""Figures for chapters 1-3, drawn with matplotlib.

Every function takes an ``ax`` (so a chapter can lay out several panels), draws on it,
sets the title and axis labels, and returns it. matplotlib is imported only when a
figure is drawn.
"""

import numpy as np

from mlpkit.perceptron import LOGIC_INPUTS

_SQUARE = (-0.25, 1.25)
#: Counts in the confusion matrix, in points: legible at the 100 dpi the kit saves at.
CELL_FONT_SIZE = 9
# : Inches per class in a confusion matrix the function lays out itself, and around the
# matrix for the names.
CELL_INCHES = 0.5
NAME_MARGIN_INCHES = 2.0
#: Inches per image in a grid, per line of its title, and for the title over the grid.
IMAGE_INCHES = 1.1
TITLE_LINE_INCHES = 0.2
SUPTITLE_INCHES = 0.4
#: Image titles in a grid, in points.
IMAGE_TITLE_FONT_SIZE = 8.5


def _axes(ax, figsize=(4, 4)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def whole_number_ticks(axis):
    """Tick ``axis`` (``ax.xaxis``) only at whole numbers: there is no epoch or update
    2.5."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))


def plot_decision_lines(lines, targets=None, title="", ax=None):
    """The four logic inputs and the lines ``w1*x1 + w2*x2 + b = 0``.

    ``lines`` is a list of ``(weights, bias, label)`` with ``weights`` of two entries.
    Points are filled where ``targets`` is 1 and hollow where it is 0. The side of each
    line where the perceptron fires is shaded.
    """
    ax = _axes(ax)
    xs = np.linspace(*_SQUARE, 200)
    grid_x, grid_y = np.meshgrid(xs, xs)
    for index, (weights, bias, label) in enumerate(lines):
        w1, w2 = np.asarray(weights, dtype=float).reshape(-1)
        color = f"C{index}"
        ax.contourf(
            grid_x,
            grid_y,
            w1 * grid_x + w2 * grid_y + bias > 0,
            levels=[0.5, 1.5],
            colors=[color],
            alpha=0.12,
        )
        if w2 != 0:
            ax.plot(xs, -(w1 * xs + bias) / w2, color=color, label=label)
        else:
            ax.axvline(-bias / w1, color=color, label=label)
    if targets is None:
        targets = np.zeros(len(LOGIC_INPUTS))
    targets = np.asarray(targets).reshape(-1)
    for (x1, x2), target in zip(LOGIC_INPUTS, targets):
        ax.scatter(
            [x1],
            [x2],
            s=120,
            zorder=3,
            edgecolors="black",
            facecolors="black" if target else "white",
            linewidths=1.5,
        )
        ax.annotate(
            str(int(target)), (x1, x2), textcoords="offset points", xytext=(9, 9)
        )
    ax.set_xlim(*_SQUARE)
    ax.set_ylim(*_SQUARE)
    ax.set_aspect("equal")
    ax.set_xlabel("first input $x_1$")
    ax.set_ylabel("second input $x_2$")
    ax.set_title(title)
    if lines:
        ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_function_and_derivative(
    fn, derivative, label, z=np.linspace(-8, 8, 401), ax=None
):
    """``fn`` and ``derivative`` over ``z`` on one axis."""
    ax = _axes(ax)
    ax.plot(z, np.asarray(fn(z)), label=label)
    ax.plot(
        z, np.asarray(derivative(z)), label=f"derivative of {label}", linestyle="--"
    )
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_xlabel("input $z$")
    ax.set_ylabel("output")
    ax.set_title(f"{label} and its derivative")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_descent(rows, key="w", ax=None, title="", log=False):
    """A quantity per gradient-descent step (``rows`` as the ``gradients`` module
    returns them)."""
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
    whole_number_ticks(ax.xaxis)
    ax.set_title(title)
    return ax


#: The engine's graph: inches per column and per row, a node's box as a fraction of
#: a cell, and the node text in points.
GRAPH_COLUMN_INCHES = 1.05
GRAPH_ROW_INCHES = 0.8
GRAPH_BOX = (0.84, 0.66)
GRAPH_FONT_SIZE = 8.5


def graph_layout(root):
    """Where :func:`plot_graph` puts each node of ``root``'s graph: ``{id(node):
    (column, row)}``.

    ``root`` is in the last column; every other node one column left of its leftmost
    user, so an edge spans one column unless a node is used at two depths. Columns are
    filled from the right, each node near the mean row of its users (fewer crossings),
    and centred on the tallest column.
    """
    from mlpkit import autodiff

    order = autodiff.topological_order(root)
    users = {id(node): [] for node in order}
    for node in order:
        for parent in node.parents:
            users[id(parent)].append(node)
    steps = {id(root): 0}  # the longest path from each node to root
    for node in reversed(order[:-1]):
        steps[id(node)] = 1 + max(steps[id(user)] for user in users[id(node)])
    columns = 1 + max(steps.values())
    by_column = [[] for _ in range(columns)]
    for node in reversed(order):  # users before their parents, so their rows are known
        by_column[steps[id(node)]].append(node)
    rows, row = {}, {id(root): 0.0}
    for nodes in by_column:
        nodes.sort(
            key=lambda n: (
                sum(row[id(u)] for u in users[id(n)]) / len(users[id(n)])
                if users[id(n)]
                else 0.0
            )
        )
        for index, node in enumerate(nodes):
            row[id(node)] = index - (len(nodes) - 1) / 2
        rows[len(rows)] = len(nodes)
    tallest = max(rows.values())
    return {
        key: (columns - 1 - steps[key], row[key] + (tallest - 1) / 2) for key in row
    }


def _node_label(node, names):
    name = names.get(node) or node.op or "constant"
    # + 0.0: no "-0"
    return f"{name}\ndata {node.data + 0.0:.3g}\ngrad {node.grad + 0.0:.3g}"


def _bend(node, index, span):
    """How far the arrow from ``node.parents[index]`` bends: apart when the node uses
    that parent twice, around the nodes between when it spans several columns."""
    if node.parents.count(node.parents[index]) > 1:
        return 0.6 * (2 * index - 1)
    return 0.6 if span > 1 else 0.0


def plot_graph(root, names=None, ax=None):
    """The computation graph of an ``autodiff.Value``: one box per node, one arrow per
    dependency (parent to the node that uses it), as micrograd's ``draw_dot``.

    Each box shows the node's name (from ``names``, a dict from Value to text) or the
    operation that made it, its ``data`` and its ``grad`` (call ``root.backward()``
    first to see the gradients). Leaves named in ``names`` are shaded blue, unnamed
    constants grey. A parent used twice by one node gets two arrows, bent apart.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from mlpkit import autodiff

    names = names or {}
    where = graph_layout(root)
    columns = 1 + max(col for col, _ in where.values())
    rows = 1 + max(row for _, row in where.values())
    rows = max(rows, 2)  # room for arrows bent around a node
    # + 0.3: the margins tight_layout keeps around an axes without labels
    figsize = (GRAPH_COLUMN_INCHES * columns + 0.3, GRAPH_ROW_INCHES * rows + 0.3)
    ax = _axes(ax, figsize)
    width, height = GRAPH_BOX
    for node in autodiff.topological_order(root):
        col, row = where[id(node)]
        shade = "white" if node.parents else ("#cfe2f3" if node in names else "#e6e6e6")
        box = FancyBboxPatch(
            (col - width / 2, row - height / 2),
            width,
            height,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=shade,
            edgecolor="black",
            linewidth=0.8,
            gid="node",
        )
        ax.add_patch(box)
        ax.text(
            col,
            row,
            _node_label(node, names),
            ha="center",
            va="center",
            fontsize=GRAPH_FONT_SIZE,
            gid="node-label",
        )
        for index, parent in enumerate(node.parents):
            bend = _bend(node, index, col - where[id(parent)][0])
            start, end = where[id(parent)], (col, row)
            ax.add_patch(
                FancyArrowPatch(
                    (start[0] + width / 2, start[1]),
                    (end[0] - width / 2, end[1]),
                    arrowstyle="-|>",
                    mutation_scale=9,
                    linewidth=0.8,
                    gid="edge",
                    connectionstyle=f"arc3,rad={bend}",
                )
            )
    ax.set_xlim(-0.5, columns - 0.5)
    top = max(row for _, row in where.values())
    ax.set_ylim(top / 2 + rows / 2, top / 2 - rows / 2)
    ax.axis("off")
    return ax


# --- chapter 4: training results ----------------------------------------------------


def plot_curves(epochs, ax_loss=None, ax_accuracy=None, loss_name="MSE"):
    """Train (validation) and test loss and accuracy per epoch (``History.epochs``
    rows); returns both axes."""
    if ax_loss is None or ax_accuracy is None:
        import matplotlib.pyplot as plt

        _, (ax_loss, ax_accuracy) = plt.subplots(1, 2, figsize=(6.7, 3.2))
    index = [row["epoch"] for row in epochs]
    for split in [
        s for s in ("train", "validation", "test") if f"{s}_loss" in epochs[0]
    ]:
        ax_loss.plot(
            index, [row[f"{split}_loss"] for row in epochs], marker="o", label=split
        )
        ax_accuracy.plot(
            index,
            [100 * row[f"{split}_accuracy"] for row in epochs],
            marker="o",
            label=split,
        )
    ax_loss.set_title(
        "Mean squared error per epoch"
        if loss_name == "MSE"
        else f"{loss_name.capitalize()} per epoch"
    )
    ax_loss.set_ylabel(loss_name)
    ax_accuracy.set_title("Accuracy per epoch")
    ax_accuracy.set_ylabel("accuracy (%)")
    for ax in (ax_loss, ax_accuracy):
        ax.set_xlabel("epoch (0 = before training)")
        whole_number_ticks(ax.xaxis)
        ax.legend()
    return ax_loss, ax_accuracy


def confusion_figsize(classes):
    """Width and height in inches that give each of ``classes`` cells room for a count
    and leave room for names."""
    side = CELL_INCHES * classes + NAME_MARGIN_INCHES
    return side, side


def plot_confusion(confusion, class_names, ax=None):
    """The confusion matrix as a heat map with counts, true class down, predicted
    across.

    Without ``ax`` the figure is sized for the number of classes; names longer than two
    characters are slanted under the matrix.
    """
    ax = _axes(ax, confusion_figsize(len(class_names)))
    confusion = np.asarray(confusion)
    ax.imshow(confusion, cmap="Blues")
    ax.set_yticks(range(len(class_names)), class_names)
    if max(map(len, class_names)) > 2:
        ax.set_xticks(
            range(len(class_names)),
            class_names,
            rotation=45,
            ha="right",
            rotation_mode="anchor",
        )
    else:
        ax.set_xticks(range(len(class_names)), class_names)
    threshold = confusion.max() / 2
    for (i, j), count in np.ndenumerate(confusion):
        ax.text(
            j,
            i,
            str(count),
            ha="center",
            va="center",
            fontsize=CELL_FONT_SIZE,
            color="white" if count > threshold else "black",
        )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Confusion matrix (test set)")
    return ax


def image_grid_figsize(rows, columns, title_lines=1):
    """Width and height in inches of a grid of images with ``title_lines`` lines of
    title each."""
    return IMAGE_INCHES * columns, (
        IMAGE_INCHES + TITLE_LINE_INCHES * title_lines
    ) * rows + SUPTITLE_INCHES


def plot_image_grid(images, titles, suptitle, columns=6, fig=None):
    """A grid of 28x28 images with a title each (``\\n`` starts a second line); returns
    the figure. Six columns keep the figure about as wide as the book's text column,
    so the titles are shown at full size."""
    import matplotlib.pyplot as plt

    rows = max(1, -(-len(images) // columns))
    lines = max((title.count("\n") + 1 for title in titles), default=1)
    fig = fig or plt.figure(figsize=image_grid_figsize(rows, columns, lines))
    for index, (image, title) in enumerate(zip(images, titles)):
        ax = fig.add_subplot(rows, columns, index + 1)
        ax.imshow(image, cmap="gray_r")
        ax.set_title(title, fontsize=IMAGE_TITLE_FONT_SIZE, linespacing=1.2)
        ax.axis("off")
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def misclassified_title(true_name, predicted_name):
    """Two lines: the true class, then the prediction."""
    return f"true: {true_name}\npred: {predicted_name}"


def plot_misclassified(images, true, predicted, class_names, limit=24):
    """Up to ``limit`` misclassified images, each titled with its true and predicted
    class; returns the figure."""
    wrong = np.flatnonzero(np.asarray(true) != np.asarray(predicted))[:limit]
    titles = [
        misclassified_title(class_names[true[i]], class_names[predicted[i]])
        for i in wrong
    ]
    return plot_image_grid(
        images[wrong], titles, f"Misclassified test images ({len(wrong)} shown)"
    )
