"""What the book build has already executed, so that the tests need not run a chapter twice.

``make book`` executes every chapter in a fresh kernel, and MyST-NB keeps
each successful run in ``_build/.jupyter_cache`` (a chapter that fails is not
kept). Those runs are only valid for the code the chapters imported: the
Makefile records :func:`code_hash` in ``_build/.code-hash`` after a build and
clears the cache when the hash changes.

``python book/_ext/execution_cache.py code-hash`` prints the hash (the
Makefile uses it); :func:`executed_by_book` tells a test whether a chapter,
as its source reads now, ran without error against the code as it is now.
"""

import hashlib
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build"
#: What the chapters' results depend on besides their own source.
CODE_FILES = ("code/**/*.py", "code/grids/*.json", "code/results/*.json", "requirements.lock")


def code_hash(root=ROOT):
    """A short hash of every file in ``CODE_FILES`` (names and contents)."""
    digest = hashlib.sha256()
    for pattern in CODE_FILES:
        for path in sorted(root.glob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def executed_by_book(source, build=BUILD, root=ROOT):
    """Whether the last book build executed ``source`` (a chapter's .md) as it is now, without error, with this code."""
    try:
        if (build / ".code-hash").read_text().strip() != code_hash(root):
            return False
    except OSError:
        return False
    cache_dir = build / ".jupyter_cache"
    if not cache_dir.is_dir():
        return False
    from jupyter_cache import get_cache

    try:
        record = get_cache(str(cache_dir)).get_cached_project_nb(str(pathlib.Path(source).resolve()))
    except Exception:  # not in the cache's project, or unreadable: then it has not been shown to run
        return False
    return record is not None


if __name__ == "__main__":
    if sys.argv[1:] != ["code-hash"]:
        sys.exit("usage: python book/_ext/execution_cache.py code-hash")
    print(code_hash())
