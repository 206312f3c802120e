"""``mlpkit train``: train an MLP and write its metrics, plots and SavedModel.

With the default options it trains chapter 4's network (``model.SigmoidMLP``,
the thesis's recipe); other activations, losses, optimizers or dropout train
chapter 7's ``modern.MLP`` or, with ``--engine keras``, chapter 8's Keras
model. It writes, into ``--out``: ``metrics.json`` (configuration, data
source, per-epoch history, final test accuracy, per-class accuracy, confusion
matrix, wall time), ``curves.png``, ``misclassified.png``, ``confusion.png``
and the SavedModel in ``model/``.
"""

import json
import pathlib
import time

from mlpkit.cli import common, types
from mlpkit.defaults import (
    INITS,
    MAX_SEED,
    THESIS_BATCH_SIZE,
    THESIS_EPOCHS,
    THESIS_INIT,
    THESIS_LAYERS,
    THESIS_LR,
)
from mlpkit.optimizers import OPTIMIZERS  # NumPy only: --help imports no TensorFlow

DEFAULT_OUT = "runs/latest"
EXAMPLES = """\
examples:
  mlpkit train                                      # chapter 4's network on MNIST, into runs/latest
  mlpkit train --dataset fashion_mnist --epochs 5 --out runs/fashion
  mlpkit train --activation relu --loss cross_entropy --optimizer adam --layers 784,128,10 --batch-size 128
"""


def add_parser(commands):
    train = commands.add_parser("train", epilog=EXAMPLES,
                                description="Train an MLP and write metrics.json, plots and the SavedModel into --out.")
    common.add_data_options(train)
    train.add_argument("--layers", type=types.layers, default=list(THESIS_LAYERS),
                       help=f"layer sizes (default {types.LAYER_EXAMPLE})")
    train.add_argument("--init", choices=INITS,
                       help=f"chapter 4's network only (default {THESIS_INIT}); every other combination uses Glorot")
    train.add_argument("--activation", choices=["sigmoid", "relu", "tanh"], default="sigmoid",
                       help="hidden layers (default sigmoid)")
    train.add_argument("--loss", choices=["mse", "cross_entropy"], default="mse",
                       help="mse on sigmoid outputs (default) or softmax cross-entropy on logits")
    train.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd",
                       help="default sgd")
    train.add_argument("--dropout", type=types.fraction, default=0.0,
                       help="dropout after each hidden layer in training (default 0)")
    train.add_argument("--validation", type=types.nonnegative_int, default=0,
                       help="hold out the first N training images for validation (default 0)")
    train.add_argument("--engine", choices=["scratch", "keras"], default="scratch",
                       help="the kit's own layers and optimizers (chapters 4 and 7; default) or Keras (chapter 8)")
    train.add_argument("--lr", type=types.positive_float,
                       help=f"learning rate (default {THESIS_LR:g} for sgd, 0.1 with momentum, "
                            "0.001 for rmsprop and adam)")
    train.add_argument("--batch-size", type=types.positive_int, default=THESIS_BATCH_SIZE,
                       help=f"images per step (default {THESIS_BATCH_SIZE})")
    train.add_argument("--epochs", type=types.positive_int, default=THESIS_EPOCHS,
                       help=f"passes over the training set (default {THESIS_EPOCHS})")
    train.add_argument("--seed", type=types.seed, default=0,
                       help=f"weights and data order, 0 to {MAX_SEED} (default 0)")
    train.add_argument("--no-jit", action="store_true",
                       help="compile without XLA (slower; for platforms without it; default: off)")
    train.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default {DEFAULT_OUT})")
    train.add_argument("--no-plots", action="store_true",
                       help="skip curves.png, confusion.png, misclassified.png (default: off)")


def _is_chapter4(args):
    return (args.activation, args.loss, args.optimizer, args.dropout, args.validation, args.engine) == \
        ("sigmoid", "mse", "sgd", 0.0, 0, "scratch")


def _build_network(args, parser):
    """Chapter 4's network for the default options, otherwise chapter 7's (scratch) or chapter 8's (Keras)."""
    common.load_tensorflow()
    from mlpkit import kerasnets, model, modern

    try:
        sizes = model.check_layer_sizes(args.layers)
        if _is_chapter4(args):
            return model.SigmoidMLP(sizes, init=args.init or THESIS_INIT, seed=args.seed)
        if args.engine == "keras":
            return kerasnets.build_model(sizes, args.activation, args.dropout,
                                         output=None if args.loss == "cross_entropy" else "sigmoid", seed=args.seed)
        return modern.MLP(sizes, args.activation, "logits" if args.loss == "cross_entropy" else "sigmoid",
                          args.dropout, seed=args.seed)
    except ValueError as error:
        common.fail(parser, error)


def _describe_network(net, args):
    if args.engine == "keras" and not _is_chapter4(args):
        return (f"Keras {args.layers}, {args.activation}, dropout {args.dropout:g}, "
                f"{net.count_params():,} parameters")
    return repr(net)


def _train_network(net, args, x_train, y_train, x_test, y_test):
    """Train ``net`` as the options say; returns ``(history, settings)``."""
    from mlpkit import kerasnets, modern, training

    if _is_chapter4(args):
        config = training.TrainConfig(lr=THESIS_LR if args.lr is None else args.lr, batch_size=args.batch_size,
                                      epochs=args.epochs, seed=args.seed, jit_compile=not args.no_jit)
        history = training.train(net, x_train, y_train, x_test, y_test, config=config)
        return history, {"init": args.init or THESIS_INIT, "activation": "sigmoid", "loss": "mse", "optimizer": "sgd",
                         "engine": "scratch"}
    trainer = kerasnets.train if args.engine == "keras" else modern.train
    history = trainer(net, x_train, y_train, x_test, y_test, loss=args.loss, optimizer=args.optimizer, lr=args.lr,
                      epochs=args.epochs, batch_size=args.batch_size, validation=args.validation, seed=args.seed)
    return history, {"init": "glorot", "activation": args.activation, "dropout": args.dropout, "engine": args.engine}


def run(args, parser):
    from mlpkit.runs import outputs

    outputs.check_folder(args.out, "--out")
    net = _build_network(args, parser)
    loaded = common.load_data(args, ("train", "test"))
    from mlpkit import data, training
    from mlpkit.export import export_model

    x_train, y_train = data.preprocess(loaded.x_train, loaded.y_train)
    x_test, y_test = data.preprocess(loaded.x_test, loaded.y_test)
    if args.validation >= len(x_train):
        common.fail(parser, f"--validation {args.validation}: expected fewer than the {len(x_train):,} training "
                            "images (the rest train the network)")
    if args.init and not _is_chapter4(args):
        print(f"note: --init {args.init} applies to chapter 4's network only; this network starts from Glorot's "
              "initialisation (chapter 7)")
    held = f" ({args.validation:,} more held out for validation)" if args.validation else ""
    print(f"model: {_describe_network(net, args)}; {len(x_train) - args.validation:,} training{held} and "
          f"{len(x_test):,} test images")
    common.note_batch_size(args.batch_size, len(x_train) - args.validation)
    start = time.perf_counter()
    try:
        history, settings = _train_network(net, args, x_train, y_train, x_test, y_test)
    except ValueError as error:
        common.fail(parser, error)
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
            common.write_plots(stage, loaded.x_test, loaded.y_test, history.test_predictions, confusion,
                               loaded.class_names, history.epochs, loss_name)
        metrics["wall_seconds"] = time.perf_counter() - start
        (stage / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"test accuracy: {history.final['test_accuracy']:.2%} ({args.dataset}, {len(x_test):,} test images)")
    plots = "" if args.no_plots else ", the plots"
    print(f"wrote {out / 'metrics.json'}{plots} and the SavedModel {out / 'model'}")
