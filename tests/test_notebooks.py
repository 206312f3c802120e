"""Every chapter as a Jupyter notebook: made from its source, and run top to bottom in a fresh kernel.

The notebooks are the ones `make notebooks` writes (book/_ext/chapter_notebooks.py):
the MyST source with a set-up cell first that installs mlpkit from the
repository where it is missing. The committed copies in book/ (what Colab and
Binder open) must match the sources; each is executed with nbclient in a
temporary folder, as a student meets it outside the book. A cell that fails
is a failed test.
"""

import importlib.util
import json
import pathlib
import subprocess
import sys
import urllib.parse

import pytest

from mlpkit.quiet import leaked_lines

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("chapter_notebooks", ROOT / "book" / "_ext" / "chapter_notebooks.py")
chapter_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(chapter_notebooks)

spec = importlib.util.spec_from_file_location("execution_cache", ROOT / "book" / "_ext" / "execution_cache.py")
execution_cache = importlib.util.module_from_spec(spec)
spec.loader.exec_module(execution_cache)

CHAPTERS = [path.stem for path in chapter_notebooks.chapters()]
URL, BRANCH = chapter_notebooks.repository()

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def test_every_chapter_has_a_notebook():
    assert {"perceptron", "xor", "gradients", "training", "speed", "evaluation"} <= set(CHAPTERS)
    assert "intro" not in CHAPTERS and "bibliography" not in CHAPTERS  # pages without code


def test_committed_notebooks_match_their_sources():
    assert chapter_notebooks.stale(ROOT / "book") == [], "run `make notebooks` and commit book/*.ipynb"


def test_check_command_names_a_stale_notebook(tmp_path):
    chapter_notebooks.write(tmp_path)
    (tmp_path / "xor.ipynb").write_text((tmp_path / "xor.ipynb").read_text().replace("XOR", "XNOR", 1))
    result = subprocess.run(
        [sys.executable, str(ROOT / "book" / "_ext" / "chapter_notebooks.py"), "check", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "xor" in result.stderr and "make notebooks" in result.stderr


def test_first_cell_installs_from_the_configured_repository():
    for chapter in CHAPTERS:
        nb = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
        first = nb.cells[0]
        assert first.cell_type == "code" and f"git+{URL}@{BRANCH}" in first.source
        assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def _run_setup_cell(mlpkit_present, pip_status=0, online=True):
    # Run the set-up cell in a fresh interpreter where `mlpkit` is (or seems)
    # missing; record the pip command, and the constraints file it names,
    # instead of running it (nothing is installed from the network here).
    # `online`: whether a connection to the repository's host succeeds (recorded too).
    cell = nbformat.read(ROOT / "book" / "xor.ipynb", as_version=4).cells[0].source
    harness = (
        "import importlib.util, json, pathlib, socket, subprocess\n"
        "class FakeConnection:\n"
        "    def close(self):\n"
        "        pass\n"
        "def fake_connect(address, timeout=None, *args):\n"
        "    calls.append({'connect': list(address)})\n"
        f"    if not {online}:\n"
        "        raise socket.gaierror(-3, 'Temporary failure in name resolution')\n"
        "    return FakeConnection()\n"
        "socket.create_connection = fake_connect\n"
        "calls = []\n"
        "real_find_spec = importlib.util.find_spec\n"
        f"importlib.util.find_spec = lambda name, *a: (real_find_spec(name, *a) if {mlpkit_present} or name != "
        "'mlpkit' else None)\n"
        "def fake_run(args, **kw):\n"
        "    files = {a: pathlib.Path(a).read_text() for a in args if a.endswith('-installed.txt')}\n"
        "    calls.append({'args': args, 'files': files})\n"
        f"    return subprocess.CompletedProcess(args, {pip_status})\n"
        "subprocess.run = fake_run\n"
        "try:\n" + "".join(f"    {line}\n" for line in cell.splitlines()) + "except RuntimeError as error:\n"
        "    print('ERROR=' + str(error))\n"
        "print('CALLS=' + json.dumps(calls))\n"
    )
    result = subprocess.run([sys.executable, "-c", harness], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    printed, calls = result.stdout.rsplit("CALLS=", 1)
    return printed, json.loads(calls)


def _installed():
    from importlib import metadata

    return {dist.metadata["Name"].lower(): dist.version for dist in metadata.distributions() if dist.metadata["Name"]}


def test_setup_cell_installs_mlpkit_where_it_is_missing_and_says_so():
    printed, calls = _run_setup_cell(mlpkit_present=False)
    assert len(calls) == 1 and "not installed" in printed and "installing" in printed
    args = calls[0]["args"]
    assert args[:4] == [sys.executable, "-m", "pip", "install"] and args[-1] == f"mlpkit @ git+{URL}@{BRANCH}"
    assert "--constraint" in args and "--upgrade" not in args and "--force-reinstall" not in args


def test_setup_cell_keeps_every_installed_package_at_its_version():
    # Colab's own TensorFlow, Keras and NumPy stay as they are: pip gets every
    # installed distribution as a constraint pinned at its installed version.
    _, calls = _run_setup_cell(mlpkit_present=False)
    (constraints,) = calls[0]["files"].values()
    pinned = dict(line.lower().split("==", 1) for line in constraints.split())
    installed = _installed()
    for name in ("tensorflow", "keras", "numpy", "matplotlib"):
        assert pinned[name] == installed[name], name
    assert len(pinned) >= 0.9 * len(installed)


def test_what_is_installed_already_satisfies_mlpkit_so_pip_changes_nothing(tmp_path):
    # What the cell asks pip for, minus the download of mlpkit itself: its
    # dependencies under the cell's constraints. With the packages this
    # environment has, pip (offline) resolves them without installing,
    # upgrading or removing anything.
    import tomllib

    _, calls = _run_setup_cell(mlpkit_present=False)
    (constraints,) = calls[0]["files"].values()
    (tmp_path / "constraints.txt").write_text(constraints)
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-index",
            "--quiet",
            "--report",
            str(tmp_path / "report.json"),
            "--constraint",
            str(tmp_path / "constraints.txt"),
            *dependencies,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "report.json").read_text())["install"] == []


def test_setup_cell_says_what_failed_when_pip_cannot_keep_the_installed_versions():
    printed, _ = _run_setup_cell(mlpkit_present=False, pip_status=1, online=True)
    message = printed.split("ERROR=", 1)[1]
    assert "tensorflow" in message.lower() and "mlpkit is installed." not in printed
    dependencies = (ROOT / "pyproject.toml").read_text()
    for requirement in ("tensorflow>=2.16,<3", "keras>=3.6,<4"):  # the ranges the message names are pyproject's
        assert requirement in message.lower().replace(" ", "") and requirement in dependencies.replace(" ", "")


def test_setup_cell_says_the_network_could_not_be_reached_when_offline():
    # Offline, pip fails too (git: "Could not resolve host: github.com"); the message
    # must name the network, not a version conflict the reader would go looking for.
    host = urllib.parse.urlparse(URL).hostname
    printed, calls = _run_setup_cell(mlpkit_present=False, pip_status=1, online=False)
    message = printed.split("ERROR=", 1)[1]
    assert "network could not be reached" in message and host in message
    assert "tensorflow" not in message.lower() and "mlpkit is installed." not in printed
    assert {"connect": [host, 443]} in calls  # it tried the repository's host after pip failed


def test_setup_cell_does_nothing_where_mlpkit_is_installed():
    printed, calls = _run_setup_cell(mlpkit_present=True)
    assert calls == [] and printed.strip() == "mlpkit is installed."


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_notebook_runs_in_a_fresh_kernel(tmp_path, chapter, monkeypatch):
    if execution_cache.executed_by_book(ROOT / "book" / f"{chapter}.md"):
        # The notebook is this source plus the set-up cell (both checked above), and the
        # book build has just run this source, as it reads now, in a fresh kernel.
        pytest.skip(f"`make book` ran book/{chapter}.md against this code without error")
    monkeypatch.setenv("MLPKIT_NO_DOWNLOAD", "1")
    nb = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    assert nb.cells[0].outputs[0]["text"].strip() == "mlpkit is installed."
    assert all(cell.get("outputs") is not None for cell in nb.cells if cell.cell_type == "code")
    assert any(cell.get("outputs") for cell in nb.cells[1:] if cell.cell_type == "code")
    printed = "\n".join(
        output.get("text", "") for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert leaked_lines(printed) == []  # no TensorFlow log line, no download chatter

