"""The control API served by hypercorn's trio worker on 127.0.0.1, port 0, as the daemon will."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio

from lazooz.control.app import make_app
from lazooz.control.files import (
    CONTROL_FILE,
    TOKEN_FILE,
    ControlInfo,
    load_or_create_token,
    read_token,
)
from lazooz.control.server import serve
from protocol.errors import ConfigError
from tests.test_control_app import AUTH, TOKEN, Clock, Wire, local_node, offer_body, request_body


@pytest.mark.trio
async def test_served_on_loopback_it_streams_a_notification_as_an_event(tmp_path: Path) -> None:
    clock = Clock()
    driver, rider = local_node(1, clock), local_node(2, clock)
    wire = Wire(driver, rider)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            info = await nursery.start(
                partial(serve, make_app(rider, TOKEN), "127.0.0.1", 0, data_dir=tmp_path)
            )
            driver_info = await nursery.start(serve, make_app(driver, TOKEN))
            assert isinstance(info, ControlInfo)
            assert info.url == f"http://127.0.0.1:{info.port}" and info.port > 0
            assert ControlInfo.read(tmp_path) == info
            async with httpx.AsyncClient(base_url=info.url, headers=AUTH) as api:
                assert (
                    await api.get("/v1/status", headers={"Authorization": ""})
                ).status_code == 401
                status = (await api.get("/v1/status")).json()
                assert status["member_id"] == rider.peer.member_id
                async with api.stream("GET", "/v1/events") as events:
                    assert events.headers["content-type"].startswith("text/event-stream")
                    lines = events.aiter_lines()
                    assert await anext(lines) == ": subscribed"
                    async with httpx.AsyncClient(base_url=driver_info.url, headers=AUTH) as d:
                        assert (await d.post("/v1/offers", json=offer_body())).status_code == 201
                    wire.flush()
                    made = await api.post("/v1/requests", json=request_body())
                    assert made.status_code == 201, made.text
                    event = await next_event(lines)
            nursery.cancel_scope.cancel()
    assert len(event) == 3 and event[0] == "id: 1"
    assert event[1] == "event: CandidatesFound"
    assert event[2].startswith("data: {") and made.json()["request_id"] in event[2]
    assert not (tmp_path / CONTROL_FILE).exists()


async def next_event(lines: AsyncIterator[str]) -> list[str]:
    """The lines of the next event on a server-sent event stream, comments skipped."""
    event: list[str] = []
    async for line in lines:
        if not line:
            if event:
                return event
        elif not line.startswith(":"):
            event.append(line)
    raise AssertionError(f"the stream ended inside {event}")


def test_the_token_is_made_once_0600_and_read_back(tmp_path: Path) -> None:
    token = load_or_create_token(tmp_path)
    assert len(token) >= 40
    assert stat.S_IMODE((tmp_path / TOKEN_FILE).stat().st_mode) == 0o600
    assert load_or_create_token(tmp_path) == token == read_token(tmp_path)


def test_a_token_others_can_read_is_refused(tmp_path: Path) -> None:
    load_or_create_token(tmp_path)
    os.chmod(tmp_path / TOKEN_FILE, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_token(tmp_path)
    with pytest.raises(ConfigError, match="lazooz init"):
        read_token(tmp_path / "nowhere")
