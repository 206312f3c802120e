"""The similarity report of a grading run (`mlpkit.grading.similarity`): copies are caught, independent work is not.

Two genuinely different correct solutions of the gradients chapter (ALICE,
CAROL, neither the published one); BOB is ALICE's with every name changed and
the functions in another order; DAVE hands in the published reference; ERIN
the released stub. Only the pair ALICE-BOB and DAVE's match with the published
solutions are flagged, and a grading run writes the CSV and the HTML report
beside the grades without changing a grade.
"""

import csv
import re

import pytest

from mlpkit.grading import bank, grader, lms, similarity
from mlpkit.grading.sandbox import Limits

CHAPTERS = ["gradients"]

ALICE = '''\
import numpy as np
import tensorflow as tf


def sigmoid_prime(z):
    sig = 1.0 / (1.0 + tf.exp(-z))
    return sig * (1.0 - sig)


def mse_gradient(a, y):
    n = tf.cast(tf.reduce_prod(tf.shape(a)), a.dtype)
    return (a - y) * (2.0 / n)


def sigmoid_layer_backward(x, w, b, grad_a):
    pre = tf.matmul(x, w) + b
    act = tf.math.sigmoid(pre)
    g = grad_a * act * (1.0 - act)
    grad_w = tf.matmul(x, g, transpose_a=True)
    grad_b = tf.reduce_sum(g, axis=0)
    grad_x = tf.matmul(g, w, transpose_b=True)
    return grad_w, grad_b, grad_x


def two_layer_backward(x, w1, b1, w2, b2, t):
    hidden = tf.math.sigmoid(tf.matmul(x, w1) + b1)
    out = tf.math.sigmoid(tf.matmul(hidden, w2) + b2)
    grad_out = mse_gradient(out, t)
    gw2, gb2, grad_hidden = sigmoid_layer_backward(hidden, w2, b2, grad_out)
    gw1, gb1, _ = sigmoid_layer_backward(x, w1, b1, grad_hidden)
    return gw1, gb1, gw2, gb2


def numerical_gradient_of_cost(w, x, t, h):
    w = np.array(w, dtype=float)
    x = np.array(x, dtype=float)
    t = np.array(t, dtype=float)

    def cost_at(v):
        pred = 1.0 / (1.0 + np.exp(-x.dot(v)))
        return np.mean(np.square(pred - t))

    result = np.zeros_like(w)
    for index in np.ndindex(w.shape):
        e = np.zeros_like(w)
        e[index] = h
        result[index] = (cost_at(w + e) - cost_at(w - e)) / (2.0 * h)
    return result


def relative_error(a, b):
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    worst = 0.0
    for u, v in zip(a, b):
        denom = max(abs(u), abs(v))
        if denom > 0:
            worst = max(worst, abs(u - v) / denom)
    return float(worst)
'''

CAROL = '''\
import numpy as np
import tensorflow as tf


def sigmoid_prime(z):
    # symmetric in z, and no overflow: e^-|z| / (1 + e^-|z|)^2
    small = tf.exp(-tf.abs(z))
    return small / tf.square(1 + small)


def mse_gradient(a, y):
    count = 1
    for size in a.shape:
        count *= size
    return tf.scalar_mul(2.0 / count, a - y)


def sigmoid_layer_backward(x, w, b, grad_a):
    s = 1 / (1 + tf.exp(-(tf.einsum("bi,io->bo", x, w) + b)))
    local = grad_a * s * (1 - s)
    return (tf.einsum("bi,bo->io", x, local), tf.math.reduce_sum(local, 0),
            tf.einsum("bo,io->bi", local, w))


def two_layer_backward(x, w1, b1, w2, b2, t):
    layer = 1 / (1 + tf.exp(-(tf.einsum("bi,io->bo", x, w1) + b1)))
    final = 1 / (1 + tf.exp(-(tf.einsum("bi,io->bo", layer, w2) + b2)))
    total = 1
    for size in final.shape:
        total *= size
    back2 = (final - t) * (2 / total) * final * (1 - final)
    back1 = tf.einsum("bo,io->bi", back2, w2) * layer * (1 - layer)
    return (tf.einsum("bi,bo->io", x, back1), tf.math.reduce_sum(back1, 0),
            tf.einsum("bi,bo->io", layer, back2), tf.math.reduce_sum(back2, 0))


def numerical_gradient_of_cost(w, x, t, h):
    W = np.asarray(w, np.float64)
    X = np.asarray(x, np.float64)
    T = np.asarray(t, np.float64)

    def loss(v):
        return np.mean((np.reciprocal(1 + np.exp(-(X @ v))) - T) ** 2)

    flat = W.reshape(-1)
    grads = [(loss((flat + d).reshape(W.shape)) - loss((flat - d).reshape(W.shape))) / (2 * h)
             for d in np.eye(flat.size) * h]
    return np.array(grads).reshape(W.shape)


def relative_error(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    diff = np.abs(a - b)
    big = np.fmax(np.abs(a), np.abs(b))
    ratio = np.divide(diff, big, out=np.zeros_like(diff), where=big > 0)
    return float(ratio.max()) if ratio.size else 0.0
'''

# ALICE's file with every name of hers changed, other comments and the functions in another order.
RENAMES = {"sig": "s_val", "pre": "linear", "act": "activ", "grad_w": "dw", "grad_b": "db", "grad_x": "dx",
           "hidden": "h1", "out": "yhat", "grad_out": "dyhat", "grad_hidden": "dh1", "gw2": "dw_2", "gb2": "db_2",
           "gw1": "dw_1", "gb1": "db_1", "cost_at": "loss_of", "pred": "guess", "result": "numeric",
           "index": "pos", "worst": "biggest", "denom": "scale", "e": "bump", "g": "delta_local", "n": "count"}


def bob():
    renamed = re.sub(r"\b\w+\b", lambda m: RENAMES.get(m.group(0), m.group(0)), ALICE)
    head, *functions = re.split(r"\n\n\n(?=def )", renamed)
    return re.sub(r"^( +)return", r"\1# my result\n\1return", "\n\n\n".join([head, *reversed(functions)]), flags=re.M)


def write_class(folder):
    folder.mkdir(parents=True, exist_ok=True)
    stub = bank.python_text(bank.student_cells("gradients"))
    reference = "\n\n".join(source for _, source in bank.reference_cells(CHAPTERS))
    texts = {"alice.py": ALICE, "bob.py": bob(), "carol.py": CAROL, "dave.py": reference, "erin.py": stub}
    for name, text in texts.items():
        (folder / name).write_text(text)
    (folder / "fred.ipynb").write_text("{not a notebook")
    return folder


def _by_pair(report):
    return {(p.student_a, p.student_b): p for p in report.pairs}


def test_a_renamed_reordered_copy_is_flagged_and_independent_work_is_not(tmp_path):
    report = similarity.compare(lms.scan(write_class(tmp_path / "class")).submissions, CHAPTERS)
    pairs = _by_pair(report)
    flagged = sorted(pair for pair, p in pairs.items() if p.flagged)
    assert flagged == [("alice", "bob"), ("dave", similarity.PUBLISHED)], {k: p.similarity for k, p in pairs.items()}
    assert pairs["alice", "bob"].similarity > 0.9
    assert pairs["dave", similarity.PUBLISHED].published
    for pair in [("alice", "carol"), ("bob", "carol"), ("carol", similarity.PUBLISHED)]:
        assert pair not in pairs or pairs[pair].similarity < similarity.FLAG
    assert not any("erin" in pair for pair in pairs)  # the released stub is boilerplate
    assert report.skipped and report.skipped[0][0] == "fred" and "not a readable notebook" in report.skipped[0][1]
    assert report.compared == 5


def test_the_shared_stretches_point_at_the_shared_code(tmp_path):
    report = similarity.compare(lms.scan(write_class(tmp_path / "class")).submissions, CHAPTERS)
    pair = _by_pair(report)["alice", "bob"]
    shown_a = "".join(pair.code_a[s:e] for s, e in zip(*pair.slices_a))
    shown_b = "".join(pair.code_b[s:e] for s, e in zip(*pair.slices_b))
    assert "transpose_a=True" in shown_a and "transpose_a=True" in shown_b
    assert "import" not in shown_a  # imports never count


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = write_class(tmp_path_factory.mktemp("class"))
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    units = grader.grade(folder, out, chapters=CHAPTERS, workers=2, limits=Limits(seconds=120), progress=False)
    return out, {unit["student"]: unit for unit in units}, folder


def test_grading_writes_the_similarity_csv_and_never_changes_a_grade(graded):
    out, units, _ = graded
    exercises = bank.load_exercises(CHAPTERS)
    full = sum(e.points for e in exercises)
    answered = sum(e.points for e in exercises if f"def {e.name}(" in ALICE)  # the class's own answers
    assert answered >= 15 and f"def {exercises[0].name}(" in CAROL  # most of the chapter, written by hand
    assert {name: units[name]["total"] for name in ["alice", "bob", "carol", "dave", "erin"]} == {
        "alice": answered, "bob": answered, "carol": answered, "dave": full, "erin": 0}
    rows = list(csv.DictReader(similarity.similarity_path(out).open()))
    assert list(rows[0]) == similarity.HEADER
    flagged = {(row["student_a"], row["student_b"], row["matches_published_solution"]) for row in rows
               if row["flagged"] == "yes"}
    assert flagged == {("alice", "bob", "no"), ("dave", similarity.PUBLISHED, "yes")}
    grades = {row["student"]: float(row["total"]) for row in csv.DictReader(out.open())}
    assert grades == {name: unit["total"] for name, unit in units.items()}


def test_a_merge_only_run_writes_the_reports_again(graded, tmp_path):
    out, _, folder = graded
    similarity.similarity_path(out).unlink()
    (out.with_name("grades_report.html")).unlink()
    grader.grade(folder, out, chapters=CHAPTERS, merge_only=True, progress=False)
    assert similarity.similarity_path(out).is_file() and out.with_name("grades_report.html").is_file()
    rows = list(csv.DictReader(similarity.similarity_path(out).open()))
    assert {(row["student_a"], row["student_b"]) for row in rows if row["flagged"] == "yes"} == {
        ("alice", "bob"), ("dave", similarity.PUBLISHED)}
