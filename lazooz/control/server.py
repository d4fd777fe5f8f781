"""Serving the control API with hypercorn's trio worker, in the caller's nursery.

``serve`` reports the bound address and keeps ``control.json`` (``files``)
while the API is up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve
from starlette.types import ASGIApp

from lazooz.control.files import ControlInfo, remove_control_file

if TYPE_CHECKING:
    # libp2p's dependency trio-typing installs trio-stubs, older than trio 0.35,
    # which mypy reads instead of trio's own types; they name it here.
    from trio_typing import TaskStatus

log = logging.getLogger(__name__)


async def serve(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    data_dir: Path | None = None,
    shutdown: Callable[[], Awaitable[None]] | None = None,
    task_status: TaskStatus[ControlInfo] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` until cancelled (or ``shutdown`` returns).

    ``task_status.started`` gets the bound address (``port`` 0 picks one);
    with ``data_dir``, it is written to ``control.json`` too, and removed at
    the end. Whether ``host`` may be beyond loopback is the configuration's
    rule (``control.allow_remote``), checked when it is loaded.
    """
    config = HypercornConfig()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = log
    config.graceful_timeout = 1.0  # event streams never end by themselves
    config.include_server_header = False
    bound: list[ControlInfo] = []

    async def started(urls: list[str]) -> None:
        parts = urlsplit(urls[0])
        assert parts.port is not None
        info = ControlInfo(urls[0], host, parts.port, os.getpid())
        if data_dir is not None:
            await trio.to_thread.run_sync(info.write, data_dir)
        bound.append(info)
        task_status.started(info)

    try:
        async with trio.open_nursery() as nursery:
            urls = await nursery.start(_hypercorn, app, config, shutdown)
            await started(urls)
    finally:
        if data_dir is not None and bound:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(remove_control_file, data_dir)


async def _hypercorn(
    app: ASGIApp,
    config: HypercornConfig,
    shutdown: Callable[[], Awaitable[None]] | None,
    task_status: TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    await hypercorn_serve(app, config, shutdown_trigger=shutdown, task_status=task_status)  # type: ignore[arg-type]
