"""Removing a submission's working folder, whatever the submission left in it.

A submission may nest folders thousands deep (past the length of a path, and
past the recursion limit of ``shutil.rmtree``), take away its own permissions
on them, or try to make a file immutable (the kernel's confinement refuses
that; the flags are cleared here anyway where they are found). The folder is
emptied level by level through folder descriptors: each subfolder of a
subfolder is moved up beside the others before its parent is removed, so no
path grows long, no more than two folders are open at a time and nothing
recurses. Nothing here raises; :func:`remove_tree` says whether the folder
is gone.
"""

import contextlib
import errno
import fcntl
import os
import stat
import struct

FS_IOC_GETFLAGS, FS_IOC_SETFLAGS = 0x80086601, 0x40086602
FS_IMMUTABLE_FL, FS_APPEND_FL = 0x10, 0x20
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _clear_flags(name, dir_fd):
    """Clear the immutable and append-only flags of ``name`` (a file or folder in ``dir_fd``), if set."""
    with contextlib.suppress(OSError):
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
            return
        fd = os.open(name, _OPEN, dir_fd=dir_fd)
        try:
            flags = struct.unpack("l", fcntl.ioctl(fd, FS_IOC_GETFLAGS, struct.pack("l", 0)))[0]
            if flags & (FS_IMMUTABLE_FL | FS_APPEND_FL):
                fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("l", flags & ~(FS_IMMUTABLE_FL | FS_APPEND_FL)))
        finally:
            os.close(fd)


def _unlink(name, dir_fd, folder=False):
    remove = os.rmdir if folder else os.unlink
    try:
        remove(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.EACCES):
            return False
        _clear_flags(name, dir_fd)
        try:
            remove(name, dir_fd=dir_fd)
        except OSError:
            return False
    return True


def _open_folder(name, dir_fd):
    with contextlib.suppress(OSError):
        os.chmod(name, 0o700, dir_fd=dir_fd, follow_symlinks=False)
    try:
        return os.open(name, _OPEN | os.O_DIRECTORY, dir_fd=dir_fd)
    except OSError:
        _clear_flags(name, dir_fd)
        try:
            return os.open(name, _OPEN | os.O_DIRECTORY, dir_fd=dir_fd)
        except OSError:
            return None


def _entries(fd):
    try:
        with os.scandir(fd) as entries:
            return [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    except OSError:
        return []


def _empty_one_level(root, moved):
    """Remove the files of ``root`` and of its subfolders, move their subfolders up into ``root`` and remove the
    emptied subfolders; return how many entries went (0: nothing more can be done)."""
    done = 0
    for name, is_folder in _entries(root):
        if not is_folder:
            done += _unlink(name, root)
            continue
        fd = _open_folder(name, root)
        if fd is None:
            continue
        try:
            for inner, inner_folder in _entries(fd):
                if inner_folder:
                    moved += 1
                    with contextlib.suppress(OSError):
                        os.rename(inner, f".up-{moved}", src_dir_fd=fd, dst_dir_fd=root)
                        done += 1
                else:
                    done += _unlink(inner, fd)
        finally:
            os.close(fd)
        done += _unlink(name, root, folder=True)
    return done, moved


def remove_tree(path):
    """Remove the folder ``path`` and all in it, without recursion; ``True`` if it is gone. Never raises."""
    path = os.fspath(path)
    root = _open_folder(path, None)
    if root is None:
        return not os.path.lexists(path)
    moved = 0
    try:
        while True:
            done, moved = _empty_one_level(root, moved)
            if not done:
                break
    finally:
        os.close(root)
    _unlink(path, None, folder=True)
    return not os.path.lexists(path)
