"""Scenario TOML tables into frozen spec dataclasses, refusing unknown keys and wrong types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any, TypeVar

from protocol.errors import ConfigError, describe

_S = TypeVar("_S")


_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def read_table(
    cls: type[_S],
    table: Mapping[str, object],
    section: str,
    error: type[ConfigError] = ConfigError,
) -> _S:
    """``cls(**table)``, where each key must be a field and each value of its default's type.

    An integer is accepted where a float is expected (TOML writes ``10`` for
    ten). A field whose default is ``None`` takes a string.
    """
    known: dict[str, Any] = {
        f.name: f.default
        for f in fields(cls)  # type: ignore[arg-type]
        if f.default is not MISSING
    }
    values: dict[str, object] = {}
    for key, raw in table.items():
        if key not in known:
            raise error(
                describe(f"{section}.{key}", raw, f"unknown key; known: {', '.join(sorted(known))}")
            )
        default = known[key]
        want: type = str if default is None else type(default)
        value = float(raw) if want is float and type(raw) is int else raw
        if type(value) is not want:
            raise error(describe(f"{section}.{key}", raw, f"must be {_NAMES.get(want, want)}"))
        values[key] = value
    return cls(**values)
