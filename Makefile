# Rogatory: the single entry point. `make demo` installs everything and runs the demo;
# `make test` runs lint and the whole test suite.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# Debian packages the product and its tests need (installed only when missing).
APT_PACKAGES := poppler-utils apertium apertium-eng-spa libharfbuzz-subset0 openssl chromium chromium-driver nginx
DEMO_DIR ?= var/demo
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: setup system-deps venv demo demo-ui test lint format bench clean

setup: system-deps venv

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

# torch is pinned first: argostranslate -> stanza -> torch would otherwise pull GBs of CUDA.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/rogatory --data-dir $(DEMO_DIR) demo

# The demo again, then the gateway stays up (http://127.0.0.1:8080/ui/) until Ctrl-C.
demo-ui: setup
	$(BIN)/rogatory --data-dir $(DEMO_DIR) demo --serve

lint: setup
	$(BIN)/ruff check gateway workers tests bench
	$(BIN)/ruff format --check gateway workers tests bench
	$(BIN)/mypy --strict gateway/domain gateway/crypto gateway/audit
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix gateway workers tests bench
	$(BIN)/ruff format gateway workers tests bench

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: setup
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script $(BENCH_ARGS) || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
