# The same commands locally and in CI. Each target makes its own virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINTED := src tests benchmarks $(wildcard reliability examples)

# The exact versions `make run` and `make test` install (pip, with hashes); `make lock` regenerates them with uv
# from the ranges in pyproject.toml. docs/dependencies.md says why.
LOCK := requirements-dev.lock
LOWEST_LOCK := requirements-lowest.lock
LOCK_OPTIONS := --extra dev --generate-hashes --universal --python-version 3.11 --quiet
# `make lock` keeps every locked version the ranges still allow; `make lock UPGRADE=--upgrade` takes the newest.
UPGRADE ?=
LOWEST_VENV := .venv-lowest
LOWEST_STAMP := $(LOWEST_VENV)/.installed
# What runs against the lowest versions the ranges allow: the library surfaces a user installs (pure core,
# real stores, consumer helpers, pytest plugin) and the SDK-facing acceptance files; the full suite runs once,
# on the lock (docs/dependencies.md).
LOWEST_TESTS := tests/unit tests/integration tests/acceptance/test_smoke.py tests/acceptance/test_sms_send.py \
	tests/acceptance/test_example_auto_reply.py tests/reliability/test_slowloris.py

# Two test processes (pytest-xdist), each taking whole files: most tests wait on a real smsgrid process, so two
# workers on two cores nearly halve the run. Files keep their module fixtures (one server, one npm install each).
# `make test PARALLEL=` runs in one process.
PARALLEL ?= -n 2 --dist loadfile

# The second gate: branch arcs alone (tests/branch_coverage_gate.py); the first is fail_under in pyproject.toml.
BRANCH_FLOOR := 90

# Coverage data of the pytest process and of every `smsgrid serve` it starts (pyproject.toml [tool.coverage]).
COVERAGE_DIR := .coverage-data
export COVERAGE_FILE := $(CURDIR)/$(COVERAGE_DIR)/coverage

.PHONY: run test test-lowest check lint typecheck unit bench reliability lock clean

$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

$(LOWEST_STAMP): $(LOWEST_LOCK) pyproject.toml
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/pip install --quiet --upgrade pip
	$(LOWEST_VENV)/bin/pip install --quiet -r $(LOWEST_LOCK)
	$(LOWEST_VENV)/bin/pip install --quiet --no-deps -e .
	touch $(LOWEST_STAMP)

## run: start smsgrid on its embedded defaults (SQLite, self-signed TLS, simulated carrier)
run: $(STAMP)
	$(BIN)/smsgrid serve

## test: format check, lint, type check, then every test under branch coverage (the gate: fail_under in
## pyproject.toml [tool.coverage.report])
test: check
	rm -rf $(COVERAGE_DIR) && mkdir -p $(COVERAGE_DIR)
	$(BIN)/coverage run -m pytest $(PARALLEL)
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report
	$(BIN)/coverage json --quiet -o $(COVERAGE_DIR)/coverage.json
	$(BIN)/python tests/branch_coverage_gate.py $(COVERAGE_DIR)/coverage.json $(BRANCH_FLOOR)

## test-lowest: the library's tests against the lowest versions pyproject.toml allows
test-lowest: $(LOWEST_STAMP)
	$(LOWEST_VENV)/bin/pytest -q $(PARALLEL) $(LOWEST_TESTS)

check: $(STAMP)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy

## unit: the fast tests that start no process (two workers, about 45 s on 2 cores)
unit: $(STAMP)
	$(BIN)/pytest tests/unit -q $(PARALLEL)

## lock: re-resolve both lock files after pyproject.toml changed (newest / lowest-direct versions the ranges allow)
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml $(LOCK_OPTIONS) $(UPGRADE) -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml $(LOCK_OPTIONS) $(UPGRADE) --resolution lowest-direct -o $(LOWEST_LOCK)

## bench: every benchmark, figures and ratios against this machine's ceiling (about 10 minutes)
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

## reliability: the long fault-injection runs (crash loops, outages, bad input)
reliability: $(STAMP)
	$(BIN)/python -m reliability --full

clean:
	rm -rf $(VENV) $(LOWEST_VENV) $(COVERAGE_DIR) .smsgrid .mypy_cache .ruff_cache .pytest_cache
