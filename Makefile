# MAIC common picture. `make run` serves the demo on http://127.0.0.1:8050; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export MAIC_DATA_DIR ?= $(CURDIR)/var
export MAIC_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: run prod test install lint bench load browser-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,load]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## create .venv and install the pinned dependencies

run: install browser-deps ## migrate, load reference and demo data (once), print the demo logins, serve on :8050
	$(BIN)/maic db upgrade
	$(BIN)/maic reference load
	$(BIN)/maic demo seed
	@echo
	@$(BIN)/maic demo logins
	@echo
	$(BIN)/maic serve --host 127.0.0.1 --port 8050

# Production start (README "Running in production"): settings come from the environment only; MAIC_SECRET_KEY is
# required. Migrations and the reference data come first, then gunicorn and the scheduler run side by side.
prod: export MAIC_ENV = production
prod: install browser-deps ## migrate, load the reference data, then serve with gunicorn + run the scheduler (honcho, Procfile)
	@# honcho run: the settings of a .env file, if there is one, apply to the migration as to the processes.
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho run maic db upgrade
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho run maic reference load
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho --no-colour start -f Procfile

browser-deps: ## Debian's Chromium: it prints the PDF briefing packs, and drives the browser tests (Playwright's own download cannot work here)
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; \
	fi

test: install browser-deps ## lint, then the whole suite on SQLite and PostgreSQL, browser tests included
	$(BIN)/ruff check .
	@# pytest exits 5 when it collected no tests: that must fail, not pass quietly.
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: install
	$(BIN)/ruff check .

bench: install ## benchmarks (not tests): ingest and panel timings against their baselines
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

load: install ## load benchmark: gunicorn + PostgreSQL + a private Redis, 50..800 viewers, a worker kill and a Redis stop (LOAD_ARGS="--quick", "--servers 2", "--national quick", "--keep": python -m benchmarks.load --help)
	$(BIN)/python -m benchmarks.load $(LOAD_ARGS)

clean: ## remove the virtual environment and the local data folder
	rm -rf $(VENV) var
