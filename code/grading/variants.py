"""Course keys: a course's own variant of every hidden check's random inputs.

A bank's checks draw their random inputs from ``variant_rng(SEED)`` and
their variable parameters from ``variant_choice(NAME, OPTIONS)``. Without a
course key these give what anyone can compute from the bank (the seed as
written, the first option); with one, they give values derived from the
key, the chapter and the seed or name, which nobody without the key can
compute. So an instructor who keeps the key private grades hidden checks
whose expected values are not in any public repository, and the same key
always gives the same values (regrades and reruns agree).

The key is read only in the grader's own process while it loads a checks
file; it is never sent to a submission's process, which receives the drawn
inputs like any other argument.
"""

import contextlib
import contextvars
import hashlib
import hmac
import pathlib
import secrets

import numpy as np

KEY_BYTES = 32
HEADER = "mlpkit course key\n"

# (key bytes, chapter) while a checks file loads; None outside `drawing` or without a key.
_drawing = contextvars.ContextVar("mlpkit_course_key", default=None)


class CourseKeyError(ValueError):
    """A course key file that cannot be used; the message says what was expected."""


def new_key(path):
    """Write a new random course key to ``path`` (which must not exist), readable by its owner only."""
    path = pathlib.Path(path)
    if path.exists():
        raise CourseKeyError(f"{path} exists: a course key is never overwritten (its course's grades depend on it)")
    text = HEADER + secrets.token_hex(KEY_BYTES) + "\n"
    with open(path, "x", encoding="ascii") as file:  # "x": refuse to replace a file made meanwhile
        path.chmod(0o600)
        file.write(text)
    return path


def read_key(path):
    """The key's bytes from a file written by :func:`new_key`."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise CourseKeyError(f"--course-key {path}: cannot be read ({type(error).__name__}); "
                             "`mlpkit exercises new-key FILE` writes one") from None
    body = text[len(HEADER):].strip() if text.startswith(HEADER) else ""
    try:
        key = bytes.fromhex(body)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise CourseKeyError(f"--course-key {path}: not a course key (expected a file written by "
                             f"`mlpkit exercises new-key FILE`: a first line {HEADER.strip()!r}, then "
                             f"{2 * KEY_BYTES} hexadecimal digits)")
    return key


@contextlib.contextmanager
def drawing(key, chapter):
    """While a chapter's checks file loads: draw its variants from ``key`` (bytes, or None for the bank's own)."""
    token = _drawing.set((key, chapter) if key else None)
    try:
        yield
    finally:
        _drawing.reset(token)


def _derived(label):
    key, chapter = _drawing.get()
    digest = hmac.new(key, f"{chapter}\0{label}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "little")


def variant_rng(seed):
    """``np.random.default_rng(seed)``, or under a course key a generator seeded from the key, chapter and seed."""
    if _drawing.get() is None:
        return np.random.default_rng(seed)
    return np.random.default_rng(_derived(f"rng {seed}"))


def variant_choice(name, options):
    """One of ``options`` for the exercise parameter ``name``: the first without a course key, else the key's."""
    options = list(options)
    if not options:
        raise ValueError(f"variant_choice({name!r}): no options")
    if _drawing.get() is None:
        return options[0]
    return options[_derived(f"choice {name}") % len(options)]
