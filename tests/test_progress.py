"""Progress reports (mlpkit.progress): whole lines spaced in time in a log, a redrawn bar on a terminal."""

import io
import os

import pytest

from mlpkit import progress


def test_progress_in_a_log_is_whole_lines():
    log = io.StringIO()
    bar = progress.bar(20, "study", "unit", initial=4, file=log)
    assert isinstance(bar, progress.LogLines)
    bar.min_seconds = 0
    for _ in range(16):
        bar.set_postfix(loss=3.4028e38 * 0.999, accuracy="91.20%")
        bar.update()
    bar.close()
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0] == "study: 4/20 units (20%), 0:00 elapsed"
    assert lines[-1] == "study: 20/20 units (100%), 0:00 elapsed; loss=3.399e+38, accuracy=91.20%"
    assert 3 <= len(lines) <= 11  # about one line per tenth of the work, not one per step


def test_progress_lines_are_spaced_in_time():
    log = io.StringIO()
    bar = progress.LogLines(1000, "grading", "submission", file=log, min_seconds=3600)
    for _ in range(1000):
        bar.update()
    assert len(log.getvalue().splitlines()) == 2  # the start and the end; nothing in between within the hour


@pytest.mark.parametrize("value, shown", [(0.123456789, "0.1235"), (float("nan"), "nan"), (float("inf"), "inf"),
                                          (1.2345678901234567e40, "1.235e+40"), (12000, "12,000"), ("7.5%", "7.5%")])
def test_numbers_in_progress_lines(value, shown):
    assert progress.fmt_number(value) == shown


def test_a_terminal_gets_a_redrawn_bar():
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal:
        bar = progress.bar(3, "training", "epoch", file=terminal)
        assert not isinstance(bar, progress.LogLines)
        bar.update()
        bar.close()
    os.close(leader)
