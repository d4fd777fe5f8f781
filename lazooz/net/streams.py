"""Direct streams: frames to and from one member, on the ``ride`` and ``sync`` channels.

Streams are bidirectional and reused: whichever side opened a stream, both
read frames from it and both may write on it, so a reply goes back on the
stream its request came in on. Every stream, inbound or outbound, has one
reader task in the host's nursery; the reader unregisters the stream when it
ends (end of stream, idle for ``idle_timeout_s``, or a framing error, which
resets it and is counted). A send picks the newest registered stream for the
(peer, channel), or opens one; if writing on a reused stream fails (the other
side may have just closed it), it opens a fresh one and tries once more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
import trio
from libp2p.abc import IHost, INetStream
from libp2p.exceptions import BaseLibp2pError
from libp2p.peer.id import ID

from lazooz.net.counters import CountHandler
from lazooz.net.frames import SPECS, ChannelSpec, End, FrameError, check_size, encode, read_frame
from lazooz.net.keys import peer_id_of, public_key_of
from protocol.fields import PublicKey
from protocol.peer.actions import Channel

log = structlog.get_logger(__name__)

FrameHandler = Callable[[PublicKey, Channel, bytes], None]
#: Finds a peer's addresses (into the peerstore) before a dial; whether it found any.
Locate = Callable[[ID], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class StreamTimeouts:
    """How long stream steps may take, in seconds."""

    #: Opening a stream, dialling first if there is no connection.
    open_s: float = 10.0
    #: Writing one frame.
    write_s: float = 10.0
    #: A frame, once its first byte arrived.
    frame_s: float = 10.0
    #: A stream with no frame for this long is closed (either side reopens on demand).
    idle_s: float = 300.0


@dataclass(eq=False)
class _Stream:
    stream: INetStream
    peer: ID
    key: PublicKey
    spec: ChannelSpec
    write_lock: trio.Lock = field(default_factory=trio.Lock)
    done: trio.Event = field(default_factory=trio.Event)


class Streams:
    """The ``ride`` and ``sync`` streams of one host."""

    def __init__(
        self,
        host: IHost,
        on_frame: FrameHandler,
        timeouts: StreamTimeouts,
        count: CountHandler,
        locate: Locate | None = None,
    ) -> None:
        self._host = host
        self._locate = locate
        self._on_frame = on_frame
        self._timeouts = timeouts
        self._count = count
        self._open: dict[tuple[ID, Channel], list[_Stream]] = {}
        self._open_locks: dict[tuple[ID, Channel], trio.Lock] = {}
        self._nursery: trio.Nursery | None = None

    def start(self, nursery: trio.Nursery) -> None:
        """Accept streams from now on, reading them in ``nursery``."""
        self._nursery = nursery
        for spec in SPECS.values():
            self._host.set_stream_handler(spec.protocol, self._inbound_handler(spec))

    def stop(self) -> None:
        """Refuse new streams; the nursery's cancellation ends the readers."""
        for spec in SPECS.values():
            self._host.remove_stream_handler(spec.protocol)
        self._nursery = None

    def count(self) -> int:
        """Streams open now, both channels, both directions."""
        return sum(len(streams) for streams in self._open.values())

    async def send(self, to: PublicKey, channel: Channel, data: bytes) -> bool:
        """Write ``data`` as one frame to ``to`` on ``channel``; ``False`` if it could not.

        Raises ``FrameTooLarge`` for a frame above the channel's limit.
        """
        spec = SPECS[channel]
        check_size(spec, data)
        peer = peer_id_of(to)
        reused = self._newest(peer, channel)
        if reused is not None and await self._write(reused, data):
            return True
        fresh = await self._open_stream(peer, to, spec)
        return fresh is not None and await self._write(fresh, data)

    def forget_peer(self, peer: ID) -> None:
        """Drop bookkeeping of a peer that has gone (its readers end by themselves)."""
        for channel in SPECS:
            lock = self._open_locks.get((peer, channel))
            if lock is not None and not lock.locked():
                del self._open_locks[peer, channel]

    def _connected(self, peer: ID) -> bool:
        return bool(self._host.get_network().get_connections(peer))

    def _newest(self, peer: ID, channel: Channel) -> _Stream | None:
        streams = self._open.get((peer, channel))
        return streams[-1] if streams else None

    async def _open_stream(self, peer: ID, key: PublicKey, spec: ChannelSpec) -> _Stream | None:
        lock = self._open_locks.setdefault((peer, spec.channel), trio.Lock())
        async with lock:
            # A stream registered while this task waited for the lock is fresh:
            # a stream that failed for this send was unregistered before.
            newest = self._newest(peer, spec.channel)
            if newest is not None:
                return newest
            stream: INetStream | None = None
            with trio.move_on_after(self._timeouts.open_s):
                try:
                    if self._locate is not None and not self._connected(peer):
                        await self._locate(peer)
                    stream = await self._host.new_stream(peer, [spec.protocol])
                except (BaseLibp2pError, OSError) as exc:
                    self._count(spec.channel, "open_failed")
                    log.info(
                        "stream open failed", peer=str(peer), channel=spec.channel, error=repr(exc)
                    )
                    return None
            if stream is None:
                self._count(spec.channel, "open_timeout")
                log.info("stream open timed out", peer=str(peer), channel=spec.channel)
                return None
            return self._adopt(stream, peer, key, spec)

    async def _write(self, s: _Stream, data: bytes) -> bool:
        error = "timeout"
        async with s.write_lock:
            with trio.move_on_after(self._timeouts.write_s):
                try:
                    await s.stream.write(encode(data))
                except BaseLibp2pError as exc:
                    error = repr(exc)
                else:
                    self._count(s.spec.channel, "frames_out")
                    return True
        self._count(s.spec.channel, "write_failed")
        log.info("frame write failed", peer=str(s.peer), channel=s.spec.channel, error=error)
        self._unregister(s)
        await _reset(s.stream)
        return False

    def _inbound_handler(self, spec: ChannelSpec) -> Callable[[INetStream], Awaitable[None]]:
        async def handle(stream: INetStream) -> None:
            peer = stream.muxed_conn.peer_id
            key = public_key_of(peer)
            if key is None:
                self._count(spec.channel, "not_member")
                await _reset(stream)
                return
            if self._nursery is None:
                await _reset(stream)
                return
            s = self._adopt(stream, peer, key, spec)
            # libp2p forgets a stream once its handler returns: hold it until read out.
            await s.done.wait()

        return handle

    def _adopt(self, stream: INetStream, peer: ID, key: PublicKey, spec: ChannelSpec) -> _Stream:
        assert self._nursery is not None, "Streams.start must run first"
        s = _Stream(stream, peer, key, spec)
        self._open.setdefault((peer, spec.channel), []).append(s)
        self._nursery.start_soon(self._read_loop, s)
        return s

    async def _read_loop(self, s: _Stream) -> None:
        t = self._timeouts
        try:
            while True:
                try:
                    data = await read_frame(s.stream, s.spec.max_frame_bytes, t.idle_s, t.frame_s)
                except FrameError as exc:
                    self._count(s.spec.channel, exc.reason)
                    log.info(
                        "stream refused", peer=str(s.peer), channel=s.spec.channel, error=str(exc)
                    )
                    self._unregister(s)
                    await _reset(s.stream)
                    return
                if isinstance(data, End):
                    self._count(s.spec.channel, data.value)
                    self._unregister(s)
                    await _close(s.stream)
                    return
                self._count(s.spec.channel, "frames_in")
                self._on_frame(s.key, s.spec.channel, data)
        finally:
            self._unregister(s)
            s.done.set()

    def _unregister(self, s: _Stream) -> None:
        streams = self._open.get((s.peer, s.spec.channel))
        if streams is not None and s in streams:
            streams.remove(s)
            if not streams:
                del self._open[s.peer, s.spec.channel]


async def _close(stream: INetStream) -> None:
    try:
        await stream.close()
    except BaseLibp2pError as exc:
        log.debug("stream close failed", error=repr(exc))


async def _reset(stream: INetStream) -> None:
    try:
        await stream.reset()
    except BaseLibp2pError as exc:
        log.debug("stream reset failed", error=repr(exc))
