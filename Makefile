# `make book` and `make test` each set up .venv on first use (Python 3.11 and
# make are all a fresh machine needs), then build the book or run the tests.
# The set-up reruns only when requirements.txt or pyproject.toml change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# TensorFlow's C++ start-up messages (levels below ERROR) stay out of the output.
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: book book-instructor test install clean studies notebooks

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $(STAMP)

# Jupyter Book's execution cache knows only the notebooks, not the package
# they import: when code/ (modules, grids, published results) or the
# requirements change, drop it (and Sphinx's record of what it has read) so
# every chapter runs again against the new code.
CODE_HASH = $(shell cat code/*.py code/grids/*.json code/results/*.json requirements.txt | sha256sum | cut -c1-16)

book: $(STAMP)
	@if [ "$$(cat _build/.code-hash 2>/dev/null)" != "$(CODE_HASH)" ]; then rm -rf _build/.jupyter_cache _build/.doctrees; fi
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo $(CODE_HASH) > _build/.code-hash
	@echo "The book: $(CURDIR)/_build/html/index.html"

# The instructor's copy: the same book with each exercise's reference
# solution, in _build/instructor/html/ (keep it off the public site).
book-instructor: $(STAMP)
	MLPKIT_SOLUTIONS=1 $(BIN)/jupyter-book build . --path-output _build/instructor -W -n --keep-going
	@echo "The instructor's book: $(CURDIR)/_build/instructor/_build/html/index.html"

# One .ipynb per chapter (outputs empty, a set-up cell first that installs
# mlpkit where it is missing) in _build/notebooks/, and the same beside the
# sources in book/, where Colab and Binder open them from the repository
# (commit those; tests/test_notebooks.py fails when they fall behind).
notebooks: $(STAMP)
	$(BIN)/python book/_ext/chapter_notebooks.py write _build/notebooks book
	@echo "Notebooks: $(CURDIR)/_build/notebooks/"

test: $(STAMP)
	$(BIN)/pytest

# The full studies that chapter 6 plots (full Fashion-MNIST: apt-get install
# dataset-fashion-mnist). Slow: each writes runs/study-NAME/ and its summary
# goes to code/results/NAME.json (shipped with the package).
STUDIES = figure17 figure18 figure20 figure22 figure22_glorot figure25 figure26 figure27
studies: $(STAMP)
	for name in $(STUDIES); do \
	  $(BIN)/mlpkit study $$name --dataset fashion_mnist --out runs/study-$$name && \
	  cp runs/study-$$name/results.json code/results/$$name.json || exit 1; \
	done

clean:
	rm -rf _build
