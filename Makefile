# `make book` and `make test` each set up .venv on first use (Python 3.11 and
# make are all a fresh machine needs), then build the book or run the tests.
# The set-up installs the exact versions in requirements.lock (with their
# hashes) and reruns only when the lock or pyproject.toml change.
# requirements.txt holds the ranges the lock is made from (`make lock`);
# `make test-oldest` runs the tests on the lowest version each range allows.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV := $(BIN)/uv
# Tests run in parallel processes (pytest-xdist); JOBS=1 runs them in one.
JOBS ?= auto

.PHONY: book book-instructor test test-oldest lock install clean distclean studies bench-results notebooks

install: $(STAMP)

# uv itself comes from the lock too, checked against its hashes.
$(UV):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	awk '/^uv==/ {keep = 1; print; next} keep && /^ / {print; next} {keep = 0}' requirements.lock > $(VENV)/uv.lock.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(VENV)/uv.lock.txt

# --no-build-isolation: the editable install builds with the locked setuptools
# (hashed, above), never one fetched outside the lock.
# --compile-bytecode: every process that imports TensorFlow reads its bytecode
# instead of compiling the sources again (where PYTHONDONTWRITEBYTECODE=1 is set,
# Python would never write it), which cuts the import's CPU time by more than half.
$(STAMP): requirements.lock pyproject.toml | $(UV)
	$(UV) pip install --python $(BIN)/python --require-hashes --compile-bytecode -r requirements.lock
	$(UV) pip install --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Refresh the lock: the newest versions requirements.txt allows, for every
# platform, Python 3.11 and up. Then run `make test` and `make book`.
lock: | $(UV)
	$(UV) pip compile requirements.txt --universal --python-version 3.11 --generate-hashes --upgrade \
	  --custom-compile-command "make lock" --quiet -o requirements.lock

# Jupyter Book's execution cache knows only the notebooks, not the package
# they import: when code/ (modules, grids, published results) or the lock
# change, drop it (and Sphinx's record of what it has read) so every chapter
# runs again against the new code. The tests read the same record to skip
# running again a chapter the build has just run (book/_ext/execution_cache.py).
CODE_HASH = $(shell $(PYTHON) book/_ext/execution_cache.py code-hash)

book: $(STAMP)
	@if [ "$$(cat _build/.code-hash 2>/dev/null)" != "$(CODE_HASH)" ]; then rm -rf _build/.jupyter_cache _build/.doctrees; fi
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo $(CODE_HASH) > _build/.code-hash
	@echo "The book: $(CURDIR)/_build/html/index.html"

# The instructor's copy: the same book with each exercise's reference
# solution, in _build/instructor/html/ (keep it off the public site).
# BANK=DIR shows the exercises of an instructor's own bank instead.
book-instructor: $(STAMP)
	MLPKIT_SOLUTIONS=1 MLPKIT_BANK=$(BANK) $(BIN)/jupyter-book build . --path-output _build/instructor -W -n --keep-going
	@echo "The instructor's book: $(CURDIR)/_build/instructor/_build/html/index.html"

# One .ipynb per chapter (outputs empty, a set-up cell first that installs
# mlpkit where it is missing) in _build/notebooks/, and the same beside the
# sources in book/, where Colab and Binder open them from the repository
# (commit those; tests/test_notebooks.py fails when they fall behind).
notebooks: $(STAMP)
	$(BIN)/python book/_ext/chapter_notebooks.py write _build/notebooks book
	@echo "Notebooks: $(CURDIR)/_build/notebooks/"

# The linter first (ruff, configured in pyproject.toml; the lesson modules, which the
# book shows, also formatted by it at 88 columns), then the tests.
# --dist loadfile: one worker runs all of a test file, so each module-scoped fixture (the
# graded classes, the browser's visit of every page) is set up once.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check code/*.py
	$(BIN)/pytest -n $(JOBS) --dist loadfile

# The lowest version of every direct requirement that requirements.txt
# allows (other packages: the newest that fit), in .venv-oldest.
OLDEST := .venv-oldest
test-oldest: $(STAMP)
	test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(UV) pip compile requirements.txt --resolution lowest-direct --python-version 3.11 --no-header --quiet \
	  -o $(OLDEST)/requirements.txt
	$(UV) pip sync --python $(OLDEST)/bin/python $(OLDEST)/requirements.txt
	$(UV) pip install --python $(OLDEST)/bin/python --no-deps -e .
	$(OLDEST)/bin/python -c "import tensorflow, keras, numpy; print('oldest:', 'tensorflow', tensorflow.__version__, 'keras', keras.__version__, 'numpy', numpy.__version__)"
	$(OLDEST)/bin/pytest -n $(JOBS) --dist loadfile

# The full studies that chapter 6 plots (full Fashion-MNIST: apt-get install
# dataset-fashion-mnist). Slow: each writes runs/study-NAME/ and its summary
# goes to code/results/NAME.json (shipped with the package).
STUDIES = figure17 figure18 figure20 figure22 figure22_glorot figure25 figure26 figure27 width100_25epochs
studies: $(STAMP)
	for name in $(STUDIES); do \
	  $(BIN)/mlpkit study $$name --dataset fashion_mnist --out runs/study-$$name && \
	  cp runs/study-$$name/results.json code/results/$$name.json || exit 1; \
	done

# The full benchmark that book/reproducing.md shows (about a minute on 2 idle cores).
bench-results: $(STAMP)
	$(BIN)/mlpkit bench --out runs/bench
	mkdir -p code/results/bench && cp runs/bench/bench.json code/results/bench/bench.json

clean:
	rm -rf _build

# Everything `make` set up, too.
distclean: clean
	rm -rf $(VENV) $(OLDEST)
