"""What the commands share: the parser class, the one-line failure, data options and loading, plots.

Every command module imports TensorFlow, and the kit's modules that need it,
only inside its ``run``: ``load_tensorflow()`` first, so TensorFlow logs
nothing and ``mlpkit --help`` never imports it.
"""

import argparse
import sys

from mlpkit.cli import types
from mlpkit.defaults import DATASETS


class Parser(argparse.ArgumentParser):
    """argparse, but a bad option ends with one line naming it, not the usage text."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def add_data_options(parser, dataset_default="mnist"):
    if dataset_default is None:
        help_text = "mnist or fashion_mnist (default: the data set the model was trained on)"
    else:
        help_text = f"mnist or fashion_mnist (default {dataset_default})"
    parser.add_argument("--dataset", choices=DATASETS, default=dataset_default, help=help_text)
    parser.add_argument("--data-dir", type=types.folder, metavar="DIR",
                        help="folder with mnist.npz or the four IDX .gz files (default: search the Keras cache, "
                             "/usr/share/datasets, then download or, for MNIST, the embedded 5,000 digits)")
    parser.add_argument("--no-download", action="store_true", help="never try keras.datasets' download (default: try)")


def fail(parser, message):
    parser.exit(2, f"mlpkit: error: {message}\n")


def count(number, singular, plural=None):
    """``number`` and the noun it counts: "1 submission", "2 submissions", "3 entries" (``plural`` given)."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def load_tensorflow():
    """Import TensorFlow without its start-up log lines (see ``mlpkit.quiet``); call before anything imports it."""
    from mlpkit.quiet import import_tensorflow

    import_tensorflow()


def load_data(args, splits):
    load_tensorflow()
    from mlpkit import data

    download = False if args.no_download else None  # None: the loader's default (MLPKIT_NO_DOWNLOAD)
    loaded = data.load_data(args.dataset, data_dir=args.data_dir, download=download, splits=splits)
    print(f"data: {loaded.source}")
    return loaded


def note_batch_size(batch_size, images):
    """Say so when ``--batch-size`` exceeds the training images: every epoch is then a single step."""
    if batch_size > images > 0:
        print(f"note: --batch-size {batch_size} is more than the {images:,} training images: "
              f"each epoch is one step on a batch of {images:,}")


def write_plots(out, images, true, predicted, confusion, class_names, epochs=None, loss_name="MSE"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mlpkit import plotting

    if epochs is not None:
        ax_loss, _ = plotting.plot_curves(epochs, loss_name=loss_name)
        ax_loss.figure.tight_layout()
        ax_loss.figure.savefig(out / "curves.png", dpi=100)
    ax = plotting.plot_confusion(confusion, class_names)
    ax.figure.tight_layout()
    ax.figure.savefig(out / "confusion.png", dpi=100)
    plotting.plot_misclassified(images, true, predicted, class_names).savefig(out / "misclassified.png", dpi=100)
    plt.close("all")


def add_bank_options(parser, course_key=True):
    """``--bank DIR`` (and ``--course-key FILE``) for a command that reads the exercise bank."""
    parser.add_argument("--bank", metavar="DIR",
                        help="an instructor's own bank of exercises: a folder of NAME.py and NAME_checks.py "
                             "(default: $MLPKIT_BANK if set, else the kit's built-in exercises)")
    if course_key:
        parser.add_argument("--course-key", metavar="FILE",
                            help="the course's secret key (`mlpkit exercises new-key FILE`): the hidden checks' "
                                 "random inputs are drawn from it; give the same key to release, grade and "
                                 "gradescope (default: none, the bank's own values)")


def open_bank(args):
    """The bank the command uses: ``--bank`` (or $MLPKIT_BANK, or the built-in), with ``--course-key``'s key."""
    from mlpkit.grading import bank, variants

    key = variants.read_key(args.course_key) if getattr(args, "course_key", None) else None
    if args.bank:
        return bank.open_bank(args.bank, course_key=key)
    chosen = bank.default()
    return bank.Bank(chosen.path, course_key=key) if key else chosen


def check_chapters(chapters, parser, bank=None):
    from mlpkit.grading import bank as bank_module

    bank = bank or bank_module.BUILT_IN
    unknown = [name for name in chapters or [] if name not in bank.chapters]
    if unknown:
        fail(parser, f"--chapters: no exercises for chapter {', '.join(map(repr, unknown))} in {bank.path}; "
                     f"expected some of {','.join(bank.chapters)}")


def grading_limits(args):
    from mlpkit.grading.sandbox import Limits

    memory = getattr(args, "memory_limit", 3.0)
    # Grading (the commands with --allow-weak-guard) needs the kernel's confinement unless the instructor accepts
    # less; a student's self-check runs their own code on their own machine: confined where the kernel can.
    kernel_guard = not getattr(args, "allow_weak_guard", True)
    return Limits(seconds=args.time_limit, memory=int(memory * 2**30), kernel_guard=kernel_guard)


# The errors that mean "bad input" (one line, exit 2), by module: a module that was never imported raised none.
EXPECTED_ERRORS = {
    "mlpkit.runs.outputs": "OutputError",
    "mlpkit.data_files": "DataError",
    "mlpkit.training": "TrainingDiverged",
    "mlpkit.study_grids": "StudyError",
    "mlpkit.grading.bank": "ExerciseError",
    "mlpkit.grading.variants": "CourseKeyError",
    "mlpkit.grading.grader": "GradingError",
    "mlpkit.export": "ModelError",
}


def is_expected(error):
    return any(
        isinstance(error, getattr(sys.modules[module], name))
        for module, name in EXPECTED_ERRORS.items()
        if module in sys.modules
    )
