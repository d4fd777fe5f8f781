"""Scheduled and recurring offers: checked when made, published once per occurrence when its
time comes (also after a restart), kept across restarts, stopped when deleted."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from lazooz.control.handle import LocalNode, wall_clock_ms
from lazooz.control.schedules import WEEKDAYS, Schedule, Schedules, publish_due, run_schedules
from tests.test_control_app import ROUTE, client_of, local_node

EVERY_DAY = list(WEEKDAYS)


def template(**changes: Any) -> dict[str, Any]:
    return {"route": ROUTE, "seats": 2, "max_detour_m": 800, **changes}


def in_minutes(minutes: int) -> str:
    return (datetime.now().astimezone() + timedelta(minutes=minutes)).strftime("%H:%M")


def wall_node() -> LocalNode:
    return local_node(7, wall_clock_ms)  # type: ignore[arg-type]


def test_a_schedule_is_made_listed_and_deleted_through_the_api() -> None:
    with client_of(wall_node()) as api:
        made = api.post(
            "/v1/schedules",
            json={"offer": template(), "days": ["Mon", "wed", "fri"], "time": "07:30"},
        )
        assert made.status_code == 201, made.text
        s = made.json()
        assert s["days"] == ["mon", "wed", "fri"] and s["lead_min"] == 60
        departure = datetime.fromtimestamp(s["next_departure_ms"] / 1000).astimezone()
        assert (departure.hour, departure.minute) == (7, 30)
        assert WEEKDAYS[departure.weekday()] in ("mon", "wed", "fri")
        assert s["next_publish_ms"] == s["next_departure_ms"] - 3_600_000
        assert [x["schedule_id"] for x in api.get("/v1/schedules").json()] == [s["schedule_id"]]
        path = f"/v1/schedules/{s['schedule_id']}/delete"
        assert api.post(path).status_code == 200
        assert api.get("/v1/schedules").json() == []
        assert api.post(path).status_code == 404


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"offer": template(), "days": [], "time": "07:30"}, "days=[]: must be a non-empty"),
        ({"offer": template(), "days": ["funday"], "time": "07:30"}, "days[0]='funday'"),
        ({"offer": template(), "days": ["mon"], "time": "25:00"}, "time='25:00': must be"),
        ({"offer": template(seats=0), "days": ["mon"], "time": "07:30"}, "offer.seats=0"),
        (
            {"offer": template(departure={}), "days": ["mon"], "time": "07:30"},
            "offer.departure={}: is set by the schedule",
        ),
        ({"offer": template(), "days": ["mon"], "time": "7:30", "when": 1}, "when=1: unknown"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field(body: dict[str, Any], detail: str) -> None:
    with client_of(wall_node()) as api:
        answer = api.post("/v1/schedules", json=body)
        assert answer.status_code == 400
        assert detail in answer.json()["detail"]
        assert api.get("/v1/schedules").json() == []


def schedule(minutes_ahead: int, lead_min: int = 60, flex_min: int = 15) -> Schedule:
    return Schedule("s1", EVERY_DAY, in_minutes(minutes_ahead), flex_min, lead_min, template())


@pytest.mark.trio
async def test_an_occurrence_is_published_once_when_its_time_comes() -> None:
    node = wall_node()
    schedules = Schedules()
    schedules.items["s1"] = s = schedule(minutes_ahead=30)  # publish 60 min ahead: due now
    published = await publish_due(node, schedules, wall_clock_ms())
    assert len(published) == 1 and s.published == published
    (offer,) = node.peer.own_offers()
    window = offer.offer.departure
    # Published from the end of the privacy zone, a little after leaving home (SPEC §4.1).
    assert s.done_ms <= window.start_ms < s.done_ms + 5 * 60_000
    assert window.end_ms - window.start_ms == 15 * 60_000
    assert await publish_due(node, schedules, wall_clock_ms()) == []  # tomorrow's is not due


@pytest.mark.trio
async def test_an_occurrence_not_yet_due_waits_and_one_whose_window_ended_is_skipped() -> None:
    node = wall_node()
    schedules = Schedules()
    schedules.items["s1"] = schedule(minutes_ahead=120)  # publishes in an hour
    assert await publish_due(node, schedules, wall_clock_ms()) == []
    later = Schedules()
    later.items["s1"] = s = schedule(minutes_ahead=-30, flex_min=15)  # today's window is over
    assert s.next_departure(wall_clock_ms()) > wall_clock_ms() + 20 * 3_600_000
    assert await publish_due(node, later, wall_clock_ms()) == []
    assert node.peer.own_offers() == []


def test_schedules_are_kept_in_a_private_file_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    first = Schedules(path)
    first.items["s1"] = schedule(minutes_ahead=90)
    first.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Schedules(path).items == first.items
    path.write_text("{not json", "utf-8")
    with pytest.raises(Exception, match="schedules file"):
        Schedules(path)


@pytest.mark.trio
async def test_the_runner_publishes_a_schedule_made_while_it_waits() -> None:
    node = wall_node()
    schedules = Schedules()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_schedules, node, schedules)
        await trio.testing.wait_all_tasks_blocked()
        assert node.peer.own_offers() == []
        schedules.items["s1"] = schedule(minutes_ahead=10)
        await schedules.changed_now()
        with trio.fail_after(10):
            while not node.peer.own_offers():
                await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert len(node.peer.own_offers()) == 1
