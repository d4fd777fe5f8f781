"""Notifications as log fields: what the Node writes to its log for each ``Notify``."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from protocol.peer.notices import Notification, RideUpdated

#: Fields never written to logs: the rider's PIN is a secret between two people.
_UNLOGGED = frozenset({"pin"})


def loggable(event: Notification) -> Mapping[str, object]:
    """A notification's fields as log values: bytes in hex, enums by value, collections by size."""
    out: dict[str, object] = {}
    for f in dataclasses.fields(event):
        if f.name in _UNLOGGED:
            continue
        value = getattr(event, f.name)
        if isinstance(value, bytes):
            out[f.name] = value.hex()
        elif isinstance(value, enum.Enum):
            out[f.name] = value.value
        elif value is None or isinstance(value, str | int | float):
            out[f.name] = value
        elif isinstance(value, tuple | list):
            out[f.name] = len(value)
        elif isinstance(event, RideUpdated) and f.name == "check":
            out[f.name] = "fits"
    return out
