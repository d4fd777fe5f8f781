"""The daemon's body (``serve_node``) in this process: files, services beside the Node,
and a graceful stop on SIGTERM. The same with real processes: test_node_process.py."""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio

from lazooz import config as lazooz_config
from lazooz.keyfile import KEY_FILE
from lazooz.node.daemon import NODE_FILE, NodeInfo, Running, serve_node
from lazooz.store import DB_NAME

if TYPE_CHECKING:
    from trio_typing import TaskStatus


def config_in(data_dir: Path) -> lazooz_config.Config:
    return lazooz_config.defaults(env={"HOME": str(data_dir.parent)}).with_data_dir(data_dir)


@pytest.mark.trio
async def test_serve_node_runs_a_service_beside_the_node_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "node"
    seen: list[Running] = []
    stopped = trio.Event()

    async def service(running: Running, *, task_status: TaskStatus[Mapping[str, str]]) -> None:
        seen.append(running)
        task_status.started({"test_url": "http://127.0.0.1:1/"})
        await running.stopping.wait()
        stopped.set()

    announced: list[NodeInfo] = []
    ready = trio.Event()

    def announce(info: NodeInfo) -> None:
        announced.append(info)
        ready.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_node, config_in(data_dir), None, [service], announce)
        with trio.fail_after(20):
            await ready.wait()
        info = NodeInfo.read(data_dir)
        assert announced == [info]  # announced once, after node.json was written
        fields = info.ready_fields()
        assert fields["test_url"] == "http://127.0.0.1:1/" and "services" not in fields
        assert info.pid == os.getpid()
        assert info.services == {"test_url": "http://127.0.0.1:1/"}
        assert info.addrs and info.addrs[0].endswith("/p2p/" + info.peer_id)
        assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(data_dir / KEY_FILE).st_mode) == 0o600
        assert (data_dir / DB_NAME).exists()

        (running,) = seen
        handle = running.handle
        assert await handle.call(lambda p, now: (p.member_id, [])) == info.member_id
        assert handle.status().peer_id == info.peer_id
        assert handle.status().listen_addrs == tuple(info.addrs)

        os.kill(os.getpid(), signal.SIGTERM)
        with trio.fail_after(10):
            await stopped.wait()
    assert not (data_dir / NODE_FILE).exists()
