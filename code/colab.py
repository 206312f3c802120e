"""The set-up cell that makes a notebook of the course run where mlpkit is missing.

Each chapter's notebook and each exercise notebook of a release begins with
:data:`INSTALL_CELL`: in Colab or a fresh Jupyter it installs mlpkit from the
course repository (:data:`REPOSITORY`) without changing any package already
installed there; where mlpkit is installed (the book's build, the grader) it
only says so.
"""

#: The course repository and branch the set-up cell installs mlpkit from; the
#: same as ``repository`` in ``_config.yml`` (tests/test_package.py checks).
REPOSITORY = ("https://github.com/mlpkit/mlpkit", "main")

INSTALL_CELL = """\
# Set-up: this notebook imports the course package `mlpkit`. Where it is not
# installed (Colab, a fresh Jupyter), this cell installs it from the course
# repository and keeps every package already here at its version: Colab's own
# TensorFlow, Keras and NumPy are never downgraded or reinstalled. Where mlpkit
# is installed, the cell does nothing else.
import importlib
import importlib.metadata
import importlib.util
import re
import socket
import subprocess
import sys
import tempfile
import urllib.parse

MLPKIT = "mlpkit @ git+{url}@{branch}"
if importlib.util.find_spec("mlpkit") is None:
    print(f"mlpkit is not installed here; installing {{MLPKIT}} (a minute or two) ...")
    keep = {{}}  # every installed distribution, pinned at its version
    for dist in importlib.metadata.distributions():
        name, version = dist.metadata["Name"], dist.version
        if name and version and re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version):
            key = re.sub(r"[-_.]+", "-", name).lower()
            keep.setdefault(key, f"{{name}}=={{version}}")
    pinned = "\\n".join(sorted(keep.values())) + "\\n"
    named = tempfile.NamedTemporaryFile
    with named("w", suffix="-installed.txt", delete=False) as pins:
        pins.write(pinned)
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    if subprocess.run([*pip, "--constraint", pins.name, MLPKIT]).returncode != 0:
        host = urllib.parse.urlparse(MLPKIT.split("git+", 1)[1]).hostname
        try:  # pip fails the same way offline: tell the network from versions
            socket.create_connection((host, 443), timeout=10).close()
        except OSError as error:
            raise RuntimeError(
                f"the network could not be reached: no connection to {{host}} "
                f"({{error}}), where mlpkit is installed from. Connect this "
                "notebook to the internet and run this cell again."
            ) from None
        raise RuntimeError(
            "pip could not install mlpkit without changing a package installed "
            "here (its message is above); mlpkit needs TensorFlow >=2.16,<3 "
            "and Keras >=3.6,<4"
        )
    importlib.invalidate_caches()
    print("mlpkit is installed.")
else:
    print("mlpkit is installed.")"""


def install_cell(url=None, branch=None):
    """The set-up cell's source, installing from ``url`` at ``branch``
    (default: :data:`REPOSITORY`)."""
    default_url, default_branch = REPOSITORY
    return INSTALL_CELL.format(url=url or default_url, branch=branch or default_branch)
