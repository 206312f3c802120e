"""The ``mlpkit`` command: ``mlpkit train``, ``mlpkit evaluate`` and ``mlpkit bench``.

``mlpkit train`` trains the chapter-4 network and writes, into ``--out``:
``metrics.json`` (configuration, data source, per-epoch history, final test
accuracy, per-class accuracy, confusion matrix, wall time), ``curves.png``,
``misclassified.png``, ``confusion.png`` and the SavedModel in ``model/``.
``mlpkit evaluate MODEL_DIR`` loads a SavedModel and reports on the test set
of the data set the model was trained on.
``mlpkit bench`` times every way of running the training loop (chapter 5)
and writes ``bench.json`` and ``bench.png``.
``mlpkit study GRID`` runs a cross-validation study (chapter 6) and writes
``results.json``, ``results.csv`` and plots; rerunning it resumes.
``mlpkit exercises release OUT_DIR`` writes the student materials,
``mlpkit exercises check FILE`` runs a submission's public checks, and
``mlpkit grade FOLDER --out GRADES.csv`` grades a class (resumable).

Bad input (an option out of range, a missing file, a file where a folder is
expected, an output that cannot be written) ends with a one-line error naming
the option or file and what was expected, and exit status 2, before any data
is loaded or any training or grading starts; a command that fails leaves no
partial output behind (`mlpkit.outputs`). TensorFlow is imported only when a
command runs, so ``--help`` is fast.
"""

import argparse
import json
import os
import pathlib
import re
import sys
import time

DEFAULT_OUT = "runs/latest"
DATASETS = ("mnist", "fashion_mnist")
INITS = ("uniform", "glorot")
LAYER_EXAMPLE = "784,15,10"
MAX_SEED = 2**31 - 1
MAX_MEMORY_GB = 1024


# -- option types: each raises ArgumentTypeError, so argparse's message names the option ---------

def _layers(text):
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as {LAYER_EXAMPLE}; got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected at least two positive sizes such as {LAYER_EXAMPLE}; got {text!r}")
    if sizes[0] != 784 or sizes[-1] != 10:
        raise argparse.ArgumentTypeError(
            f"expected sizes from 784 (pixels) to 10 (classes) such as {LAYER_EXAMPLE}; got {text!r}")
    return sizes


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}")
    return value


def _fraction(text):
    value = _positive_float(text) if text.strip() not in ("0", "0.0") else 0.0
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text}")
    return value


def _nonnegative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _seed(text):
    value = _nonnegative_int(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {MAX_SEED}, got {value}")
    return value


def _positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return int(text)


def _memory_gb(text):
    value = _positive_float(text)
    if value > MAX_MEMORY_GB:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_MEMORY_GB} (GB); got {text!r}")
    return value


def _names(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names; got {text!r}")
    return names


def _list_of(item):
    """A type for comma-separated values of type ``item``, e.g. ``0.9,0.1``."""
    def parse(text):
        return [item(part) for part in text.split(",")]

    return parse


def _inits(text):
    names = _names(text)
    unknown = [name for name in names if name not in INITS]
    if unknown:
        raise argparse.ArgumentTypeError(f"expected uniform, glorot or uniform,glorot; got {text!r}")
    return names


def _shard(text):
    from mlpkit.study import parse_shard

    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _folder(text):
    path = pathlib.Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such folder: {text}")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; expected a folder")
    return str(path)


# -- the parser ----------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option ends with one line naming it, not the usage text."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


DESCRIPTION = """\
The course kit's command line: train, evaluate and time multilayer perceptrons,
run cross-validation studies, and release, check and grade the exercises.

commands:
  train       train an MLP on MNIST or Fashion-MNIST; write metrics, plots and a SavedModel
  evaluate    evaluate a SavedModel written by `mlpkit train` on its data set's test images
  bench       time the training loop run eagerly, as tf.function, with XLA, in Keras and NumPy
  study       k-fold cross-validation over a grid of configurations (resumable)
  exercises   release the graded exercises, self-check a solution, or write a demo class
  grade       grade a folder of submissions into a CSV and feedback files (resumable)

Run `mlpkit COMMAND --help` for a command's options and examples.
"""

EXAMPLES = {
    "train": """\
examples:
  mlpkit train                                      # chapter 4's network on MNIST, into runs/latest
  mlpkit train --dataset fashion_mnist --epochs 5 --out runs/fashion
  mlpkit train --activation relu --loss cross_entropy --optimizer adam --layers 784,128,10 --batch-size 128
""",
    "evaluate": """\
examples:
  mlpkit evaluate runs/latest/model                 # on the test set of the data set it was trained on
  mlpkit evaluate runs/fashion/model --plots runs/fashion/eval
""",
    "bench": """\
examples:
  mlpkit bench                                      # every variant, 4,000 images, 5 timed epochs each
  mlpkit bench --variants eager,xla_epoch --repeats 2 --no-modern
""",
    "study": """\
examples:
  mlpkit study figure18                             # a named grid (chapter 6's figures)
  mlpkit study my_grid.json --workers 2 --out runs/mine
  mlpkit study --lr 0.9,0.1 --folds 3 --images 2000 --epochs 3
  mlpkit study figure26 --shard 3/8 --out study26 --workers 1   # part 3 of 8, e.g. one batch job of eight
  mlpkit study figure26 --merge-only --out study26             # then results and plots, once all parts are done
""",
    "exercises": """\
examples:
  mlpkit exercises release handout/                 # notebooks, .py stubs and checks.json for students
  mlpkit exercises check handout/perceptron.ipynb   # a student's self-check (public checks only)
  mlpkit exercises demo-class demo/ --students 20   # made-up submissions to try `mlpkit grade` on
  mlpkit exercises gradescope autograder.zip --chapters perceptron,xor   # a Gradescope autograder
""",
    "grade": """\
examples:
  mlpkit grade submissions/ --out grades.csv        # writes grades.csv, grades_feedback/, grades_units/
  mlpkit grade submissions/ --out grades.csv --only s0001.py s0002.ipynb
  mlpkit grade submissions/ --out grades.csv --merge-only
  mlpkit grade canvas-download/ --out grades.csv --lms-export canvas --assignment "Exercises 1-3 (12345)"
  mlpkit grade moodle-download/ --out grades.csv --lms-export moodle   # also writes grades_moodle.csv
""",
}


def _version():
    from importlib import metadata

    try:
        return metadata.version("mlpkit")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _data_options(parser, dataset_default="mnist"):
    if dataset_default is None:
        help_text = "mnist or fashion_mnist (default: the data set the model was trained on)"
    else:
        help_text = f"mnist or fashion_mnist (default {dataset_default})"
    parser.add_argument("--dataset", choices=DATASETS, default=dataset_default, help=help_text)
    parser.add_argument("--data-dir", type=_folder, metavar="DIR",
                        help="folder with mnist.npz or the four IDX .gz files (default: search the Keras cache, "
                             "/usr/share/datasets, then download or, for MNIST, the embedded 5,000 digits)")
    parser.add_argument("--no-download", action="store_true", help="never try keras.datasets' download (default: try)")


def _add_train(commands):
    train = commands.add_parser("train", description="Train an MLP and write metrics.json, plots and the SavedModel into --out.",
                                epilog=EXAMPLES["train"])
    _data_options(train)
    train.add_argument("--layers", type=_layers, default=[784, 15, 10], help="layer sizes (default 784,15,10)")
    train.add_argument("--init", choices=INITS, default="uniform",
                       help="chapter 4's network only (default uniform); every other combination uses Glorot")
    train.add_argument("--activation", choices=["sigmoid", "relu", "tanh"], default="sigmoid", help="hidden layers (default sigmoid)")
    train.add_argument("--loss", choices=["mse", "cross_entropy"], default="mse",
                       help="mse on sigmoid outputs (default) or softmax cross-entropy on logits")
    train.add_argument("--optimizer", choices=["sgd", "momentum", "nesterov", "rmsprop", "adam"], default="sgd",
                       help="default sgd")
    train.add_argument("--dropout", type=_fraction, default=0.0, help="dropout after each hidden layer in training (default 0)")
    train.add_argument("--validation", type=_nonnegative_int, default=0,
                       help="hold out the first N training images for validation (default 0)")
    train.add_argument("--engine", choices=["scratch", "keras"], default="scratch",
                       help="the kit's own layers and optimizers (chapters 4 and 7; default) or Keras (chapter 8)")
    train.add_argument("--lr", type=_positive_float,
                       help="learning rate (default 0.9 for sgd, 0.1 with momentum, 0.001 for rmsprop and adam)")
    train.add_argument("--batch-size", type=_positive_int, default=10, help="images per step (default 10)")
    train.add_argument("--epochs", type=_positive_int, default=10, help="passes over the training set (default 10)")
    train.add_argument("--seed", type=_seed, default=0, help=f"weights and data order, 0 to {MAX_SEED} (default 0)")
    train.add_argument("--no-jit", action="store_true", help="compile without XLA (slower; for platforms without it; default: off)")
    train.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default {DEFAULT_OUT})")
    train.add_argument("--no-plots", action="store_true", help="skip curves.png, confusion.png, misclassified.png (default: off)")


def _add_evaluate(commands):
    evaluate = commands.add_parser("evaluate", description="Report accuracy, per-class accuracy and the confusion matrix of a "
                                               "SavedModel on the test set.", epilog=EXAMPLES["evaluate"])
    evaluate.add_argument("model_dir", metavar="MODEL_DIR", help="the model folder, OUT/model of `mlpkit train`")
    _data_options(evaluate, dataset_default=None)
    evaluate.add_argument("--plots", metavar="DIR", help="also write confusion.png and misclassified.png here (default: no plots)")


def _add_bench(commands):
    bench = commands.add_parser("bench", description="Time one epoch of every way of running the training loop (chapter 5); "
                                            "write bench.json and bench.png.", epilog=EXAMPLES["bench"])
    _data_options(bench)
    bench.add_argument("--layers", type=_layers, default=[784, 15, 10], help="layer sizes (default 784,15,10)")
    bench.add_argument("--batch-size", type=_positive_int, default=10, help="images per step (default 10)")
    bench.add_argument("--images", type=_positive_int, default=4000, help="training images per epoch (default 4000)")
    bench.add_argument("--repeats", type=_positive_int, default=5, help="timed epochs per variant (default 5)")
    bench.add_argument("--variants", type=_names, help="comma-separated subset (default: all)")
    bench.add_argument("--no-modern", action="store_true", help="skip the chapter-7 network (784-700-500-10, Adam, batch 128; default: off)")
    bench.add_argument("--out", default="runs/bench", metavar="DIR", help="output folder (default runs/bench)")


def _add_study(commands):
    study = commands.add_parser("study", description="Train every configuration of a grid on every fold; write results.json, "
                                            "results.csv and plots. Rerunning the same command resumes.",
                                epilog=EXAMPLES["study"])
    study.add_argument("grid", nargs="?", metavar="GRID",
                       help="a named grid (figure17, figure18, ...) or a .json/.yaml grid file (default: chapter 4's configuration)")
    _data_options(study)
    study.add_argument("--layers", type=_layers, action="append", help="layer sizes; repeat for several (default: the grid's)")
    study.add_argument("--lr", type=_list_of(_positive_float), help="learning rates, e.g. 0.9,0.1 (default: the grid's)")
    study.add_argument("--epochs", type=_list_of(_positive_int), help="comma-separated (default: the grid's)")
    study.add_argument("--batch-size", type=_list_of(_positive_int), help="comma-separated (default: the grid's)")
    study.add_argument("--init", type=_inits, help="uniform, glorot or uniform,glorot (default: the grid's)")
    study.add_argument("--folds", type=_positive_int, help="k of k-fold, 1: the plain train/test split (default: the grid's, or 5)")
    study.add_argument("--seed", type=_seed, help=f"base seed, 0 to {MAX_SEED} (default: the grid's, or 0)")
    study.add_argument("--images", type=_positive_int, help="use a stratified subset of the training set (default: all)")
    study.add_argument("--workers", type=_positive_int, default=os.cpu_count() or 1, help="processes (default: CPU count)")
    study.add_argument("--out", metavar="DIR", help="output folder (default runs/study-GRID)")
    split = study.add_mutually_exclusive_group()
    split.add_argument("--shard", type=_shard, metavar="I/N",
                       help="run only part I of N of the units (round-robin), e.g. one per batch job, into OUT/units; "
                            "writes no results: run --merge-only when all parts are done (default: all units)")
    split.add_argument("--merge-only", action="store_true",
                       help="train nothing; write results.json, results.csv and plots from the units in OUT/units; "
                            "fails, naming them, if units are missing (default: off)")
    study.add_argument("--allow-missing", action="store_true",
                       help="with --merge-only: merge the units present; results.json lists the missing ones under "
                            "\"partial\" and the plots say partial (default: off)")


def _add_exercises(commands):
    exercises = commands.add_parser("exercises", description="Release the exercises, run a submission's public checks, write "
                                                "a made-up class or a Gradescope autograder.", epilog=EXAMPLES["exercises"])
    actions = exercises.add_subparsers(dest="action", required=True, parser_class=_Parser, metavar="ACTION")
    release = actions.add_parser("release", help="write the student notebooks, .py stubs and public checks",
                                 epilog=EXAMPLES["exercises"])
    release.add_argument("out_dir", metavar="OUT_DIR", help="folder to write into (created if missing)")
    release.add_argument("--chapters", type=_names, help="comma-separated (default: every chapter with exercises)")
    check = actions.add_parser("check", help="run the public checks on your notebook or .py file",
                               epilog=EXAMPLES["exercises"])
    check.add_argument("submission", metavar="FILE", help="your CHAPTER.ipynb or CHAPTER.py")
    check.add_argument("--checks", metavar="FILE", help="checks.json from the release (default: beside the submission)")
    check.add_argument("--time-limit", type=_positive_float, default=60.0, help="seconds per exercise (default 60)")
    demo = actions.add_parser("demo-class", help="write made-up submissions to try `mlpkit grade` on",
                              epilog=EXAMPLES["exercises"])
    demo.add_argument("out_dir", metavar="OUT_DIR", help="a new or empty folder")
    demo.add_argument("--students", type=_positive_int, default=200, help="submissions to write (default 200)")
    demo.add_argument("--seed", type=_seed, default=0, help=f"0 to {MAX_SEED} (default 0)")
    gradescope = actions.add_parser("gradescope", help="write a Gradescope autograder zip that grades with the kit's checks",
                                    epilog=EXAMPLES["exercises"])
    gradescope.add_argument("out_zip", metavar="OUT_ZIP", help="the .zip to write (upload it as the assignment's autograder)")
    gradescope.add_argument("--chapters", type=_names, help="comma-separated (default: perceptron,xor,gradients)")
    gradescope.add_argument("--time-limit", type=_positive_float, default=60.0, help="seconds per cell and per exercise (default 60)")
    gradescope.add_argument("--memory-limit", type=_memory_gb, default=3.0, help="GB resident per submission (default 3)")
    gradescope.add_argument("--allow-weak-guard", action="store_true",
                            help="let the autograder run where the kernel offers no confinement (Landlock and seccomp), "
                                 "with the Python audit hook alone (default: it refuses and says why)")


def _add_grade(commands):
    grade = commands.add_parser("grade", description="Grade every STUDENT.ipynb / STUDENT.py in a folder, or a Canvas or "
                                "Moodle download of the submissions (one per student: the newest); resumable.",
                                epilog=EXAMPLES["grade"])
    grade.add_argument("submissions", metavar="FOLDER",
                       help="folder of STUDENT.ipynb / STUDENT.py files, or an unpacked Canvas or Moodle download")
    grade.add_argument("--out", required=True, metavar="CSV", help="the CSV to write (written atomically; required)")
    grade.add_argument("--chapters", type=_names, help="comma-separated (default: perceptron,xor,gradients)")
    grade.add_argument("--workers", type=_positive_int, default=os.cpu_count() or 1, help="processes (default: CPU count)")
    grade.add_argument("--time-limit", type=_positive_float, default=60.0, help="seconds per cell and per exercise (default 60)")
    grade.add_argument("--memory-limit", type=_memory_gb, default=3.0, help="GB resident per submission (default 3)")
    grade.add_argument("--units", metavar="DIR", help="folder of per-submission results (default: next to the CSV, NAME_units)")
    grade.add_argument("--feedback", metavar="DIR", help="folder of feedback files (default: next to the CSV, NAME_feedback)")
    grade.add_argument("--only", nargs="+", metavar="FILE",
                       help="grade only these submissions of FOLDER, e.g. one per batch job (default: all)")
    grade.add_argument("--merge-only", action="store_true", help="grade nothing; merge the finished units into the CSV (default: off)")
    grade.add_argument("--layout", choices=["auto", "plain", "canvas", "moodle"], default="auto",
                       help="how FOLDER names the submissions (default auto: detected)")
    grade.add_argument("--lms-export", choices=["canvas", "moodle"],
                       help="also write NAME_canvas.csv or NAME_moodle.csv beside the CSV, for the LMS's grade import "
                            "(default: none)")
    grade.add_argument("--assignment", metavar="HEADER",
                       help="the assignment's column: for canvas, its header as Canvas exports it, 'Name (12345)' "
                            "(required); for moodle, the grade column's name in a gradebook import (default Grade)")
    grade.add_argument("--allow-weak-guard", action="store_true",
                       help="grade even where the kernel offers no confinement (Landlock and seccomp), with the Python "
                            "audit hook alone, which a determined submission can defeat; the feedback says so "
                            "(default: refuse and say why)")


def build_parser():
    parser = _Parser(prog="mlpkit", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"mlpkit {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND",
                                     help="one of the commands above; `mlpkit COMMAND --help` for its options")
    for add in (_add_train, _add_evaluate, _add_bench, _add_study, _add_exercises, _add_grade):
        add(commands)
    return parser


# -- shared steps ----------------------------------------------------------------------------------

def _fail(parser, message):
    parser.exit(2, f"mlpkit: error: {message}\n")


def _tensorflow():
    """Import TensorFlow without its start-up log lines (see ``mlpkit.quiet``); call before anything imports it."""
    from mlpkit.quiet import import_tensorflow

    import_tensorflow()


def _load(args, splits):
    _tensorflow()
    from mlpkit import data

    download = False if args.no_download else None  # None: the loader's default (MLPKIT_NO_DOWNLOAD)
    loaded = data.load_data(args.dataset, data_dir=args.data_dir, download=download, splits=splits)
    print(f"data: {loaded.source}")
    return loaded


def _note_batch_size(batch_size, images):
    """Say so when ``--batch-size`` exceeds the training images: every epoch is then a single step."""
    if batch_size > images > 0:
        print(f"note: --batch-size {batch_size} is more than the {images:,} training images: "
              f"each epoch is one step on a batch of {images:,}")


def _write_plots(out, images, true, predicted, confusion, class_names, epochs=None, loss_name="MSE"):
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


# -- train -------------------------------------------------------------------------------------------

def _is_chapter4(args):
    return (args.activation, args.loss, args.optimizer, args.dropout, args.validation, args.engine) == \
        ("sigmoid", "mse", "sgd", 0.0, 0, "scratch")


def _build_network(args, parser):
    """Chapter 4's network for the default options, otherwise chapter 7's (scratch) or chapter 8's (Keras)."""
    _tensorflow()
    from mlpkit import kerasnets, model, modern

    try:
        sizes = model.check_layer_sizes(args.layers)
        if _is_chapter4(args):
            return model.SigmoidMLP(sizes, init=args.init, seed=args.seed)
        if args.engine == "keras":
            return kerasnets.build_model(sizes, args.activation, args.dropout,
                                         output=None if args.loss == "cross_entropy" else "sigmoid", seed=args.seed)
        return modern.MLP(sizes, args.activation, "logits" if args.loss == "cross_entropy" else "sigmoid",
                          args.dropout, seed=args.seed)
    except ValueError as error:
        _fail(parser, error)


def _describe_network(net, args):
    if args.engine == "keras" and not _is_chapter4(args):
        return (f"Keras {args.layers}, {args.activation}, dropout {args.dropout:g}, "
                f"{net.count_params():,} parameters")
    return repr(net)


def _train_network(net, args, x_train, y_train, x_test, y_test):
    """Train ``net`` as the options say; returns ``(history, settings)``."""
    from mlpkit import kerasnets, modern, training

    if _is_chapter4(args):
        config = training.TrainConfig(lr=0.9 if args.lr is None else args.lr, batch_size=args.batch_size,
                                      epochs=args.epochs, seed=args.seed, jit_compile=not args.no_jit)
        history = training.train(net, x_train, y_train, x_test, y_test, config=config)
        return history, {"init": args.init, "activation": "sigmoid", "loss": "mse", "optimizer": "sgd", "engine": "scratch"}
    trainer = kerasnets.train if args.engine == "keras" else modern.train
    history = trainer(net, x_train, y_train, x_test, y_test, loss=args.loss, optimizer=args.optimizer, lr=args.lr,
                      epochs=args.epochs, batch_size=args.batch_size, validation=args.validation, seed=args.seed)
    return history, {"init": "glorot", "activation": args.activation, "dropout": args.dropout, "engine": args.engine}


def run_train(args, parser):
    from mlpkit import outputs

    outputs.check_folder(args.out, "--out")
    net = _build_network(args, parser)
    loaded = _load(args, ("train", "test"))
    from mlpkit import data, training
    from mlpkit.export import export_model

    x_train, y_train = data.preprocess(loaded.x_train, loaded.y_train)
    x_test, y_test = data.preprocess(loaded.x_test, loaded.y_test)
    print(f"model: {_describe_network(net, args)}; {len(x_train):,} training and {len(x_test):,} test images")
    _note_batch_size(args.batch_size, len(x_train) - args.validation)
    start = time.perf_counter()
    try:
        history, settings = _train_network(net, args, x_train, y_train, x_test, y_test)
    except ValueError as error:
        _fail(parser, error)
    confusion = history.confusion
    metrics = {
        "config": {"dataset": args.dataset, "layers": list(args.layers), **settings, **history.config},
        "data_source": loaded.source,
        "train_images": len(x_train) - args.validation,
        "validation_images": args.validation,
        "test_images": len(x_test),
        "parameters": int(net.count_params()),
        "history": history.epochs,
        "test_accuracy": history.final["test_accuracy"],
        "per_class_accuracy": dict(zip(loaded.class_names, training.per_class_accuracy(confusion).tolist())),
        "confusion_matrix": confusion,
        "class_names": loaded.class_names,
        "train_seconds": history.wall_seconds,
    }
    out = pathlib.Path(args.out)
    with outputs.staged_folder(out) as stage:
        export_model(net, stage / "model", dataset=args.dataset)
        if not args.no_plots:
            loss_name = "cross-entropy" if args.loss == "cross_entropy" else "MSE"
            _write_plots(stage, loaded.x_test, loaded.y_test, history.test_predictions, confusion, loaded.class_names,
                         history.epochs, loss_name)
        metrics["wall_seconds"] = time.perf_counter() - start
        (stage / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"test accuracy: {history.final['test_accuracy']:.2%} ({args.dataset}, {len(x_test):,} test images)")
    print(f"wrote {out}/metrics.json, the plots and the SavedModel {out}/model")


# -- evaluate ----------------------------------------------------------------------------------------

def _check_model_dir(model_dir, parser):
    if (model_dir / "saved_model.pb").is_file():
        return
    hint = "; `mlpkit train` writes one to OUT/model"
    if (model_dir / "model" / "saved_model.pb").is_file():
        hint = f"; did you mean {model_dir / 'model'}?"
    if not model_dir.exists():
        _fail(parser, f"MODEL_DIR {model_dir}: no such folder; expected a SavedModel folder{hint}")
    _fail(parser, f"{model_dir} is not a SavedModel directory (no saved_model.pb){hint}")


def _evaluation_dataset(asked, recorded, model_dir, parser):
    """The data set to evaluate on: the one the model records, which ``--dataset`` may only repeat."""
    if recorded is None and asked is None:
        _fail(parser, f"{model_dir} does not record the data set it was trained on (exported by an earlier mlpkit); "
                      "give --dataset mnist or --dataset fashion_mnist")
    if recorded is not None and asked not in (None, recorded):
        _fail(parser, f"--dataset {asked}: the model in {model_dir} was trained on {recorded}; "
                      "leave out --dataset to evaluate it on its own data set")
    return recorded or asked


def run_evaluate(args, parser):
    from mlpkit import outputs

    model_dir = pathlib.Path(args.model_dir)
    _check_model_dir(model_dir, parser)
    if args.plots:
        outputs.check_folder(args.plots, "--plots")
    _tensorflow()
    from mlpkit import training
    from mlpkit.export import load_model

    model = load_model(model_dir)
    args.dataset = _evaluation_dataset(args.dataset, model.dataset, model_dir, parser)
    loaded = _load(args, ("test",))
    predicted = model(loaded.x_test).numpy()
    confusion = training.confusion_matrix(loaded.y_test, predicted)
    accuracy = float((predicted == loaded.y_test).mean())
    print(f"test accuracy: {accuracy:.2%} on {len(predicted):,} images ({args.dataset})")
    print("per-class accuracy:")
    for name, value in zip(loaded.class_names, training.per_class_accuracy(confusion)):
        print(f"  {name:>12}: {value:.2%}")
    print("confusion matrix (rows: true class, columns: predicted):")
    for row in confusion:
        print("  " + " ".join(f"{count:5d}" for count in row))
    if args.plots:
        out = pathlib.Path(args.plots)
        with outputs.staged_folder(out) as stage:
            _write_plots(stage, loaded.x_test, loaded.y_test, predicted, confusion.tolist(), loaded.class_names)
        print(f"wrote {out}/confusion.png and {out}/misclassified.png")


# -- bench -------------------------------------------------------------------------------------------

def run_bench(args, parser):
    from mlpkit import outputs

    outputs.check_folder(args.out, "--out")
    _tensorflow()
    from mlpkit import bench, data

    unknown = sorted(set(args.variants or []) - set(bench.VARIANTS))
    if unknown:
        _fail(parser, f"unknown variants {', '.join(unknown)} in --variants; expected some of {', '.join(bench.VARIANTS)}")
    loaded = _load(args, ("train",))
    if args.images > len(loaded.x_train):
        _fail(parser, f"--images {args.images} is more than the {len(loaded.x_train):,} training images of this data set")
    _note_batch_size(args.batch_size, args.images)
    x, y = data.preprocess(loaded.x_train[: args.images], loaded.y_train[: args.images])
    result = bench.run_benchmark(
        x, y, args.layers, batch_size=args.batch_size, repeats=args.repeats, variants=args.variants,
        progress=lambda stage: print(f"{stage} ...", flush=True),
    )
    result["data_source"] = loaded.source
    if not args.no_modern:
        result["modern"] = bench.modern_benchmark(x, y, repeats=min(args.repeats, 3),
                                                  progress=lambda stage: print(f"{stage} ...", flush=True))
    out = pathlib.Path(args.out)
    import matplotlib

    matplotlib.use("Agg")
    with outputs.staged_folder(out) as stage:
        (stage / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
        ax = bench.plot_benchmark(result)
        ax.figure.tight_layout()
        ax.figure.savefig(stage / "bench.png", dpi=100)
    print(bench.format_table(result))
    if "modern" in result:
        print()
        print(bench.format_modern_table(result["modern"]))
    print(f"wrote {out}/bench.json and {out}/bench.png")


# -- study -------------------------------------------------------------------------------------------

def _study_grid(args, parser):
    """The grid file's grid with the command line's values put in."""
    from mlpkit import study

    grid = study.load_grid(args.grid) if args.grid else {}
    if args.layers is not None:
        grid.pop("configs", None)  # layer sizes given on the command line replace the grid's list
    for key in ("layers", "lr", "epochs", "batch_size", "init"):
        values = getattr(args, key)
        if values is None:
            continue
        if "configs" in grid:  # a grid of explicit configurations: one value replaces it in each
            if len(values) != 1:
                _fail(parser, f"{args.grid} lists explicit configurations; --{key.replace('_', '-')} can give one value for all")
            for entry in grid["configs"]:
                if isinstance(entry, dict):
                    entry[key] = values[0]
        else:
            grid[key] = values
    for key in ("folds", "seed"):
        if getattr(args, key) is not None:
            grid[key] = getattr(args, key)
    return grid


def _print_study_report(report):
    print(f"{'configuration':40} {'accuracy % (mean ± std)':>24} {'test %':>7}")
    for row in report["results"]:
        print(f"{row['key']:40} {row['accuracy_mean']:15.2f} ± {row['accuracy_std']:5.2f} {row['test_accuracy_mean']:7.2f}")


def _merge_study(args, grid, out):
    """``--merge-only``: results and plots from the unit files, with no data loaded and nothing trained."""
    from mlpkit import study

    runner = study.Study(grid, out, dataset=args.dataset, data_dir=args.data_dir, images=args.images)
    report = runner.merge(allow_missing=args.allow_missing)
    study.write_plots(report, out)
    partial = report.get("partial")
    if partial:
        missing = partial["units_missing"]
        print(f"mlpkit: warning: partial result: {len(missing)} of {partial['units_total']} units missing "
              f"({', '.join(missing)}); results.json lists them under \"partial\"", file=sys.stderr)
    print(f"merged {partial['units_present'] if partial else len(runner.units)} of {len(runner.units)} units from {out}/units")
    _print_study_report(report)
    print(f"wrote {out}/results.json, results.csv, accuracy.png, error_curves.png")


def run_study(args, parser):
    if args.allow_missing and not args.merge_only:
        _fail(parser, "--allow-missing applies only with --merge-only")
    _tensorflow()  # checking the grid imports the model module, and with it TensorFlow
    from mlpkit import outputs, study

    grid = _study_grid(args, parser)
    study.check_grid(grid)
    out = args.out or f"runs/study-{args.grid and pathlib.Path(args.grid).stem or 'custom'}"
    outputs.check_folder(out, "--out")
    if args.merge_only:
        _merge_study(args, grid, out)
        return
    loaded = _load(args, ("train", "test"))  # resolve the data once here (a download, if any), so the workers find it
    runner = study.Study(grid, out, dataset=args.dataset, data_dir=args.data_dir, images=args.images, data_source=loaded.source)
    runner.check_data(loaded.y_train)
    units = f"{len(runner.units)} units ({len(runner.configs)} configurations x {runner.folds} folds)"
    if args.shard:
        index, count = args.shard
        names = runner.shard(index, count)
        print(f"shard {index}/{count}: {len(names)} of the {units}, {args.workers} workers")
        done = runner.run(workers=args.workers, shard=args.shard)
        print(f"shard {index}/{count}: {len(done)} units done in {out}/units; run --merge-only when all shards are done")
        return
    print(f"{units}, {args.workers} workers")
    start = time.perf_counter()
    results = runner.run(workers=args.workers)
    report = runner.write_summary(results)
    study.write_plots(report, out)
    _print_study_report(report)
    print(f"wall time {time.perf_counter() - start:.1f} s; wrote {out}/results.json, results.csv, accuracy.png, error_curves.png")


# -- exercises and grading ----------------------------------------------------------------------------

def _check_chapters(chapters, parser):
    from mlpkit.grading import bank

    unknown = [name for name in chapters or [] if name not in bank.CHAPTERS]
    if unknown:
        _fail(parser, f"--chapters: no exercises for chapter {', '.join(map(repr, unknown))}; "
                      f"expected some of {','.join(bank.CHAPTERS)}")


def _demo_class(args):
    from mlpkit import outputs
    from mlpkit.grading import demo

    outputs.check_folder(args.out_dir, "OUT_DIR", empty=True)
    with outputs.staged_folder(args.out_dir) as stage:
        expected = demo.make_demo_class(stage, args.students, seed=args.seed)
        (stage / "expected.json").write_text(json.dumps(expected, indent=1))
    print(f"wrote {len(expected)} submissions (chapters 1-3) to {args.out_dir}/ and the points each should get to expected.json")


def _release(args, parser):
    from mlpkit import outputs
    from mlpkit.grading import release

    outputs.check_folder(args.out_dir, "OUT_DIR")
    _check_chapters(args.chapters, parser)
    with outputs.staged_folder(args.out_dir) as stage:
        written = release.release(stage, args.chapters)
    print(f"wrote {len(written)} files to {args.out_dir}/: " + ", ".join(path.name for path in written))


def _check_detail(check):
    """What to show after a failed public check's message."""
    detail = check["detail"]
    if detail.startswith("NotImplementedError"):
        return " [not written yet: it still raises NotImplementedError]"
    missing = re.match(r"NameError: no (function|variable) named '(\w+)' is defined", detail)
    if missing:
        return f" [not defined: the file has no {missing[1]} named {missing[2]}; write it under that name]"
    return f" [{detail}]" if detail else ""


def _self_check(args):
    from mlpkit.grading import selfcheck

    verdicts, cell_notes = selfcheck.self_check(args.submission, args.checks, limits=_limits(args))
    for label, note in cell_notes.items():
        print(f"note: {label}: {note}")
    failed = 0
    for name, result in verdicts.items():
        status = "pass" if result["checks"] and all(c["passed"] for c in result["checks"]) else "FAIL"
        failed += status == "FAIL"
        print(f"{status}  {result['title']} (`{name}`)")
        for check in result["checks"]:
            if not check["passed"]:
                print(f"      {check['message']}{_check_detail(check)}")
        if result["note"] and not result["checks"]:
            print(f"      {result['note']}")
    print(f"{len(verdicts) - failed} of {len(verdicts)} exercises pass their public checks"
          + ("; the grade also uses hidden checks" if not failed else ""))
    if failed:
        sys.exit(1)


def _gradescope(args, parser):
    from mlpkit import outputs
    from mlpkit.grading import bank, gradescope

    outputs.check_file(pathlib.Path(args.out_zip), "OUT_ZIP")
    _check_chapters(args.chapters, parser)
    chapters = args.chapters or bank.DEMO_CHAPTERS
    names = gradescope.bundle(args.out_zip, chapters, limits=_limits(args))
    print(f"wrote {args.out_zip} ({', '.join(names)}) for chapters {','.join(chapters)}: upload it as the "
          "Gradescope assignment's autograder")


def run_exercises(args, parser):
    if args.action == "demo-class":
        _demo_class(args)
    elif args.action == "gradescope":
        _gradescope(args, parser)
    elif args.action == "release":
        _release(args, parser)
    else:
        _self_check(args)


def _limits(args):
    from mlpkit.grading.sandbox import Limits

    memory = getattr(args, "memory_limit", 3.0)
    # Grading (the commands with --allow-weak-guard) needs the kernel's confinement unless the instructor accepts
    # less; a student's self-check runs their own code on their own machine: confined where the kernel can.
    kernel_guard = not getattr(args, "allow_weak_guard", True)
    return Limits(seconds=args.time_limit, memory=int(memory * 2**30), kernel_guard=kernel_guard)


def _check_grade_outputs(args):
    from mlpkit import outputs

    out = pathlib.Path(args.out)
    outputs.check_file(out, "--out")
    outputs.check_folder(args.units or out.with_name(out.stem + "_units"), "--units")
    outputs.check_folder(args.feedback or out.with_name(out.stem + "_feedback"), "--feedback")
    if args.lms_export:
        outputs.check_file(out.with_name(f"{out.stem}_{args.lms_export}.csv"), "--lms-export")


def run_grade(args, parser):
    _check_grade_outputs(args)
    if args.lms_export == "canvas":
        from mlpkit.grading import lms

        if not args.assignment or not lms.CANVAS_ASSIGNMENT.match(args.assignment):
            _fail(parser, f"--assignment {args.assignment!r}: --lms-export canvas needs the assignment's column header as "
                          "Canvas exports it, 'Name (12345)' (12345: the assignment's id, in its address .../assignments/12345)")
    _check_chapters(args.chapters, parser)
    from mlpkit.grading import grader, report

    start = time.perf_counter()
    units = grader.grade(args.submissions, args.out, chapters=args.chapters, workers=args.workers, limits=_limits(args),
                         units_dir=args.units, feedback_dir=args.feedback, only=args.only, merge_only=args.merge_only,
                         layout=args.layout, lms_export=args.lms_export, assignment=args.assignment)
    wrote = f"{args.out} and {report.lms_export_path(args.out, args.lms_export)}" if args.lms_export else args.out
    print(f"graded {len(units)} submissions in {time.perf_counter() - start:.1f} s; wrote {wrote}")
    weak = sum(unit.get("guard") == report.WEAK_GUARD for unit in units)
    if weak:
        print(f"warning: {weak} submissions were graded without the kernel's confinement (--allow-weak-guard); "
              "their feedback says so", file=sys.stderr)
    skipped = report.skipped_path(args.out)
    if skipped.is_file():
        entries = len(skipped.read_text().splitlines()) - 1
        print(f"not graded: {entries} entries of {args.submissions} that are not submissions (a folder, a link, "
              f"another kind of file); {skipped} lists them and why", file=sys.stderr)


# -- main -----------------------------------------------------------------------------------------------

COMMANDS = {"train": run_train, "evaluate": run_evaluate, "bench": run_bench, "study": run_study,
            "exercises": run_exercises, "grade": run_grade}

# The errors that mean "bad input" (one line, exit 2), by module: a module that was never imported raised none.
EXPECTED_ERRORS = {"mlpkit.outputs": "OutputError", "mlpkit.data": "DataError", "mlpkit.training": "TrainingDiverged",
                   "mlpkit.study": "StudyError", "mlpkit.grading.bank": "ExerciseError", "mlpkit.grading.grader": "GradingError",
                   "mlpkit.export": "ModelError"}


def _is_expected(error):
    return any(isinstance(error, getattr(sys.modules[module], name))
               for module, name in EXPECTED_ERRORS.items() if module in sys.modules)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        COMMANDS[args.command](args, parser)
    except KeyboardInterrupt:
        parser.exit(130, "mlpkit: interrupted\n")
    except Exception as error:
        if not _is_expected(error):
            raise
        _fail(parser, error)


if __name__ == "__main__":
    sys.exit(main())
