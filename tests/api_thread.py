"""A node's control API served from a background thread, for tests that run the CLI."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import trio

from lazooz.control.app import make_app
from lazooz.control.files import load_or_create_token
from lazooz.control.handle import LocalNode
from lazooz.control.server import serve


@contextmanager
def serving(
    node: LocalNode, data_dir: Path
) -> Iterator[tuple[trio.lowlevel.TrioToken, threading.Event]]:
    """Serve ``node``'s API for ``data_dir`` (its token and control file) until the block
    ends or the yielded event is set; yields the server's trio token and that event."""
    token = load_or_create_token(data_dir)
    up, stop = threading.Event(), threading.Event()
    tokens: list[trio.lowlevel.TrioToken] = []

    async def main() -> None:
        tokens.append(trio.lowlevel.current_trio_token())
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(serve, make_app(node, token), data_dir=data_dir))
            up.set()
            await trio.to_thread.run_sync(stop.wait)
            nursery.cancel_scope.cancel()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    assert up.wait(10), "the API did not start"
    try:
        yield tokens[0], stop
    finally:
        stop.set()
        thread.join(10)
