"""Submissions as Canvas and Moodle export them, and the grade files they import.

The parsing is tested on names alone (spaces, unicode, underscores, LATE,
resubmissions, stray files, hostile names); two grading runs of a small
made-up class (chapter 1, one worker, the reference computed once) check
that `mlpkit grade` finds each student's newest file, keeps the LMS's
identifier and writes the import files with the right columns and values.
"""

import csv
import os
import pathlib

import pytest

from mlpkit.grading import bank, grader, lms
from mlpkit.grading.sandbox import Limits

LIMITS = Limits(seconds=120, memory=int(1.5 * 2**30))  # generous: the submissions are honest
FULL = 7  # chapter 1: step 2, nand_weights 2, perceptron_forward 3



def solution():
    return (bank.BANK_DIR / "perceptron.py").read_text()


def stub():
    return bank.python_text(bank.student_cells("perceptron"))


def write(path, text, age=0):
    """Write ``text`` to ``path`` (folders made) with a modification time ``age`` seconds in the past."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = 1_700_000_000 - age
    os.utime(path, (stamp, stamp))
    return path


# -- names ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("doejane_12345_67890_perceptron.ipynb", ("doejane", False, "12345", 67890, "perceptron.ipynb")),
    ("doejane_LATE_12345_67891_perceptron-1.ipynb", ("doejane", True, "12345", 67891, "perceptron-1.ipynb")),
    ("doejane_late_12345_67891_my_file name.py", ("doejane", True, "12345", 67891, "my_file name.py")),
    ("o_brien_sean_7_8_hw 1 (final).py", ("o_brien_sean", False, "7", 8, "hw 1 (final).py")),
    ("müllerjürgen_41_42_übung.ipynb", ("müllerjürgen", False, "41", 42, "übung.ipynb")),
])
def test_canvas_names(name, expected):
    parsed = lms.parse_canvas_name(name)
    assert (parsed["name"], parsed["late"], parsed["user"], parsed["attempt"], parsed["original"]) == expected


@pytest.mark.parametrize(
    "name", ["s0001.py", "doejane_perceptron.ipynb", "doejane_12_perceptron.py", "12345_67890", ""]
)
def test_not_canvas_names(name):
    assert lms.parse_canvas_name(name) is None


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Jane Doe_123456_assignsubmission_file_", ("Jane Doe", "123456", "file", "")),
        ("Anne_Marie de la Cruz_77_assignsubmission_file_", ("Anne_Marie de la Cruz", "77", "file", "")),
        ("Zoë Ñúñez_5_assignsubmission_onlinetext_", ("Zoë Ñúñez", "5", "onlinetext", "")),
        (
            "Jane Doe_123456_assignsubmission_file_perceptron 2.ipynb",
            ("Jane Doe", "123456", "file", "perceptron 2.ipynb"),
        ),
    ],
)
def test_moodle_names(name, expected):
    parsed = lms.parse_moodle_name(name)
    assert (parsed["name"], parsed["participant"], parsed["plugin"], parsed["original"]) == expected


def test_moodle_names_need_the_plugin_marker():
    assert lms.parse_moodle_name("Jane Doe_123456") is None
    assert lms.parse_moodle_name("Jane Doe_assignsubmission_file_") is None


@pytest.mark.parametrize(
    "entries, layout",
    [
        ([("s1.py", False), ("s2.ipynb", False), ("notes.txt", False)], "plain"),
        ([("doejane_1_2_a.py", False), ("roesam_LATE_3_4_a.ipynb", False), ("README.txt", False)], "canvas"),
        ([("doejane_1_2_a.py", False), ("s1.py", False), ("s2.py", False)], "plain"),
        ([("Jane Doe_1_assignsubmission_file_", True), ("index.html", False)], "moodle"),
        ([("Jane Doe_1_assignsubmission_file_a.py", False)], "moodle"),
    ],
)
def test_layout_is_detected(entries, layout):
    assert lms.detect_layout(entries) == layout


CANVAS_CLASS = [(f"student{n}_{100 + n}_{500 + n}_exercises.py", False) for n in range(5)]
PLAIN_CLASS = [(f"s{n:04d}.py", False) for n in range(5)]


@pytest.mark.parametrize(
    "entries, layout",
    [  # one student's own file name, named as the other LMS names submissions, does not decide the layout
        (CANVAS_CLASS + [("mallory_105_505_x_2001_assignsubmission_file_exercises.py", False)], "canvas"),
        (PLAIN_CLASS + [("x_2001_assignsubmission_file_exercises.py", False)], "plain"),
        (PLAIN_CLASS + [("x_2001_assignsubmission_file_", True)], "plain"),
        (PLAIN_CLASS + [("doe_1_2_exercises.py", False)], "plain"),
    ],
)
def test_one_hostile_name_does_not_change_the_layout(entries, layout):
    assert lms.detect_layout(entries) == layout


@pytest.mark.parametrize(
    "entries",
    [
        [("doejane_1_2_a.py", False), ("s1.py", False)],  # half Canvas, half plain
        [("mallory_105_505_x_2001_assignsubmission_file_a.py", False), ("doe_1_2_a.py", False)],  # both LMSs
    ],
)
def test_an_ambiguous_folder_asks_for_the_layout(entries):
    with pytest.raises(lms.LayoutError, match="--layout"):
        lms.detect_layout(entries)


def test_a_flat_moodle_file_belongs_to_the_participant_moodle_named(tmp_path):
    write(tmp_path / "Jane Roe_1001_assignsubmission_file_x_2001_assignsubmission_file_exercises.py", "")
    write(tmp_path / "John Doe_2001_assignsubmission_file_exercises.py", "")
    listing = lms.scan(tmp_path)
    assert listing.layout == "moodle"
    assert [(s.student, s.lms_id, s.path.name.split("_")[0]) for s in listing.submissions] == [
        ("Jane_Roe_1001", "1001", "Jane Roe"), ("John_Doe_2001", "2001", "John Doe")]
    assert all(not s.skipped for s in listing.submissions)


def test_names_of_any_bytes_and_length_get_keys_and_printable_text(tmp_path):
    latin1 = os.fsdecode(b"m\xfcller.py")  # as unzip leaves a latin-1 name: not UTF-8
    longest = "s" + "x" * 245 + ".py"  # 249 bytes, within the file system's 255
    for name in (latin1, longest, "m\u00fcller.py", "s0001.py"):
        write(tmp_path / name, "")
    listing = lms.scan(tmp_path)
    keys = [s.student for s in listing.submissions]
    assert len(set(keys)) == 4 and "s0001" in keys
    assert all(lms.safe_key(key) == key and len(key.encode()) <= 60 for key in keys)
    assert lms.printable(latin1) == "m\ufffdller.py" and lms.csv_cell(latin1).encode("utf-8")


def test_a_csv_cell_is_cut_to_what_a_spreadsheet_holds():
    cell = lms.csv_cell("x" * 300_000)
    assert len(cell) < 32_767 and cell.endswith("(cut: the whole text is in the feedback file)")


@pytest.mark.parametrize(
    "entries, named",
    [
        ([], "no submissions (the folder is empty); "),
        (
            [("alice", True), ("bob", True)],
            "no submission files, but 2 subfolders not named as Moodle names them ('alice', 'bob'); ",
        ),
        ([("report.pdf", False), (".DS_Store", False)], "no submissions, only 'report.pdf'; "),
    ],
)
def test_unknown_layout_names_the_expected_ones(entries, named):
    with pytest.raises(lms.LayoutError) as error:
        lms.detect_layout(entries)
    assert named in str(error.value)
    for layout in (
        "plain (STUDENT.ipynb / STUDENT.py files)",
        "canvas (a Canvas bulk download",
        "moodle (a Moodle download",
    ):
        assert layout in str(error.value)


@pytest.mark.parametrize(
    "text, key",
    [
        ("Jane Doe", "Jane_Doe"),
        ("../../etc/passwd", "etc_passwd"),
        ("Zoë Ñúñez", "Zoë_Ñúñez"),
        ("..", "student"),
        ("a/b\\c\nd", "a_b_c_d"),
        ("x" * 200, "x" * 60),
    ],
)
def test_keys_are_safe_file_names(text, key):
    assert lms.safe_key(text) == key


@pytest.mark.parametrize(
    "text, cell",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Jane Doe", "Jane Doe"),
        ("", ""),
    ],
)
def test_csv_cells_never_start_a_formula(text, cell):
    assert lms.csv_cell(text) == cell


def test_newest_by_order_then_name():
    assert lms.newest([("a", 3), ("b", 9), ("c", 1)]) == (("b", 9), [("c", 1), ("a", 3)])


# -- folders ----------------------------------------------------------------------------------------


def test_canvas_folder_one_submission_per_student(tmp_path):
    write(tmp_path / "doejane_12345_100_perceptron.ipynb", "{}", age=0)  # an older upload, newer on disk
    write(tmp_path / "doejane_LATE_12345_205_perceptron-1.ipynb", "{}", age=50)
    write(tmp_path / "doejane_12345_206_notes.pdf", "%PDF")
    write(tmp_path / "o_brien_sean_7_8_hw 1.py", "")
    write(tmp_path / "README.txt", "")
    (tmp_path / "canvas_9_10_folder.py").mkdir()
    listing = lms.scan(tmp_path)
    assert listing.layout == "canvas"
    jane, sean = listing.submissions
    assert (jane.student, jane.lms_id, jane.name, jane.late, jane.path.name) == (
        "doejane_12345",
        "12345",
        "doejane",
        True,
        "doejane_LATE_12345_205_perceptron-1.ipynb",
    )
    assert jane.skipped == [
        ("doejane_12345_100_perceptron.ipynb", "an earlier upload (smaller Canvas attachment id)"),
        ("doejane_12345_206_notes.pdf", "not a notebook or .py file"),
    ]
    assert any("LATE" in note for note in jane.notes()) and any("notes.pdf" in note for note in jane.notes())
    assert (sean.student, sean.lms_id, sean.skipped) == ("o_brien_sean_7", "7", [])
    assert ("README.txt", "not named as Canvas names submissions") in listing.stray
    assert ("canvas_9_10_folder.py", "a folder") in listing.stray


def test_moodle_folders_newest_file_by_modification_time(tmp_path):
    jane = tmp_path / "Jane Doe_123456_assignsubmission_file_"
    write(jane / "perceptron.py", "", age=100)
    write(jane / "perceptron (2).ipynb", "{}", age=10)
    write(jane / "answers.pdf", "")
    write(tmp_path / "Jane Doe_123456_assignsubmission_onlinetext_" / "onlinetext.html", "")
    write(tmp_path / "Zoë Ñúñez_77_assignsubmission_file_" / "übung.py", "")
    write(tmp_path / "Anne_Marie_8_assignsubmission_file_" / ".hidden.py", "")
    (tmp_path / "Jane Doe_123456_assignsubmission_file_" / "sub").mkdir()
    write(tmp_path / "index.html", "")
    listing = lms.scan(tmp_path)
    assert listing.layout == "moodle"
    assert [(s.student, s.lms_id, s.name) for s in listing.submissions] == [
        ("Jane_Doe_123456", "123456", "Jane Doe"),
        ("Zoë_Ñúñez_77", "77", "Zoë Ñúñez"),
    ]
    jane = listing.submissions[0]
    assert jane.path == tmp_path / "Jane Doe_123456_assignsubmission_file_" / "perceptron (2).ipynb"
    assert [name for name, _ in jane.skipped] == [
        "Jane Doe_123456_assignsubmission_file_/answers.pdf",
        "Jane Doe_123456_assignsubmission_file_/perceptron.py",
        "Jane Doe_123456_assignsubmission_file_/sub",
        "Jane Doe_123456_assignsubmission_onlinetext_/onlinetext.html",
    ]
    assert ("index.html", "not named as Moodle names submissions") in listing.stray
    assert any(name.endswith(".hidden.py") for name, _ in listing.stray)  # Anne Marie's only file is hidden: not graded


def test_plain_folder_newest_of_a_students_files(tmp_path):
    write(tmp_path / "s1.py", "", age=100)
    write(tmp_path / "s1.ipynb", "{}", age=1)
    write(tmp_path / "s2.py", "")
    write(tmp_path / "notes.txt", "")
    listing = lms.scan(tmp_path, "plain")
    assert [(s.student, s.path.name, s.lms_id) for s in listing.submissions] == [
        ("s1", "s1.ipynb", ""),
        ("s2", "s2.py", ""),
    ]
    assert listing.submissions[0].skipped == [("s1.py", "an older file of the same student")]
    assert listing.stray == [("notes.txt", "not a notebook or .py file")]


def test_symbolic_links_are_never_followed(tmp_path):
    outside = write(tmp_path / "outside" / "secret.py", "")
    folder = tmp_path / "class"
    folder.mkdir()
    write(folder / "doejane_1_2_a.py", "")
    (folder / "roesam_3_4_b.py").symlink_to(outside)
    (folder / "Moodle Name_5_assignsubmission_file_").symlink_to(outside.parent, target_is_directory=True)
    listing = lms.scan(folder, "canvas")
    assert [s.student for s in listing.submissions] == ["doejane_1"]
    assert ("roesam_3_4_b.py", "not a regular file") in listing.stray
    with pytest.raises(lms.LayoutError, match="no moodle submissions"):
        lms.scan(folder, "moodle")


def test_names_that_make_the_same_key_stay_apart(tmp_path):
    write(tmp_path / "A B_5_assignsubmission_file_" / "a.py", "")
    write(tmp_path / "A_B_6_assignsubmission_file_" / "b.py", "")
    write(tmp_path / "A:B_6_assignsubmission_file_" / "c.py", "", age=10)  # the same participant under another name
    listing = lms.scan(tmp_path)
    assert [(s.student, s.path.name) for s in listing.submissions] == [("A_B_5", "a.py"), ("A_B_6", "b.py")]
    assert listing.submissions[1].skipped == [
        ("A:B_6_assignsubmission_file_/c.py", "an older file of the same submission")
    ]


@pytest.mark.parametrize("layout, export", [("canvas", "moodle"), ("moodle", "canvas")])
def test_an_export_the_download_cannot_match_fails_before_grading(tmp_path, layout, export):
    name = {"canvas": "doejane_1_2_a.py", "moodle": "Jane Doe_1_assignsubmission_file_a.py"}[layout]
    write(tmp_path / "class" / name, "")
    with pytest.raises(
        grader.GradingError, match=f"--lms-export {export}: the submissions are a {layout.title()} download"
    ):
        grader.grade(
            tmp_path / "class",
            tmp_path / "grades.csv",
            chapters=["perceptron"],
            lms_export=export,
            assignment="X (1)",
            progress=False,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class"]


def test_a_layout_asked_for_that_does_not_fit(tmp_path):
    write(tmp_path / "s1.py", "")
    with pytest.raises(
        lms.LayoutError, match=r"no canvas submissions .*'s1.py': not named as Canvas names submissions"
    ):
        lms.scan(tmp_path, "canvas")


# -- grades back ----------------------------------------------------------------------------------


def test_canvas_assignment_header_is_checked():
    lms.check_canvas_assignment("Exercises 1-3 (12345)")
    for bad in (None, "", "Exercises", "Exercises (abc)"):
        with pytest.raises(lms.LayoutError, match="Name \\(12345\\)"):
            lms.check_canvas_assignment(bad)


def test_canvas_rows_of_a_plain_folder_use_the_sis_user_id():
    rows = lms.canvas_rows([(lms.Submission("s1234567", pathlib.Path("s1234567.py")), 5.5)], 7, "Ex (9)")
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Ex (9)"],
        ["    Points Possible", "", "", "", "", "7"],
        ["s1234567", "", "s1234567", "", "", "5.5"],
    ]


def test_moodle_rows_of_a_plain_folder_are_a_gradebook_import():
    rows = lms.moodle_rows([(lms.Submission("=cmd", pathlib.Path("=cmd.py")), 3)], 7, "Exercises")
    assert rows == [["ID number", "Exercises"], ["'=cmd", "3"]]


@pytest.fixture(scope="module")
def graded_classes(tmp_path_factory):
    """A Canvas download and a Moodle download of the same three students, graded with shared units."""
    root = tmp_path_factory.mktemp("lms")
    canvas = root / "canvas"
    write(canvas / "doejane_12345_100_perceptron.py", stub(), age=0)  # replaced by the later upload below
    write(canvas / "doejane_LATE_12345_205_perceptron-1.py", solution(), age=60)
    write(canvas / "=cmd_7_8_perceptron.py", stub())  # a formula for a name
    write(canvas / "müllerjürgen_41_42_perceptron.py", solution().split("def perceptron_forward")[0])
    write(canvas / "README.txt", "")
    moodle = root / "moodle"
    write(moodle / "Jane Doe_900001_assignsubmission_file_" / "perceptron.py", stub(), age=100)
    write(moodle / "Jane Doe_900001_assignsubmission_file_" / "perceptron (1).py", solution(), age=5)
    write(moodle / "Zoë Ñúñez_900002_assignsubmission_file_" / "übung.py", stub())
    units = root / "units"
    out = {}
    for name, folder, export, assignment in (
        ("canvas", canvas, "canvas", "Exercises 1 (4321)"),
        ("moodle", moodle, "moodle", None),
    ):
        csv_path = root / f"{name}-grades.csv"
        result = grader.grade(
            folder,
            csv_path,
            chapters=["perceptron"],
            workers=1,
            limits=LIMITS,
            units_dir=units,
            progress=False,
            lms_export=export,
            assignment=assignment,
        )
        out[name] = (csv_path, {unit["student"]: unit for unit in result})
    return root, out


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_canvas_download_graded_newest_with_ids(graded_classes):
    root, out = graded_classes
    csv_path, units = out["canvas"]
    assert {student: unit["total"] for student, unit in units.items()} == {
        "doejane_12345": FULL,
        "cmd_7": 0,
        "müllerjürgen_41": 4,
    }
    rows = list(csv.DictReader(csv_path.open(newline="")))
    assert list(rows[0])[:3] == ["student", "lms_id", "name"]
    jane = next(row for row in rows if row["lms_id"] == "12345")
    assert jane["name"] == "doejane" and jane["total"] == "7"
    assert "doejane_12345_100_perceptron.py" in jane["notes"] and "late" in jane["notes"]
    assert next(row for row in rows if row["lms_id"] == "7")["name"] == "'=cmd"
    feedback = (root / "canvas-grades_feedback" / "doejane_12345.md").read_text()
    # escaped as text
    assert "not graded: doejane_12345_100_perceptron.py (an earlier upload" in feedback.replace("\\", "")


def test_canvas_gradebook_import_file(graded_classes):
    root, _ = graded_classes
    rows = read_rows(root / "canvas-grades_canvas.csv")
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Exercises 1 (4321)"],
        ["    Points Possible", "", "", "", "", "7"],
        ["'=cmd", "7", "", "", "", "0"],
        ["doejane", "12345", "", "", "", "7"],
        ["müllerjürgen", "41", "", "", "", "4"],
    ]


def test_moodle_download_graded_with_participant_numbers(graded_classes):
    root, out = graded_classes
    csv_path, units = out["moodle"]
    assert {student: unit["total"] for student, unit in units.items()} == {
        "Jane_Doe_900001": FULL,
        "Zoë_Ñúñez_900002": 0,
    }
    assert "perceptron.py (an older file" in "; ".join(units["Jane_Doe_900001"]["listing_notes"])
    assert read_rows(root / "moodle-grades_moodle.csv") == [
        ["Identifier", "Full name", "Grade", "Maximum Grade"],
        ["Participant 900001", "Jane Doe", "7", "7"],
        ["Participant 900002", "Zoë Ñúñez", "0", "7"],
    ]
    assert sorted(p.name for p in (root / "moodle-grades_feedback").iterdir()) == [
        "Jane_Doe_900001.md",
        "Zoë_Ñúñez_900002.md",
    ]


def test_the_command_merges_and_exports_what_was_graded(graded_classes, capsys):
    from mlpkit import cli

    root, _ = graded_classes
    out = root / "again" / "grades.csv"
    cli.main(
        [
            "grade",
            str(root / "canvas"),
            "--out",
            str(out),
            "--units",
            str(root / "units"),
            "--merge-only",
            "--chapters",
            "perceptron",
            "--layout",
            "canvas",
            "--lms-export",
            "canvas",
            "--assignment",
            "Exercises 1 (4321)",
        ]
    )
    assert f"wrote {out} and {root / 'again' / 'grades_canvas.csv'}" in capsys.readouterr().out
    assert (root / "again" / "grades_canvas.csv").read_text() == (root / "canvas-grades_canvas.csv").read_text()
    with pytest.raises(SystemExit) as error:  # as a plain folder, the same files are other students, not graded yet
        cli.main(
            [
                "grade",
                str(root / "canvas"),
                "--out",
                str(out),
                "--units",
                str(root / "units"),
                "--merge-only",
                "--chapters",
                "perceptron",
                "--layout",
                "plain",
            ]
        )
    assert error.value.code == 2 and "--merge-only: no finished units" in capsys.readouterr().err


def test_the_command_checks_the_canvas_assignment_header(tmp_path, capsys):
    from mlpkit import cli

    write(tmp_path / "class" / "doejane_1_2_a.py", "")
    with pytest.raises(SystemExit) as error:
        cli.main(["grade", str(tmp_path / "class"), "--out", str(tmp_path / "g.csv"), "--lms-export", "canvas"])
    assert error.value.code == 2 and "--lms-export canvas needs --assignment" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class"]


def test_only_picks_by_file_path_or_student(tmp_path):
    write(tmp_path / "Jane Doe_1_assignsubmission_file_" / "a.py", "")
    write(tmp_path / "Sam Roe_2_assignsubmission_file_" / "b.py", "")
    submissions = lms.scan(tmp_path).submissions
    pick = [s.student for s in grader._chosen(submissions, ["Jane Doe_1_assignsubmission_file_/a.py"], tmp_path)]
    assert pick == ["Jane_Doe_1"]
    assert [s.student for s in grader._chosen(submissions, ["Sam_Roe_2", "a.py"], tmp_path)] == [
        "Jane_Doe_1",
        "Sam_Roe_2",
    ]
    with pytest.raises(grader.GradingError, match="--only: no submission c.py in"):
        grader._chosen(submissions, ["c.py"], tmp_path)


def test_the_command_checks_the_export_file_before_grading(tmp_path, capsys):
    from mlpkit import cli

    write(tmp_path / "class" / "Jane Doe_1_assignsubmission_file_a.py", "")
    (tmp_path / "g_moodle.csv").mkdir()
    with pytest.raises(SystemExit) as error:
        cli.main(["grade", str(tmp_path / "class"), "--out", str(tmp_path / "g.csv"), "--lms-export", "moodle"])
    assert (
        error.value.code == 2
        and "g_moodle.csv: is a folder; expected the name of a file to write" in capsys.readouterr().err
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class", "g_moodle.csv"]
