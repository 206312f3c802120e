"""The command line's option types, each a function from the option's text to its value.

Each raises ``argparse.ArgumentTypeError`` on bad text, so argparse's one-line
message names the option and says what was expected (``mlpkit train --epochs 0``:
"argument --epochs: expected a positive integer; got '0'").
"""

import argparse
import pathlib

from mlpkit.defaults import INITS, MAX_SEED, THESIS_LAYERS

LAYER_EXAMPLE = ",".join(map(str, THESIS_LAYERS))
MAX_MEMORY_GB = 1024
MIN_MEMORY_GB = 1  # TensorFlow alone is about 0.7 GB resident in a submission's process


def layers(text):
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as {LAYER_EXAMPLE}; got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected at least two positive sizes such as {LAYER_EXAMPLE}; got {text!r}")
    if sizes[0] != 784 or sizes[-1] != 10:
        raise argparse.ArgumentTypeError(
            f"expected sizes from 784 (pixels) to 10 (classes) such as {LAYER_EXAMPLE}; got {text!r}")
    return sizes


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}")
    return value


def fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction from 0 up to but not including 1; got {text!r}")
    return value


def nonnegative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def seed(text):
    value = nonnegative_int(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {MAX_SEED}, got {value}")
    return value


def positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return int(text)


def memory_gb(text):
    value = positive_float(text)
    if not MIN_MEMORY_GB <= value <= MAX_MEMORY_GB:
        raise argparse.ArgumentTypeError(f"expected {MIN_MEMORY_GB} to {MAX_MEMORY_GB} (GB; TensorFlow alone takes "
                                         f"about 0.7); got {text!r}")
    return value


def names(text):
    parts = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))  # each once, in order
    if not parts:
        raise argparse.ArgumentTypeError(f"expected comma-separated names; got {text!r}")
    return parts


def list_of(item):
    """A type for comma-separated values of type ``item``, e.g. ``0.9,0.1``."""
    def parse(text):
        return [item(part) for part in text.split(",")]

    return parse


def inits(text):
    chosen = names(text)
    unknown = [name for name in chosen if name not in INITS]
    if unknown:
        raise argparse.ArgumentTypeError(f"expected uniform, glorot or uniform,glorot; got {text!r}")
    return chosen


def shard(text):
    from mlpkit.runs.studies import parse_shard

    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def folder(text):
    path = pathlib.Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such folder: {text}")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; expected a folder")
    return str(path)
