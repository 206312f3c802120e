"""What a grading run writes for the instructor and the students: the gradebook, the feedback, the LMS files.

``grades.csv`` has a row per student (points per exercise, total, maximum,
notes); ``grades_feedback/STUDENT.md`` shows a student the public checks'
messages and, of the hidden ones, only how many passed; ``grades_skipped.csv``
lists the entries of the submissions folder that were not graded, and why;
``grades_canvas.csv`` / ``grades_moodle.csv`` are for the LMS's grade import
(`mlpkit.grading.lms`). Every file is written atomically
(`mlpkit.grading.units.write_atomic`). Text that comes from a submission is
shown as text: a spreadsheet cell never starts a formula, and Markdown or HTML
in the feedback never takes effect.
"""

import csv
import io
import pathlib
import re

from mlpkit.grading import lms, units

# The characters that can start Markdown or HTML anywhere in a line (emphasis, code, links, images, tags,
# entities, tables, strikethrough, escapes), and those that do only at a line's start (headings, lists, quotes).
MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>&|~!])")
MARKDOWN_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


def as_text(value):
    """Text from a submission (its file name, its errors, what its values were) as Markdown that renders
    as that text: one line, with the characters Markdown would read as markup escaped, so no markup or HTML
    in it takes effect, and the rest (dots, commas, parentheses) left as they are, to read as text."""
    escaped = MARKDOWN_INLINE.sub(r"\\\1", " ".join(lms.printable(value).split()))
    # the marker's last character escaped: "#" -> r"\#", "12." -> r"12\."
    return MARKDOWN_LINE_START.sub(lambda m: m[1] + m[2][:-1] + "\\" + m[2][-1], escaped)


# How a unit's submission was confined (the unit's "guard"): by the kernel, or, where it offers nothing and the
# instructor accepted it, by the Python audit hook alone.
KERNEL_GUARD = "kernel"
WEAK_GUARD = "audit hook only"


def feedback_text(unit):
    """The student's feedback in Markdown. The kit's own words (titles, check messages) are Markdown; everything
    that comes from the submission or its file name goes through :func:`as_text`."""
    lines = [f"# Feedback for {as_text(unit['student'])}", "",
             f"File: {as_text(unit['file'])}. Total: **{unit['total']:g} / {unit['maximum']:g}** points.", ""]
    for name, result in unit["exercises"].items():
        lines.append(f"## {result['title']} (`{name}`): {result['points']:g} / {result['maximum']:g}")
        if result["note"]:
            lines.append(f"- Could not check: {as_text(result['note'])}")
        for check in result["checks"]:
            if check["public"]:
                mark = "passed" if check["passed"] else "FAILED"
                detail = f" ({as_text(check['detail'])})" if check["detail"] and not check["passed"] else ""
                lines.append(f"- Public check {mark}: {check['message']}{detail}")
        hidden = [c for c in result["checks"] if not c["public"]]
        if hidden:
            lines.append(f"- Hidden checks: {sum(c['passed'] for c in hidden)} of {len(hidden)} passed")
        lines.append("")
    notes = unit.get("listing_notes", []) + unit["notes"]
    if unit.get("guard") == WEAK_GUARD:
        notes = notes + ["Graded without the kernel's confinement (the instructor allowed the weaker Python guard)."]
    if notes:
        lines += ["## Notes", ""] + [f"- {as_text(note)}" for note in notes] + [""]
    return "\n".join(lines)


def skipped_path(out_csv):
    """Where `mlpkit.grading.grader.grade` lists the entries of the submissions folder it did not grade, and why."""
    out_csv = pathlib.Path(out_csv)
    return out_csv.with_name(f"{out_csv.stem}_skipped.csv")


def lms_export_path(out_csv, lms_export):
    """Where `mlpkit.grading.grader.grade` writes the import file of ``lms_export`` (``canvas`` or ``moodle``)."""
    out_csv = pathlib.Path(out_csv)
    return out_csv.with_name(f"{out_csv.stem}_{lms_export}.csv")


def csv_text(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def write_outputs(graded, exercises, out_csv, feedback_dir, lms_columns=False):
    """``grades.csv`` (with the LMS's ``lms_id`` and ``name`` after ``student`` when ``lms_columns``) and the
    feedback, from the units ``graded``."""
    cell = lms.csv_cell
    lms_header = ["lms_id", "name"] if lms_columns else []
    rows = [["student", *lms_header, *[e.name for e in exercises], "total", "maximum", "notes"]]
    for unit in sorted(graded, key=lambda u: u["student"]):
        notes = unit.get("listing_notes", []) + unit["notes"]
        lms_cells = [cell(unit.get("lms_id", "")), cell(unit.get("name", ""))] if lms_columns else []
        points = [f"{unit['exercises'][e.name]['points']:g}" for e in exercises]
        rows.append([cell(unit["student"]), *lms_cells, *points, f"{unit['total']:g}", f"{unit['maximum']:g}",
                     cell("; ".join(notes))])
    pathlib.Path(feedback_dir).mkdir(parents=True, exist_ok=True)
    for unit in graded:
        units.write_atomic(pathlib.Path(feedback_dir) / f"{unit['student']}.md", feedback_text(unit))
    pathlib.Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    units.write_atomic(out_csv, csv_text(rows))


def write_skipped(out_csv, stray):
    """List ``stray`` (``(entry, why)`` pairs: what is no student's submission) in :func:`skipped_path`, never
    passing them over in silence; remove an earlier list when there are none."""
    skipped = skipped_path(out_csv)
    if stray:
        units.write_atomic(skipped, csv_text([["entry", "why it was not graded"],
                                              *[[lms.csv_cell(name), why] for name, why in stray]]))
    else:
        skipped.unlink(missing_ok=True)


def write_lms_export(out_csv, lms_export, assignment, graded, maximum):
    """The LMS's grade import file (:func:`lms_export_path`); ``graded`` is ``(submission, total)`` pairs."""
    if lms_export == "canvas":
        rows = lms.canvas_rows(graded, maximum, assignment)
    else:
        rows = lms.moodle_rows(graded, maximum, assignment)
    units.write_atomic(lms_export_path(out_csv, lms_export), csv_text(rows))
