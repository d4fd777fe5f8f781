"""The daemon: one node, from its configuration to a clean exit.

``run(config)`` is what ``lazooz daemon`` and ``python -m lazooz.node`` call.
In order: configure logs; make the data directory (0700); load or create the
identity key (``identity.key``, 0600); open the store; restore the Peer from
it; start the libp2p host (listen, bootstrap) and the Node (with the desktop
notifier, ``notify``, if configured); serve metrics if enabled; start the
``services`` given (the control API) beside it; write ``node.json`` so tools
find the running node; print the one ready line on stdout
(``lazooz.node.ready``: a supervisor waits on it). SIGINT or
SIGTERM stops it gracefully: no more inputs, the input at hand finished
(its persists durable), queued messages given a moment, streams and host
closed, store closed, ``node.json`` removed, exit status 0. A second signal,
or a graceful stop that takes longer than ``SHUTDOWN_GRACE_S``, cuts the
wait short (the store is closed all the same).

Exit status: 0 after a signal; 2 if the node cannot start (a configuration,
key or store problem, named in the log); 1 if it failed while running.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import structlog
import trio

from lazooz import keyfile
from lazooz.config import Config
from lazooz.net import Handlers, NetConfig, open_host, public_key_of
from lazooz.net.host import parse_peer_addr
from lazooz.node import logs
from lazooz.node.handle import DaemonHandle
from lazooz.node.metrics import MetricsServer, NodeMetrics, serve
from lazooz.node.notify import Notifier
from lazooz.node.ready import ready_line
from lazooz.node.rejoin import Rejoin
from lazooz.node.runtime import Node
from lazooz.store import DB_NAME, Store
from protocol.errors import ConfigError, LazoozError, describe
from protocol.fields import PublicKey

if TYPE_CHECKING:
    # libp2p's dependency trio-typing installs trio-stubs, older than trio 0.35,
    # which mypy reads instead of trio's own types; they name it here.
    from trio_typing import TaskStatus

log = structlog.get_logger(__name__)

#: Written while the node runs: how tools find it (``NodeInfo``).
NODE_FILE = "node.json"
#: How long a graceful stop may take after the first signal.
SHUTDOWN_GRACE_S = 10.0

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANNOT_START = 2


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What ``node.json`` holds about a running node."""

    pid: int
    peer_id: str
    member_id: str
    public_key: str
    #: Where other nodes dial it, each ending in ``/p2p/<peer id>``.
    addrs: list[str]
    data_dir: str
    #: ``http://host:port/metrics``, or ``None`` when metrics are off.
    metrics_url: str | None
    started_ms: int
    #: What the services run beside the Node published, e.g. ``{"control_url": ...}``.
    services: dict[str, str] = field(default_factory=dict)

    def ready_fields(self) -> dict[str, object]:
        """The ready line's fields: these, with each service's fields at the top level."""
        fields: dict[str, object] = {k: v for k, v in asdict(self).items() if k != "services"}
        fields.update(self.services)
        return fields

    @classmethod
    def read(cls, data_dir: Path) -> NodeInfo:
        """The ``node.json`` in ``data_dir``; ``OSError``/``ValueError`` if absent or torn."""
        return cls(**json.loads((data_dir / NODE_FILE).read_text("utf-8")))


def net_config(config: Config) -> NetConfig:
    """The host's settings from the node's configuration."""
    return NetConfig(
        listen=tuple(config.node.listen),
        bootstrap=tuple(config.node.bootstrap),
        heartbeat_s=config.gossip.heartbeat_s,
        relays=tuple(config.net.relays),
        relay_hop=config.net.relay_hop,
        discovery=config.net.discovery == "dht",
    )


def _bootstrap_keys(config: Config) -> list[PublicKey]:
    """The members ``node.bootstrap`` names (the host dials those itself)."""
    keys = []
    for i, addr in enumerate(config.node.bootstrap):
        key = public_key_of(parse_peer_addr(addr, f"node.bootstrap[{i}]").peer_id)
        if key is not None:
            keys.append(key)
    return keys


def _noting(handlers: Handlers, rejoin: Rejoin) -> Handlers:
    """``handlers``, also telling ``rejoin`` of every member connected, identified, gone."""
    connected, disconnected = handlers.connected, handlers.disconnected

    def on_connected(key: PublicKey) -> None:
        connected(key)
        rejoin.seen(key)

    def on_disconnected(key: PublicKey) -> None:
        disconnected(key)
        rejoin.seen(key)

    return dataclasses.replace(
        handlers, connected=on_connected, identified=rejoin.seen, disconnected=on_disconnected
    )


@dataclass(frozen=True, slots=True)
class Running:
    """What a service run beside the Node is given (``run(config, services)``)."""

    config: Config
    node: Node
    #: The control API's ``NodeHandle`` over ``node``.
    handle: DaemonHandle
    data_dir: Path
    #: Set when the daemon stops: a service then returns promptly (within
    #: ``SHUTDOWN_GRACE_S``, or it is cancelled).
    stopping: trio.Event


class Service(Protocol):
    """Something the daemon runs in its nursery once the Node has started (the control API).

    It calls ``task_status.started(fields)`` once it is up; ``fields`` go into
    ``node.json`` under ``services`` (e.g. ``{"control_url": ...}``). A
    ``LazoozError`` it raises stops the daemon like the Node's own.
    """

    async def __call__(
        self, running: Running, *, task_status: TaskStatus[Mapping[str, str]]
    ) -> None: ...


def print_ready(info: NodeInfo) -> None:
    """Print the ready line on stdout (the daemon's only stdout output)."""
    sys.stdout.write(ready_line(info.ready_fields()) + "\n")
    sys.stdout.flush()


def run(config: Config, services: Sequence[Service] = ()) -> int:
    """Run the node (and ``services`` beside it) until SIGINT or SIGTERM; the exit status."""
    logs.configure(config.log)
    progress = _Progress()
    try:
        trio.run(serve_node, config, progress, services, print_ready)
    except BaseException as exc:
        errors = list(_leaves(exc))
        if not all(isinstance(e, LazoozError) for e in errors):
            raise
        for error in errors:
            log.error("node failed", error=str(error), kind=type(error).__name__)
        return EXIT_FAILED if progress.running else EXIT_CANNOT_START
    return EXIT_OK


@dataclass
class _Progress:
    #: The node got as far as running (so a failure is not a refusal to start).
    running: bool = False


Announce = Callable[[NodeInfo], None]


async def serve_node(
    config: Config,
    progress: _Progress | None = None,
    services: Sequence[Service] = (),
    announce: Announce | None = None,
) -> None:
    """The daemon's body, in trio: returns after a graceful stop.

    ``announce`` is called once, when the node is ready (``run`` prints the ready line).
    """
    progress = progress or _Progress()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        stop = trio.Event()
        async with trio.open_nursery() as top:
            top.start_soon(_watch_signals, signals, stop, top.cancel_scope)
            await _serve(config, stop, progress, services, announce)
            top.cancel_scope.cancel()


async def _serve(
    config: Config,
    stop: trio.Event,
    progress: _Progress,
    services: Sequence[Service],
    announce: Announce | None,
) -> None:
    data_dir = config.node.data_dir
    await trio.to_thread.run_sync(_make_data_dir, data_dir)
    identity = await trio.to_thread.run_sync(keyfile.load_or_create, data_dir / keyfile.KEY_FILE)
    store = await trio.to_thread.run_sync(Store.open, data_dir / DB_NAME)
    metrics_server: MetricsServer | None = None
    try:
        # SystemRandom: ride ids and PIN seeds must not be predictable from ids seen before.
        peer = await trio.to_thread.run_sync(
            store.restore_peer,
            identity,
            config.node.home.point(),
            random.SystemRandom(),
            config.peer.params(),
        )
        metrics = NodeMetrics()
        node = Node(peer, store, metrics=metrics)
        rejoin = Rejoin(store, identity.public_key)
        if config.metrics.enabled:
            metrics_server = await trio.to_thread.run_sync(
                serve, metrics, config.metrics.host, config.metrics.port
            )
        async with (
            open_host(identity, net_config(config), _noting(node.handlers(), rejoin)) as net,
            trio.open_nursery() as nursery,
        ):
            await nursery.start(node.run, net)
            notifier = Notifier.of(config.notify, node)
            if notifier is not None:  # desktop notifications, page open or not
                await nursery.start(notifier.run, node.notifications)
            skip = _bootstrap_keys(config)
            await nursery.start(rejoin.run, net, skip, config.net.redial)
            progress.running = True
            running = Running(
                config=config,
                node=node,
                handle=DaemonHandle(
                    node, peer_id=str(net.peer_id), host=net, store_path=str(store.path)
                ),
                data_dir=data_dir,
                stopping=stop,
            )
            published: dict[str, str] = {}
            for service in services:
                published.update(await nursery.start(service, running))
            info = NodeInfo(
                pid=os.getpid(),
                peer_id=str(net.peer_id),
                member_id=identity.member_id,
                public_key=identity.public_key.hex(),
                addrs=net.addrs,
                data_dir=str(data_dir),
                metrics_url=_metrics_url(config, metrics_server),
                started_ms=node.clock.now_ms(),
                services=published,
            )
            _write_node_file(data_dir, info)
            log.info("daemon ready", **asdict(info))
            if announce is not None:
                announce(info)
            await stop.wait()
            rejoin.stop()
            node.stop()
    finally:
        _remove_node_file(data_dir)
        # Shielded: a stop cut short (second signal) still closes the store.
        with trio.CancelScope(shield=True):
            if metrics_server is not None:
                await trio.to_thread.run_sync(metrics_server.close)
            await trio.to_thread.run_sync(store.close)
        log.info("daemon stopped", data_dir=str(data_dir))


async def _watch_signals(
    signals: AsyncIterator[int], stop: trio.Event, everything: trio.CancelScope
) -> None:
    async for signum in signals:
        log.info("signal received: stopping", signal=signal.Signals(signum).name)
        stop.set()
        break
    with trio.move_on_after(SHUTDOWN_GRACE_S):
        async for signum in signals:
            log.warning("second signal: stopping now", signal=signal.Signals(signum).name)
            break
    log.warning("stopping now, without waiting for the rest", grace_s=SHUTDOWN_GRACE_S)
    everything.cancel()


def _make_data_dir(data_dir: Path) -> None:
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            describe("node.data_dir", str(data_dir), f"cannot be created: {exc.strerror}")
        ) from None
    if not data_dir.is_dir():
        raise ConfigError(describe("node.data_dir", str(data_dir), "is not a directory"))


def _metrics_url(config: Config, server: MetricsServer | None) -> str | None:
    if server is None:
        return None
    host = config.metrics.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{server.port}/metrics"


def _write_node_file(data_dir: Path, info: NodeInfo) -> None:
    path = data_dir / NODE_FILE
    tmp = path.with_name(f".{NODE_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(info), indent=2) + "\n", "utf-8")
    os.replace(tmp, path)  # readers see the old file or the whole new one


def _remove_node_file(data_dir: Path) -> None:
    """Remove ``node.json`` if this process wrote it."""
    try:
        if NodeInfo.read(data_dir).pid == os.getpid():
            (data_dir / NODE_FILE).unlink()
    except (OSError, ValueError, TypeError):
        pass  # absent, or another node's


def _leaves(exc: BaseException) -> Iterable[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
