"""The instructor's report of a grading run: ``NAME_report.html`` beside ``NAME.csv``, one self-contained page.

It shows the distribution of totals, each exercise's mean and pass rate,
how many failed each check and with which messages most often
(`mlpkit.grading.report_plots`), the pairs of similar submissions with
their shared code side by side (`mlpkit.grading.similarity`, whose pairs go to
``NAME_similarity.csv`` too), and what could not be judged. The plots are
PNGs inside the page (``data:`` URIs) and the page has no script and no
outside style sheet: it opens from disk, offline. Every text that comes from
a submission (names, code, messages) goes through ``html.escape``. The report
never changes a grade.
"""

import datetime
import html
import pathlib
import statistics

from mlpkit.grading import lms, report_plots, similarity, units

SHOWN_PAIRS = 200  # rows of the pairs' table (the CSV has them all)
SIDE_BY_SIDE = 20  # flagged pairs shown with their code
MAX_SHOWN_CODE = 60_000  # characters of one side's code shown

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 1em 1.5em 3em; }
h1, h2, h3 { line-height: 1.2; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
img { max-width: 100%; height: auto; display: block; background: white; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
td, th { overflow-wrap: anywhere; } td.n { text-align: right; white-space: nowrap; } th { white-space: nowrap; }
.flag { color: #a4161a; font-weight: bold; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.pair > div { min-width: 0; }
.pair h4 { margin: .3em 0; overflow-wrap: anywhere; }
pre { background: white; border: 1px solid #ccc; padding: .5em; overflow: auto; max-height: 32em;
      font-size: 12px; margin: 0; }
mark { background: #ffd5a8; }
ul.messages { margin: 0; padding-left: 1.2em; }
"""


def report_path(out_csv):
    """Where `mlpkit.grading.grader.grade` writes the report: ``NAME_report.html`` beside ``NAME.csv``."""
    out_csv = pathlib.Path(out_csv)
    return out_csv.with_name(f"{out_csv.stem}_report.html")


def _e(value):
    """Text from a submission (a name may hold bytes that are not UTF-8) as HTML that shows it as text."""
    return html.escape(lms.printable(value), quote=True)


def _figure(uri, alt):
    return f'<img src="{uri}" alt="{_e(alt)}">'


def _table(header, rows, numeric=()):
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _summary(graded, exercises):
    maximum = sum(e.points for e in exercises)
    totals = sorted(unit["total"] for unit in graded)
    if not totals:
        return "<p>No submission has a finished grade.</p>", maximum
    mean = sum(totals) / len(totals)
    median = statistics.median(totals)
    text = (f"<p>{len(totals)} students graded on {len(exercises)} exercises ({maximum:g} points). Totals: mean "
            f"{mean:.1f}, median {median:g}, lowest {totals[0]:g}, highest {totals[-1]:g}.</p>")
    return text, maximum


def _grades_section(graded, exercises):
    summary, maximum = _summary(graded, exercises)
    parts = ["<h2 id='totals'>Totals</h2>", summary]
    if not graded:
        return "\n".join(parts)
    parts.append(_figure(report_plots.totals_figure(graded, maximum),
                         f"Histogram of the {len(graded)} students' totals, from 0 to {maximum:g} points"))
    rows = report_plots.exercise_rows(graded, exercises)
    parts += ["<h2 id='exercises'>Exercises</h2>",
              _figure(report_plots.exercises_figure(rows), "For each exercise, two bars: the mean points as a "
                      "percentage of its maximum, and the percentage of students with full marks"),
              _table(["exercise", "title", "points", "mean", "full marks"],
                     [[_e(e.name), _e(e.title), f"{e.points:g}", f"{mean:.2f}", f"{100 * full:.0f}%"]
                      for e, mean, full in rows], numeric=(2, 3, 4))]
    return "\n".join(parts)


def _checks_section(graded, exercises):
    tallies = report_plots.check_tallies(graded, exercises)
    if not graded or not tallies:
        return ""
    rows = []
    for tally in tallies:
        messages = "".join(f"<li>{count} &times; {_e(text)}</li>"
                           for text, count in tally.failures.most_common(report_plots.TOP_MESSAGES))
        rows.append([_e(tally.label), _e(tally.message), f"{tally.failed} of {tally.judged}",
                     f'<ul class="messages">{messages}</ul>' if messages else ""])
    return "\n".join([
        "<h2 id='checks'>Checks: what the class got wrong</h2>",
        _figure(report_plots.checks_figure(tallies), "For each check of each exercise, a bar of how many students "
                "failed it; public checks in red, hidden checks in purple"),
        _table(["check", "what it checks", "failed", "most frequent failures"], rows, numeric=(2,))])


def _highlighted(code, slices):
    """``code`` escaped, with the stretches ``slices`` (starts, ends) marked."""
    parts, at = [], 0
    for start, end in sorted(zip(*[list(map(int, s)) for s in slices])) if len(slices) else []:
        start, end = max(start, at), min(end, len(code))
        if end <= start:
            continue
        parts += [_e(code[at:start]), "<mark>", _e(code[start:end]), "</mark>"]
        at = end
    parts.append(_e(code[at:]))
    text = "".join(parts)
    return text if len(code) <= MAX_SHOWN_CODE else _e(code[:MAX_SHOWN_CODE]) + "\n[... cut]"


def _side_by_side(pair):
    sides = [(pair.student_a, pair.share_a, pair.code_a, pair.slices_a),
             (pair.student_b, pair.share_b, pair.code_b, pair.slices_b)]
    columns = "".join(f"<div><h4>{_e(name)}: {100 * share:.0f}% shared</h4><pre>{_highlighted(code, slices)}</pre>"
                      "</div>" for name, share, code, slices in sides)
    kind = "matches the published solutions" if pair.published else "share code"
    return (f"<h3>{_e(pair.student_a)} and {_e(pair.student_b)} {kind}: similarity {100 * pair.similarity:.0f}%, "
            f"{pair.overlap} tokens</h3><div class='pair'>{columns}</div>")


def _similarity_section(found, csv_name):
    if found is None:
        return ""
    flagged = [p for p in found.pairs if p.flagged]
    parts = ["<h2 id='similarity'>Similar submissions</h2>",
             f"<p>{found.compared} submissions compared with one another and with the published solutions; "
             f"{len(found.pairs)} pairs share at least {100 * similarity.FLOOR:.0f}% of one side's code, "
             f"{len(flagged)} are flagged (at least {100 * similarity.FLAG:.0f}% and {similarity.MIN_OVERLAP} "
             f"tokens). Released stubs, statements and imports never count. All pairs: {_e(csv_name)}. "
             "This never changes a grade: read the code before concluding anything.</p>"]
    if found.pairs:
        rows = [[_e(p.student_a), _e(p.student_b), f"{100 * p.similarity:.0f}%", str(p.overlap),
                 "<span class='flag'>flagged</span>" if p.flagged else "", "yes" if p.published else ""]
                for p in found.pairs[:SHOWN_PAIRS]]
        parts.append(_table(["student", "shares code with", "similarity", "tokens", "flagged", "published solution"],
                            rows, numeric=(2, 3)))
        if len(found.pairs) > SHOWN_PAIRS:
            parts.append(f"<p>{len(found.pairs) - SHOWN_PAIRS} more pairs in {_e(csv_name)}.</p>")
    if flagged:
        parts.append(f"<p>The shared code of the {min(len(flagged), SIDE_BY_SIDE)} most similar flagged pairs, "
                     "marked:</p>")
        parts += [_side_by_side(pair) for pair in flagged[:SIDE_BY_SIDE]]
    return "\n".join(parts)


def _infrastructure_section(listing, graded, found):
    finished = {unit["student"] for unit in graded}
    items = [f"{_e(s.student)} ({_e(s.path.name)}): no finished grade (grading failed for a reason of the "
             "grader's own, or it was not graded yet; it is graded on the next run)"
             for s in listing.submissions if s.student not in finished]
    for unit in graded:
        notes = [note for note in unit["notes"] if note.startswith(report_plots.NOT_JUDGED)]
        if notes:
            items.append(f"{_e(unit['student'])}: could not be judged: {_e('; '.join(notes))}")
    items += [f"{_e(name)}: not graded: {_e(why)}" for name, why in listing.stray]
    items += [f"{_e(student)}: {_e(why)}" for student, why in (found.skipped if found else [])]
    body = "".join(f"<li>{item}</li>" for item in items) or "<li>None: every submission was judged.</li>"
    return f"<h2 id='infrastructure'>What could not be judged</h2><ul>{body}</ul>"


def write_report(out_csv, graded, exercises, listing, found):
    """Write :func:`report_path` for the units ``graded`` of ``listing``'s submissions; ``found`` is the
    `similarity.Report` (None: no similarity section)."""
    csv_name = similarity.similarity_path(out_csv).name
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    page = "\n".join([
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Grading report: {_e(pathlib.Path(out_csv).name)}</title><style>{STYLE}</style></head>",
        f"<body><main><h1>Grading report: {_e(pathlib.Path(out_csv).name)}</h1>",
        f"<p>Written {when} by <code>mlpkit grade</code>, beside the gradebook it describes.</p>",
        _grades_section(graded, exercises), _checks_section(graded, exercises),
        _similarity_section(found, csv_name), _infrastructure_section(listing, graded, found),
        "</main></body></html>"])
    units.write_atomic(report_path(out_csv), page)


def write_all(out_csv, graded, exercises, listing, graded_bank=None):
    """The similarity CSV and the HTML report of a grading run (`mlpkit.grading.grader` calls this last)."""
    chapters = list(dict.fromkeys(exercise.chapter for exercise in exercises))
    found = similarity.compare(listing.submissions, chapters, graded_bank)
    similarity.write_csv(found, out_csv)
    write_report(out_csv, graded, exercises, listing, found)
    return found
