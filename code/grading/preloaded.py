"""Importing this module imports what a grading worker needs (`mlpkit.grading.sandbox.preload`: TensorFlow, Keras).

The grader's workers are forked from one server process (multiprocessing's
"forkserver") that imports this module once, so TensorFlow's import, which
takes seconds, is paid once per grading run rather than once per worker.
That server never runs a submission or reads an expected value: the workers
forked from it, and the submissions' processes forked from them, start clean.
"""

from mlpkit.grading import sandbox

sandbox.preload()
