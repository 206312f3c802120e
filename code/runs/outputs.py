"""Where the commands write: checked before any work starts, written whole or not at all.

``check_folder(path, option)`` and ``check_file(path, option)`` raise
``OutputError`` naming the option and what was expected when ``path`` cannot
be written: a file where a folder is expected (or the other way round), a
parent that is a file, a folder without write permission, a file system that
refuses (``/proc``, read-only, full: a small file is written there and
removed). The commands call them before loading data, training or grading, so
a bad output location costs seconds, not the whole run.

``staged_folder(path)`` lets a command write its files into a temporary folder
inside ``path``; only when the command finishes do they replace the files of
the same name in ``path``. A command that fails or is interrupted leaves
``path`` as it was (and removes ``path`` again if it created it); on Ctrl-C or
SIGTERM the command's last line says so. The temporary folder is hidden
(``.partial-HOST-PID-...``): one that a killed run (``kill -9``) left behind is
removed by the next ``check_folder`` of that folder, which says so.

For one file that other processes may be reading or writing at the same time
(a study's unit files and ``study.json``, which the parts of a sharded study
write into a shared folder): ``write_atomically(path, text)`` replaces it so
that readers see the old file or the whole new one, and ``create_once(path,
text)`` creates it whole unless it exists.
"""

import contextlib
import os
import pathlib
import shutil
import socket
import sys
import tempfile


class OutputError(ValueError):
    """An output location cannot be written; the message names the option and what was expected."""


def _existing_ancestor(path):
    """The nearest of ``path`` and its parents that exists (the current folder for a relative path)."""
    path = pathlib.Path(os.path.abspath(path))
    while not path.exists() and not path.is_symlink():
        path = path.parent
    return path


def _check_creatable(path, option, kind, shown=None):
    shown = path if shown is None else shown
    ancestor = _existing_ancestor(path)
    if not ancestor.is_dir():
        raise OutputError(f"{option} {shown}: cannot create this {kind}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {shown}: cannot write in {ancestor} (permission denied); choose another {kind}")
    _probe(pathlib.Path(path), option, kind, shown)


def _probe(folder, option, kind, shown):
    """Create ``folder`` (and its missing parents), write a small file in it and remove it, then remove the folders
    made: ``OutputError`` naming ``shown`` if the file system refuses (``/proc``, read-only, full)."""
    created = _missing_folders(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".mlpkit-probe-", dir=folder)
        try:
            os.write(handle, b"mlpkit checks that it can write here\n")
            os.fsync(handle)
        finally:
            os.close(handle)
            os.unlink(probe)
    except OSError as error:
        place = "folder" if kind == "folder" else "place for the file"
        raise OutputError(f"{option} {shown}: cannot be written ({error.strerror or error}); choose another "
                          f"{place}") from None
    finally:
        for made in created:
            with contextlib.suppress(OSError):
                made.rmdir()


def check_folder(path, option, empty=False):
    """Raise ``OutputError`` unless ``path`` is a writable folder or can be created as one (a file is written in
    it and removed, so that a file system that refuses is found out now); nothing is left that was not there.

    Unfinished output a killed run left in ``path`` (:func:`remove_stale`) is removed first, saying so.
    ``empty=True`` also refuses a folder that holds anything else.
    """
    path = pathlib.Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {path}: is a file; expected a folder (it is created if missing)")
    if path.is_dir():
        remove_stale(path)
    if empty and path.is_dir() and any(not _is_stage(entry) for entry in path.iterdir()):
        raise OutputError(f"{option} {path}: the folder is not empty; expected a new or empty folder")
    _check_creatable(path, option, "folder")


def check_file(path, option):
    """Raise ``OutputError`` unless ``path`` names a file that can be written (its folder is created if missing;
    a file is written beside it and removed)."""
    path = pathlib.Path(path)
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a folder; expected the name of a file to write")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{option} {path}: the file cannot be overwritten (permission denied)")
    _check_creatable(path.parent, option, "file's folder", shown=path)


# -- unfinished output ---------------------------------------------------------------------

STAGE = ".partial-"  # the hidden folder :func:`staged_folder` writes in: .partial-HOST-PID-RANDOM


def _stage_prefix():
    return f"{STAGE}{socket.gethostname()}-{os.getpid()}-"


def _is_stage(entry):
    return entry.name.startswith(STAGE) and entry.is_dir() and not entry.is_symlink()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _stale(entry):
    """Whether the hidden folder ``entry`` is what a killed run left: its process (on this machine) is gone, or
    its name says no process (an older kit's)."""
    parts = entry.name[len(STAGE):].rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return True
    host, pid = parts[0], int(parts[1])
    return host == socket.gethostname() and not _alive(pid)


def remove_stale(path):
    """Remove the unfinished output that killed runs (``kill -9``, a power cut) left in the folder ``path``, saying
    so on stderr; the list of what was removed. A run still going, here or on another machine, is left alone."""
    removed = []
    for entry in sorted(pathlib.Path(path).iterdir()):
        if _is_stage(entry) and _stale(entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
            print(f"mlpkit: removed {entry}, the unfinished output of a run that was killed", file=sys.stderr)
    return removed


def _missing_folders(path):
    """``path`` and those of its parents that do not exist yet, innermost first."""
    missing = []
    path = pathlib.Path(os.path.abspath(path))
    while not path.exists():
        missing.append(path)
        path = path.parent
    return missing


def _replace(source, target):
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() and source.is_dir():
        target.unlink()
    os.replace(source, target)


@contextlib.contextmanager
def staged_folder(path):
    """Yield a temporary folder inside ``path``; on success move what was written there into ``path``.

    On an exception (``KeyboardInterrupt`` included) the temporary folder is
    removed, and so are the folders this call created; ``path`` keeps what it
    held before.
    """
    path = pathlib.Path(path)
    created = _missing_folders(path)
    path.mkdir(parents=True, exist_ok=True)
    stage = pathlib.Path(tempfile.mkdtemp(prefix=_stage_prefix(), dir=path))
    try:
        yield stage
        for entry in sorted(stage.iterdir()):
            _replace(entry, path / entry.name)
    except BaseException as error:
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(error, KeyboardInterrupt):  # Ctrl-C or SIGTERM: the last line says what was removed
            from mlpkit.runs import interrupts

            interrupts.note(f"removed the unfinished output in {path}")
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def temporary_name(path):
    """A name beside ``path`` that no other process, on this machine or another, writes at the same time."""
    path = pathlib.Path(path)
    return path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.partial")


def write_atomically(path, text):
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    temporary = temporary_name(path)
    temporary.write_text(text)
    os.replace(temporary, path)


def create_once(path, text):
    """Create ``path`` holding ``text`` unless it exists, atomically; ``True`` if this call created it."""
    path = pathlib.Path(path)
    temporary = temporary_name(path)
    temporary.write_text(text)
    try:
        os.link(temporary, path)  # fails if path exists, even when another machine just created it
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: a narrow race between the test and the rename remains
        if path.exists():
            return False
        os.replace(temporary, path)
        return True
    finally:
        temporary.unlink(missing_ok=True)
