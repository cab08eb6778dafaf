# Set-up and everyday commands. `make run` and `make test` are the whole set-up.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
HOST   ?= 127.0.0.1
PORT   ?= 5000
DEBS   := gdal-bin chromium fonts-noto-cjk postgresql-15 postgresql-15-postgis-3

.PHONY: run test lint lock bench venv install install-test system-deps boundaries clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Installs come from the lock files (pinned, generated from pyproject by `make lock`), then the project itself.
# `pip check` fails when pyproject gained a dependency the lock lacks: run `make lock`.
$(VENV)/.installed: requirements.lock pyproject.toml | $(PY)
	$(PIP) install -q -r requirements.lock
	$(PIP) install -q --no-deps -e .
	$(PIP) check || { echo "pyproject.toml needs packages the lock lacks: run make lock, commit requirements*.lock" >&2; exit 1; }
	touch $@

$(VENV)/.installed-test: requirements-test.lock $(VENV)/.installed
	$(PIP) install -q -r requirements-test.lock
	$(PIP) check || { echo "pyproject.toml needs packages the lock lacks: run make lock, commit requirements*.lock" >&2; exit 1; }
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Debian packages the tests need, installed only when missing (one apt-get update first).
system-deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

run: install
	HOST=$(HOST) PORT=$(PORT) $(PY) server.py

test: system-deps install-test
	$(PY) -m pytest

# The inner loop: every test except those driving Chromium or GDAL's command-line tools (markers set in conftest).
.PHONY: test-fast
test-fast: install-test
	$(PY) -m pytest -m "not browser and not gdal"

# ruff (lint and format) over the tree, mypy over geo/, layers/, boundaries/ (config in pyproject)
lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Regenerate the lock files from pyproject.toml (needs the package index); commit the result.
LOCK_FLAGS := --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links
lock: | $(PY)
	$(PIP) install -q "pip-tools>=7.4"
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) --output-file requirements.lock pyproject.toml
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) --extra test --extra dev --output-file requirements-test.lock pyproject.toml

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(PIP) install -q -e ".[test,bench]"
	touch $@

# wrk (Debian) is the load generator of bench/serve.py; installed when missing.
bench: install-test $(VENV)/.installed-bench
	@command -v wrk >/dev/null || { SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get install -y -qq wrk >/dev/null 2>&1 || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk >/dev/null; }; }
	$(PY) bench/run.py
	$(PY) bench/serve.py
	$(PY) bench/imports.py
	$(PY) bench/userlayer.py
	$(PY) bench/query.py
	$(PY) bench/userstore.py
	$(PY) bench/allchina.py
	$(PY) bench/backends.py

# Rebuild the embedded Zhejiang GeoPackage from the cnmaps wheel (downloads it once into a cache).
boundaries: install
	$(PY) -m boundaries build --province 浙江省

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info test-output
