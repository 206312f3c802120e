"""Which submissions share code: pairs of students, and students whose code is the kit's published solution.

Works on the source text only: a submission's code is read as the grader
reads it (`mlpkit.grading.worker.submission_cells`: a notebook's code cells,
or a ``.py`` file's statements), never run or imported. The code is
fingerprinted with ``copydetect``, which tokenizes it (every name becomes one
letter, so renaming changes nothing), hashes each run of ``NOISE`` tokens and
keeps a winnowed subset of the hashes, as MOSS does; order does not matter,
so functions moved around still match.

What never counts: the released stubs and statements (the bank's student
cells), every import line, and code that more than ``max(COMMON_FLOOR,
COMMON_SHARE * class size)`` submissions share (an idiom of the class, not a
copy). The reference solutions are public in the repository: a submission is
compared with them on its own (a pair whose second side is
``PUBLISHED``), and code two students both took from them does not make the
pair similar. The report never changes a grade.
"""

import csv
import dataclasses
import io
import itertools
import math
import pathlib
import re

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import get_token_coverage

from mlpkit import colab
from mlpkit.grading import bank, lms, units, worker

NOISE = 25  # copydetect's noise threshold: the shortest run of tokens (after renaming) that counts
GUARANTEE = 30  # its guarantee threshold: a shared run this long is always found
FLOOR = 0.25  # pairs sharing at least this share of one side's code are listed
FLAG = 0.6  # ... and flagged when they share this much and at least MIN_OVERLAP tokens
MIN_OVERLAP = 120
COMMON_FLOOR, COMMON_SHARE = 10, 0.2
MAX_CODE = 500_000  # characters of code compared per submission (tokenizing takes about 3 ms per 1,000)
PUBLISHED = "published solutions"
JOIN = "\n\n"  # between blocks, as shown
BARRIER = 12  # digits of the number between blocks, as fingerprinted
IMPORT_LINE = re.compile(r"^[ \t]*(import|from)[ \t]+[\w.]+.*$", re.M)
HEADER = ["student_a", "student_b", "similarity", "share_a", "share_b", "overlap_tokens", "flagged",
          "matches_published_solution"]


@dataclasses.dataclass
class Pair:
    """Two sides that share code: ``student_b`` is `PUBLISHED` when ``published``; ``slices_*`` are the
    ``(starts, ends)`` of the shared stretches in ``code_*``."""

    student_a: str
    student_b: str
    published: bool
    share_a: float
    share_b: float
    overlap: int
    code_a: str
    code_b: str
    slices_a: np.ndarray
    slices_b: np.ndarray

    @property
    def similarity(self):
        return max(self.share_a, self.share_b)

    @property
    def flagged(self):
        return self.similarity >= FLAG and self.overlap >= MIN_OVERLAP


@dataclasses.dataclass
class Report:
    """The pairs at or above `FLOOR`, most similar first; what was skipped (``(student, why)``); how many
    submissions were compared."""

    pairs: list
    skipped: list
    compared: int


def submission_blocks(path):
    """The code of a submission as the grader reads it: its top-level statements (a notebook's code cells'),
    `worker.UnreadableSubmission` if it cannot be read. Plain text parsing: nothing is run."""
    return [source.lstrip("\n") for _, source in worker.submission_cells(path)]


def _masked(code):
    """``code`` with each import line blanked: the same length, so positions still point into ``code``."""
    return IMPORT_LINE.sub(lambda m: " " * len(m.group(0)), code)


@dataclasses.dataclass
class _Code:
    """One side's code: ``text`` (its blocks joined by blank lines, as shown) and its fingerprint, taken of the
    blocks with each import line blanked and, between blocks, a number no other text holds: no run of tokens
    spans two blocks, so two files that put the same blocks side by side share nothing for it."""

    text: str
    fingerprint: CodeFingerprint
    starts: np.ndarray  # where each block starts in the fingerprinted text
    ends: np.ndarray  # where each block ends in ``text``

    @classmethod
    def of(cls, blocks, barriers, boilerplate=None, window=GUARANTEE - NOISE + 1):
        pieces, starts, ends, at, shown = [], [], [], 0, 0
        for number, block in enumerate(blocks):
            if number:
                pieces.append(f"\n{next(barriers):0{BARRIER}d}\n")
                at, shown = at + BARRIER + 2, shown + len(JOIN)
            starts.append(at)
            pieces.append(_masked(block))
            at, shown = at + len(block), shown + len(block)
            ends.append(shown)
        fingerprint = CodeFingerprint("submission.py", NOISE, window, boilerplate, language="python",
                                      fp=io.StringIO("".join(pieces)))
        return cls(JOIN.join(blocks), fingerprint, np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64))

    def shown(self, slices):
        """``slices`` (positions in the fingerprinted text) as positions in :attr:`text`."""
        if not len(self.starts) or not np.size(slices):
            return np.zeros((2, 0), dtype=np.int64)
        block = np.clip(np.searchsorted(self.starts, slices, side="right") - 1, 0, len(self.starts) - 1)
        return np.minimum(slices - block * BARRIER, self.ends[block]).astype(np.int64)

    def without(self, hashes):
        """A copy whose fingerprint ignores ``hashes`` (copydetect's documented attributes, filtered)."""
        old = self.fingerprint
        new = object.__new__(CodeFingerprint)
        new.__dict__.update(old.__dict__)
        new.hashes = old.hashes - hashes
        new.hash_idx = {h: i for h, i in old.hash_idx.items() if h in new.hashes}
        new.token_coverage = get_token_coverage(new.hash_idx, old.k, len(old.filtered_code))
        return dataclasses.replace(self, fingerprint=new)


def _pair(a, b, code_a, code_b, published=False):
    overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(code_a.fingerprint, code_b.fingerprint)
    if not overlap or max(share_a, share_b) < FLOOR:
        return None
    return Pair(a, b, published, float(share_a), float(share_b), int(overlap), code_a.text, code_b.text,
                code_a.shown(slices_a), code_b.shown(slices_b))


def _candidates(codes):
    """The pairs of students that share enough fingerprints to be worth comparing, and the hashes too common
    to count. An inverted index: each hash lists its holders, so pairs that share nothing cost nothing."""
    holders = {}
    for student, code in codes.items():
        for value in code.fingerprint.hashes:
            holders.setdefault(value, []).append(student)
    common_limit = max(COMMON_FLOOR, math.ceil(COMMON_SHARE * len(codes)))
    common = {value for value, held in holders.items() if len(held) > common_limit}
    shared = {}
    for held in holders.values():
        if 1 < len(held) <= common_limit:
            for i, a in enumerate(held):
                for b in held[i + 1:]:
                    shared[a, b] = shared.get((a, b), 0) + 1
    sizes = {student: len(code.fingerprint.hashes - common) or 1 for student, code in codes.items()}
    # Each kept fingerprint stands for about as many tokens as any other: a pair whose shared fingerprints are
    # under half the floor's share of the smaller side is far from the floor.
    chosen = [pair for pair, count in shared.items() if count >= FLOOR / 2 * min(sizes[pair[0]], sizes[pair[1]])]
    return sorted(chosen), common


def _bank_code(cells, barriers, boilerplate=None, window=1):
    """The code of bank cells (every hash of its token runs when ``window`` is 1, as copydetect takes
    boilerplate)."""
    return _Code.of(list(cells), barriers, boilerplate, window)


def compare(submissions, chapters, graded_bank=None):
    """The :class:`Report` of ``submissions`` (`mlpkit.grading.lms.Submission`s) for the ``chapters`` of
    ``graded_bank`` (default: the built-in bank), whose stubs are boilerplate. The published solutions are the
    built-in bank's, which anyone can read: of the same chapters, or of every chapter for an instructor's own bank."""
    graded_bank = graded_bank or bank.BUILT_IN
    barriers = itertools.count(10 ** (BARRIER - 1))
    stubs = [cell.source for chapter in chapters for cell in graded_bank.student_cells(chapter) if cell.kind == "code"]
    stubs.append(colab.install_cell())  # the released notebooks' set-up cell
    boilerplate = np.array(sorted(_bank_code(stubs, barriers).fingerprint.hashes))
    public = chapters if graded_bank.path == bank.BUILT_IN.path else bank.BUILT_IN.chapters
    reference = [source for _, source in bank.BUILT_IN.reference_cells(public)]
    published = _bank_code(reference, barriers, boilerplate, GUARANTEE - NOISE + 1)
    published_all = _bank_code(reference, barriers).fingerprint.hashes
    codes, skipped = {}, []
    for submission in sorted(submissions, key=lambda s: s.student):
        try:
            blocks = submission_blocks(submission.path)
            if sum(map(len, blocks)) > MAX_CODE:
                skipped.append((submission.student, f"not compared: more than {MAX_CODE:,} characters of code"))
                continue
            codes[submission.student] = _Code.of(blocks, barriers, boilerplate)
        except worker.UnreadableSubmission as error:
            skipped.append((submission.student, f"not compared: {error}"))
        except (UnicodeError, ValueError, RecursionError) as error:
            skipped.append((submission.student, f"not compared: its code cannot be tokenized ({type(error).__name__})"))
    pairs = [_pair(student, PUBLISHED, code, published, published=True) for student, code in codes.items()]
    own = {student: code.without(published_all) for student, code in codes.items()}
    chosen, common = _candidates(own)
    if common:
        own = {student: code.without(common) for student, code in own.items()}
    pairs += [_pair(a, b, own[a], own[b]) for a, b in chosen]
    pairs = sorted((p for p in pairs if p), key=lambda p: (not p.flagged, -p.similarity, p.student_a, p.student_b))
    return Report(pairs, skipped, len(codes))


def similarity_path(out_csv):
    """Where `mlpkit.grading.grader.grade` writes the pairs: ``NAME_similarity.csv`` beside ``NAME.csv``."""
    out_csv = pathlib.Path(out_csv)
    return out_csv.with_name(f"{out_csv.stem}_similarity.csv")


def write_csv(report, out_csv):
    """The pairs of ``report`` as a CSV (student names as text a spreadsheet never runs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for pair in report.pairs:
        writer.writerow([lms.csv_cell(pair.student_a), lms.csv_cell(pair.student_b), f"{pair.similarity:.3f}",
                         f"{pair.share_a:.3f}", f"{pair.share_b:.3f}", pair.overlap, "yes" if pair.flagged else "no",
                         "yes" if pair.published else "no"])
    units.write_atomic(similarity_path(out_csv), buffer.getvalue())
