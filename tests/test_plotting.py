"""The kit's saved figures: whole-number epoch ticks, legible text, nothing clipped or overlapping.

Each figure is drawn with the Agg renderer at the size and resolution the
kit saves it (tight layout, 100 dpi) and measured from the drawn text.
"""

import itertools
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from helpers import BOOK, BOOK_COLUMN_PX, BOOK_DPI, study_report  # noqa: E402
from mlpkit import bench, plotting, study, study_plots  # noqa: E402
from mlpkit.data import CLASS_NAMES  # noqa: E402

FASHION = CLASS_NAMES["fashion_mnist"]
SAVED_DPI = 100


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def draw(fig):
    """Lay ``fig`` out and draw it as the kit saves it; return the renderer."""
    fig.set_dpi(SAVED_DPI)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def visible_ticks_among(axis, locs):
    """Those of ``locs`` inside the view of ``axis`` (the ticks it draws)."""
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * (high - low)
    return [loc for loc in locs if low - slack <= loc <= high + slack]


def visible_ticks(axis):
    """The major tick locations ``axis`` draws."""
    return visible_ticks_among(axis, axis.get_majorticklocs())


def drawn_tick_labels(axis):
    """The tick labels ``axis`` draws: those of its major and minor ticks inside the view."""
    labels = []
    for locs, get_ticks in ((axis.get_majorticklocs(), axis.get_major_ticks),
                            (axis.get_minorticklocs(), axis.get_minor_ticks)):
        shown = set(visible_ticks_among(axis, locs))
        ticks = [tick for loc, tick in zip(locs, get_ticks(len(locs))) if loc in shown]
        labels += [label for tick in ticks for label in (tick.label1, tick.label2)]
    return labels


def drawn_texts(fig):
    """Every non-empty visible text of ``fig``; of the tick labels only those ``drawn_tick_labels`` gives."""
    axes = [axis for ax in fig.axes if ax.axison for axis in (ax.xaxis, ax.yaxis)]
    every_axis = [axis for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)]
    all_tick_labels = {id(label) for axis in every_axis for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                       for label in (tick.label1, tick.label2)}
    texts = [t for t in fig.findobj(Text) if id(t) not in all_tick_labels]
    texts += [label for axis in axes for label in drawn_tick_labels(axis)]
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def inside(inner, outer, slack=0.5):
    """Whether the box ``inner`` lies within ``outer`` (``slack`` pixels of rounding allowed)."""
    return (inner.x0 >= outer.x0 - slack and inner.x1 <= outer.x1 + slack
            and inner.y0 >= outer.y0 - slack and inner.y1 <= outer.y1 + slack)


def assert_inside_figure(fig):
    renderer = draw(fig)
    for text in drawn_texts(fig):
        extent = text.get_window_extent(renderer)
        assert inside(extent, fig.bbox), f"{text.get_text()!r} at {extent} leaves the figure {fig.bbox}"


def assert_whole_ticks(ax):
    draw(ax.figure)
    locs = visible_ticks(ax.xaxis)
    assert locs, "no x ticks drawn"
    assert all(float(loc).is_integer() for loc in locs), f"x ticks between whole numbers: {locs}"


def history(epochs):
    """``History.epochs`` rows for ``epochs`` epochs of training (row 0 is before training)."""
    return [{"epoch": e, "train_loss": 0.3 / (e + 1), "test_loss": 0.31 / (e + 1),
             "train_accuracy": 0.1 + 0.08 * e, "test_accuracy": 0.1 + 0.07 * e} for e in range(epochs + 1)]


# --- whole-number epochs ------------------------------------------------------------------


@pytest.mark.parametrize("epochs", [1, 3, 7, 60])
def test_training_curves_tick_whole_epochs(epochs):
    ax_loss, ax_accuracy = plotting.plot_curves(history(epochs))
    ax_loss.figure.tight_layout()
    for ax in (ax_loss, ax_accuracy):
        assert_whole_ticks(ax)
    assert_inside_figure(ax_loss.figure)


@pytest.mark.parametrize("steps", [2, 4])
def test_descent_ticks_whole_updates(steps):
    rows = [{"w": 2.0 / (step + 1)} for step in range(steps)]
    assert_whole_ticks(plotting.plot_descent(rows))


@pytest.mark.parametrize("epochs", [1, 3, 25])
def test_study_error_curves_tick_whole_epochs(epochs):
    figures = study_plots.report_figures(study_report(epochs))
    assert set(figures) == {"accuracy.png", "error_curves.png"}
    assert_whole_ticks(figures["error_curves.png"].axes[0])


@pytest.mark.parametrize("name", ["figure17", "figure22", "figure25", "figure26", "figure27"])
def test_study_plots_name_every_configuration_apart(name):
    report = study.published_results(name)
    figures = study_plots.report_figures(report)
    accuracy = figures["accuracy.png"].axes[0]
    ticks = [label.get_text() for label in accuracy.get_xticklabels()]
    legend = [text.get_text() for text in figures["error_curves.png"].axes[0].get_legend().get_texts()]
    assert len(ticks) == len(legend) == len(report["results"])
    assert len(set(ticks)) == len(ticks) and len(set(legend)) == len(legend), (ticks, legend)
    for figure in figures.values():
        assert_inside_figure(figure)


# --- the confusion matrix -------------------------------------------------------------------


def confusion_counts(classes=10, per_class=1000, seed=0):
    """A confusion matrix of ``classes`` x ``classes`` counts, mostly on the diagonal, rows summing to ``per_class``."""
    rng = np.random.default_rng(seed)
    confusion = rng.integers(0, 120, (classes, classes))
    np.fill_diagonal(confusion, 0)
    confusion[0, 0] = 0  # a class the network never gets right: a whole row off the diagonal
    np.fill_diagonal(confusion, per_class - confusion.sum(axis=1))
    return confusion


@pytest.mark.parametrize("per_class", [1000, 60000])
def test_confusion_counts_are_legible_and_inside_their_cells(per_class):
    confusion = confusion_counts(per_class=per_class)
    ax = plotting.plot_confusion(confusion, FASHION)
    ax.figure.tight_layout()
    renderer = draw(ax.figure)
    counts = ax.texts
    assert len(counts) == confusion.size
    assert min(text.get_fontsize() for text in counts) >= 8
    to_pixels = ax.transData
    for text in counts:
        column, row = text.get_position()
        corners = to_pixels.transform([(column - 0.5, row - 0.5), (column + 0.5, row + 0.5)])
        cell = matplotlib.transforms.Bbox(np.sort(corners, axis=0))  # the image's y axis points down
        assert inside(text.get_window_extent(renderer), cell), f"{text.get_text()} spills out of its cell"


@pytest.mark.parametrize("names", [FASHION, CLASS_NAMES["mnist"]])
def test_confusion_class_names_fit_inside_the_figure(names):
    ax = plotting.plot_confusion(confusion_counts(), names)
    ax.figure.tight_layout()
    assert_inside_figure(ax.figure)
    shown = {label.get_text() for label in ax.get_xticklabels()} & {label.get_text() for label in ax.get_yticklabels()}
    assert shown == set(names)


def test_confusion_labels_do_not_overlap():
    ax = plotting.plot_confusion(confusion_counts(), FASHION)
    ax.figure.tight_layout()
    renderer = draw(ax.figure)
    down = [label.get_window_extent(renderer) for label in ax.get_yticklabels()]
    for a, b in itertools.combinations(down, 2):
        assert not a.overlaps(b)
    # Slanted names are parallel strips one line high; neighbours are one cell apart along the axis.
    across = ax.get_xticklabels()
    line_height = max(renderer.points_to_pixels(label.get_fontsize()) * 1.2 for label in across)
    cell = abs(ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0])
    angle = np.radians(across[0].get_rotation())
    if angle:
        assert cell * np.sin(angle) > line_height
    else:
        for a, b in itertools.combinations([label.get_window_extent(renderer) for label in across], 2):
            assert not a.overlaps(b)


# --- misclassified images -------------------------------------------------------------------


def longest_mistakes(count=24):
    """Labels whose titles are as long as Fashion-MNIST's names make them, all wrong."""
    by_length = np.argsort([-len(name) for name in FASHION])
    true = np.resize(by_length, count)
    predicted = np.resize(np.roll(by_length, 1), count)
    images = np.random.default_rng(0).integers(0, 256, (count, 28, 28), dtype=np.uint8)
    return images, true, predicted


def test_misclassified_titles_name_true_and_predicted_on_two_lines():
    images, true, predicted = longest_mistakes()
    fig = plotting.plot_misclassified(images, true, predicted, FASHION)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 24
    assert titles[0] == f"true: {FASHION[true[0]]}\npred: {FASHION[predicted[0]]}"


@pytest.mark.parametrize("count", [24, 5])
def test_misclassified_titles_do_not_overlap(count):
    images, true, predicted = longest_mistakes(count)
    fig = plotting.plot_misclassified(images, true, predicted, FASHION)
    renderer = draw(fig)
    titles = [ax.title for ax in fig.axes] + [fig._suptitle]
    boxes = [title.get_window_extent(renderer) for title in titles]
    for (a, box_a), (b, box_b) in itertools.combinations(zip(titles, boxes), 2):
        assert not box_a.overlaps(box_b), f"{a.get_text()!r} runs into {b.get_text()!r}"
    images_drawn = [ax.get_window_extent(renderer) for ax in fig.axes]
    for title, box in zip(titles, boxes):
        assert not any(box.overlaps(image) for image in images_drawn), f"{title.get_text()!r} covers an image"
    assert min(title.get_fontsize() for title in titles) >= 8
    assert_inside_figure(fig)


# --- the autodiff engine's graph -------------------------------------------------------------


def neuron_graph():
    """The chapter's sigmoid neuron's cost as engine Values, after backward: ``(cost, names)``."""
    from mlpkit.autodiff import Value

    x, w, b, t = Value(1.5), Value(0.7), Value(-0.2), Value(0.0)
    cost = ((x * w + b).sigmoid() - t) ** 2
    cost.backward()
    return cost, {x: "x", w: "w", b: "b", t: "t"}


def repeated_use_graph():
    from mlpkit.autodiff import Value

    x = Value(3.0)
    y = x * x + x  # x twice as the same parent of one node, and at two depths
    y.backward()
    return y, {x: "x"}


def with_gid(ax, gid):
    return [artist for artist in ax.get_children() if artist.get_gid() == gid]


@pytest.mark.parametrize("graph", [neuron_graph, repeated_use_graph])
def test_graph_has_one_box_per_node_and_one_arrow_per_dependency(graph):
    from mlpkit import autodiff

    root, names = graph()
    ax = plotting.plot_graph(root, names)
    nodes = autodiff.topological_order(root)
    boxes, labels, arrows = (with_gid(ax, gid) for gid in ("node", "node-label", "edge"))
    assert len(boxes) == len(labels) == len(nodes)
    assert len(arrows) == sum(len(node.parents) for node in nodes)
    # each arrow runs from its parent's box to its user's: drawn in the order nodes and parents are listed
    starts = [(node, parent) for node in nodes for parent in node.parents]
    where = plotting.graph_layout(root)
    for arrow, (node, parent) in zip(arrows, starts):
        (x0, y0), (x1, y1) = arrow._posA_posB
        assert (x0, y0) == pytest.approx((where[id(parent)][0] + plotting.GRAPH_BOX[0] / 2, where[id(parent)][1]))
        assert (x1, y1) == pytest.approx((where[id(node)][0] - plotting.GRAPH_BOX[0] / 2, where[id(node)][1]))
        assert x1 > x0, "every arrow points right, from parent to user"
    shown = {label.get_text() for label in labels}
    assert all(f"grad {node.grad + 0.0:.3g}" in "".join(shown) for node in nodes)
    assert {f"{name}\ndata {value.data:.3g}\ngrad {value.grad:.3g}" for value, name in names.items()} <= shown


@pytest.mark.parametrize("graph", [neuron_graph, repeated_use_graph])
def test_graph_text_stays_inside_its_box_and_boxes_do_not_overlap(graph):
    ax = plotting.plot_graph(*graph())
    ax.figure.tight_layout()
    renderer = draw(ax.figure)
    boxes = [box.get_window_extent(renderer) for box in with_gid(ax, "node")]
    for label, box in zip(with_gid(ax, "node-label"), boxes):
        assert inside(label.get_window_extent(renderer), box), f"{label.get_text()!r} spills out of its box"
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    assert_inside_figure(ax.figure)


# --- the benchmark --------------------------------------------------------------------------


def test_benchmark_values_stay_inside_the_axes():
    speeds = [310, 1250, 5400, 21000, 4900, 33000, 880]
    result = {"variants": {name: {"steps_per_second": speed, "default": name == bench.DEFAULT_VARIANT}
                           for name, speed in zip(bench.VARIANTS, speeds)}, "config": {"batch_size": 10}}
    ax = bench.plot_benchmark(result)
    ax.figure.tight_layout()
    renderer = draw(ax.figure)
    frame = ax.get_window_extent(renderer)
    for text in ax.texts:
        assert inside(text.get_window_extent(renderer), frame), f"{text.get_text()!r} crosses the axes frame"
    assert_inside_figure(ax.figure)


# --- text at least 8 pt as the book shows it -------------------------------------------------
# A chapter's figure is drawn at matplotlib's 100 dpi and shown at its own width or, when wider, shrunk to the text
# column (BOOK_COLUMN_PX, which tests/test_browser.py checks on the built book): a font of s points is shown at
# s * min(1, column / width in pixels) points.

MIN_SHOWN_POINTS = 8


def shown_scale(width_inches):
    return min(1.0, BOOK_COLUMN_PX / (width_inches * BOOK_DPI))


def smallest_shown_text(fig):
    """``(points, text)`` of the smallest text ``fig`` draws, as shown in the book."""
    draw(fig)
    scale = shown_scale(fig.get_figwidth())
    return min((text.get_fontsize() * scale, text.get_text()) for text in drawn_texts(fig))


def kit_figures():
    """Every figure function of the kit, on typical data, as a chapter calls it: name -> figure."""
    from mlpkit.activations import sigmoid, sigmoid_prime

    images = np.random.default_rng(0).uniform(0, 1, (24, 28, 28))
    true, predicted = np.arange(24) % 10, (np.arange(24) + 1) % 10
    speeds = np.linspace(1000, 20000, len(bench.VARIANTS))
    result = {"variants": {name: {"steps_per_second": speed, "default": name == bench.DEFAULT_VARIANT}
                           for name, speed in zip(bench.VARIANTS, speeds)}, "config": {"batch_size": 10}}
    return {
        "plot_decision_lines": lambda: plotting.plot_decision_lines(
            [([1, 1], -1.5, "AND"), ([1, 1], -0.5, "OR")], [0, 0, 0, 1]).figure,
        "plot_function_and_derivative": lambda: plotting.plot_function_and_derivative(
            sigmoid, sigmoid_prime, "sigmoid").figure,
        "plot_descent": lambda: plotting.plot_descent([{"w": 0.8 / (k + 1)} for k in range(6)]).figure,
        "plot_curves": lambda: plotting.plot_curves(history(10))[0].figure,
        "plot_confusion": lambda: plotting.plot_confusion(confusion_counts(), FASHION).figure,
        "plot_misclassified": lambda: plotting.plot_misclassified(images, true, predicted, FASHION),
        "study_plots.report_figures": lambda: study_plots.report_figures(study_report(10))["error_curves.png"],
        "bench.plot_benchmark": lambda: bench.plot_benchmark(result).figure,
        "plot_graph": lambda: plotting.plot_graph(*neuron_graph()).figure,
    }


@pytest.mark.parametrize("name", list(kit_figures()))
def test_kit_figures_show_text_of_at_least_8_points(name):
    fig = kit_figures()[name]()
    points, text = smallest_shown_text(fig)
    assert points >= MIN_SHOWN_POINTS, f"{name}: {text!r} shown at {points:.1f} pt"


def test_book_draws_at_the_dpi_these_tests_assume():
    assert matplotlib.rcParams["figure.dpi"] == BOOK_DPI and matplotlib.rcParams["savefig.dpi"] == "figure"


def _chapter_figure_cells():
    """(page, cell source) of every chapter code cell that lays out a figure of its own (``figsize=``)."""
    cells = []
    for page in sorted(BOOK.glob("*.md")):
        text = page.read_text()
        for source in re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```$", text, re.S | re.M):
            if "figsize=" in source:
                cells.append((page.name, source))
    return cells


# What a relative font size is, in points, at matplotlib's default size of 10 points.
RELATIVE_POINTS = {"xx-small": 5.79, "x-small": 6.94, "small": 8.33, "medium": 10.0}


def smallest_font_of_cell(source):
    """The smallest font a chapter cell asks for: its own ``fontsize=`` values, 10 pt (matplotlib's default) for
    the rest, and 'small' (8.33 pt) where it calls a kit function that uses it."""
    sizes = [10.0]
    for value in re.findall(r"fontsize=([\d.]+|\"[\w-]+\")", source):
        sizes.append(float(value) if value[0].isdigit() else RELATIVE_POINTS[value.strip('"')])
    if re.search(r"\b(plotting|study_plots)\.\w+\(|\bplot_(decision_lines|function_and_derivative|descent)\(", source):
        sizes.append(RELATIVE_POINTS["small"])
    return min(sizes)


@pytest.mark.parametrize("page, source", _chapter_figure_cells(), ids=lambda value: str(value)[:40])
def test_chapter_figures_show_text_of_at_least_8_points(page, source):
    # A figure a chapter lays out itself: its width (figsize) against the column, and the smallest font it asks for.
    widths = [float(width) for width in re.findall(r"figsize=\(\s*([\d.]+)\s*,", source)]
    assert widths, source[:200]
    points = smallest_font_of_cell(source) * min(shown_scale(width) for width in widths)
    assert points >= MIN_SHOWN_POINTS, f"{page}: a {max(widths)}-inch figure shows text at {points:.1f} pt"
