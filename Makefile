# Lookout — the two commands: `make run` (the app on Azurite) and `make test` (every test).
# Both do all setup on a fresh machine first; `make setup` is idempotent.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 7071

.PHONY: setup run test lint unit bench deploy destroy clean

setup: $(VENV)/.installed node_modules/.installed local.settings.json registry-binary

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# A local settings file with a freshly generated encryption key; never overwritten once it exists.
local.settings.json: | $(VENV)/.installed
	$(PY) -m shared.cli.main init-local-settings --path $@

# Debian's docker-registry: the real registry the tests push images to.
registry-binary:
	@command -v docker-registry >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null; }

run: setup
	PORT=$(PORT) bash scripts/run-local.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: setup lint
	$(VENV)/bin/pytest

bench: setup
	$(PY) bench/webhook.py

clean:
	rm -rf $(VENV) node_modules .azurite .mypy_cache .ruff_cache .pytest_cache
