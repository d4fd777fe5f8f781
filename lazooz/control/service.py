"""The control API as one of the daemon's services: ``run(config, [control_service])``.

Once the Node runs, the daemon starts ``control_service`` in its nursery: it
loads (or, on the first start, creates) ``control.token``, serves the API on
``control.host``/``control.port`` over the daemon's ``NodeHandle``, writes
``control.json``, and publishes ``control_url`` in ``node.json``; it also
publishes scheduled offers (``schedules``) as their times come. When the
daemon stops, hypercorn stops taking requests, gives those in flight a
moment (event streams are cut), and ``control.json`` is removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING

import trio

from lazooz.control.app import make_app
from lazooz.control.files import load_or_create_token
from lazooz.control.mapping import MapContext
from lazooz.control.schedules import SCHEDULES_FILE, Schedules, run_schedules
from lazooz.control.server import serve
from lazooz.routing.service import NodeRouter, RouterSettings

if TYPE_CHECKING:
    from trio_typing import TaskStatus

    from lazooz.config import Config
    from lazooz.node.daemon import Running


async def control_service(
    running: Running, *, task_status: TaskStatus[Mapping[str, str]] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve the control API beside the Node until the daemon stops."""
    control = running.config.control
    token = await trio.to_thread.run_sync(load_or_create_token, running.data_dir)
    scheduled = await trio.to_thread.run_sync(Schedules, running.data_dir / SCHEDULES_FILE)
    app = make_app(running.handle, token, map_context(running.config), scheduled)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_schedules_until_stopping, running, scheduled)
        info = await nursery.start(
            partial(
                serve,
                app,
                control.host,
                control.port,
                data_dir=running.data_dir,
                shutdown=running.stopping.wait,
            )
        )
        task_status.started({"control_url": info.url})


def map_context(config: Config) -> MapContext:
    """The web UI's map and router, as ``[node.home]``, ``[app]`` and ``[router]`` say."""
    home = config.node.home.point()
    settings = RouterSettings(config.router.backend, config.router.osrm_url or None)
    tiles = config.app.tile_url or None
    attribution = "map tiles: " + tiles.split("/")[2] if tiles and "//" in tiles else ""
    return MapContext(home, tiles, attribution, NodeRouter(home, settings))


async def _schedules_until_stopping(running: Running, scheduled: Schedules) -> None:
    """Publish scheduled offers until the daemon stops (then at once, not at cancellation)."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_schedules, running.handle, scheduled)
        await running.stopping.wait()
        nursery.cancel_scope.cancel()
