"""Fixtures shared by the tests; message builders live in ``tests.strategies``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.validation import ReplayWindow
from tests.node_swarm import Swarm


@pytest.fixture
def replay() -> ReplayWindow:
    """A fresh replay window with the default capacity and skew."""
    return ReplayWindow()


@pytest.fixture
def swarm(tmp_path: Path) -> Iterator[Swarm]:
    """Real daemons on loopback (``tests.node_swarm``); none may outlive the test."""
    s = Swarm(tmp_path)
    try:
        yield s
    finally:
        left = s.close()
    assert left == [], f"processes left behind: {left}"
