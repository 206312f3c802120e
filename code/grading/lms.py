"""Submissions as learning-management systems export them, and grades in the files they import.

Three layouts of a folder of submissions are recognised:

- ``plain``: ``STUDENT.ipynb`` / ``STUDENT.py`` directly in the folder (the
  student is the file name);
- ``canvas``: a Canvas bulk download ("Download Submissions"), files named
  ``lastfirst_USERID_ATTACHMENTID_original-name.ipynb``, or
  ``lastfirst_LATE_USERID_ATTACHMENTID_...`` for late ones (Canvas adds
  ``-1``, ``-2`` to the original name of a resubmission; the attachment id
  grows with each upload);
- ``moodle``: a Moodle assignment's "Download all submissions", one folder
  per student, ``Full Name_PARTICIPANT_assignsubmission_file_/original-name.ipynb``
  (or, without "Download submissions in folders", files named
  ``Full Name_PARTICIPANT_assignsubmission_file_original-name.ipynb``).

Each student gets one submission: the newest where there are several (by
Canvas's attachment id, else by modification time); the others are listed
in the submission's ``skipped``. The parsing functions are pure; only
:func:`scan` looks at the disk. Every name is the student's to choose:
names never become paths except as the key :func:`safe_key` makes, and
text cells of a CSV are neutralised by :func:`csv_cell`.

:func:`canvas_rows` and :func:`moodle_rows` give the rows of the files
Canvas's gradebook import and Moodle's grade imports read.
"""

import dataclasses
import hashlib
import os
import pathlib
import re
import unicodedata

LAYOUTS = ("plain", "canvas", "moodle")
SUFFIXES = (".ipynb", ".py")
CANVAS_NAME = re.compile(
    r"^(?P<name>[^_]+(?:_[^_]+)*?)_(?:(?P<late>late)_)?(?P<user>\d+)_(?P<attempt>\d+)_(?P<original>.+)$",
    re.IGNORECASE | re.DOTALL,
)
# Moodle writes "Full Name_PARTICIPANT_assignsubmission_PLUGIN_" before the student's own file name: the first
# such run is Moodle's (the name is lazy), so a student's file named like another participant's changes nothing.
MOODLE_NAME = re.compile(
    r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<original>.*)$", re.DOTALL
)
CANVAS_ASSIGNMENT = re.compile(r"^.+ \((\d+)\)$")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# A spreadsheet cell holds at most 32,767 characters, and Python's csv reader refuses a field over 131,072: a longer
# cell is cut (the feedback file keeps the whole text).
CELL_LIMIT = 32_000
# A layout is a folder's when more than this share of the entries that look like submissions are named as it names
# them, and the other LMS's names fit fewer than this share (`detect_layout`).
AMBIGUOUS = 0.5
EXPECTED = (
    "expected one of the layouts: plain (STUDENT.ipynb / STUDENT.py files), canvas (a Canvas bulk download: "
    "lastfirst_12345_67890_name.ipynb) or moodle (a Moodle download: "
    "'Full Name_12345_assignsubmission_file_' folders)"
)


class LayoutError(ValueError):
    """A folder of submissions is not in the layout asked for, or in none known; the message says which."""


@dataclasses.dataclass
class Submission:
    """One student's graded file, the LMS's identifier for the student and the files not graded."""

    student: str  # a safe key: the unit's and the feedback file's name
    path: pathlib.Path
    lms_id: str = ""  # Canvas user id, Moodle participant number; "" in a plain folder
    name: str = ""  # the student's name as the LMS wrote it
    late: bool = False
    skipped: list = dataclasses.field(default_factory=list)  # (file name, why) pairs

    def notes(self):
        notes = ["submitted late (Canvas marked the file LATE)"] if self.late else []
        return notes + [f"not graded: {name} ({why})" for name, why in self.skipped]


@dataclasses.dataclass
class Listing:
    layout: str
    submissions: list
    stray: list  # (entry name, why) pairs: entries of the folder that belong to no student


# -- names (pure) --------------------------------------------------------------------------


def safe_key(text, limit=60):
    """``text`` as a file-name-safe key: letters, digits, ``.``, ``-`` and ``_`` only, never starting with ``.``."""
    text = unicodedata.normalize("NFC", printable(text)).replace("\ufffd", "_")
    key = re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE).strip("._-")[:limit]
    return key or "student"


def printable(text):
    """``text`` (a file name may hold bytes that are not UTF-8, kept by Python as lone surrogates) as text that
    can be written anywhere: what does not decode becomes U+FFFD."""
    text = str(text)
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the name's own bytes
    except UnicodeEncodeError:  # a surrogate that came from elsewhere
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def csv_cell(value):
    """A text cell a spreadsheet will not run (one starting with ``= + - @``, a tab or a line break gets a ``'``),
    printable (:func:`printable`) and at most :data:`CELL_LIMIT` characters."""
    text = printable(value)
    if len(text) > CELL_LIMIT:
        text = text[:CELL_LIMIT] + " [...] (cut: the whole text is in the feedback file)"
    return "'" + text if text.startswith(FORMULA_START) else text


def plain_key(stem):
    """A plain folder's student key for the file stem ``stem``: the stem itself when it is a short safe key,
    else a safe key made from it with a digest of the whole stem (two such stems never share a key)."""
    if safe_key(stem) == stem and len(stem) <= 60:
        return stem
    digest = hashlib.sha256(stem.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{safe_key(stem, 40)}_{digest}"


def parse_canvas_name(name):
    """``{"name", "late", "user", "attempt", "original"}`` for a Canvas bulk-download file name, else None."""
    match = CANVAS_NAME.match(name)
    if not match:
        return None
    return {
        "name": match["name"],
        "late": bool(match["late"]),
        "user": match["user"],
        "attempt": int(match["attempt"]),
        "original": match["original"],
    }


def parse_moodle_name(name):
    """``{"name", "participant", "plugin", "original"}`` for a Moodle download's folder (``original`` is "")
    or flat file name, else None."""
    match = MOODLE_NAME.match(name)
    if not match:
        return None
    return {
        "name": match["name"],
        "participant": match["participant"],
        "plugin": match["plugin"],
        "original": match["original"],
    }


def is_code(name):
    return name.endswith(SUFFIXES) and not name.startswith(".")


def detect_layout(entries):
    """The layout of a folder from its entries, ``(name, is_folder)`` pairs; ``LayoutError`` if none fits or
    the folder could be read more than one way.

    Every name in the folder is a student's to choose, so the layout is read
    from the whole folder, never from one name. The entries that look like
    submissions vote: those named as Moodle names them, files named as Canvas
    names them, and notebooks or ``.py`` files named as neither (plain). A
    layout holding more than half the votes is the folder's, unless the other
    LMS's names hold half or more too (a name can look like both): then, as
    when no layout has a majority, ``--layout`` must say.
    """
    entries = [(name, folder) for name, folder in entries if not name.startswith(".")]
    moodle = {name for name, _ in entries if parse_moodle_name(name)}
    canvas = {name for name, folder in entries if not folder and parse_canvas_name(name)}
    plain = {name for name, folder in entries if not folder and is_code(name)} - moodle - canvas
    voters = len(moodle | canvas | plain)
    if voters:
        shares = {"moodle": len(moodle) / voters, "canvas": len(canvas) / voters, "plain": len(plain) / voters}
        winner = max(shares, key=shares.get)
        other = {"moodle": "canvas", "canvas": "moodle"}.get(winner)
        if shares[winner] > AMBIGUOUS and (other is None or shares[other] < AMBIGUOUS):
            return winner
        raise LayoutError(f"cannot tell the layout of the folder from its names: of {voters} entries that look like "
                          f"submissions, {len(moodle)} are named as Moodle names them, {len(canvas)} as Canvas does "
                          f"and {len(plain)} as neither; say which with --layout plain, canvas or moodle")
    folders = [name for name, folder in entries if folder]
    what = (
        f"no submission files, but {len(folders)} subfolders not named as Moodle names them ({_listing(folders)})"
        if folders
        else f"no submissions, only {_listing([name for name, _ in entries])}"
        if entries
        else "no submissions (the folder is empty)"
    )
    raise LayoutError(f"{what}; {EXPECTED}")


def _listing(names, limit=4):
    names = [repr(name) for name in names]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def newest(files):
    """``(chosen, others)`` from ``(name, order)`` pairs: the largest order wins (ties: the last name)."""
    ranked = sorted(files, key=lambda item: (item[1], item[0]))
    return ranked[-1], ranked[:-1]


# -- a folder (reads the disk) ----------------------------------------------------------------


def _entries(folder):
    """``(name, is_folder, is_file, mtime_ns)`` per entry, symbolic links included but never followed."""
    out = []
    with os.scandir(folder) as scan:
        for entry in scan:
            if entry.is_symlink():
                out.append((entry.name, False, False, 0))
                continue
            info = entry.stat(follow_symlinks=False)
            out.append(
                (
                    entry.name,
                    entry.is_dir(follow_symlinks=False),
                    entry.is_file(follow_symlinks=False),
                    info.st_mtime_ns,
                )
            )
    return sorted(out)


def scan(folder, layout="auto"):
    """The :class:`Listing` of ``folder`` (a path) in ``layout`` (``auto`` detects it)."""
    folder = pathlib.Path(folder)
    entries = _entries(folder)
    if layout == "auto":
        layout = detect_layout([(name, is_dir) for name, is_dir, _, _ in entries])
    if layout not in LAYOUTS:
        raise LayoutError(f"unknown layout {layout!r}; {EXPECTED}")
    visible = [e for e in entries if not e[0].startswith(".")]
    listing = {"plain": _plain, "canvas": _canvas, "moodle": _moodle}[layout](folder, visible)
    if not listing.submissions:
        why = "; ".join(f"{name!r}: {reason}" for name, reason in listing.stray[:4]) or "the folder is empty"
        raise LayoutError(f"no {layout} submissions in {folder} ({why}); {EXPECTED}")
    keys = [s.student for s in listing.submissions]
    assert len(keys) == len(set(keys)), keys
    return listing


def _not_a_file(name, is_dir, is_file):
    if is_dir:
        return "a folder"
    if not is_file:
        return "not a regular file"
    if not is_code(name):
        return "not a notebook or .py file"
    return ""


def _plain(folder, entries):
    groups, stray = {}, []
    for name, is_dir, is_file, mtime in entries:
        why = _not_a_file(name, is_dir, is_file)
        if why:
            stray.append((name, why))
        else:
            groups.setdefault(plain_key(pathlib.PurePath(name).stem), []).append((name, mtime))
    submissions = []
    for student, files in sorted(groups.items()):
        (chosen, _), others = newest(files)
        submissions.append(
            Submission(student, folder / chosen, skipped=[(n, "an older file of the same student") for n, _ in others])
        )
    return Listing("plain", submissions, stray)


def _canvas(folder, entries):
    groups, stray = {}, []
    for name, is_dir, is_file, mtime in entries:
        parsed = parse_canvas_name(name)
        if not parsed:
            stray.append((name, "not named as Canvas names submissions"))
            continue
        groups.setdefault(parsed["user"], []).append((name, is_dir, is_file, parsed))
    submissions = []
    for user, files in sorted(groups.items(), key=lambda item: int(item[0])):
        code = [
            (name, parsed["attempt"])
            for name, is_dir, is_file, parsed in files
            if not _not_a_file(name, is_dir, is_file)
        ]
        skipped = [
            (name, _not_a_file(name, is_dir, is_file))
            for name, is_dir, is_file, _ in files
            if _not_a_file(name, is_dir, is_file)
        ]
        if not code:
            stray += skipped
            continue
        (chosen, _), others = newest(code)
        parsed = next(p for name, _, _, p in files if name == chosen)
        skipped += [(name, "an earlier upload (smaller Canvas attachment id)") for name, _ in others]
        submissions.append(
            Submission(
                f"{safe_key(parsed['name'])}_{user}",
                folder / chosen,
                user,
                parsed["name"],
                parsed["late"],
                sorted(skipped),
            )
        )
    return Listing("canvas", sorted(submissions, key=lambda s: s.student), stray)


def _moodle(folder, entries):
    groups, names, stray = {}, {}, []
    for name, is_dir, is_file, mtime in entries:
        parsed = parse_moodle_name(name)
        if not parsed:
            stray.append((name, "not named as Moodle names submissions"))
            continue
        key = parsed["participant"]  # one student's number, whatever names come with it
        names.setdefault(key, parsed["name"])
        if is_dir:
            for inner, inner_dir, inner_file, inner_mtime in _entries(folder / name):
                groups.setdefault(key, []).append((f"{name}/{inner}", inner_dir, inner_file, inner_mtime, inner))
        else:
            groups.setdefault(key, []).append((name, is_dir, is_file, mtime, parsed["original"]))
    submissions = []
    for participant, files in sorted(groups.items(), key=lambda item: int(item[0])):
        student_name = names[participant]
        code = [
            (rel, mtime)
            for rel, is_dir, is_file, mtime, original in files
            if not original.startswith(".") and not _not_a_file(original, is_dir, is_file)
        ]
        skipped = [
            (rel, _not_a_file(original, is_dir, is_file) or "a hidden file")
            for rel, is_dir, is_file, _, original in files
            if original.startswith(".") or _not_a_file(original, is_dir, is_file)
        ]
        if not code:
            stray += skipped or [(f"{student_name}_{participant}", "no files")]
            continue
        (chosen, _), others = newest(code)
        skipped += [(rel, "an older file of the same submission") for rel, _ in others]
        submissions.append(
            Submission(
                f"{safe_key(student_name)}_{participant}",
                folder / chosen,
                participant,
                student_name,
                skipped=sorted(skipped),
            )
        )
    return Listing("moodle", sorted(submissions, key=lambda s: s.student), stray)


# -- grades back ---------------------------------------------------------------------------


def check_export(lms_export, assignment, layout=None):
    """``LayoutError`` unless the LMS import file ``lms_export`` (canvas, moodle or None) can be written with
    ``assignment`` and matches the students of a download of ``layout`` (None: not known yet)."""
    if lms_export == "canvas":
        check_canvas_assignment(assignment)
    elif lms_export not in (None, "moodle"):
        raise LayoutError(f"--lms-export {lms_export!r}: expected canvas or moodle")
    if lms_export == "canvas" and layout == "moodle":
        raise LayoutError("--lms-export canvas: the submissions are a Moodle download; Canvas cannot match Moodle's "
                          "participant numbers (use --lms-export moodle)")
    if lms_export == "moodle" and layout == "canvas":
        raise LayoutError("--lms-export moodle: the submissions are a Canvas download; Moodle cannot match Canvas's "
                          "user ids (use --lms-export canvas)")


def check_canvas_assignment(assignment):
    """``LayoutError`` unless ``assignment`` is ``Name (12345)``, the column header Canvas exports and imports."""
    if not assignment or not CANVAS_ASSIGNMENT.match(assignment):
        raise LayoutError(
            f"--assignment {assignment!r}: expected the assignment's column header as Canvas exports it, "
            "'Name (12345)' (the number is the assignment's id, in its address .../assignments/12345)"
        )


def _points(value):
    return f"{value:g}"


def canvas_rows(graded, maximum, assignment):
    """The rows of a Canvas gradebook import: ``graded`` is ``(submission, total)`` pairs.

    Canvas matches a row by ``ID`` (its user id, from a Canvas download's
    names) or, without one, ``SIS User ID`` (the file name of a plain
    folder's submission); the points-possible row comes second.
    """
    check_canvas_assignment(assignment)
    rows = [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment],
        ["    Points Possible", "", "", "", "", _points(maximum)],
    ]
    for submission, total in sorted(graded, key=lambda item: item[0].student):
        if submission.lms_id:
            rows.append(
                [csv_cell(submission.name or submission.student), submission.lms_id, "", "", "", _points(total)]
            )
        else:
            rows.append([csv_cell(submission.student), "", csv_cell(submission.student), "", "", _points(total)])
    return rows


def moodle_rows(graded, maximum, assignment=None):
    """The rows Moodle imports: ``graded`` is ``(submission, total)`` pairs.

    With Moodle's participant numbers (a Moodle download), the assignment's
    grading worksheet (``Identifier`` = ``Participant N``, ``Grade``): upload
    it with "Upload grading worksheet". Without them (a plain folder named by
    student id number), a gradebook import: ``ID number`` and a grade column
    named ``assignment`` (default ``Grade``), mapped in "Import > CSV file".
    """
    graded = sorted(graded, key=lambda item: item[0].student)
    if all(submission.lms_id for submission, _ in graded):
        rows = [["Identifier", "Full name", "Grade", "Maximum Grade"]]
        rows += [[f"Participant {s.lms_id}", csv_cell(s.name), _points(total), _points(maximum)] for s, total in graded]
        return rows
    rows = [["ID number", csv_cell(assignment or "Grade")]]
    rows += [[csv_cell(s.student), _points(total)] for s, total in graded]
    return rows
