"""What the grader reads about a submission's process from outside it, in the kernel's ``/proc``: its memory,
threads, CPU time and the wall-clock time it was not kept waiting, and the disk its folder takes. The process
can neither change nor hide any of it. Each returns a harmless value (0, None, the plain clock) where the
file cannot be read: the process has just ended."""

import os
import time


def rss(pid):
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def within_disk_limit(workdir, limit, most_files):
    """Whether the files under ``workdir`` take at most ``limit`` bytes of disk and number at most ``most_files``
    (the walk stops as soon as either is passed; links are not followed)."""
    used, files, stack = 0, 0, [workdir]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                files += 1
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    used += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
                if used > limit or files > most_files:
                    return False
    return True


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def threads(pid):
    """How many threads the process ``pid`` has (0 if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return 0


def cpu_seconds(pid):
    """The CPU time (user and system) the process ``pid`` has used, all its threads together, from the kernel's
    accounting in ``/proc/PID/stat``; None if it cannot be read. The process cannot change or hide it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()  # the name in parentheses may hold anything
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime and stime, the 14th and 15th fields
    except (OSError, IndexError, ValueError):
        return None


def wall_clock(pid):
    """Wall-clock seconds, less those the process ``pid``'s main thread spent waiting for a CPU (the kernel's
    ``run_delay`` in ``/proc/PID/schedstat``, where it keeps one): sleeping and blocking count, a busy machine
    does not."""
    try:
        with open(f"/proc/{pid}/schedstat") as schedstat:
            waited = int(schedstat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        waited = 0.0
    return time.monotonic() - waited
