"""Running a study as ``mlpkit study`` does: each unit once, in worker processes, resumable, shardable.

A ``Study`` is a grid (``mlpkit.study_grids``) crossed with folds (``mlpkit.study``), stored in a
folder ``out`` (``mlpkit.runs.study_files``). ``run()`` trains the units that are
not done yet, with ``study.run_unit``, and writes each finished unit at once
to ``out/units/<unit>.json``; running the same study again skips finished
units, so an interrupted study loses only the units in flight. A unit file
that is not valid, or a study folder that holds another study, is reported
and left as it is.

A study can be split over machines that share the output folder:
``run(shard=(i, n))`` runs only the i-th of n parts of the units (round-robin
in unit order, ``shard_units``: every unit is in exactly one part, and the
parts differ in size by one unit at most) and writes nothing but unit files
and ``study.json``, which the first part creates and every other part compares
with its own. ``merge()`` then summarises the unit files present without
training or loading data: with a unit missing it writes nothing and names the
missing units, unless ``allow_missing=True``, in which case ``results.json``
says which are missing (``"partial"``) and the plots' titles say how many
units they show.
"""

import os
import pathlib
import re

import numpy as np

from mlpkit import study, study_grids
from mlpkit.progress import bar as progress_bar
from mlpkit.runs import interrupts, lifetime, study_files
from mlpkit.study_grids import StudyError


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
    if not (study_grids.is_int(index) and study_grids.is_int(count) and 1 <= index <= count):
        raise ValueError(f"part {index!r} of {count!r}: expected 1 <= part <= parts")
    return list(names)[index - 1::count]


def _subset_labels(labels, images):
    """The labels of the ``images`` subset the units use, or ``StudyError`` if no stratified subset has that size."""
    classes = len(np.unique(labels))
    if images > len(labels):
        raise StudyError(f"--images {images} is more than the {len(labels):,} training images of this data set")
    if images < classes:
        raise StudyError(f"--images {images}: a stratified subset needs at least one image of each of the {classes} "
                         "classes")
    if len(labels) - classes < images < len(labels):
        raise StudyError(f"--images {images}: expected at most {len(labels) - classes:,} (one image of each class "
                         f"left out) or all {len(labels):,}")
    return study.subsample(labels, labels, images)[1]


def _worker_init():
    # Two workers on two cores: one thread each avoids the processes fighting over cores.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    from mlpkit.quiet import import_tensorflow

    import_tensorflow()


def _run_in_pool(arguments, workers, done, finish, out):
    """Run ``study.run_unit(*arguments[name])`` for every name in ``workers`` processes; ``finish(name, result)`` each.

    ``finish`` adds the result to ``done``. On a failed unit or a dead worker
    the queued units are cancelled, the running ones finish and are kept, and
    the error is raised again (a dead worker as ``StudyError``). On Ctrl-C or
    SIGTERM the workers are killed at once: the units already finished are
    kept, those in flight are trained again by the next run.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # "spawn": a fresh interpreter per worker; TensorFlow's runtime does not survive fork reliably.
    # Each worker dies with this process (lifetime.start_worker), so a killed study leaves no worker running.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=lifetime.start_worker, initargs=(os.getpid(), _worker_init))
    futures = {}
    try:
        with interrupts.blocked():  # the workers start with Ctrl-C blocked, and ignore it (lifetime.start_worker)
            for name, args in arguments.items():
                futures[pool.submit(study.run_unit, *args)] = name
        for future in as_completed(futures):
            finish(futures[future], future.result())
    except KeyboardInterrupt:
        interrupts.stop_pool(pool)
        _keep_finished(futures, done, finish)
        raise
    except BaseException as error:  # a failed unit, a dead worker
        for future in futures:
            future.cancel()  # the queued units
        pool.shutdown(wait=True)  # let the running ones finish, and keep what they did
        _keep_finished(futures, done, finish)
        if isinstance(error, BrokenProcessPool):
            raise StudyError(
                f"a worker process died ({error}); the {len(done)} finished units are saved in {out}/units: "
                "run the same command again to continue, or use one worker"
            ) from None
        raise
    finally:
        pool.shutdown(wait=False)


def _keep_finished(futures, done, finish):
    """``finish`` the units whose results came back but were not yet saved."""
    for future, name in futures.items():
        if name not in done and future.done() and not future.cancelled() and future.exception() is None:
            finish(name, future.result())


class Study:
    """A grid crossed with folds, stored in ``out``; ``run()`` does what is missing."""

    def __init__(self, grid, out, dataset="mnist", data_dir=None, images=None, data_source=None):
        self.configs, self.folds, self.seed = study_grids.check_grid(grid)
        self.title = grid.get("title", "")
        self.out = pathlib.Path(out)
        self.options = {"dataset": dataset, "data_dir": None if data_dir is None else str(data_dir), "images": images}
        # What ties the results to the data (mlpkit.runs.study_files): data_source, where load_data found them, and
        # data_fingerprint, the SHA-256 of the data the units load (set by run()).
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
                raise StudyError(f"cannot make {self.folds} folds: the smallest class of the {len(labels):,} "
                                 f"training images used has {smallest} images; use --folds {smallest} or fewer{larger}")

    @property
    def units(self):
        """``{unit name: (config, fold)}`` in grid order; ``fold`` is ``None`` for the plain split."""
        return {f"{study_grids.config_key(c)}_{'split' if f is None else f'fold{f}'}": (c, f)
                for c in self.configs for f in study.fold_names(self.folds)}

    def shard(self, index, count):
        """The names of the units of part ``index`` (1-based) of ``count``, in unit order (see ``shard_units``)."""
        return shard_units(self.units, index, count)

    def _data_options(self):
        return self.options["dataset"], self.options["data_dir"], self.options["images"]

    def _prepare(self):
        # The data as the units load them (the workers' way, in this process; with one worker, loaded once).
        self.data_fingerprint = self.spec["data_fingerprint"] = study.load_unit_data(*self._data_options())[5]
        (self.out / "units").mkdir(parents=True, exist_ok=True)
        # Every part of a sharded study runs this: the first creates study.json whole, the others compare.
        if not study_files.create_spec(self.out, self.spec):
            study_files.check_spec(self.out, self.spec)

    def _on_this_data(self, result):
        """Whether the unit ``result`` was trained on this study's data (without a fingerprint: by its source)."""
        if self.data_fingerprint is not None and result.get("data_fingerprint") is not None:
            if result["data_fingerprint"] != self.data_fingerprint:
                return False
        return self.data_source is None or study_files.same_data(result["data_source"], self.data_source)

    def finished(self, names=None):
        """The results already on disk, of ``names`` (default all units): ``{unit name: result}``.

        Invalid unit files raise ``StudyError``.
        """
        return study_files.read_units(self.out, self.units, names, self._on_this_data)

    def _save(self, name, result):
        study_files.save_unit(self.out, name, result)

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
        bar = None
        if progress:
            bar = progress_bar(len(names), "study" if shard is None else f"shard {shard[0]}/{shard[1]}", "unit",
                               initial=len(done))

        def finish(name, result):
            done[name] = result
            self._save(name, result)
            bar and bar.update()

        try:
            self._run_units(pending, min(workers, len(pending)), done, finish)
        finally:
            bar and bar.close()
        if shard is None:
            self.write_summary(done)
        return done

    def _run_units(self, pending, workers, done, finish):
        """Train the units ``pending``, here (one worker) or in a pool of ``workers`` processes; ``finish`` each."""
        arguments = {name: (*self.units[name], self.folds, self.seed, *self._data_options()) for name in pending}
        if workers <= 1 or len(pending) <= 1:
            for name in pending:
                finish(name, study.run_unit(*arguments[name]))
            return
        _run_in_pool(arguments, workers, done, finish, self.out)

    def merge(self, allow_missing=False):
        """Summarise the unit files in ``out`` without training: write and return the report (``results.json``).

        ``study.json`` must describe this study (its data aside: the merge
        loads no data, and takes those the units were trained on).
        With units missing, raise ``StudyError`` naming them and write nothing,
        unless ``allow_missing``: then the report's ``"partial"`` lists them.
        """
        existing = study_files.check_spec(self.out, self.spec, ignore=("data_source", "data_fingerprint"))
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

    def summary(self, results):
        """One row per configuration (``study.summarise``) of the results ``{unit: result}``."""
        return study.summarise(self.configs, results.values())

    def write_summary(self, results, missing=()):
        """Write ``results.json`` and ``results.csv``; with units ``missing``, the report's ``"partial"`` names them."""
        report = {**self.spec, "data_source": next(iter(results.values()))["data_source"] if results else None}
        if missing:
            report["partial"] = {"units_present": len(results), "units_total": len(self.units),
                                 "units_missing": list(missing)}
        report["results"] = self.summary(results)
        study_files.write_results(self.out, report)
        return report
