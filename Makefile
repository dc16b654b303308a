# The same commands locally and in CI. Each target makes its own virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

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
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/mypy

## unit: the fast pure tests only
unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

clean:
	rm -rf $(VENV) .smsgrid .mypy_cache .ruff_cache .pytest_cache
