"""Exercises and their grading, laid out by whom each module trusts.

A submission's code runs in a process of its own, forked from a worker and
confined by the kernel. What runs in that process, and in the worker it is
a copy of, may be read and altered by the submission; what judges it runs
in processes the submission never touches.

Inside (the worker and the confined child; no expected value, no comparison):

- `preloaded`: imports TensorFlow once, in the server the workers are forked from;
- `worker`: reads a submission's file into cells and runs them;
- `sandbox`: forks the child, keeps its time and memory limits from outside,
  and parses what it sends as hostile data (the boundary);
- `child`: what the forked child runs: confinement, the submission, the calls;
- `confine`: the kernel's confinement (Landlock and seccomp);
- `calls`: the calls a check makes and how values cross back, as JSON;
- `models`: a returned Keras model's architecture, checked, rebuilt and run by the kit's own code, in a worker
  that never runs a submission;
- `cleanup`: a working folder removed, whatever the submission left in it.

Outside (the grader's own processes; they never run a submission's code):

- `checks`: how each value is judged against the reference's;
- `bank`: the exercise bank read and rendered: exercises, solutions, the book's blocks;
- `release`: the student materials and their public checks (``checks.json``);
- `grader`: the reference run, and a folder of submissions graded by workers;
- `pools`: the server the workers are forked from (with the kit's own environment), the pools of workers, one
  submission each, and the runs of returned models;
- `units`: one submission's run checked, judged and kept as a unit file (resumed runs);
- `report`: the CSV, the feedback and the LMS import files a grading run writes;
- `similarity`: which submissions share code, with one another or with the published solutions (source text
  only, fingerprinted by copydetect; never a grade);
- `html_report`, `report_plots`: the instructor's one-page HTML report of a run, its plots and tallies;
- `selfcheck`: a student's check of a file against the public checks;
- `demo`: a made-up class to try the grader on;
- `lms`, `gradescope`: Canvas, Moodle and Gradescope;
- `authoring`, `variants`: an instructor's own bank (a new chapter, its validation) and course keys.

Modules inside import nothing from outside; ``tests/test_grading.py`` checks
both the imports and the modules a running worker has loaded.
"""

# The vocabulary of a bank's checks files (``from mlpkit.grading import Call, Tensor``): plain data, no TensorFlow.
from mlpkit.grading.calls import Call, Tensor, encode  # noqa: E402

__all__ = ["Call", "Tensor", "encode", "variant_rng", "variant_choice"]


def __getattr__(name):
    # The course-key draws are the grader's, loaded on first use: a worker never imports them.
    if name in ("variant_rng", "variant_choice"):
        from mlpkit.grading import variants

        return getattr(variants, name)
    raise AttributeError(f"module 'mlpkit.grading' has no attribute {name!r}")
