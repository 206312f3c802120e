"""``mlpkit exercises ACTION``: release the exercises, self-check a submission, write a demo class or a Gradescope zip.

``release OUT_DIR`` writes the student notebooks, ``.py`` stubs and public
checks; ``check FILE`` runs a submission's public checks; ``demo-class``
writes made-up submissions to try ``mlpkit grade`` on; ``gradescope`` writes
an autograder zip. For an instructor's own bank: ``new DIR NAME`` writes a
chapter to start from, ``validate DIR`` checks a bank, ``new-key FILE``
writes a course key.
"""

import json
import pathlib
import re
import sys

from mlpkit.cli import common, types
from mlpkit.defaults import MAX_SEED

EXAMPLES = """\
examples:
  mlpkit exercises release handout/                 # notebooks, .py stubs and checks.json for students
  mlpkit exercises check handout/perceptron.ipynb   # a student's self-check (public checks only)
  mlpkit exercises demo-class demo/ --students 20   # made-up submissions to try `mlpkit grade` on
  mlpkit exercises gradescope autograder.zip --chapters perceptron,xor   # a Gradescope autograder
  mlpkit exercises new my-bank/ week1               # a chapter of your own bank to start from
  mlpkit exercises validate my-bank/                # is every exercise of the bank graded as it should be?
  mlpkit exercises new-key course.key               # a secret key: hidden inputs of your course's own
  mlpkit exercises release handout/ --bank my-bank/ --course-key course.key
  mlpkit exercises release handout/ --force         # again, over files edited since the last release
"""


def add_parser(commands):
    exercises = commands.add_parser("exercises",
                                    description="Release the exercises, run a submission's public checks, write "
                                                "a made-up class or a Gradescope autograder.", epilog=EXAMPLES)
    actions = exercises.add_subparsers(dest="action", required=True, parser_class=common.Parser, metavar="ACTION")
    release = actions.add_parser("release", help="write the student notebooks, .py stubs and public checks",
                                 epilog=EXAMPLES)
    release.add_argument("out_dir", metavar="OUT_DIR", help="folder to write into (created if missing)")
    release.add_argument("--chapters", type=types.names, help="comma-separated (default: every chapter with exercises)")
    release.add_argument("--force", action="store_true",
                         help="write even over files that no release wrote or that changed since, such as a "
                              "student's edited notebook (default: refuse, naming them)")
    common.add_bank_options(release)
    check = actions.add_parser("check", help="run the public checks on your notebook or .py file",
                               epilog=EXAMPLES)
    check.add_argument("submission", metavar="FILE", help="your CHAPTER.ipynb or CHAPTER.py")
    check.add_argument("--checks", metavar="FILE", help="checks.json from the release (default: beside the submission)")
    check.add_argument("--time-limit", type=types.positive_float, default=60.0,
                       help="seconds of CPU time per cell and per exercise; 4 times as long by the wall clock "
                            "stops one that sleeps or waits (default 60)")
    demo = actions.add_parser("demo-class", help="write made-up submissions to try `mlpkit grade` on",
                              epilog=EXAMPLES)
    demo.add_argument("out_dir", metavar="OUT_DIR", help="a new or empty folder")
    demo.add_argument("--students", type=types.positive_int, default=200, help="submissions to write (default 200)")
    demo.add_argument("--seed", type=types.seed, default=0, help=f"0 to {MAX_SEED} (default 0)")
    common.add_bank_options(demo, course_key=False)
    gradescope = actions.add_parser("gradescope",
                                    help="write a Gradescope autograder zip that grades with the kit's checks",
                                    epilog=EXAMPLES)
    gradescope.add_argument("out_zip", metavar="OUT_ZIP",
                            help="the .zip to write (upload it as the assignment's autograder)")
    gradescope.add_argument("--chapters", type=types.names,
                            help="comma-separated (default: the bank's first three: perceptron,xor,gradients)")
    common.add_bank_options(gradescope)
    gradescope.add_argument("--time-limit", type=types.positive_float, default=60.0,
                            help="seconds of CPU time per cell and per exercise; 4 times as long by the wall "
                                 "clock stops one that sleeps or waits (default 60)")
    gradescope.add_argument("--memory-limit", type=types.memory_gb, default=3.0,
                            help="GB resident per submission (default 3)")
    gradescope.add_argument("--allow-weak-guard", action="store_true",
                            help="let the autograder run where the kernel offers no confinement "
                                 "(Landlock and seccomp), "
                                 "with the Python audit hook alone (default: it refuses and says why)")
    _add_authoring(actions)


def _add_authoring(actions):
    new = actions.add_parser("new", help="write a chapter of your own bank to start from (validates as it stands)",
                             epilog=EXAMPLES)
    new.add_argument("bank_dir", metavar="DIR", help="the bank's folder (created if missing)")
    new.add_argument("name", metavar="NAME", help="the chapter's name: writes DIR/NAME.py and DIR/NAME_checks.py")
    validate = actions.add_parser("validate", help="check that a bank's exercises grade as they should",
                                  epilog=EXAMPLES)
    validate.add_argument("bank_dir", metavar="DIR", help="the bank's folder")
    validate.add_argument("--chapters", type=types.names, help="comma-separated (default: every chapter of DIR)")
    validate.add_argument("--time-limit", type=types.positive_float, default=60.0,
                          help="seconds per cell and per exercise (default 60)")
    key = actions.add_parser("new-key", help="write a course key: the hidden checks' inputs drawn for your course",
                             epilog=EXAMPLES)
    key.add_argument("key_file", metavar="FILE", help="the key file to write (never overwritten; keep it private)")


def _demo_class(args):
    from mlpkit.grading import demo
    from mlpkit.runs import outputs

    outputs.check_folder(args.out_dir, "OUT_DIR", empty=True)
    bank = common.open_bank(args)
    with outputs.staged_folder(args.out_dir) as stage:
        expected = demo.make_demo_class(stage, args.students, seed=args.seed, bank=bank)
        (stage / "expected.json").write_text(json.dumps(expected, indent=1))
    print(f"wrote {common.count(len(expected), 'submission')} (chapters {','.join(bank.demo_chapters)}) to "
          f"{pathlib.Path(args.out_dir)} "
          "and the points each should get to expected.json")


def _release(args, parser):
    from mlpkit.grading import release
    from mlpkit.runs import outputs

    outputs.check_folder(args.out_dir, "OUT_DIR")
    unsafe = release.unsafe_to_overwrite(args.out_dir)
    if unsafe and not args.force:
        listed = ", ".join(f"{name} ({why})" for name, why in unsafe[:10]) + (", ..." if len(unsafe) > 10 else "")
        common.fail(parser, f"OUT_DIR {args.out_dir}: holds {common.count(len(unsafe), 'file')} a release would "
                            f"overwrite or mix with its own: {listed}; choose a new folder, or pass --force")
    bank = common.open_bank(args)
    common.check_chapters(args.chapters, parser, bank)
    with outputs.staged_folder(args.out_dir) as stage:
        written = release.release(stage, args.chapters, bank=bank)
        release.write_manifest(stage, args.out_dir, written)
    print(f"wrote {common.count(len(written), 'file')} to {pathlib.Path(args.out_dir)}: "
          + ", ".join(path.name for path in written))


def _check_detail(check):
    """What to show after a failed public check's message."""
    detail = check["detail"]
    if detail.startswith("NotImplementedError"):
        return " [not written yet: it still raises NotImplementedError]"
    missing = re.match(r"NameError: no (function|variable) named '(\w+)' is defined", detail)
    if missing:
        return f" [not defined: the file has no {missing[1]} named {missing[2]}; write it under that name]"
    return f" [{detail}]" if detail else ""


def _self_check(args):
    from mlpkit.grading import selfcheck

    verdicts, cell_notes = selfcheck.self_check(args.submission, args.checks, limits=common.grading_limits(args))
    for label, note in cell_notes.items():
        print(f"note: {label}: {note}")
    failed = 0
    for name, result in verdicts.items():
        status = "pass" if result["checks"] and all(c["passed"] for c in result["checks"]) else "FAIL"
        failed += status == "FAIL"
        print(f"{status}  {result['title']} (`{name}`)")
        for check in result["checks"]:
            if not check["passed"]:
                print(f"      {check['message']}{_check_detail(check)}")
        if result["note"] and not result["checks"]:
            print(f"      {result['note']}")
    print(f"{len(verdicts) - failed} of {len(verdicts)} exercises pass their public checks"
          + ("; the grade also uses hidden checks" if not failed else ""))
    if failed:
        sys.exit(1)


def _gradescope(args, parser):
    from mlpkit.grading import gradescope
    from mlpkit.runs import outputs

    if pathlib.Path(args.out_zip).suffix.lower() != ".zip":
        common.fail(parser, f"OUT_ZIP {args.out_zip}: expected a file name ending in .zip (Gradescope takes a zip)")
    outputs.check_file(pathlib.Path(args.out_zip), "OUT_ZIP")
    bank = common.open_bank(args)
    common.check_chapters(args.chapters, parser, bank)
    chapters = args.chapters or bank.demo_chapters
    names = gradescope.bundle(args.out_zip, chapters, limits=common.grading_limits(args), bank=bank)
    print(f"wrote {args.out_zip} ({', '.join(names)}) for chapters {','.join(chapters)}: upload it as the "
          "Gradescope assignment's autograder")


def _new(args):
    from mlpkit.grading import authoring

    paths = authoring.new_chapter(args.bank_dir, args.name)
    print(f"wrote {paths[0]} and {paths[1]}: one example exercise with a public and a hidden check; "
          f"edit them, then run `mlpkit exercises validate {args.bank_dir}`")


def _validate(args, parser):
    from mlpkit.grading import authoring, bank

    chosen = bank.open_bank(args.bank_dir, "DIR")
    common.check_chapters(args.chapters, parser, chosen)
    problems, summary = authoring.validate(chosen, args.chapters, limits=common.grading_limits(args))
    for problem in problems:
        print(problem)
    print(summary)
    if problems:
        sys.exit(1)


def _new_key(args):
    from mlpkit.grading import variants

    path = variants.new_key(args.key_file)
    print(f"wrote {path} (readable by you only): pass it as --course-key to release, grade and gradescope; "
          "keep it private and keep a copy, as the course's hidden values depend on it")


def run(args, parser):
    if args.action == "new":
        _new(args)
    elif args.action == "validate":
        _validate(args, parser)
    elif args.action == "new-key":
        _new_key(args)
    elif args.action == "demo-class":
        _demo_class(args)
    elif args.action == "gradescope":
        _gradescope(args, parser)
    elif args.action == "release":
        _release(args, parser)
    else:
        _self_check(args)
