"""Kernel confinement for the process that runs a submission: Landlock and seccomp, through ctypes.

`mlpkit.grading.sandbox` forks a child per submission and calls :func:`confine` in it
before any of the submission's code runs. Unlike the audit hook the child
installs afterwards (which plain Python can get around, e.g. with ctypes), these
limits are kept by the kernel and cannot be lifted by the process itself.

What each layer stops:

- ``PR_SET_NO_NEW_PRIVS``: no program started later could gain privileges
  (required by the two layers below).
- Landlock (file system): opening anything for reading outside the folders
  given as ``readable`` and the working folder, and any writing, creating,
  removing, renaming or linking outside the working folder (no device nodes,
  FIFOs or sockets in it either). With Landlock ABI 4 or later, binding and
  connecting TCP sockets; with ABI 6 or later, signals to processes and
  abstract Unix sockets outside the confined process.
- seccomp (system calls, answered with ``EPERM``): starting programs
  (``execve``), new processes (``fork``, ``clone`` without ``CLONE_THREAD``,
  new namespaces), sockets, signals to any process but itself, tracing or
  reading other processes' memory, ``mount`` and its kin, ``bpf``,
  ``perf_event_open``, ``io_uring``, keyrings, shared memory and message
  queues, ``memfd_create``, raising its own resource limits, changing file
  modes, owners and extended attributes (which Landlock does not cover), other
  processes' priorities, and the machine's settings (clock, modules, reboot).

What they do not stop: reading what ``readable`` grants (Python, the
libraries, ``/proc/self``, CPU information) and metadata everywhere (``stat``
and listing a path's existence are not file accesses to Landlock); using
CPU time (the parent's wall clock limits it) and memory (``RLIMIT_AS``, set
before :func:`confine` and fixed by it); using file descriptors opened before
(the pipe to the parent); writing into the working folder up to
``RLIMIT_FSIZE``. The limits also hold for every thread started later.
"""

import ctypes
import ctypes.util
import dataclasses
import errno
import functools
import os
import sys

# System call numbers, the same on x86_64 and aarch64.
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# Landlock's file system rights (bit i is right i) and the ABI that introduced the last ones.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR, REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG, \
    MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM, REFER, TRUNCATE, IOCTL_DEV = (1 << i for i in range(16))
_FS_RIGHTS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
# the rights a rule on a file (not a folder) may hold
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2  # ABI 6

# libseccomp's constants.
_ACT_ALLOW = 0x7FFF0000
_FLTATR_CTL_TSYNC = 4
_CMP_NE, _CMP_MASKED_EQ = 1, 7
CLONE_THREAD = 0x10000
_CLONE_NAMESPACES = (0x20000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)

# ioctl requests that set a file's attribute flags (immutable, append-only): FS_IOC_SETFLAGS, its 32-bit form,
# FS_IOC_FSSETXATTR.
FLAG_IOCTLS = (0x40086602, 0x40046602, 0x401C5820)
# Refused outright (names the architecture does not know are skipped).
REFUSED = [
    "execve", "execveat", "fork", "vfork", "socket", "socketpair", "unshare", "setns", "ptrace",
    "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_getfd", "pidfd_send_signal",
    "mount", "umount2", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    "pivot_root", "chroot", "open_by_handle_at", "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key",
    "memfd_create", "memfd_secret", "shmget", "shmat", "mq_open", "msgget", "semget", "setrlimit",
    "kcmp", "personality",
    # Changes Landlock does not cover (file modes, owners, attributes) or that reach other processes or the machine.
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
    "setpriority", "ioprio_set", "migrate_pages", "move_pages", "name_to_handle_at",
    "reboot", "swapon", "swapoff", "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "iopl", "ioperm", "syslog", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "sethostname", "setdomainname", "quotactl", "vhangup",
]


def _ERRNO(code):
    return 0x00050000 | (code & 0xFFFF)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _ArgCmp(ctypes.Structure):  # struct scmp_arg_cmp
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


@dataclasses.dataclass
class Status:
    """What the kernel offers: the Landlock ABI (0: none), whether libseccomp loads, and what is missing."""

    landlock_abi: int
    seccomp: bool
    reason: str


@functools.lru_cache(maxsize=None)
def _libc():
    return ctypes.CDLL(None, use_errno=True)


@functools.lru_cache(maxsize=None)
def _libseccomp():
    """libseccomp, or None. Loaded once; a forked child inherits it."""
    for name in ("libseccomp.so.2", ctypes.util.find_library("seccomp")):
        try:
            if name:
                lib = ctypes.CDLL(name, use_errno=True)
                lib.seccomp_init.restype = ctypes.c_void_p
                lib.seccomp_init.argtypes = [ctypes.c_uint32]
                lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
                lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
                lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                                       ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
                lib.seccomp_load.argtypes = [ctypes.c_void_p]
                lib.seccomp_release.argtypes = [ctypes.c_void_p]
                return lib
        except (OSError, AttributeError):
            pass
    return None


def _syscall(number, *args):
    result = _libc().syscall(ctypes.c_long(number), *args)
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"system call {number}: {os.strerror(code)}")
    return result


def status():
    """What the kernel offers here (see :class:`Status`)."""
    if not sys.platform.startswith("linux"):
        return Status(0, False, f"Landlock and seccomp need Linux (this is {sys.platform})")
    try:
        abi = _syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except OSError as error:
        abi = 0
        landlock = f"the kernel offers no Landlock ({os.strerror(error.errno)})"
    seccomp = _libseccomp() is not None
    missing = [] if abi else [landlock]
    if not seccomp:
        missing.append("libseccomp (libseccomp.so.2) cannot be loaded")
    return Status(abi, seccomp, "; ".join(missing))


def available():
    """True when :func:`confine` can confine this process (Linux, Landlock ABI 1 or later, libseccomp)."""
    found = status()
    return found.landlock_abi >= 1 and found.seccomp


def confine(workdir, readable):
    """Confine this process for good: read-only access beneath each path of ``readable`` (those that
    do not exist are skipped), full access beneath ``workdir``, and the system calls of ``REFUSED``
    and their kin refused. Call it in a process with one thread. Raises ``OSError`` or
    ``RuntimeError`` if any step fails: the caller must then not run untrusted code."""
    seccomp = _libseccomp()
    found = status()
    if found.landlock_abi < 1 or seccomp is None:
        raise RuntimeError(f"kernel confinement is not available: {found.reason}")
    if len(os.listdir("/proc/self/task")) != 1:
        raise RuntimeError("confine() must run before any other thread starts (Landlock binds the calling thread)")
    if _libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    _landlock(found.landlock_abi, workdir, readable)
    _seccomp(seccomp)


def _landlock(abi, workdir, readable):
    fs = _FS_RIGHTS[min(abi, 5)]
    attr = _RulesetAttr(handled_access_fs=fs)
    size = 8  # the struct grew with the ABI: pass the size this kernel knows
    if abi >= 4:
        attr.handled_access_net, size = _NET_BIND_TCP | _NET_CONNECT_TCP, 16  # no rule: all TCP refused
    if abi >= 6:
        attr.scoped, size = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL, 24
    ruleset = _syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        read = EXECUTE | READ_FILE | READ_DIR  # EXECUTE: mapping libraries; execve itself is refused by seccomp
        rules = [(os.fspath(path), read) for path in readable]
        rules.append((os.fspath(workdir), fs & ~(MAKE_CHAR | MAKE_BLOCK | MAKE_FIFO | MAKE_SOCK)))
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except (FileNotFoundError, NotADirectoryError):
                continue
            try:
                if not os.path.isdir(f"/proc/self/fd/{fd}"):
                    rights &= _FILE_RIGHTS
                    if path in ("/dev/null", "/dev/zero"):
                        rights |= WRITE_FILE  # writing to them goes nowhere
                rule = _PathBeneathAttr(allowed_access=rights & fs, parent_fd=fd)
                _syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                         ctypes.byref(rule), ctypes.c_uint32(0))
            finally:
                os.close(fd)
        _syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)


def _seccomp(lib):
    ctx = lib.seccomp_init(_ACT_ALLOW)
    if not ctx:
        raise RuntimeError("seccomp_init failed")
    me = os.getpid()
    try:
        def refuse(name, *conditions, code=errno.EPERM):
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:  # not a system call of this architecture
                return
            array = (_ArgCmp * max(1, len(conditions)))(*[_ArgCmp(*c) for c in conditions])
            result = lib.seccomp_rule_add_array(ctx, _ERRNO(code), number, len(conditions), array)
            if result < 0:
                raise OSError(-result, f"seccomp_rule_add({name}): {os.strerror(-result)}")

        if lib.seccomp_attr_set(ctx, _FLTATR_CTL_TSYNC, 1) < 0:  # every thread of the process, not only this one
            raise RuntimeError("seccomp: cannot synchronise the filter across threads")
        for name in REFUSED:
            refuse(name)
        # its flags sit in memory, out of the filter's reach: glibc falls back to clone
        refuse("clone3", code=errno.ENOSYS)
        refuse("clone", (0, _CMP_MASKED_EQ, CLONE_THREAD, 0))  # a new process, not a thread
        for flag in _CLONE_NAMESPACES:
            refuse("clone", (0, _CMP_MASKED_EQ, flag, flag))  # a new namespace
        refuse("prlimit64", (2, _CMP_NE, 0, 0))  # setting a limit; reading one stays allowed
        for request in FLAG_IOCTLS:  # the immutable and append-only flags: a file the clean-up could not remove
            refuse("ioctl", (1, _CMP_MASKED_EQ, 0xFFFFFFFF, request))
        for name in ("kill", "tgkill", "tkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
            refuse(name, (0, _CMP_NE, me, 0))  # a signal to any process but this one
        result = lib.seccomp_load(ctx)
        if result < 0:
            raise OSError(-result, f"seccomp_load: {os.strerror(-result)}")
    finally:
        lib.seccomp_release(ctx)
