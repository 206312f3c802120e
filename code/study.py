"""Chapter 6: k-fold cross-validation studies, in parallel and resumable.

A study is a grid of configurations (layer sizes, learning rate, epochs,
batch size, initialisation), each trained once per fold. A grid is a dict
(or a JSON/YAML file, or one of the named files in ``grids/``, such as
``figure18``) with list-valued keys whose product gives the configurations,
or with ``configs``, an explicit list of them; ``folds`` is k, ``seed`` the
base seed.

Done right, unlike the thesis's version:
- the folds are scikit-learn's ``StratifiedKFold`` over the training set
  only; the test set is never inside a fold, and every fold's model is
  evaluated on it too. With k = 1 the study is the plain train/test split;
- every fold trains a fresh model, built from ``seed`` and the fold number.

Every finished unit (one configuration on one fold) is written at once to
``OUT/units/<unit>.json`` (written to a temporary file, then renamed, so a
unit file is whole or absent). Running the same study again skips finished
units, so an interrupted study loses only the units in flight. A unit file
that is not valid, or a study folder that holds another study, is reported
and left as it is.

A study can be split over machines that share the output folder:
``run(shard=(i, n))`` runs only the i-th of n parts of the units (round-robin
in unit order, ``shard_units``: every unit is in exactly one part, and the
parts differ in size by one unit at most) and writes nothing but unit files
and ``study.json``. Unit files are written under a temporary name and renamed;
``study.json`` is created whole by whichever part comes first, and every other
part compares it with its own and stops if the study differs. ``merge()`` then
summarises the unit files present without training or loading data: with a
unit missing it writes nothing and names the missing units, unless
``allow_missing=True``, in which case ``results.json`` says which are missing
(``"partial"``) and the plots' titles say how many units they show.
"""

import csv
import io
import itertools
import json
import math
import os
import pathlib
import re
import socket
import time

import numpy as np

from mlpkit import lifetime
from mlpkit.defaults import INITS, MAX_SEED, THESIS_RECIPE
from mlpkit.progress import bar as progress_bar

GRID_DIR = pathlib.Path(__file__).parent / "grids"
# Summaries of the full studies chapter 6 plots (`make studies` rewrites them).
# They ship inside the package, so the chapter also runs where only the
# package is installed (Colab, a bare Jupyter).
RESULT_DIR = pathlib.Path(__file__).parent / "results"
#: A grid key left out takes the thesis's value (``mlpkit.defaults``).
DEFAULTS = THESIS_RECIPE
STUDY_KEYS = {"title", "folds", "seed", "configs"}


class StudyError(RuntimeError):
    """The study cannot run as asked; the message says why and what to do."""


def grid_names():
    return sorted(path.stem for path in GRID_DIR.glob("*.json"))


def published_results(name):
    """The committed summary of the full study ``name`` (as `results.json` of ``mlpkit study``)."""
    path = RESULT_DIR / f"{name}.json"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in RESULT_DIR.glob("*.json")))
        raise StudyError(f"no published results named {name!r}; there are: {names}")
    return json.loads(path.read_text())


def load_grid(name_or_path):
    """A grid from a file (``.json``, ``.yaml``, ``.yml``) or by name (``figure18``)."""
    path = pathlib.Path(name_or_path)
    if path.is_dir():
        raise StudyError(f"GRID {path}: is a folder; expected a .json or .yaml grid file or a named grid ({', '.join(grid_names())})")
    if not path.is_file():
        path = GRID_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise StudyError(f"no grid file or named grid {name_or_path!r}; the named grids are {', '.join(grid_names())}")
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            grid = yaml.safe_load(path.read_text())
        else:
            grid = json.loads(path.read_text())
    except Exception as error:
        raise StudyError(f"{path}: not a readable grid file ({error})") from None
    if not isinstance(grid, dict):
        raise StudyError(f"{path}: a grid is a mapping of keys to lists; got {type(grid).__name__}")
    return grid


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_value(key, value):
    """Raise ``StudyError`` unless ``value`` is a valid value of the configuration key ``key``."""
    expected = {
        "layers": ("lists of at least two positive whole numbers from 784 to 10, such as [784, 15, 10]",
                   isinstance(value, list) and all(_is_int(n) for n in value)),
        "lr": ("positive numbers such as 0.9", _is_number(value) and math.isfinite(value) and value > 0),
        "epochs": ("whole numbers 1 or more, such as 10", _is_int(value) and value >= 1),
        "batch_size": ("whole numbers 1 or more, such as 10", _is_int(value) and value >= 1),
        "init": (f"one of {', '.join(map(repr, INITS))}", value in INITS),
    }
    what, valid = expected[key]
    if not valid:
        raise StudyError(f"grid key {key!r}: expected {what}; got {value!r}")


def configurations(grid):
    """The list of configurations a grid describes, each a complete dict, in the grid's order."""
    from mlpkit.model import check_layer_sizes

    unknown = set(grid) - set(DEFAULTS) - STUDY_KEYS
    if unknown:
        raise StudyError(f"unknown grid keys {sorted(unknown)}; expected {sorted(set(DEFAULTS) | STUDY_KEYS)}")
    if "configs" in grid:
        if not isinstance(grid["configs"], list) or not grid["configs"]:
            raise StudyError(f"grid key 'configs' must be a non-empty list of configurations; got {grid['configs']!r}")
        shared = {}
        for key in set(DEFAULTS) & set(grid):  # beside explicit configs, a key is a default for all of them
            if not isinstance(grid[key], list) or len(grid[key]) != 1:
                raise StudyError(f"beside explicit configs, {key!r} must be a one-value list (a default for each); got {grid[key]!r}")
            shared[key] = grid[key][0]
        configs = []
        for entry in grid["configs"]:
            if not isinstance(entry, dict) or set(entry) - set(DEFAULTS):
                raise StudyError(f"each entry of configs maps some of {sorted(DEFAULTS)} to one value; got {entry!r}")
            configs.append({**DEFAULTS, **shared, **entry})
    else:
        axes = {key: grid.get(key, [value]) for key, value in DEFAULTS.items()}
        for key, values in axes.items():
            if not isinstance(values, list) or not values:
                raise StudyError(f"grid key {key!r} must be a non-empty list, e.g. \"lr\": [0.9, 0.1]; got {values!r}")
        configs = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]
    for config in configs:
        for key in DEFAULTS:
            _check_value(key, config[key])
        try:
            config["layers"] = check_layer_sizes(config["layers"])
        except ValueError as error:
            raise StudyError(f"grid key 'layers': {error}") from None
    return configs


def check_grid(grid):
    """``(configurations, folds, seed)`` of a grid, or ``StudyError`` saying what is wrong (no data needed)."""
    configs = configurations(grid)
    folds, seed, title = grid.get("folds", 5), grid.get("seed", 0), grid.get("title", "")
    if not _is_int(folds) or folds < 1:
        raise StudyError(f"folds must be a whole number, 1 (the plain train/test split) or more; got {folds!r}")
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise StudyError(f"seed must be a whole number from 0 to {MAX_SEED}; got {seed!r}")
    if not isinstance(title, str):
        raise StudyError(f"title must be a string; got {title!r}")
    return configs, folds, seed


def config_key(config):
    """A readable, unique name for a configuration, e.g. ``784-15-10_lr0.9_e10_b10_uniform``."""
    layers = "-".join(map(str, config["layers"]))
    return f"{layers}_lr{config['lr']!r}_e{config['epochs']}_b{config['batch_size']}_{config['init']}"


def make_folds(labels, k, seed):
    """Stratified k-fold ``(train_index, validation_index)`` pairs over ``labels``."""
    from sklearn.model_selection import StratifiedKFold

    if k < 2:
        raise ValueError(f"k-fold needs k >= 2; got {k} (k = 1 is the plain train/test split)")
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels))


# How load_data found the data, which can change between runs of one study while the data stay the same
# (the first run, or one shard, downloads into the Keras cache; the next finds them there): left out when
# the data sources of a study and of its units are compared. What the data are is the fingerprint's to say.
_HOW_FOUND = re.compile(r" \((the Keras cache|downloaded through keras\.datasets|full MNIST not found; .*)\)$")


def same_data(source, other):
    """Whether two data sources reported by ``load_data`` name the same place (however the first run found the data)."""
    if source is None or other is None:
        return source is other
    return _HOW_FOUND.sub("", source) == _HOW_FOUND.sub("", other)


def parse_shard(text):
    """``(i, n)`` from ``"I/N"`` (1 <= I <= N), or ``ValueError`` saying what was expected."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text), flags=re.ASCII)
    if not match:
        raise ValueError(f"expected I/N, part I of N parts (whole numbers, 1 <= I <= N), such as 2/8; got {text!r}")
    index, count = int(match[1]), int(match[2])
    if count < 1:
        raise ValueError(f"{text}: the number of parts N must be 1 or more")
    if not 1 <= index <= count:
        raise ValueError(f"{text}: part I must be from 1 to N = {count}")
    return index, count


def shard_units(names, index, count):
    """The ``index``-th (1-based) of ``count`` parts of ``names``: every ``count``-th name from the ``index``-th."""
    if not (_is_int(index) and _is_int(count) and 1 <= index <= count):
        raise ValueError(f"part {index!r} of {count!r}: expected 1 <= part <= parts")
    return list(names)[index - 1::count]


def _temporary_name(path):
    """A name beside ``path`` that no other process, on this machine or another, writes at the same time."""
    return path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.partial")


def _write_atomically(path, text):
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    temporary = _temporary_name(path)
    temporary.write_text(text)
    os.replace(temporary, path)


def _create_once(path, text):
    """Create ``path`` holding ``text`` unless it exists, atomically; ``True`` if this call created it."""
    temporary = _temporary_name(path)
    temporary.write_text(text)
    try:
        os.link(temporary, path)  # fails if path exists, even when another machine just created it
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: a narrow race between the test and the rename remains
        if path.exists():
            return False
        os.replace(temporary, path)
        return True
    finally:
        temporary.unlink(missing_ok=True)


def fold_seed(seed, fold):
    """The seed of fold ``fold``'s model and data order: different per fold, the same for the same seed."""
    return 1000 * seed + fold


# --- one unit of work ------------------------------------------------------------

_DATA = {}  # per process: the data set, loaded once


def _load(dataset, data_dir, images):
    key = (dataset, data_dir, images)
    if key not in _DATA:
        from mlpkit import data

        loaded = data.load_data(dataset, data_dir=data_dir, download=False)
        x_train, y_train, x_test, y_test = loaded.x_train, loaded.y_train, loaded.x_test, loaded.y_test
        if images:  # a stratified subset of the training set, for quick studies
            x_train, y_train = subsample(x_train, y_train, images)
        _DATA.clear()
        _DATA[key] = (x_train, y_train, x_test, y_test, loaded.source, loaded.fingerprint)
    return _DATA[key]


def subsample(x, y, n, seed=0):
    """A stratified subset of ``n`` examples."""
    from sklearn.model_selection import train_test_split

    if n >= len(y):
        return x, y
    keep, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return x[np.sort(keep)], y[np.sort(keep)]


def _subset_labels(labels, images):
    """The labels of the ``images`` subset the units use, or ``StudyError`` if no stratified subset has that size."""
    classes = len(np.unique(labels))
    if images > len(labels):
        raise StudyError(f"--images {images} is more than the {len(labels):,} training images of this data set")
    if images < classes:
        raise StudyError(f"--images {images}: a stratified subset needs at least one image of each of the {classes} classes")
    if len(labels) - classes < images < len(labels):
        raise StudyError(f"--images {images}: expected at most {len(labels) - classes:,} (one image of each class left out) "
                         f"or all {len(labels):,}")
    return subsample(labels, labels, images)[1]


def run_unit(config, fold, folds, seed, dataset, data_dir=None, images=None):
    """Train one configuration on one fold (``fold`` is ``None`` for the plain split); returns the unit's result."""
    from mlpkit import data, training
    from mlpkit.model import SigmoidMLP

    x_train, y_train, x_test, y_test, source, fingerprint = _load(dataset, data_dir, images)
    if folds > 1:
        train_index, val_index = make_folds(y_train, folds, seed)[fold]
        x_fit, y_fit, x_val, y_val = x_train[train_index], y_train[train_index], x_train[val_index], y_train[val_index]
    else:
        x_fit, y_fit, x_val, y_val = x_train, y_train, x_test, y_test
    unit_seed = fold_seed(seed, fold or 0)
    model = SigmoidMLP(config["layers"], init=config["init"], seed=unit_seed)
    start = time.perf_counter()
    train_config = training.TrainConfig(lr=config["lr"], batch_size=config["batch_size"], epochs=config["epochs"], seed=unit_seed)
    x_val_t, y_val_t = data.preprocess(x_val, y_val)
    history = training.train(model, *data.preprocess(x_fit, y_fit), x_val_t, y_val_t, config=train_config,
                             progress=False, stop_on_saturation=False)
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


def _worker_init():
    # Two workers on two cores: one thread each avoids the processes fighting over cores.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    from mlpkit.quiet import import_tensorflow

    import_tensorflow()


# --- a whole study -----------------------------------------------------------------


class Study:
    """A grid crossed with folds, stored in ``out``; ``run()`` does what is missing."""

    def __init__(self, grid, out, dataset="mnist", data_dir=None, images=None, data_source=None):
        self.configs, self.folds, self.seed = check_grid(grid)
        self.title = grid.get("title", "")
        self.out = pathlib.Path(out)
        self.options = {"dataset": dataset, "data_dir": None if data_dir is None else str(data_dir), "images": images}
        # Two records tie the results to the data: data_source, where load_data found them (compared without
        # how it found them: a download, a failed download, the cache), and data_fingerprint, the SHA-256 of
        # the data the units load (Data.fingerprint, set by run()). A study resumed on other data (say full
        # MNIST after the embedded default, or another --data-dir) is refused, not mixed.
        self.data_source = data_source
        self.data_fingerprint = None
        self.spec = {"title": self.title, "configs": self.configs, "folds": self.folds, "seed": self.seed,
                     "dataset": dataset, "images": images, "data_source": data_source, "data_fingerprint": None,
                     "evaluated_on": "the test set (k = 1)" if self.folds == 1 else f"{self.folds} validation folds"}
        if len(set(self.units)) != len(self.configs) * max(self.folds, 1):
            raise StudyError("the grid lists the same configuration twice")

    def check_data(self, labels):
        """Raise ``StudyError`` unless the training labels (before ``images`` is applied) allow this study.

        The stratified subset of ``images`` needs at least one image per class
        in it and one left out, and k-fold needs every class in every fold: at
        least k images of the smallest class.
        """
        labels = np.asarray(labels)
        images = self.options["images"]
        if images is not None:
            labels = _subset_labels(labels, images)
        if self.folds > 1:
            smallest = int(np.unique(labels, return_counts=True)[1].min())
            if self.folds > smallest:
                larger = "" if images is None else ", or a larger --images"
                raise StudyError(f"cannot make {self.folds} folds: the smallest class of the {len(labels):,} training images "
                                 f"used has {smallest} images; use --folds {smallest} or fewer{larger}")

    @property
    def units(self):
        """``{unit name: (config, fold)}`` in grid order; ``fold`` is ``None`` for the plain split."""
        folds = range(self.folds) if self.folds > 1 else [None]
        return {
            f"{config_key(c)}_{'split' if f is None else f'fold{f}'}": (c, f) for c in self.configs for f in folds
        }

    def _prepare(self):
        # The data as the units load them (the workers' way, in this process; with one worker, loaded once).
        self.data_fingerprint = self.spec["data_fingerprint"] = _load(*self._data_options())[5]
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "units").mkdir(exist_ok=True)
        # Every part of a sharded study runs this: the first creates study.json whole, the others compare.
        if not _create_once(self.out / "study.json", json.dumps(self.spec, indent=2) + "\n"):
            self._check_spec()

    def _check_spec(self, ignore=()):
        """Raise ``StudyError`` unless ``out/study.json`` describes this study (the keys in ``ignore`` aside)."""
        spec_path = self.out / "study.json"
        try:
            existing = json.loads(spec_path.read_text())
        except FileNotFoundError:
            raise StudyError(f"{self.out} holds no study (no study.json): run the study, or its shards, first") from None
        except ValueError:
            raise StudyError(f"{spec_path} is not valid JSON; mlpkit leaves it alone: move it or choose another --out") from None
        if not isinstance(existing, dict):
            raise StudyError(f"{spec_path} is not a study description; mlpkit leaves it alone: move it or choose another --out")
        def same(key):
            if key == "data_fingerprint":  # a study.json written before fingerprints were recorded has none
                return existing.get(key) is None or self.spec[key] is None or existing[key] == self.spec[key]
            if key == "data_source":
                return same_data(existing.get(key), self.spec[key])
            return existing.get(key) == self.spec[key]

        def describe(key):
            if key == "configs":
                return "the configurations"
            if key == "data_fingerprint":
                return (f"the data (SHA-256 {existing[key][:12]}... there, from {existing.get('data_source')!r}; "
                        f"{self.spec[key][:12]}... here, from {self.spec['data_source']!r})")
            return f"{key} {existing.get(key)!r} there, {self.spec[key]!r} here"

        differing = [key for key in self.spec if key not in ignore and not same(key)]
        if differing:
            detail = "; ".join(map(describe, differing))
            if {"data_source", "data_fingerprint"} & set(differing):
                detail += " (every run of a study, and every shard, needs the same data, e.g. the same --data-dir)"
            raise StudyError(
                f"{self.out} holds results of a different study ({existing.get('title') or 'untitled'}, "
                f"dataset {existing.get('dataset')}; differs in {detail}); choose another --out, "
                "or delete that folder to start over"
            )
        return existing

    def finished(self, names=None):
        """The results already on disk, of ``names`` (default all units): ``{unit name: result}``.

        Invalid unit files raise ``StudyError``.
        """
        results = {}
        for name, (config, fold) in self.units.items():
            if names is not None and name not in names:
                continue
            path = self.out / "units" / f"{name}.json"
            if not path.exists():
                continue
            try:
                result = json.loads(path.read_text())
                valid = result["config"] == config and result["fold"] == fold and self._on_this_data(result)
            except (ValueError, KeyError, TypeError):
                valid = False
            if not valid:
                raise StudyError(f"{path} is not a result of this unit; mlpkit leaves it alone: delete it to redo the unit")
            results[name] = result
        return results

    def _on_this_data(self, result):
        """Whether the unit ``result`` was trained on this study's data (a unit file without a fingerprint: by source)."""
        if self.data_fingerprint is not None and result.get("data_fingerprint") is not None:
            if result["data_fingerprint"] != self.data_fingerprint:
                return False
        return self.data_source is None or same_data(result["data_source"], self.data_source)

    def _data_options(self):
        return self.options["dataset"], self.options["data_dir"], self.options["images"]

    def _save(self, name, result):
        # A temporary name of this process, then a rename: the unit file is whole or absent.
        _write_atomically(self.out / "units" / f"{name}.json", json.dumps(result) + "\n")

    def shard(self, index, count):
        """The names of the units of part ``index`` (1-based) of ``count``, in unit order (see ``shard_units``)."""
        return shard_units(self.units, index, count)

    def run(self, workers=1, progress=True, shard=None):
        """Run the missing units with ``workers`` processes; returns the results ``{unit: result}``.

        With ``shard=(i, n)``, only the units of part i of n: the results are
        theirs, and no summary is written (``merge`` writes it once every part
        is done). Otherwise all units, and ``results.json`` and ``results.csv``.
        """
        self._prepare()
        names = self.units if shard is None else self.shard(*shard)
        done = self.finished(names)
        pending = [name for name in names if name not in done]
        workers = min(workers, len(pending))
        bar = None
        if progress:
            bar = progress_bar(len(names), "study" if shard is None else f"shard {shard[0]}/{shard[1]}", "unit",
                               initial=len(done))
        arguments = {name: (*self.units[name], self.folds, self.seed, *self._data_options()) for name in pending}
        try:
            if workers <= 1 or len(pending) <= 1:
                for name in pending:
                    done[name] = run_unit(*arguments[name])
                    self._save(name, done[name])
                    bar and bar.update()
            else:
                self._run_parallel(arguments, workers, done, bar)
        finally:
            bar and bar.close()
        if shard is None:
            self.write_summary(done)
        return done

    def merge(self, allow_missing=False):
        """Summarise the unit files in ``out`` without training: write and return the report (``results.json``).

        ``study.json`` must describe this study (its data aside: the merge
        loads no data, and takes those the units were trained on).
        With units missing, raise ``StudyError`` naming them and write nothing,
        unless ``allow_missing``: then the report's ``"partial"`` lists them.
        """
        existing = self._check_spec(ignore=("data_source", "data_fingerprint"))
        self.data_source = self.spec["data_source"] = existing.get("data_source")
        self.data_fingerprint = self.spec["data_fingerprint"] = existing.get("data_fingerprint")
        done = self.finished()
        missing = [name for name in self.units if name not in done]
        if not done:
            raise StudyError(f"{self.out}/units holds none of the {len(self.units)} units of this study: "
                             "run the study, or its shards, first")
        if missing and not allow_missing:
            raise StudyError(f"{len(missing)} of {len(self.units)} units are missing from {self.out}/units: "
                             f"{', '.join(missing)}; run the shards that hold them, or the same command without "
                             "--merge-only to train them, or merge what is there with --allow-missing")
        return self.write_summary(done, missing=missing)

    def _run_parallel(self, arguments, workers, done, bar):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        # "spawn": a fresh interpreter per worker; TensorFlow's runtime does not survive fork reliably.
        # Each worker dies with this process (lifetime.start_worker), so a killed study leaves no worker running.
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=lifetime.start_worker, initargs=(os.getpid(), _worker_init))
        futures = {pool.submit(run_unit, *args): name for name, args in arguments.items()}
        try:
            for future in as_completed(futures):
                name = futures[future]
                done[name] = future.result()
                self._save(name, done[name])
                bar and bar.update()
        except BaseException as error:  # a failed unit, a dead worker, Ctrl-C
            for future in futures:
                future.cancel()  # the queued units
            pool.shutdown(wait=True)  # let the running ones finish, and keep what they did
            for future, name in futures.items():
                if name not in done and future.done() and not future.cancelled() and future.exception() is None:
                    done[name] = future.result()
                    self._save(name, done[name])
            if isinstance(error, BrokenProcessPool):
                raise StudyError(
                    f"a worker process died ({error}); the {len(done)} finished units are saved in {self.out}/units: "
                    "run the same command again to continue, or use one worker"
                ) from None
            raise
        finally:
            pool.shutdown(wait=False)

    def summary(self, results):
        """One row per configuration: fold statistics, per-class counts, curves, wall time."""
        rows = []
        for config in self.configs:
            units = sorted((r for r in results.values() if r["config"] == config), key=lambda r: r["fold"] or 0)
            if not units:
                continue
            accuracy = [100 * u["validation_accuracy"] for u in units]
            loss = [u["validation_loss"] for u in units]
            curves = np.mean([[e["test_loss"] for e in u["history"]] for u in units], axis=0)
            rows.append({
                "key": config_key(config),
                **config,
                "folds": len(units),
                "accuracy_mean": float(np.mean(accuracy)),
                "accuracy_std": float(np.std(accuracy, ddof=1)) if len(units) > 1 else 0.0,
                "accuracy_per_fold": accuracy,
                "loss_mean": float(np.mean(loss)),
                "loss_std": float(np.std(loss, ddof=1)) if len(units) > 1 else 0.0,
                "test_accuracy_mean": float(np.mean([100 * u["test_accuracy"] for u in units])),
                "per_class_correct": np.sum([u["per_class_correct"] for u in units], axis=0).tolist(),
                "per_class_total": np.sum([u["per_class_total"] for u in units], axis=0).tolist(),
                "validation_loss_per_epoch": curves.tolist(),
                "max_saturated_outputs": max(max(e["saturated_outputs"] for e in u["history"]) for u in units),
                "wall_seconds": float(sum(u["wall_seconds"] for u in units)),
            })
        return rows

    def write_summary(self, results, missing=()):
        """Write ``results.json`` and ``results.csv``; with units ``missing``, the report's ``"partial"`` names them."""
        rows = self.summary(results)
        report = {**self.spec, "data_source": next(iter(results.values()))["data_source"] if results else None}
        if missing:
            report["partial"] = {"units_present": len(results), "units_total": len(self.units),
                                 "units_missing": list(missing)}
        report["results"] = rows
        _write_atomically(self.out / "results.json", json.dumps(report, indent=2) + "\n")
        columns = ["key", "layers", "lr", "epochs", "batch_size", "init", "folds", "accuracy_mean", "accuracy_std",
                   "loss_mean", "loss_std", "test_accuracy_mean", "wall_seconds"]
        handle = io.StringIO(newline="")
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "layers": "-".join(map(str, row["layers"]))})
        _write_atomically(self.out / "results.csv", handle.getvalue())
        return report


# --- saturation ------------------------------------------------------------------------


def saturated_fraction(model, x, slope=0.01):
    """Per layer, the fraction of sigmoid units on the batch ``x`` whose slope ``σ'(z) = a(1 - a)`` is below ``slope``.

    A unit that far into saturation passes back less than ``slope`` of the
    gradient that reaches it, so it barely learns.
    """
    from mlpkit.gradients import forward

    return [float(np.mean(a.numpy() * (1.0 - a.numpy()) < slope)) for a in forward(model.params, x)[1:]]


# --- figures ---------------------------------------------------------------------------


def _label(row, axis):
    if axis == "layers":
        return str(row["layers"])
    return f"{row[axis]:g}" if isinstance(row[axis], float) else str(row[axis])


def varying_axis(rows):
    """The configuration key that differs between rows (``layers`` if several do)."""
    varying = [key for key in ("lr", "epochs", "batch_size", "init") if len({str(r[key]) for r in rows}) > 1]
    return varying[0] if len(varying) == 1 else "layers"


def plot_accuracy(rows, title="", ax=None):
    """Mean fold accuracy per configuration with ±1 standard deviation error bars."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    axis = varying_axis(rows)
    labels = [_label(r, axis) for r in rows]
    ax.errorbar(range(len(rows)), [r["accuracy_mean"] for r in rows], yerr=[r["accuracy_std"] for r in rows],
                fmt="o", capsize=5)
    ax.set_xticks(range(len(rows)), labels, rotation=20 if axis == "layers" else 0, fontsize="small")
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


#: How a label names each setting when several differ between configurations, and the name of each.
_SETTING_LABELS = {"layers": str, "lr": "lr {:g}".format, "epochs": "{} epochs".format,
                   "batch_size": "batch {}".format, "init": str}
_SETTING_NAMES = {"layers": "layer sizes", "lr": "learning rate", "epochs": "epochs", "batch_size": "batch size",
                  "init": "initialisation"}
#: Height added to the accuracy plot for labels that name several settings, slanted under it.
_SLANTED_LABEL_INCHES = 1.0


def _settings_that_vary(rows):
    """The configuration keys whose values differ between ``rows``, layer sizes first."""
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
    """Relabel both plots by ``configuration_labels`` when more than one setting varies between ``rows``."""
    keys = _settings_that_vary(rows)
    if len(keys) <= 1:
        return
    labels = configuration_labels(rows)
    names = ", ".join(_SETTING_NAMES[key] for key in keys)
    ax_accuracy.set_xticks(range(len(rows)), labels, rotation=30, ha="right", rotation_mode="anchor", fontsize="small")
    ax_accuracy.set_xlabel(names)
    ax_accuracy.figure.set_figheight(ax_accuracy.figure.get_figheight() + _SLANTED_LABEL_INCHES)
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
        title = f"{title + ': ' if title else ''}partial, {partial['units_present']} of {partial['units_total']} units"
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
