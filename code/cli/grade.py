"""``mlpkit grade FOLDER --out GRADES.csv``: grade a class's submissions (resumable).

Grading itself is ``mlpkit.grading.grader.grade``; this module checks the
outputs and the LMS options first, then reports what was graded, what was
graded without the kernel's confinement, and what was not a submission.
"""

import os
import pathlib
import sys
import time

from mlpkit.cli import common, types

EXAMPLES = """\
examples:
  mlpkit grade submissions/ --out grades.csv        # writes grades.csv, grades_feedback/, grades_units/,
                                                    # grades_report.html and grades_similarity.csv
  mlpkit grade submissions/ --out grades.csv --only s0001.py --only s0002.ipynb
  mlpkit grade submissions/ --out grades.csv --merge-only
  mlpkit grade canvas-download/ --out grades.csv --lms-export canvas --assignment "Exercises 1-3 (12345)"
  mlpkit grade moodle-download/ --out grades.csv --lms-export moodle   # also writes grades_moodle.csv
  mlpkit grade submissions/ --out grades.csv --bank ~/course-bank --course-key ~/course.key --chapters week1
"""


def add_parser(commands):
    grade = commands.add_parser("grade",
                                description="Grade every STUDENT.ipynb / STUDENT.py in a folder, or a Canvas or "
                                "Moodle download of the submissions (one per student: the newest); resumable. Beside "
                                "the CSV it writes NAME_report.html, the instructor's report (totals, exercises, the "
                                "checks the class failed, similar submissions, what could not be judged), and "
                                "NAME_similarity.csv, the pairs of submissions that share code with one another or "
                                "with the published solutions (never a grade).",
                                epilog=EXAMPLES)
    grade.add_argument("submissions", metavar="FOLDER",
                       help="folder of STUDENT.ipynb / STUDENT.py files, or an unpacked Canvas or Moodle download")
    grade.add_argument("--out", required=True, metavar="CSV", help="the CSV to write (written atomically; required)")
    grade.add_argument("--chapters", type=types.names,
                       help="comma-separated (default: the bank's first three: perceptron,xor,gradients)")
    common.add_bank_options(grade)
    grade.add_argument("--workers", type=types.positive_int, default=os.cpu_count() or 1,
                       help="processes (default: CPU count)")
    grade.add_argument("--time-limit", type=types.positive_float, default=60.0,
                       help="seconds of CPU time per cell and per exercise, counted by the kernel for the "
                            "submission's process alone, so a busy machine changes no grade; a wall-clock backstop "
                            "of 4 times as long stops one that sleeps or waits, and it is graded again alone "
                            "(default 60)")
    grade.add_argument("--memory-limit", type=types.memory_gb, default=3.0,
                       help="GB resident per submission (default 3)")
    grade.add_argument("--units", metavar="DIR",
                       help="folder of per-submission results (default: next to the CSV, NAME_units)")
    grade.add_argument("--feedback", metavar="DIR",
                       help="folder of feedback files (default: next to the CSV, NAME_feedback)")
    grade.add_argument("--only", action="append", metavar="FILE",
                       help="grade only this submission of FOLDER (repeat for more), e.g. one per batch job "
                            "(default: all)")
    grade.add_argument("--merge-only", action="store_true",
                       help="grade nothing; merge the finished units into the CSV, the report and the similarity "
                            "CSV; fails, naming them, if submissions have no finished unit (default: off)")
    grade.add_argument("--allow-missing", action="store_true",
                       help="with --merge-only: merge the units present and say how many submissions are missing "
                            "from the gradebook (default: off)")
    grade.add_argument("--layout", choices=["auto", "plain", "canvas", "moodle"], default="auto",
                       help="how FOLDER names the submissions (default auto: detected)")
    grade.add_argument("--lms-export", choices=["canvas", "moodle"],
                       help="also write NAME_canvas.csv or NAME_moodle.csv beside the CSV, for the LMS's grade import "
                            "(default: none)")
    grade.add_argument("--assignment", metavar="HEADER",
                       help="the assignment's column: for canvas, its header as Canvas exports it, 'Name (12345)' "
                            "(required); for moodle, the grade column's name in a gradebook import (default Grade)")
    grade.add_argument("--allow-weak-guard", action="store_true",
                       help="grade even where the kernel offers no confinement (Landlock and seccomp), with the Python "
                            "audit hook alone, which a determined submission can defeat; the feedback says so "
                            "(default: refuse and say why)")


def _check_grade_outputs(args):
    from mlpkit.runs import outputs

    out = pathlib.Path(args.out)
    outputs.check_file(out, "--out")
    outputs.check_file(out.with_name(f"{out.stem}_report.html"), "--out")
    outputs.check_file(out.with_name(f"{out.stem}_similarity.csv"), "--out")
    outputs.check_folder(args.units or out.with_name(out.stem + "_units"), "--units")
    outputs.check_folder(args.feedback or out.with_name(out.stem + "_feedback"), "--feedback")
    if args.lms_export:
        outputs.check_file(out.with_name(f"{out.stem}_{args.lms_export}.csv"), "--lms-export")


def run(args, parser):
    if args.allow_missing and not args.merge_only:
        common.fail(parser, "--allow-missing applies to --merge-only (a grading run grades what is missing)")
    _check_grade_outputs(args)
    if args.assignment is not None and not args.lms_export:
        common.fail(parser, "--assignment names the assignment's column in an LMS import file: give it with "
                            "--lms-export canvas or --lms-export moodle")
    if args.lms_export == "canvas":
        from mlpkit.grading import lms

        if not args.assignment:
            common.fail(parser, "--lms-export canvas needs --assignment: the assignment's column header as Canvas "
                                "exports it, 'Name (12345)' (12345: the assignment's id, in its address "
                                ".../assignments/12345)")
        if not lms.CANVAS_ASSIGNMENT.match(args.assignment):
            common.fail(parser, f"--assignment {args.assignment!r}: --lms-export canvas needs the assignment's "
                                "column header as Canvas exports it, 'Name (12345)' (12345: the assignment's id, "
                                "in its address .../assignments/12345)")
    bank = common.open_bank(args)
    common.check_chapters(args.chapters, parser, bank)
    from mlpkit.grading import grader, report

    start = time.perf_counter()
    try:
        units = grader.grade(args.submissions, args.out, chapters=args.chapters, workers=args.workers,
                             limits=common.grading_limits(args), units_dir=args.units, feedback_dir=args.feedback,
                             only=args.only, merge_only=args.merge_only, layout=args.layout,
                             lms_export=args.lms_export, assignment=args.assignment, bank=bank,
                             allow_missing=args.allow_missing)
    finally:
        grader.stop_server()  # exit only once every process this run started has ended
    wrote = f"{args.out} and {report.lms_export_path(args.out, args.lms_export)}" if args.lms_export else args.out
    graded_now = getattr(units, "graded_now", len(units))
    print(f"graded {common.count(graded_now, 'submission')} in {time.perf_counter() - start:.1f} s "
          f"({len(units):,} in the gradebook); wrote {wrote}")
    missing = getattr(units, "missing", ())
    if args.merge_only and missing:
        print(f"warning: partial gradebook: {common.count(len(missing), 'submission')} of {args.submissions} "
              f"missing (no finished unit: {', '.join(missing[:10])}{', ...' if len(missing) > 10 else ''}); "
              "--allow-missing", file=sys.stderr)
    from mlpkit.grading import html_report, similarity

    print(f"wrote {html_report.report_path(args.out)} and {similarity.similarity_path(args.out)} (the instructor's "
          "report; submissions that share code)")
    weak = sum(unit.get("guard") == report.WEAK_GUARD for unit in units)
    if weak:
        print(f"warning: {common.count(weak, 'submission')} graded without the kernel's confinement "
              "(--allow-weak-guard); their feedback says so", file=sys.stderr)
    skipped = report.skipped_path(args.out)
    if skipped.is_file():
        entries = len(skipped.read_text().splitlines()) - 1
        print(f"not graded: {common.count(entries, 'entry', 'entries')} of {args.submissions}, not a "
              f"submission (a folder, a link, another kind of file); {skipped} lists them and why", file=sys.stderr)
