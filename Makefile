# The same commands locally and in CI. Each target makes its own virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINTED := src tests benchmarks $(wildcard reliability examples)

.PHONY: run test check lint typecheck unit bench reliability clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: start smsgrid on its embedded defaults (SQLite, self-signed TLS, simulated carrier)
run: $(STAMP)
	$(BIN)/smsgrid serve

## test: format check, lint, type check, then every test
test: check
	$(BIN)/pytest

check: $(STAMP)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy

## unit: the fast pure tests only
unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

## bench: every benchmark, figures and ratios against this machine's ceiling (about 10 minutes)
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

## reliability: the long fault-injection runs (crash loops, outages, bad input)
reliability: $(STAMP)
	$(BIN)/python -m reliability --full

clean:
	rm -rf $(VENV) .smsgrid .mypy_cache .ruff_cache .pytest_cache
