# The two commands a newcomer runs: `make dev` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every dependency pinned with its hashes, from pyproject.toml's ranges: requirements.lock has the
# extras dev, postgres and bench (what make installs), requirements-prod.lock the same pins for
# what the image needs (postgres). `make lock` writes both; `make lock LOCK_ARGS=--upgrade` moves
# every pin to the newest release the ranges allow.
LOCK := requirements.lock
PROD_LOCK := requirements-prod.lock
LOCK_TOOLS := $(VENV)/lock-tools
COMPILE := $(LOCK_TOOLS)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links

.PHONY: dev test lint bench lock clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
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

lock:  ## requirements.lock and requirements-prod.lock from pyproject.toml (run with Python 3.11, the image's)
	test -x $(LOCK_TOOLS)/bin/pip-compile || \
		($(PYTHON) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/python -m pip install --quiet pip-tools)
	$(COMPILE) $(LOCK_ARGS) --extra dev,postgres,bench --output-file $(LOCK) pyproject.toml
	$(COMPILE) --extra postgres --constraint $(LOCK) --output-file $(PROD_LOCK) pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache
