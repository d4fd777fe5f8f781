"""Scheduled and recurring offers: a weekday commute offered by itself, each time.

A schedule is an offer without its departure (the ``NewOffer`` body minus
``departure``), days of the week, a local time of day, how many minutes the
driver may leave late (``flex_min``), and how long before each departure
the offer is published (``lead_min``). ``run_schedules`` (a task of the
control service) publishes each occurrence once, when its time comes,
through the same ``offer_command`` as ``POST /v1/offers``, so it is checked
the same way. Schedules are kept in ``<data_dir>/schedules.json`` (0600);
times are the node's local time.

An occurrence whose publishing time passed while the node was down is still
published if its departure window has not ended; one that has ended is
skipped. An occurrence the Peer refuses (say, the route no longer fits) is
logged and skipped; the next one is tried again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import trio
from starlette.responses import Response

from lazooz.control import handlers
from lazooz.control.endpoint import Call, Json, ok
from lazooz.control.handle import NodeHandle, wall_clock_ms
from lazooz.control.inputs import Fields, fail
from protocol.errors import LocalError, describe
from protocol.peer.errors import UnknownId

log = logging.getLogger(__name__)

SCHEDULES_FILE = "schedules.json"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SCHEDULES = 32
#: The runner looks again at least this often (a clock change, a new schedule).
MAX_SLEEP_S = 30.0
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass
class Schedule:
    """One recurring offer."""

    schedule_id: str
    days: list[str]
    time: str
    flex_min: int
    lead_min: int
    #: The ``NewOffer`` body without ``departure``.
    offer: dict[str, Any]
    #: Departure (ms) of the last occurrence published or skipped.
    done_ms: int = 0
    #: Offer ids published, newest last (the last 20).
    published: list[str] = field(default_factory=list)

    def departures(self, after_ms: int) -> Iterator[int]:
        """Departures (window starts, local time) after ``after_ms``, in order."""
        now = datetime.fromtimestamp(after_ms / 1000).astimezone()
        hour, minute = (int(x) for x in self.time.split(":"))
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for k in range(15):
            d = day + timedelta(days=k)
            if WEEKDAYS[d.weekday()] not in self.days:
                continue
            # Built from the date (not by adding hours) so a DST change keeps 07:30 at 07:30.
            at = datetime(d.year, d.month, d.day, hour, minute).astimezone()
            ms = round(at.timestamp() * 1000)
            if ms > after_ms:
                yield ms

    def next_departure(self, now_ms: int) -> int:
        """The next departure not yet handled whose window has not ended."""
        after = max(self.done_ms, now_ms - self.flex_min * 60_000)
        return next(self.departures(after))

    def publish_ms(self, departure_ms: int) -> int:
        return departure_ms - self.lead_min * 60_000

    def body(self, departure_ms: int) -> dict[str, Any]:
        end = departure_ms + self.flex_min * 60_000
        return {**self.offer, "departure": {"start_ms": departure_ms, "end_ms": end}}

    def view(self, now_ms: int) -> Json:
        departure = self.next_departure(now_ms)
        return {
            "schedule_id": self.schedule_id,
            "days": self.days,
            "time": self.time,
            "flex_min": self.flex_min,
            "lead_min": self.lead_min,
            "offer": self.offer,
            "next_departure_ms": departure,
            "next_publish_ms": self.publish_ms(departure),
            "published": self.published,
        }


class Schedules:
    """The node's schedules, in ``path`` (or in memory only when ``path`` is None)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.items: dict[str, Schedule] = {}
        #: Set whenever schedules change, so the runner looks again at once.
        self.changed = trio.Event()
        if path is not None and path.exists():
            try:
                for raw in json.loads(path.read_text("utf-8")):
                    s = Schedule(**raw)
                    self.items[s.schedule_id] = s
            except (ValueError, TypeError, KeyError) as exc:
                raise LocalError(
                    describe(
                        "schedules file", str(path), f"cannot be read ({exc}); fix or remove it"
                    )
                ) from None

    def save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump([asdict(s) for s in self.items.values()], f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    async def changed_now(self) -> None:
        """Save (in a thread), then wake the runner."""
        await trio.to_thread.run_sync(self.save)
        self.changed.set()
        self.changed = trio.Event()

    def due(self, now_ms: int) -> list[tuple[Schedule, int]]:
        """Occurrences to publish now: their publishing time has come, their window is open."""
        out = []
        for s in self.items.values():
            departure = s.next_departure(now_ms)
            if s.publish_ms(departure) <= now_ms:
                out.append((s, departure))
        return out

    def next_wake_ms(self, now_ms: int) -> int | None:
        times = [s.publish_ms(s.next_departure(now_ms)) for s in self.items.values()]
        return min(times) if times else None


async def publish_due(node: NodeHandle, schedules: Schedules, now_ms: int) -> list[str]:
    """Publish every occurrence due at ``now_ms``; the offer ids published."""
    published = []
    due = schedules.due(now_ms)
    for s, departure in due:
        s.done_ms = departure
        try:
            offer = await node.call(handlers.offer_command(Fields(s.body(departure))))
        except LocalError as exc:
            log.warning(
                "schedule %s: offer leaving at %d refused: %s", s.schedule_id, departure, exc
            )
            continue
        s.published = [*s.published, offer["offer_id"]][-20:]
        published.append(offer["offer_id"])
    if due:  # done_ms moved, published or refused
        await trio.to_thread.run_sync(schedules.save)
    return published


async def run_schedules(
    node: NodeHandle, schedules: Schedules, clock: Callable[[], int] = wall_clock_ms
) -> None:
    """Publish scheduled offers as their times come, until cancelled."""
    while True:
        await publish_due(node, schedules, clock())
        now = clock()
        wake = schedules.next_wake_ms(now)
        wait_s = MAX_SLEEP_S if wake is None else min(MAX_SLEEP_S, max(0.0, (wake - now) / 1000))
        with trio.move_on_after(wait_s):
            await schedules.changed.wait()


# -- the API


def _schedules(c: Call) -> Schedules:
    found: Schedules = c.request.app.state.schedules
    return found


def read_schedule(b: Fields, now_ms: int) -> Schedule:
    """A schedule from a ``NewSchedule`` body; its offer is checked as ``POST /v1/offers`` would."""
    days_given = b.required("days")
    if not isinstance(days_given, list) or not days_given:
        raise fail("days", days_given, f"must be a non-empty list of {', '.join(WEEKDAYS)}")
    days = []
    for i, d in enumerate(days_given):
        if not isinstance(d, str) or d.lower()[:3] not in WEEKDAYS:
            raise fail(f"days[{i}]", d, f"must be one of {', '.join(WEEKDAYS)}")
        days.append(d.lower()[:3])
    time = b.string("time")
    if not _TIME.match(time):
        raise fail("time", time, "must be a local time of day, HH:MM (00:00..23:59)")
    flex_min = b.integer("flex_min", 15, 0, 24 * 60)
    lead_min = b.integer("lead_min", 60, 0, 24 * 60)
    offer = b.required("offer")
    if not isinstance(offer, dict):
        raise fail("offer", offer, "must be a NewOffer object without departure")
    if "departure" in offer:
        raise fail("offer.departure", offer["departure"], "is set by the schedule: leave it out")
    b.done()
    s = Schedule(
        secrets.token_hex(8), sorted(set(days), key=WEEKDAYS.index), time, flex_min, lead_min, offer
    )
    # The template must make a valid offer: read it as the first occurrence would be.
    handlers.offer_command(Fields(s.body(s.next_departure(now_ms)), "offer"))
    return s


async def post_schedule(c: Call) -> Response:
    schedules = _schedules(c)
    if len(schedules.items) >= MAX_SCHEDULES:
        raise fail("schedules", len(schedules.items), f"at most {MAX_SCHEDULES}: delete one first")
    now = wall_clock_ms()
    s = read_schedule(c.body, now)
    schedules.items[s.schedule_id] = s
    await schedules.changed_now()
    return ok(s.view(now), 201)


async def get_schedules(c: Call) -> Response:
    now = wall_clock_ms()
    return ok([s.view(now) for s in _schedules(c).items.values()])


async def delete_schedule(c: Call) -> Response:
    schedule_id = c.param("schedule_id")
    c.body.done()
    schedules = _schedules(c)
    s = schedules.items.pop(schedule_id, None)
    if s is None:
        raise UnknownId(describe("schedule_id", schedule_id, "not one of your schedules"))
    await schedules.changed_now()
    return ok(s.view(wall_clock_ms()))
