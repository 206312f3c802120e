"""``mlpkit evaluate MODEL_DIR``: a SavedModel's accuracy, per-class accuracy and confusion matrix.

It evaluates the model on the test set of the data set it was trained on
(which the export records), and with ``--plots`` also draws the confusion
matrix and the misclassified images.
"""

import pathlib

from mlpkit.cli import common

EXAMPLES = """\
examples:
  mlpkit evaluate runs/latest/model                 # on the test set of the data set it was trained on
  mlpkit evaluate runs/fashion/model --plots runs/fashion/eval
"""


def add_parser(commands):
    evaluate = commands.add_parser("evaluate",
                                   description="Report accuracy, per-class accuracy and the confusion matrix of a "
                                               "SavedModel on the test set.", epilog=EXAMPLES)
    evaluate.add_argument("model_dir", metavar="MODEL_DIR", help="the model folder, OUT/model of `mlpkit train`")
    common.add_data_options(evaluate, dataset_default=None)
    evaluate.add_argument("--plots", metavar="DIR",
                          help="also write confusion.png and misclassified.png here (default: no plots)")


def _check_model_dir(model_dir, parser):
    if (model_dir / "saved_model.pb").is_file():
        return
    hint = "; `mlpkit train` writes one to OUT/model"
    if (model_dir / "model" / "saved_model.pb").is_file():
        hint = f"; did you mean {model_dir / 'model'}?"
    if not model_dir.exists():
        common.fail(parser, f"MODEL_DIR {model_dir}: no such folder; expected a SavedModel folder{hint}")
    common.fail(parser, f"{model_dir} is not a SavedModel directory (no saved_model.pb){hint}")


def _evaluation_dataset(asked, recorded, model_dir, parser):
    """The data set to evaluate on: the one the model records, which ``--dataset`` may only repeat."""
    if recorded is None and asked is None:
        common.fail(parser, f"{model_dir} does not record the data set it was trained on "
                            "(exported by an earlier mlpkit); give --dataset mnist or --dataset fashion_mnist")
    if recorded is not None and asked not in (None, recorded):
        common.fail(parser, f"--dataset {asked}: the model in {model_dir} was trained on {recorded}; "
                            "leave out --dataset to evaluate it on its own data set")
    return recorded or asked


def run(args, parser):
    from mlpkit.runs import outputs

    model_dir = pathlib.Path(args.model_dir)
    _check_model_dir(model_dir, parser)
    if args.plots:
        outputs.check_folder(args.plots, "--plots")
    common.load_tensorflow()
    from mlpkit import training
    from mlpkit.export import load_model

    model = load_model(model_dir)
    args.dataset = _evaluation_dataset(args.dataset, model.dataset, model_dir, parser)
    loaded = common.load_data(args, ("test",))
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
            common.write_plots(stage, loaded.x_test, loaded.y_test, predicted, confusion.tolist(), loaded.class_names)
        print(f"wrote {out / 'confusion.png'} and {out / 'misclassified.png'}")
