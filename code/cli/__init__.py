"""The ``mlpkit`` command: train, evaluate, bench, study, exercises and grade, one module each.

This module only dispatches: ``build_parser`` asks each command module
(``train``, ``evaluate``, ``bench``, ``study``, ``exercises``, ``grade``) to
add its options (``add_parser``), and ``main`` hands the parsed options to its
``run``. What they share is in ``common``; the option types in ``types``.

Bad input (an option out of range, a missing file, a file where a folder is
expected, an output that cannot be written) ends with a one-line error naming
the option or file and what was expected, and exit status 2, before any data
is loaded or any training or grading starts; a command that fails leaves no
partial output behind (`mlpkit.runs.outputs`). TensorFlow is imported only when a
command runs, so ``--help`` is fast.
"""

import sys

from mlpkit.cli import bench, common, evaluate, exercises, grade, study, train
from mlpkit.runs import interrupts

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

COMMANDS = {"train": train, "evaluate": evaluate, "bench": bench, "study": study, "exercises": exercises,
            "grade": grade}


def _version():
    from importlib import metadata

    try:
        return metadata.version("mlpkit")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser():
    parser = common.Parser(prog="mlpkit", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"mlpkit {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=common.Parser, metavar="COMMAND",
                                     help="one of the commands above; `mlpkit COMMAND --help` for its options")
    for command in COMMANDS.values():
        command.add_parser(commands)
    return parser


def main(argv=None):
    # Ctrl-C and SIGTERM (`timeout`, Slurm): one clean-up, one line, status 130 or 143 (mlpkit.runs.interrupts).
    previous, parser = interrupts.install(), None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        COMMANDS[args.command].run(args, parser)
    except KeyboardInterrupt as error:
        if interrupts.signalled() is not None:  # a real signal: exit now, past multiprocessing's exit handlers
            interrupts.leave(error)
        message, status = interrupts.line(error)
        print(message, file=sys.stderr)
        sys.exit(status)
    except Exception as error:
        if not common.is_expected(error):
            raise
        common.fail(parser, error)
    finally:
        if argv is None:  # the command itself: a signal while Python exits exits at once, with one line
            interrupts.finished()
        else:  # called in a Python process of some other program's: its own handlers again
            interrupts.restore(previous)
