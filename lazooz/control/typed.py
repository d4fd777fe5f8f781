"""What a person types on the command line, turned into the control API's JSON values.

Each parser raises ``ValueError`` with a message saying what was expected;
the CLI shows it as a usage error (exit status 2). Values the API checks
itself (ranges, route sizes, GPX well-formedness) are passed through for it
to judge, so the CLI and the web UI refuse the same things with the same words.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

_RELATIVE = re.compile(r"^\+(?:(\d+)h)?(?:(\d+)m(?:in)?)?(?:(\d+)s)?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def time_ms(text: str, now: datetime) -> int:
    """Unix ms of ``now``, ``+15m`` / ``+1h30m`` / ``+90s``, ``18:30`` (its next
    occurrence, local time) or an ISO 8601 date-time (local unless it has an offset)."""
    t = text.strip().lower()
    now = now.astimezone()
    if t == "now":
        return _ms(now)
    m = _RELATIVE.match(t)
    if m and any(m.groups()):
        h, mi, s = (int(g or 0) for g in m.groups())
        return _ms(now + timedelta(hours=h, minutes=mi, seconds=s))
    m = _CLOCK.match(t)
    if m:
        hour, minute = int(m[1]), int(m[2])
        if hour > 23 or minute > 59:
            raise ValueError(f"{text!r}: not a time of day (00:00..23:59)")
        at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if at < now - timedelta(minutes=1):
            at += timedelta(days=1)
        return _ms(at)
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r}: give 'now', '+15m', '18:30' or an ISO 8601 time like 2026-01-01T18:30"
        ) from None
    return _ms(at if at.tzinfo else at.astimezone())


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def point(text: str) -> list[float]:
    """``lat,lon`` in degrees."""
    parts = text.replace(" ", "").split(",")
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        rule = "give a point as lat,lon in degrees, e.g. 32.08,34.78"
        raise ValueError(f"{text!r}: {rule}") from None
    return [lat, lon]


def route(text: str) -> list[list[float]]:
    """``lat,lon;lat,lon;...``"""
    return [point(p) for p in text.strip().strip(";").split(";")]


def route_file(path: Path) -> object:
    """A GeoJSON file's object, or a GPX file's text, for the API's ``route``."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc})") from None
    if text.lstrip().startswith("<"):
        return text  # GPX: the API parses it and names what is wrong
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path}: neither GPX (XML) nor GeoJSON (JSON): {exc}") from None
