"""Checks for the chapter 7 exercises (never released to students)."""
import numpy as np

from mlpkit.grading import Call, Tensor, encode, variant_rng

rng = variant_rng(707)


def moments(shape):
    return (
        rng.normal(size=shape),
        rng.normal(size=shape),
        rng.normal(size=shape) * 0.1,
        rng.uniform(size=shape) * 0.01,
    )


def keras_form(w, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    """Keras's efficient form, eps added to the uncorrected sqrt(v): the paper's step with eps / sqrt(1 - beta2^t)."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return w - lr * np.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (np.sqrt(v) + eps), m, v


KERAS_FORM_HINT = (
    "this is Keras's efficient form, eps added to the uncorrected sqrt(v): "
    "the exercise asks for the paper's w - lr * m_hat / (sqrt(v_hat) + eps)"
)


def adam(args, kwargs=None, **call):
    """A check of adam_step that recognises the efficient form and says so."""
    kwargs = kwargs or {}
    mistake = {"value": encode(keras_form(*args, **kwargs)), "hint": KERAS_FORM_HINT}
    return Call("adam_step", args, kwargs, rtol=1e-9, atol=1e-12, options={"mistakes": [mistake]}, **call)


# An intermediate infinity or NaN fails these, even where the result comes out finite.
FINITE = {"finite": True}

CHECKS = {
    "softmax": dict(
        points=2,
        calls=[
            Call(
                "softmax",
                (Tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),),
                public=True,
                message="each row of softmax(logits) should be exp(z) / sum(exp(z)): [0.090, 0.245, 0.665] and [1/3, "
                        "1/3, 1/3]",
            ),
            Call(
                "softmax",
                (Tensor([[1000.0, 0.0], [-1000.0, 1000.0]]),),
                public=True,
                atol=1e-6,
                options=FINITE,
                case="overflow",
                message="for logits of 1000 no operation may give an infinity or NaN (subtract each row's maximum "
                "before exp): [[1, 0], [0, 1]]",
            ),
            Call(
                "softmax",
                (Tensor([[-3.0, 0.5, 2.0], [10.0, -10.0, 0.0]], "float64"),),
                public=True,
                rtol=1e-10,
                atol=1e-12,
                message="for float64 logits the probabilities should be float64-accurate (within 1e-10)",
            ),
            Call("softmax", (Tensor(rng.normal(0, 10, size=(6, 10)), "float64"),), rtol=1e-10, atol=1e-12),
            Call(
                "softmax",
                (Tensor([[-800.0, 0.0, 800.0], [500.0, 500.0, -500.0]]),),
                atol=1e-6,
                options=FINITE,
                case="overflow",
            ),
        ],
    ),
    "softmax_cross_entropy": dict(
        points=3,
        calls=[
            Call(
                "softmax_cross_entropy",
                (Tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]]), np.array([0, 1])),
                public=True,
                message="the mean over the batch of -log(softmax(logits)[label]); "
                        "tf.nn.sparse_softmax_cross_entropy_with_logits agrees",
            ),
            Call(
                "softmax_cross_entropy",
                (Tensor([[1000.0, 0.0], [0.0, 1000.0]]), np.array([1, 1])),
                public=True,
                rtol=1e-5,
                options=FINITE,
                case="overflow",
                message="logits of 1000 must give a finite loss, with no infinity or NaN on the way "
                "(here (1000 + 0) / 2 = 500)",
            ),
            Call(
                "softmax_cross_entropy",
                (Tensor([[0.5, -1.0, 2.0], [3.0, 0.0, -2.0]], "float64"), np.array([2, 1])),
                public=True,
                rtol=1e-9,
                atol=1e-12,
                message="for float64 logits the loss should be float64-accurate (within 1e-9)",
            ),
            Call(
                "softmax_cross_entropy",
                (Tensor(rng.normal(0, 5, size=(16, 10)), "float64"), rng.integers(0, 10, 16)),
                rtol=1e-9,
                atol=1e-12,
            ),
            Call(
                "softmax_cross_entropy",
                (Tensor([[0.0, 900.0, -900.0], [-700.0, 0.0, 700.0]]), np.array([0, 2])),
                rtol=1e-5,
                options=FINITE,
                case="overflow",
            ),
        ],
    ),
    "softmax_cross_entropy_gradient": dict(
        points=3,
        calls=[
            Call(
                "softmax_cross_entropy_gradient",
                (Tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]]), np.array([0, 1])),
                public=True,
                message="(softmax(logits) - one_hot(labels)) / batch: here each row of softmax minus its one-hot row, "
                "divided by 2; each row of the answer sums to 0",
            ),
            Call(
                "softmax_cross_entropy_gradient",
                (Tensor([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]]), np.array([2, 1])),
                public=True,
                atol=1e-6,
                options=FINITE,
                case="overflow",
                message="logits of 1000 must give a finite gradient, with no infinity or NaN on the way (subtract each "
                "row's maximum before exp): [[0.5, 0, -0.5], [0, 0, 0]]",
            ),
            Call(
                "softmax_cross_entropy_gradient",
                (
                    Tensor([[0.5, -1.0, 2.0, 0.0], [3.0, 0.0, -2.0, 1.0], [0.1, 0.2, 0.3, 0.4]], "float64"),
                    np.array([2, 1, 0]),
                ),
                public=True,
                rtol=1e-10,
                atol=1e-13,
                options={"dtype": "float64"},
                message="for float64 logits the gradient should be float64, and float64-accurate (within 1e-10); "
                "the batch here is 3",
            ),
            Call(
                "softmax_cross_entropy_gradient",
                (Tensor(rng.normal(0, 5, size=(16, 10)), "float64"), rng.integers(0, 10, 16)),
                rtol=1e-10,
                atol=1e-13,
                options={"dtype": "float64"},
            ),
            Call(
                "softmax_cross_entropy_gradient",
                (Tensor(rng.normal(0, 2, size=(1, 7)), "float64"), np.array([6])),
                rtol=1e-10,
                atol=1e-13,
                options={"dtype": "float64"},
            ),
            Call(
                "softmax_cross_entropy_gradient",
                (Tensor([[-700.0, 0.0, 700.0], [900.0, -900.0, 899.0]]), np.array([0, 2])),
                # logits near 900 hold only about 5e-5 in float32, so a right answer through log-softmax is off by ~2e-5
                atol=1e-4,
                options=FINITE,
                case="overflow",
            ),
        ],
    ),
    "relu_backward": dict(
        points=2,
        calls=[
            Call(
                "relu_backward",
                (Tensor([[-2.0, 0.5, 3.0], [1.5, -0.1, 4.0]]), Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])),
                public=True,
                message="grad_a where z > 0, 0 where z < 0: [[0, 2, 3], [4, 0, 6]]",
            ),
            Call(
                "relu_backward",
                (Tensor([0.0, -1.0, 0.0, 2.0]), Tensor([7.0, 7.0, -7.0, 7.0])),
                public=True,
                case="zero",
                message="at z = 0 exactly the gradient is taken to be 0 (as tf.nn.relu's): [0, 0, 0, 7]",
            ),
            Call(
                "relu_backward",
                (Tensor([[0.25, -3.0], [1e-300, -1e-300]], "float64"), Tensor([[0.1, 0.2], [0.3, 0.4]], "float64")),
                public=True,
                rtol=1e-12,
                atol=0,
                options={"dtype": "float64"},
                message="for float64 z and grad_a the answer should be float64, the same shape: [[0.1, 0], [0.3, 0]]",
            ),
            Call(
                "relu_backward",
                (
                    Tensor(np.where(rng.uniform(size=(6, 5)) < 0.2, 0.0, rng.normal(size=(6, 5)))),
                    Tensor(rng.normal(size=(6, 5))),
                ),
                case="zero",
            ),
            Call("relu_backward", (Tensor(rng.normal(size=(3, 2, 4))), Tensor(rng.normal(size=(3, 2, 4))))),
        ],
    ),
    "adam_step": dict(
        points=3,
        calls=[
            # A tiny gradient at t = 1 (sqrt(v_hat) = 1e-6, next to eps = 1e-7) tells the paper's form
            # from the efficient one.
            adam(
                (np.array([0.5, -1.0, 2.0]), np.array([1e-6, -2e-7, 3e-6]), np.zeros(3), np.zeros(3), 1),
                public=True,
                case="tiny v",
                message="the first step from m = v = 0 with tiny gradients (1e-6, where eps matters) should "
                "be w - lr * m_hat / (sqrt(v_hat) + eps), the paper's form; a smaller step means "
                "the "
                "efficient form, with eps added to the uncorrected sqrt(v)",
            ),
            adam(
                (np.array([1.0, -0.5]), np.array([0.2, -0.3]), np.array([0.05, -0.02]), np.array([0.004, 0.01]), 3),
                public=True,
                message="step t = 3 from m = [0.05, -0.02], v = [0.004, 0.01] with the default lr, betas and eps: (w, "
                        "m, v)",
            ),
            adam(
                (
                    np.array([[0.2, -0.4], [1.5, 0.0]]),
                    np.array([[0.3, -0.1], [0.05, 2.0]]),
                    np.array([[0.01, -0.02], [0.0, 0.1]]),
                    np.array([[0.001, 0.0005], [0.0002, 0.04]]),
                    5,
                ),
                {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6},
                public=True,
                message="step t = 5 with lr, beta1, beta2 and eps given as keywords: (w, m, v) after the update",
            ),
            adam((*moments((3, 4)), 7)),
            adam((*moments((5,)), 100), {"lr": 0.01, "beta1": 0.8, "beta2": 0.995, "eps": 1e-8}),
            adam(
                (
                    rng.normal(size=4),
                    rng.normal(size=4) * 1e-6,
                    rng.normal(size=4) * 1e-7,
                    rng.uniform(size=4) * 1e-13,
                    2,
                ),
                case="tiny v",
            ),
        ],
    ),
}
