# Everything a fresh machine needs comes from this repository's own files:
# `make demo` and `make test` each create .venv from uv.lock on first use.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := $(VENV)/bin

.PHONY: demo test lint typecheck contracts pytest test-slow bench clean

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

pytest: $(VENV)/.synced
	$(RUN)/pytest -q -m "not slow"

test-slow: $(VENV)/.synced
	$(RUN)/pytest -q -m slow

bench: $(VENV)/.synced
	$(RUN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .pytest_cache .ruff_cache .hypothesis
