"""Reading one TOML table of the configuration: typed getters that name the key path.

``Table`` wraps a table's dict; every getter records the key it read, and
``done`` refuses any key nobody read, so a typo never falls back to a
default. ``Where`` points an error at the line that set the key.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast, overload

from protocol.errors import ConfigError, describe

#: Why a string value is refused (a multiaddr, a URL), or None if it is fine.
Check = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Where:
    """The file a value came from, and its text, to point at a line."""

    source: str
    text: str

    def line_of(self, path: str) -> int | None:
        """Best effort: the line that sets key ``path``, for ``[table]`` and dotted keys."""
        path = re.sub(r"\[\d+\]$", "", path)
        table = ""
        for n, line in enumerate(self.text.splitlines(), 1):
            s = line.split("#", 1)[0].strip()
            header = re.fullmatch(r"\[\s*([\w.\- ]+?)\s*\]", s)
            if header:
                table = re.sub(r"\s*\.\s*", ".", header.group(1))
                if table == path:
                    return n
                continue
            full = f"{table}.{s}" if table else s
            if re.match(rf"{re.escape(path)}\s*=", re.sub(r"\s*\.\s*", ".", full)):
                return n
        return None

    def error(self, path: str, value: object, rule: str) -> ConfigError:
        line = self.line_of(path) if path else None
        where = self.source if line is None else f"{self.source}, line {line}"
        return ConfigError(f"{describe(path, value, rule)} ({where})")


class Table:
    """One TOML table being read: typed getters that name the key path, then ``done``."""

    def __init__(self, data: object, path: str, where: Where) -> None:
        if not isinstance(data, dict):
            raise where.error(path, data, "must be a table")
        self.data: dict[str, object] = data
        self.path = path
        self.where = where
        self.read: set[str] = set()

    def key(self, key: str) -> str:
        """The full path of ``key`` in this table."""
        return f"{self.path}.{key}" if self.path else key

    def fail(self, path: str, value: object, rule: str) -> None:
        raise self.where.error(path, value, rule)

    def _get(self, key: str) -> object:
        self.read.add(key)
        return self.data.get(key)

    def table(self, key: str) -> Table:
        value = self._get(key)
        return Table({} if value is None else value, self.key(key), self.where)

    @overload
    def string(self, key: str, default: str) -> str: ...
    @overload
    def string(self, key: str, default: None) -> str | None: ...
    def string(self, key: str, default: str | None) -> str | None:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value:
            self.fail(self.key(key), value, "must be a non-empty string")
        return cast(str, value)

    def checked(self, key: str, default: str, check: Check) -> str:
        """A string that ``check`` accepts; the empty string means "not set" and is kept."""
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self.fail(self.key(key), value, "must be a string")
        text = cast(str, value)
        problem = check(text) if text else None
        if problem is not None:
            self.fail(self.key(key), text, problem)
        return text

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self._get(key)
        if value is None:
            return default
        if value not in choices:
            self.fail(self.key(key), value, f"must be one of {', '.join(map(repr, choices))}")
        return cast(str, value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(self.key(key), value, "must be true or false")
        return cast(bool, value)

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        value = self._get(key)
        if value is None:
            return default
        if type(value) is not int:
            self.fail(self.key(key), value, f"must be a whole number, {lo}..{hi}")
        if not lo <= cast(int, value) <= hi:
            self.fail(self.key(key), value, f"must be {lo}..{hi}")
        return cast(int, value)

    def number(self, key: str, default: float, lo: float, hi: float, what: str) -> float:
        value = self._get(key)
        if value is None:
            return default
        if type(value) not in (int, float):
            self.fail(self.key(key), value, f"must be a number: {what}")
        number = float(cast(float, value))
        if not math.isfinite(number) or not lo <= number <= hi:
            self.fail(self.key(key), value, f"must be {what}")
        return number

    def addrs(self, key: str, default: tuple[str, ...], check: Check) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, list):
            self.fail(self.key(key), value, "must be a list of multiaddr strings")
        out: list[str] = []
        for i, item in enumerate(cast(list[object], value)):
            problem = check(item) if isinstance(item, str) else "must be a multiaddr string"
            if problem is not None:
                self.fail(f"{self.key(key)}[{i}]", item, problem)
            out.append(cast(str, item))
        return tuple(out)

    def raw(self, key: str) -> object:
        """The value as TOML gave it (None if absent), for a key of more than one type."""
        return self._get(key)

    def strings(self, key: str, default: tuple[str, ...], check: Check) -> tuple[str, ...]:
        """A list of strings, each one that ``check`` accepts."""
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, list):
            self.fail(self.key(key), value, "must be a list of strings")
        out: list[str] = []
        for i, item in enumerate(cast(list[object], value)):
            problem = check(item) if isinstance(item, str) else "must be a string"
            if problem is not None:
                self.fail(f"{self.key(key)}[{i}]", item, problem)
            out.append(cast(str, item))
        return tuple(out)

    def done(self) -> None:
        """Refuse any key nobody read: a typo must not silently fall back to a default."""
        for key in self.data:
            if key not in self.read:
                known = sorted(self.read)
                near = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                rule = f"unknown key; {hint}known here: {', '.join(known)}"
                self.fail(self.key(key), self.data[key], rule)
