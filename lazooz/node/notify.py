"""Desktop notifications from the daemon itself, whether or not a web page is open.

The ``Notifier`` subscribes to the Node's notifications and, for each one a
person should see (``notify_text``: the driver accepted, the PIN, the ride
confirmed, done, cancelled...), runs the configured command
(``notify.command``, an argv template: ``notify_command``) with ``trio``.
Never through a shell: text from other members only ever fills argv
elements. It never holds up the Peer: notifications are taken from the
broadcast at once and queued (``notify.queue``, the oldest dropped and
counted when full); ``notify.max_running`` commands run at a time, each
killed after ``notify.timeout_s``. A command that is missing, fails or hangs
is counted (``lazooz_notify_commands_total{outcome}``) and logged once per
cause; the node goes on. docs/node.md, "Notifications".
"""

from __future__ import annotations

import collections
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, final

import structlog
import trio

from lazooz.config_schema import NOTIFY_AUTO, NOTIFY_OFF, NotifyConfig
from lazooz.control import views
from lazooz.node.broadcast import Broadcast
from lazooz.node.contracts import NodeStopped
from lazooz.node.metrics import NodeMetrics
from lazooz.node.notify_command import NOTIFY_SEND, Template
from lazooz.node.notify_text import Json, describe, needs_ride
from lazooz.node.runtime import Node
from protocol.peer.notices import Notification

if TYPE_CHECKING:
    from trio_typing import TaskStatus

log = structlog.get_logger(__name__)

#: Given a ride id, its ``views.ride`` JSON, or None (unknown, or the node stopped).
RideLookup = Callable[[bytes], Awaitable[Json | None]]
#: How long the notifier lets queued commands finish once the node has stopped.
FLUSH_S = 2.0
#: How much of a failing command's stderr goes into the log.
STDERR_LOGGED = 300


def template_of(
    config: NotifyConfig, which: Callable[[str], str | None] = shutil.which
) -> Template | None:
    """The command ``config`` asks for (``auto``: ``notify-send`` if on ``PATH``), or None."""
    command = config.command
    if command == NOTIFY_AUTO:
        if which(NOTIFY_SEND[0]) is None:
            log.info(
                "desktop notifications off: notify-send is not on PATH",
                hint="install libnotify-bin, or set notify.command",
            )
            return None
        return Template.parse(NOTIFY_SEND)
    if isinstance(command, str):
        assert command in (NOTIFY_OFF, ""), command  # the configuration checked it
        return None
    return Template.parse(command)


@final
class Notifier:
    """Runs ``template`` for every notification that alerts a person; see the module docstring."""

    def __init__(
        self,
        template: Template,
        config: NotifyConfig,
        metrics: NodeMetrics,
        rides: RideLookup | None = None,
    ) -> None:
        self.template = template
        self.config = config
        self._metrics = metrics
        self._rides = rides
        self._queue: collections.deque[Json] = collections.deque()
        self._running = 0
        #: Set (and replaced) when the queue or the running count changes.
        self._changed = trio.Event()
        #: Causes of failure already logged at warning: each is logged once.
        self._logged: set[tuple[str, str]] = set()

    @classmethod
    def of(cls, config: NotifyConfig, node: Node) -> Notifier | None:
        """The notifier a daemon runs beside ``node``, or None when notifications are off."""
        template = template_of(config)
        if template is None:
            return None

        async def ride(ride_id: bytes) -> Json | None:
            try:
                found = await node.query(lambda p: [r for r in p.rides() if r.ride_id == ride_id])
            except NodeStopped:
                return None
            return views.ride(found[0]) if found else None

        log.info("desktop notifications on", program=template.program)
        return cls(template, config, node.metrics, ride)

    # -- running

    async def run(
        self, notifications: Broadcast, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Follow ``notifications`` until they end (the node stopped); started once subscribed."""
        with notifications.subscribe() as notes:
            async with trio.open_nursery() as nursery:
                for _ in range(self.config.max_running):
                    nursery.start_soon(self._work)
                task_status.started()
                async for note in notes:
                    self.offer(note)
                with trio.move_on_after(FLUSH_S):
                    await self.wait_idle()
                nursery.cancel_scope.cancel()

    def offer(self, note: Notification) -> None:
        """Queue ``note`` if it alerts a person and is not muted; never waits."""
        data = views.notification(note)
        message = describe(data)
        if not message.alert or message.event in self.config.mute:
            return
        if len(self._queue) >= self.config.queue:
            dropped = self._queue.popleft()
            self._metrics.dropped.labels("notify", "queue_full").inc()
            self._log_once(
                ("dropped", ""),
                "notification dropped: too many waiting for the notify command",
                dropped=describe(dropped).event,
                queue=self.config.queue,
            )
        self._queue.append(data)
        self._note_change()

    async def wait_idle(self) -> None:
        """Return once nothing is queued and no command runs."""
        while self._queue or self._running:
            await self._changed.wait()

    def _note_change(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _work(self) -> None:
        while True:
            while not self._queue:
                await self._changed.wait()
            data = self._queue.popleft()
            self._running += 1
            try:
                await self._deliver(data)
            finally:
                self._running -= 1
                self._note_change()

    async def _deliver(self, data: Json) -> None:
        ride = None
        if self._rides is not None and needs_ride(data):
            ride = await self._rides(bytes.fromhex(data["ride_id"]))
        message = describe(data, ride, show_pin=self.config.show_pin)
        outcome = await self._run(self.template.fill(message.values()), message.event)
        self._metrics.notify_commands.labels(outcome).inc()

    async def _run(self, argv: list[str], event: str) -> str:
        """Run ``argv`` once, within ``timeout_s``; the outcome's name (the counter's label)."""
        done: subprocess.CompletedProcess[bytes] | None = None
        try:
            with trio.move_on_after(self.config.timeout_s):
                done = await trio.run_process(
                    argv,
                    check=False,
                    stdin=b"",
                    stdout=subprocess.DEVNULL,
                    capture_stderr=True,
                    deliver_cancel=_kill,
                )
        except FileNotFoundError:
            rule = "is not there: install it, or fix notify.command"
            return self._failed("missing", argv[0], event, program=argv[0], hint=rule)
        except OSError as exc:
            return self._failed(
                "os_error", str(exc.strerror), event, program=argv[0], error=str(exc)
            )
        if done is None:
            return self._failed(
                "timeout", "", event, program=argv[0], timeout_s=self.config.timeout_s
            )
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", "replace").strip()[:STDERR_LOGGED]
            return self._failed(
                "exit_status",
                str(done.returncode),
                event,
                program=argv[0],
                status=done.returncode,
                stderr=stderr,
            )
        log.debug("notify command ran", notification=event)
        return "ok"

    def _failed(self, outcome: str, cause: str, event: str, **fields: Any) -> str:
        # The body may hold the PIN: only the event's name is logged.
        self._log_once(
            (outcome, cause), "notify command failed", outcome=outcome, notification=event, **fields
        )
        return outcome

    def _log_once(self, cause: tuple[str, str], message: str, **fields: Any) -> None:
        """At warning the first time for ``cause``, at debug after that: a storm is one line."""
        level = log.debug if cause in self._logged else log.warning
        self._logged.add(cause)
        level(message, **fields)


async def _kill(process: trio.Process) -> None:
    """A notification command past its time is killed outright: it is disposable."""
    process.kill()
