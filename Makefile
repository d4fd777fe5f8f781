# Everything a fresh machine needs comes from this repository's own files:
# `make demo` and `make test` each create .venv from uv.lock on first use.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := $(VENV)/bin

.PHONY: demo test lint typecheck contracts pytest test-slow bench clean browser

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --isolated --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet
	touch $@

demo: .venv/.synced ## Run the main job on embedded defaults
	$(RUN)/lazooz demo

test: lint typecheck contracts pytest

lint: $(VENV)/.synced
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .

typecheck: $(VENV)/.synced
	$(RUN)/mypy

contracts: $(VENV)/.synced
	$(RUN)/lint-imports

pytest: $(VENV)/.synced browser
	$(RUN)/pytest -q -m "not slow"

test-slow: $(VENV)/.synced browser
	$(RUN)/pytest -q -m slow

# The web UI's browser tests (tests/browser) drive Debian's chromium through Playwright.
# Installed here when missing and we are root; otherwise those tests skip, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& { apt-get update -q && apt-get install -y -q chromium; } \
		|| echo "make browser: chromium is missing and cannot be installed here (needs apt-get as root); the browser tests will skip"; }

bench: $(VENV)/.synced
	$(RUN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .pytest_cache .ruff_cache .hypothesis
