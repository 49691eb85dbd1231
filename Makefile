# lmforge: `make quickstart` runs the whole lifecycle, `make test` runs the tests.
# Both create the virtual environment and install what they need on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WORKDIR ?= quickstart

.PHONY: venv browser quickstart test test-all lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: this takes the CPU build; an unpinned torch pulls CUDA packages
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

quickstart: venv
	$(VENV)/bin/lmforge quickstart --workdir $(WORKDIR)

# The web UI's tests drive Debian's Chromium through chromedriver (nothing is downloaded by
# the test itself); with LMFORGE_REQUIRE_BROWSER=1 a missing browser fails them, never skips.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		chromium chromium-driver fonts-nanum >/dev/null)

TEST_ENV := LMFORGE_REQUIRE_BROWSER=1 LMFORGE_TEST_ARTIFACTS=tests-artifacts

test: venv browser
	$(TEST_ENV) $(PY) -m pytest -q -m "not slow"

test-all: venv browser
	$(TEST_ENV) $(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: venv
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

bench: venv
	$(PY) benchmarks/train_overhead.py
	bash benchmarks/quickstart.sh

clean:
	rm -rf $(VENV) $(WORKDIR) .pytest_cache
