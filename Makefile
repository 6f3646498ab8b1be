# Rogatory: the single entry point. `make demo` installs everything and runs the demo;
# `make test` runs lint and the whole test suite.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# Debian packages the product and its tests need (installed only when missing).
APT_PACKAGES := poppler-utils apertium apertium-eng-spa libharfbuzz-subset0 openssl chromium chromium-driver softhsm2 nodejs nginx util-linux-extra
DEMO_DIR ?= var/demo
PYTEST_ARGS ?=
# Most tests wait on real processes (workers, servers, browsers), not on the CPU: three
# pytest processes keep a 2-core machine busy and CI well under its time budget.
PYTEST_WORKERS ?= 3
BENCH_ARGS ?=
CHAOS_ARGS ?=

WEBSEAL_BUNDLE := gateway/web/static/seal.bundle.js

.PHONY: setup system-deps venv webseal demo demo-ui test lint format bench security chaos clean

setup: system-deps venv webseal

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
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# The in-browser sealing bundle (webseal/): built from the committed package-lock.json
# with esbuild whenever it is missing or older than its sources; not committed.
webseal: $(WEBSEAL_BUNDLE)

$(WEBSEAL_BUNDLE): webseal/package.json webseal/package-lock.json $(wildcard webseal/src/*.js)
	@command -v npm >/dev/null || { echo "error: npm is needed to build $@ (install Node.js 20 with npm)"; exit 1; }
	cd webseal && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent

demo: setup
	$(BIN)/rogatory --data-dir $(DEMO_DIR) demo

# The demo again, then the gateway stays up (http://127.0.0.1:8080/ui/) until Ctrl-C.
demo-ui: setup
	$(BIN)/rogatory --data-dir $(DEMO_DIR) demo --serve

lint: setup
	$(BIN)/ruff check gateway workers tests bench chaos
	$(BIN)/ruff format --check gateway workers tests bench chaos
	$(BIN)/mypy --strict gateway/domain gateway/crypto gateway/audit
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix gateway workers tests bench chaos
	$(BIN)/ruff format gateway workers tests bench chaos

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=15 $(PYTEST_ARGS)

# The attack suite (also part of `make test`), ending with its attack -> result table.
security: setup
	$(BIN)/pytest tests/security -q -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script $(BENCH_ARGS) || exit 1; done

# Fault experiments against real processes on the three backends (long; not in `make test`).
# Needs PostgreSQL, Redis, RabbitMQ on 127.0.0.1 and root (disk full mounts a small tmpfs).
chaos: setup
	cd chaos && ../$(BIN)/python run.py $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache webseal/node_modules $(WEBSEAL_BUNDLE)
