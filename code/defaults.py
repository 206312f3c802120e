"""The kit's defaults and named choices, each stated once, importable without
TensorFlow.

The thesis's recipe for its MNIST network (chapter 4): layer sizes 784-15-10, weights
and biases uniform in (-1, 1), plain SGD on the mean squared error at learning rate 0.9,
batches of 10, 10 epochs. ``training.TrainConfig``, ``model.SigmoidMLP``, the studies'
grids (``study_grids.DEFAULTS``), the benchmark, chapters 7 and 9 and the command line's
defaults all read it from here.

Also the names the command line offers before it imports anything heavy
(``mlpkit --help`` stays fast): the initialisations of chapter 4's network, the data
sets, and the range of seeds.
"""

THESIS_LAYERS = (784, 15, 10)
THESIS_INIT = "uniform"
THESIS_LR = 0.9
THESIS_BATCH_SIZE = 10
THESIS_EPOCHS = 10
# : The whole recipe as one configuration of a study grid (``mlpkit.study_grids``),
# in the grids' key order.
THESIS_RECIPE = {
    "layers": list(THESIS_LAYERS),
    "lr": THESIS_LR,
    "epochs": THESIS_EPOCHS,
    "batch_size": THESIS_BATCH_SIZE,
    "init": THESIS_INIT,
}

# : The initialisations of chapter 4's ``SigmoidMLP`` (chapter 7's layers offer more:
# ``modern.INITS``).
INITS = ("uniform", "glorot")
#: The data sets ``data.load_data`` knows.
DATASETS = ("mnist", "fashion_mnist")
#: The largest seed a model, a shuffle or a study accepts (seeds are 0 to this).
MAX_SEED = 2**31 - 1

# The ways of running chapter 4's training loop that `mlpkit bench` times
# (`mlpkit.bench_variants.VARIANTS`), named here too so that `mlpkit bench --help`
# lists them without importing TensorFlow.
BENCH_VARIANTS = (
    "eager",
    "function_step",
    "function_epoch",
    "function_epoch_static",
    "function_epoch_xla",
    "keras_fit",
    "numpy",
)
