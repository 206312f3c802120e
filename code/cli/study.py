"""``mlpkit study GRID``: a cross-validation study (chapter 6), resumable, shardable over machines.

The grid (a named one, a file, or the thesis's configuration) with the
command line's values put in is run by ``mlpkit.runs.studies.Study``, which
writes each unit to ``OUT/units`` as it finishes, then ``results.json``,
``results.csv`` and the plots. ``--shard I/N`` runs one part of the units and
``--merge-only`` summarises the parts once all are done.
"""

import os
import pathlib
import sys
import time

from mlpkit.cli import common, types
from mlpkit.defaults import MAX_SEED

EXAMPLES = """\
examples:
  mlpkit study figure18                             # a named grid (chapter 6's figures)
  mlpkit study my_grid.json --workers 2 --out runs/mine
  mlpkit study --lr 0.9,0.1 --folds 3 --images 2000 --epochs 3
  mlpkit study figure26 --shard 3/8 --out study26 --workers 1   # part 3 of 8, e.g. one batch job of eight
  mlpkit study figure26 --merge-only --out study26             # then results and plots, once all parts are done
"""


def add_parser(commands):
    study = commands.add_parser("study",
                                description="Train every configuration of a grid on every fold; write results.json, "
                                            "results.csv and plots. Rerunning the same command resumes.",
                                epilog=EXAMPLES)
    study.add_argument("grid", nargs="?", metavar="GRID",
                       help="a named grid (figure17, figure18, ...) or a .json/.yaml grid file "
                            "(default: chapter 4's configuration)")
    common.add_data_options(study)
    study.add_argument("--layers", type=types.layers, action="append",
                       help="layer sizes; repeat for several (default: the grid's)")
    study.add_argument("--lr", type=types.list_of(types.positive_float),
                       help="learning rates, e.g. 0.9,0.1 (default: the grid's)")
    study.add_argument("--epochs", type=types.list_of(types.positive_int), help="comma-separated (default: the grid's)")
    study.add_argument("--batch-size", type=types.list_of(types.positive_int),
                       help="comma-separated (default: the grid's)")
    study.add_argument("--init", type=types.inits, help="uniform, glorot or uniform,glorot (default: the grid's)")
    study.add_argument("--folds", type=types.positive_int,
                       help="k of k-fold, 1: the plain train/test split (default: the grid's, or 5)")
    study.add_argument("--seed", type=types.seed, help=f"base seed, 0 to {MAX_SEED} (default: the grid's, or 0)")
    study.add_argument("--images", type=types.positive_int,
                       help="use a stratified subset of the training set (default: all)")
    study.add_argument("--workers", type=types.positive_int, default=os.cpu_count() or 1,
                       help="processes (default: CPU count)")
    study.add_argument("--out", metavar="DIR", help="output folder (default runs/study-GRID)")
    split = study.add_mutually_exclusive_group()
    split.add_argument("--shard", type=types.shard, metavar="I/N",
                       help="run only part I of N of the units (round-robin), e.g. one per batch job, into OUT/units; "
                            "writes no results: run --merge-only when all parts are done (default: all units)")
    split.add_argument("--merge-only", action="store_true",
                       help="train nothing; write results.json, results.csv and plots from the units in OUT/units; "
                            "fails, naming them, if units are missing (default: off)")
    study.add_argument("--allow-missing", action="store_true",
                       help="with --merge-only: merge the units present; results.json lists the missing ones under "
                            "\"partial\" and the plots say partial (default: off)")


def _study_grid(args, parser):
    """The grid file's grid with the command line's values put in."""
    from mlpkit import study_grids

    grid = study_grids.load_grid(args.grid) if args.grid else {}
    if args.layers is not None:
        grid.pop("configs", None)  # layer sizes given on the command line replace the grid's list
    for key in ("layers", "lr", "epochs", "batch_size", "init"):
        values = getattr(args, key)
        if values is None:
            continue
        if "configs" in grid:  # a grid of explicit configurations: one value replaces it in each
            if len(values) != 1:
                common.fail(parser, f"{args.grid} lists explicit configurations; "
                                    f"--{key.replace('_', '-')} can give one value for all")
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
        print(f"{row['key']:40} {row['accuracy_mean']:15.2f} ± {row['accuracy_std']:5.2f} "
              f"{row['test_accuracy_mean']:7.2f}")


def _merge_study(args, grid, out):
    """``--merge-only``: results and plots from the unit files, with no data loaded and nothing trained."""
    from mlpkit import study_plots
    from mlpkit.runs import studies

    runner = studies.Study(grid, out, dataset=args.dataset, data_dir=args.data_dir, images=args.images)
    report = runner.merge(allow_missing=args.allow_missing)
    study_plots.write_plots(report, out)
    partial = report.get("partial")
    if partial:
        missing = partial["units_missing"]
        print(f"mlpkit: warning: partial result: {len(missing)} of {partial['units_total']} units missing "
              f"({', '.join(missing)}); results.json lists them under \"partial\"", file=sys.stderr)
    present = partial["units_present"] if partial else len(runner.units)
    print(f"merged {present} of {common.count(len(runner.units), 'unit')} from {pathlib.Path(out) / 'units'}")
    _print_study_report(report)
    print(f"wrote {pathlib.Path(out) / 'results.json'}, results.csv, accuracy.png, error_curves.png")


def run(args, parser):
    if args.allow_missing and not args.merge_only:
        common.fail(parser, "--allow-missing applies only with --merge-only")
    common.load_tensorflow()  # checking the grid imports the model module, and with it TensorFlow
    from mlpkit import study_grids, study_plots
    from mlpkit.runs import outputs, studies

    grid = _study_grid(args, parser)
    study_grids.check_grid(grid)
    out = args.out or f"runs/study-{args.grid and pathlib.Path(args.grid).stem or 'custom'}"
    outputs.check_folder(out, "--out")
    if args.merge_only:
        _merge_study(args, grid, out)
        return
    # Resolve the data once here (a download, if any), so that the workers find them.
    loaded = common.load_data(args, ("train", "test"))
    runner = studies.Study(grid, out, dataset=args.dataset, data_dir=args.data_dir, images=args.images,
                              data_source=loaded.source)
    runner.check_data(loaded.y_train)
    units = f"{len(runner.units)} units ({len(runner.configs)} configurations x {runner.folds} folds)"
    if args.shard:
        index, count = args.shard
        names = runner.shard(index, count)
        print(f"shard {index}/{count}: {len(names)} of the {units}, {common.count(args.workers, 'worker')}")
        done = runner.run(workers=args.workers, shard=args.shard)
        print(f"shard {index}/{count}: {common.count(len(done), 'unit')} done in {pathlib.Path(out) / 'units'}; "
              "run --merge-only when all shards are done")
        return
    print(f"{units}, {common.count(args.workers, 'worker')}")
    start = time.perf_counter()
    results = runner.run(workers=args.workers)
    report = runner.write_summary(results)
    study_plots.write_plots(report, out)
    _print_study_report(report)
    print(f"wall time {time.perf_counter() - start:.1f} s; "
          f"wrote {pathlib.Path(out) / 'results.json'}, results.csv, accuracy.png, error_curves.png")
