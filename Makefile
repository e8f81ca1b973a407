# daxsim: `make help` lists the targets. Each target installs what it needs into .venv
# first (skipped when up to date).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := book

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.daxsim-installed
VENDOR := _vendor
VOILA_TEMPLATE := $(VENV)/share/jupyter/voila/templates/daxsim
PORT   ?= 8866
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help book test check lint format doctest live precompute bench clean install chromium

LINTED := lib tests bench lab

help: ## this list
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## (.*)/  make \1\t\2/' | expand -t 16

# --- environment ---------------------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# re-installs only when pyproject.toml is newer than the stamp
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[book,live,dask,parquet,test]"
	touch $@

install: $(STAMP) ## create .venv and install daxsim with everything the book, the live app and the tests need

# JavaScript the offline book loads from its own site (pins in lib/daxsim/book/bookassets.py)
$(VENDOR)/.complete: lib/daxsim/book/bookassets.py | $(STAMP)
	rm -rf $(VENDOR)
	$(BIN)/python -m daxsim.book.bookassets $(VENDOR)
	touch $@

# `voila --template=daxsim`: Voila's lab template, Font Awesome served locally
$(VOILA_TEMPLATE)/index.html.j2: lib/daxsim/book/bookassets.py | $(STAMP)
	rm -rf $(VOILA_TEMPLATE)
	$(BIN)/python -m daxsim.book.bookassets --voila-template $(VOILA_TEMPLATE)

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  apt-get update && apt-get install -y --no-install-recommends chromium; \
	fi

# --- the book --------------------------------------------------------------------------

# A clean build every time: notebooks are executed anyway (execute_notebooks: force),
# and an incremental Sphinx build would not repeat the warnings of unchanged pages.
book: $(STAMP) $(VENDOR)/.complete ## execute every chapter and build the book into _build/html
	rm -rf _build
	$(BIN)/jupyter-book build . -n -W --keep-going || { \
	  find _build/html/reports -name '*.log' -print -exec cat {} \; 2>/dev/null; \
	  echo "make book: the build failed (execution reports above, if any)"; exit 1; }
	@echo "make book: open _build/html/index.html"

# --- tests, in layers; each failing layer fails make ----------------------------------

test: $(STAMP) $(VOILA_TEMPLATE)/index.html.j2 chromium ## every layer: lint, doctests, unit, notebooks, book, browser, lab smoke
	$(MAKE) lint doctest
	$(BIN)/pytest tests/ -m "not browser and not book"
	$(BIN)/pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 notebooks/
	$(MAKE) book
	DAXSIM_REQUIRE_BOOK=1 $(BIN)/pytest tests/ -m "browser or book"
	lab/setup.sh && $(BIN)/python lab/runner.py --smoke --results lab/work/smoke

# the quick loop of a developer: lint and the unit tests without the slow ones (a few minutes)
check: $(STAMP) ## lint, doctests and the unit tests not marked slow
	$(MAKE) lint doctest
	$(BIN)/pytest tests/ -q -m "not browser and not book and not slow"

lint: $(STAMP) ## ruff: lint, and check the formatting
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

format: $(STAMP) ## ruff: format the code and apply the safe lint fixes
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

doctest: $(STAMP) ## the examples in the library's docstrings
	$(BIN)/pytest -q --doctest-modules lib/daxsim -p no:cacheprovider

# --- live ------------------------------------------------------------------------------

# Voila serves every chapter as an app; the explorer (notebooks/explorer.ipynb) is the one
# that compares all the options live.
live: $(STAMP) $(VOILA_TEMPLATE)/index.html.j2 precompute ## serve every chapter with Voila; prints the live explorer's address
	@echo "make live: the explorer:     http://127.0.0.1:$(PORT)/voila/render/explorer.ipynb"
	@echo "make live: every chapter:    http://127.0.0.1:$(PORT)/   (Ctrl-C stops the server)"
	$(BIN)/voila notebooks/ --template=daxsim --no-browser --Voila.ip=127.0.0.1 --port=$(PORT)

# what the live pages show first, ahead: every kernel compiled into numba's cache, the
# explorer's grid saved (a few seconds when both are up to date)
precompute: $(STAMP) ## compile the kernels and precompute the live pages' first view
	$(BIN)/python -m daxsim.book.precompute

# --- the real-kernel lab (QEMU TCG + emulated NVDIMM); replaces lab/results/*.json --------

.PHONY: lab
lab: $(STAMP) ## boot the real kernel under QEMU for every lab experiment; replaces lab/results
	lab/setup.sh
	lab/setup.sh --backports || echo "make lab: no bookworm-backports kernel; its experiments are skipped"
	$(BIN)/python lab/runner.py

# prints one JSON document and saves it (with the machine it ran on) for the book's
# benchmark appendix; commit bench/results/latest.json after a run on a quiet machine
bench: $(STAMP) ## benchmarks: print JSON ratios, save bench/results/latest.json
	$(BIN)/python bench/run.py --output bench/results/latest.json

clean: ## remove the build, the vendored assets and the caches
	rm -rf _build $(VENDOR) .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
