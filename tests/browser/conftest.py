"""Fixtures of the browser tests: one chromium per session, a guarded context per page."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import CHROMIUM_ARGS, STEP_MS, ExternalGuard, require_chromium

#: ``LAZOOZ_SCREENSHOTS=docs/screenshots`` copies the views the docs show there (docs/app.md).
SCREENSHOTS_ENV = "LAZOOZ_SCREENSHOTS"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = require_chromium()
    from playwright.sync_api import expect, sync_playwright

    # Waits for what a page shows get as long as actions do (two busy cores, daemons beside).
    expect.set_options(timeout=STEP_MS)

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def guard() -> ExternalGuard:
    return ExternalGuard()


@pytest.fixture
def new_page(browser: Any, guard: ExternalGuard) -> Iterator[Any]:
    """Make pages (each in its own context: its own session storage) whose requests
    to anything but 127.0.0.1 are recorded and aborted."""
    contexts = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(STEP_MS)
        context.route("**/*", guard.handle)
        contexts.append(context)
        return context.new_page()

    yield make
    for c in contexts:
        c.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where a test's screenshots go (kept with the test's tmp dir)."""
    out = tmp_path / "screenshots"
    out.mkdir()
    return out


def publish_screenshots(artifacts: Path, names: dict[str, str]) -> None:
    """Copy ``{artifact name: docs name}`` to ``$LAZOOZ_SCREENSHOTS`` when it is set."""
    target = os.environ.get(SCREENSHOTS_ENV)
    if not target:
        return
    Path(target).mkdir(parents=True, exist_ok=True)
    for source, name in names.items():
        shutil.copyfile(artifacts / f"{source}.png", Path(target) / f"{name}.png")
