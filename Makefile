# The two commands a newcomer runs: `make dev` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,bench]'
	touch $(STAMP)

dev: $(STAMP)  ## the whole system on this machine: Temporal, worker, web app, emulator
	$(BIN)/proctorflow dev

test: $(STAMP)  ## every test: rules, workflows on real Temporal servers, API, browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## throughput, latency, vendor calls, memory vs Temporal's ceiling (~10 min; not part of test)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache
