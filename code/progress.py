"""Progress bars that suit where the output goes.

On a terminal, :func:`bar` is a tqdm bar redrawn in place. Anywhere else (a log file, a
pipe, a batch job, a notebook without widgets) redrawing in place writes carriage
returns into the log, so :class:`LogLines` writes a whole line instead at the start,
about every tenth of the work (at most every few seconds) and at the end::

    study: 3/12 units (25%), 0:42 elapsed, about 2:06 left

Numbers passed to ``set_postfix`` are shown with four significant digits, so a loss that
blows up reads ``loss=3.403e+38``, not forty digits.
"""

import math
import sys
import time


def fmt_number(value):
    """A float as a reader wants it in a progress line: 4 significant digits, ``nan``
    and ``inf`` as such."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def _clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    )


class LogLines:
    """A progress report in whole lines, for output that is not a terminal (same calls
    as the tqdm bar used)."""

    def __init__(self, total, desc, unit, initial=0, file=None, min_seconds=5.0):
        self.total, self.desc, self.unit = int(total), desc, unit
        # a resumed run starts part-way; its pace counts from here
        self.n = self.first = int(initial)
        self.file = file or sys.stderr
        self.min_seconds = min_seconds
        self.postfix = ""
        self.start = self.last_time = time.monotonic()
        self.last_tenth = self._tenth()
        self._write()

    def _tenth(self):
        return 10 * self.n // self.total if self.total else 10

    def _write(self):
        elapsed = time.monotonic() - self.start
        share = f" ({self.n / self.total:.0%})" if self.total else ""
        done = f"{self.n:,}/{self.total:,} {self.unit}s{share}"
        line = f"{self.desc}: {done}, {_clock(elapsed)} elapsed"
        done_here = self.n - self.first
        if 0 < done_here and self.n < self.total:
            line += (
                f", about {_clock(elapsed / done_here * (self.total - self.n))} left"
            )
        if self.postfix:
            line += f"; {self.postfix}"
        print(line, file=self.file, flush=True)
        self.last_time = time.monotonic()

    def update(self, n=1):
        self.n += n
        tenth = self._tenth()
        if self.n >= self.total or (
            tenth > self.last_tenth
            and time.monotonic() - self.last_time >= self.min_seconds
        ):
            self.last_tenth = tenth
            if self.n <= self.total:
                self._write()

    def set_postfix(self, **values):
        self.postfix = ", ".join(
            f"{key}={fmt_number(value)}" for key, value in values.items()
        )

    def close(self):
        pass


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _notebook_with_widgets():
    if "ipykernel" not in sys.modules:
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def bar(total, desc, unit, initial=0, file=None):
    """A progress bar with ``update()``, ``set_postfix()`` and ``close()``: tqdm on a
    terminal, whole lines elsewhere."""
    stream = file or sys.stderr
    if _notebook_with_widgets():
        from tqdm.notebook import tqdm

        return _Formatted(tqdm(total=total, desc=desc, unit=unit, initial=initial))
    if _is_terminal(stream):
        from tqdm import tqdm

        return _Formatted(
            tqdm(total=total, desc=desc, unit=unit, initial=initial, file=stream)
        )
    return LogLines(total, desc, unit, initial=initial, file=stream)


class _Formatted:
    """A tqdm bar whose postfix numbers are formatted like :class:`LogLines`'s."""

    def __init__(self, bar):
        self._bar = bar

    def update(self, n=1):
        self._bar.update(n)

    def set_postfix(self, **values):
        self._bar.set_postfix({key: fmt_number(value) for key, value in values.items()})

    def close(self):
        self._bar.close()
