"""``mlpkit bench``: time every way of running the training loop (chapter 5); write bench.json and bench.png."""

import json
import pathlib

from mlpkit.cli import common, types
from mlpkit.defaults import BENCH_VARIANTS, THESIS_BATCH_SIZE, THESIS_LAYERS

EXAMPLES = f"""\
examples:
  mlpkit bench                                      # every variant, 4,000 images, 5 timed epochs each
  mlpkit bench --variants {BENCH_VARIANTS[0]},{BENCH_VARIANTS[4]} --repeats 2 --no-modern
"""


def add_parser(commands):
    bench = commands.add_parser("bench",
                                description="Time one epoch of every way of running the training loop (chapter 5) "
                                            "and, when JAX is installed (pip install \"mlpkit[jax]\"), JAX's jitted "
                                            "epoch and step on the same work, in interleaved rounds, as ratios to the "
                                            "kit's default; write bench.json and bench.png.", epilog=EXAMPLES)
    common.add_data_options(bench)
    bench.add_argument("--layers", type=types.layers, default=list(THESIS_LAYERS),
                       help=f"layer sizes (default {types.LAYER_EXAMPLE})")
    bench.add_argument("--batch-size", type=types.positive_int, default=THESIS_BATCH_SIZE,
                       help=f"images per step (default {THESIS_BATCH_SIZE})")
    bench.add_argument("--images", type=types.positive_int, default=4000,
                       help="training images per epoch (default 4000)")
    bench.add_argument("--repeats", type=types.positive_int, default=5, help="timed epochs per variant (default 5)")
    bench.add_argument("--variants", type=types.names,
                       help=f"comma-separated subset of {', '.join(BENCH_VARIANTS)} (default: all)")
    bench.add_argument("--no-modern", action="store_true",
                       help="skip the chapter-7 network (784-700-500-10, Adam, batch 128; default: off)")
    bench.add_argument("--out", default="runs/bench", metavar="DIR", help="output folder (default runs/bench)")


def run(args, parser):
    from mlpkit.runs import outputs

    outputs.check_folder(args.out, "--out")
    common.load_tensorflow()
    from mlpkit import bench, bench_modern, data

    unknown = sorted(set(args.variants or []) - set(bench.VARIANTS))
    if unknown:
        common.fail(parser, f"unknown variants {', '.join(unknown)} in --variants; "
                            f"expected some of {', '.join(bench.VARIANTS)}")
    loaded = common.load_data(args, ("train",))
    if args.images > len(loaded.x_train):
        common.fail(parser, f"--images {args.images} is more than the {len(loaded.x_train):,} training images "
                            "of this data set")
    common.note_batch_size(args.batch_size, args.images)
    x, y = data.preprocess(loaded.x_train[: args.images], loaded.y_train[: args.images])
    result = bench.run_benchmark(
        x, y, args.layers, batch_size=args.batch_size, repeats=args.repeats, variants=args.variants,
        progress=lambda stage: print(f"{stage} ...", flush=True),
    )
    result["data_source"] = loaded.source
    if not args.no_modern:
        result["modern"] = bench_modern.modern_benchmark(x, y, repeats=min(args.repeats, 3),
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
        print(bench_modern.format_modern_table(result["modern"]))
    print(f"wrote {out / 'bench.json'} and {out / 'bench.png'}")
