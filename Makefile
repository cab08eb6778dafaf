# Set-up and everyday commands. `make run` and `make test` are the whole set-up.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
HOST   ?= 127.0.0.1
PORT   ?= 5000
DEBS   := gdal-bin chromium fonts-noto-cjk

.PHONY: run test bench venv install install-test system-deps boundaries clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -q -e ".[test]"
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

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(PIP) install -q -e ".[test,bench]"
	touch $@

# wrk (Debian) is the load generator of bench/serve.py; installed when missing.
bench: install-test $(VENV)/.installed-bench
	@command -v wrk >/dev/null || { SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get install -y -qq wrk >/dev/null 2>&1 || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk >/dev/null; }; }
	$(PY) bench/run.py
	$(PY) bench/serve.py

# Rebuild the embedded Zhejiang GeoPackage from the cnmaps wheel (downloads it once into a cache).
boundaries: install
	$(PY) -m boundaries build --province 浙江省

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info test-output
