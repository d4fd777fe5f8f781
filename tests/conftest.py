"""Fixtures shared by the protocol tests; message builders live in ``tests.strategies``."""

from __future__ import annotations

import pytest

from protocol.validation import ReplayWindow


@pytest.fixture
def replay() -> ReplayWindow:
    """A fresh replay window with the default capacity and skew."""
    return ReplayWindow()
