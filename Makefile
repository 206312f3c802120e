# `make book` and `make test` each set up .venv on first use (Python 3.11 and
# make are all a fresh machine needs), then build the book or run the tests.
# The set-up reruns only when requirements.txt or pyproject.toml change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# TensorFlow's C++ start-up messages (levels below ERROR) stay out of the output.
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: book test install clean studies notebooks

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $(STAMP)

# Jupyter Book's execution cache knows only the notebooks, not the package
# they import: when code/ or the requirements change, drop it (and Sphinx's
# record of what it has read) so every chapter runs again against the new code.
CODE_HASH = $(shell cat code/*.py requirements.txt | sha256sum | cut -c1-16)

book: $(STAMP)
	@if [ "$$(cat _build/.code-hash 2>/dev/null)" != "$(CODE_HASH)" ]; then rm -rf _build/.jupyter_cache _build/.doctrees; fi
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo $(CODE_HASH) > _build/.code-hash
	@echo "The book: $(CURDIR)/_build/html/index.html"

# One .ipynb per chapter (outputs empty) in _build/notebooks/, with the study
# results chapter 6 reads beside them.
CHAPTERS = $(shell grep -o 'book/[a-z_]*' _toc.yml | grep -v -e intro -e bibliography)
notebooks: $(STAMP)
	mkdir -p _build/notebooks
	for chapter in $(CHAPTERS); do \
	  $(BIN)/jupytext --quiet --to ipynb --output _build/notebooks/$$(basename $$chapter).ipynb $$chapter.md || exit 1; \
	done
	cp -r book/results _build/notebooks/
	@echo "Notebooks: $(CURDIR)/_build/notebooks/"

test: $(STAMP)
	$(BIN)/pytest

# The full studies that chapter 6 plots (full Fashion-MNIST: apt-get install
# dataset-fashion-mnist). Slow: each writes runs/study-NAME/ and its summary
# goes to book/results/NAME.json.
STUDIES = figure17 figure18 figure20 figure22 figure22_glorot figure25 figure26 figure27
studies: $(STAMP)
	for name in $(STUDIES); do \
	  $(BIN)/mlpkit study $$name --dataset fashion_mnist --out runs/study-$$name && \
	  cp runs/study-$$name/results.json book/results/$$name.json || exit 1; \
	done

clean:
	rm -rf _build
