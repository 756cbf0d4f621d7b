# Everything installs into .venv from this project's own files; only Python is required.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch, installed first so sentence-transformers does not pull a CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: run test check lint bench install install-dev serve chat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.runtime
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip check
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## make run: ingest the bundled knowledge, then start the Slack bot if tokens are configured,
## otherwise the terminal chat (it says which and why).
run: install
	-$(BIN)/advisor ingest  # a document that fails is reported; the chat still starts
	$(BIN)/advisor start

## make lint: ruff's lint rules and its formatting check.
lint: install-dev
	$(BIN)/ruff check bot ingest tests bench
	$(BIN)/ruff format --check bot ingest tests bench

## make test: lint, then the full test suite (real embeddings, real Chroma, real SQLite, a real local model).
test: lint
	$(BIN)/python -m pytest -q

## make check: lint, then the fast lane: every test that starts no server and no process (tests/conftest.py
## marks the others slow). About 2 minutes on 2 cores.
check: lint
	$(BIN)/python -m pytest -q -m "not slow"

$(VENV)/.bench: pyproject.toml $(VENV)/.dev
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/pip check
	touch $@

## make bench: benchmarks against a naive LangChain pipeline; writes bench/results.md and bench/latency.png.
## BENCH_ARGS passes flags through, e.g. make bench BENCH_ARGS=--quick
bench: install-dev $(VENV)/.bench
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .advisor .pytest_cache
