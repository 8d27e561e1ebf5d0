# Two commands set up a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install browser run test lint bench clean

# (Re)install when pyproject.toml changes: the project in editable mode plus the dev group.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.3
	$(BIN)/python -m pip install --quiet --editable . --group dev
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's chromium through Playwright (playwright cannot download a
# browser here). Installed from Debian's packages when missing.
browser:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

## The demo: serves http://127.0.0.1:8000 with an embedded SQLite database under ./var,
## the sample bank and a ready assessment; prints its URL and an author token.
run: install
	$(BIN)/skillgauge serve --demo

## Lint, format check, type check, then the whole test suite (browser and PostgreSQL included),
## one pytest worker per core (pytest-xdist; a test file stays on one worker).
test: install browser lint
	$(BIN)/pytest -n auto --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Benchmarks, side by side with the competitors, reported as ratios.
bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .benchmarks build
