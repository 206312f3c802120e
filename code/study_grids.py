"""Chapter 6: the grids of a study: which configurations it trains, and their checks.

A study is a grid of configurations (layer sizes, learning rate, epochs, batch size,
initialisation), each trained once per fold (``mlpkit.study``). A grid is a dict (or a
JSON/YAML file, or one of the named files in ``grids/``, such as ``figure18``) with
list-valued keys whose product gives the configurations, or with ``configs``, an
explicit list of them; ``folds`` is k, ``seed`` the base seed. A key left out takes the
thesis's value (``DEFAULTS``).

``load_grid`` reads a grid, ``configurations`` lists what it describes, ``check_grid``
checks all of it without any data, and ``config_key`` names a configuration. A grid that
cannot run raises ``StudyError``, saying why.
"""

import itertools
import json
import math
import pathlib

from mlpkit.defaults import INITS, MAX_SEED, THESIS_RECIPE

GRID_DIR = pathlib.Path(__file__).parent / "grids"
#: A grid key left out takes the thesis's value (``mlpkit.defaults``).
DEFAULTS = THESIS_RECIPE
STUDY_KEYS = {"title", "folds", "seed", "configs"}


class StudyError(RuntimeError):
    """The study cannot run as asked; the message says why and what to do."""


def grid_names():
    return sorted(path.stem for path in GRID_DIR.glob("*.json"))


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
