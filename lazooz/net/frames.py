"""Length-prefixed frames on the ``ride`` and ``sync`` streams.

A frame is a 4-byte big-endian unsigned length followed by that many bytes,
one sealed envelope each (docs/peer.md §11.3, ``Send``). A receiver reads the
length first and refuses one above its channel's limit before reading any of
the body, so an oversized frame costs it four bytes, not the frame.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import trio
from libp2p.abc import INetStream
from libp2p.custom_types import TProtocol
from libp2p.exceptions import BaseLibp2pError
from libp2p.network.stream.exceptions import StreamEOF

from protocol.errors import LocalError, describe
from protocol.ledger.wire import MAX_SYNC_BYTES
from protocol.peer.actions import Channel
from protocol.ride.wire import RIDE_LIMITS

HEADER: Final = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A stream channel: its libp2p protocol id and the largest frame it carries."""

    channel: Channel
    protocol: TProtocol
    max_frame_bytes: int


RIDE: Final = ChannelSpec("ride", TProtocol("/lazooz/ride/1.0.0"), RIDE_LIMITS.max_bytes)
SYNC: Final = ChannelSpec("sync", TProtocol("/lazooz/sync/1.0.0"), MAX_SYNC_BYTES)
SPECS: Final[Mapping[Channel, ChannelSpec]] = {"ride": RIDE, "sync": SYNC}


class FrameTooLarge(LocalError):
    """This node tried to send a frame above its channel's limit."""

    reason = "frame_too_large"


class FrameError(Exception):
    """The remote end broke the framing; ``reason`` is the counter's name."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def check_size(spec: ChannelSpec, data: bytes) -> None:
    """Refuse (``FrameTooLarge``) a frame ``spec``'s receivers would refuse."""
    if len(data) > spec.max_frame_bytes:
        raise FrameTooLarge(
            describe(
                f"{spec.channel} frame",
                f"<{len(data)} bytes>",
                f"must be at most {spec.max_frame_bytes} bytes",
            )
        )


def encode(data: bytes) -> bytes:
    """The frame carrying ``data``: its length, then the bytes."""
    return HEADER.pack(len(data)) + data


class End(enum.Enum):
    """Why a stream gave no next frame, when that is no fault of the remote end."""

    #: The remote end closed the stream between frames.
    CLOSED = "closed_by_peer"
    #: No frame began within the idle timeout.
    IDLE = "idle_closed"


async def read_frame(
    stream: INetStream, max_bytes: int, idle_timeout_s: float, frame_timeout_s: float
) -> bytes | End:
    """The next frame's body, or why there is none: the stream ended or idled.

    The first byte of a frame may take up to ``idle_timeout_s``; from there
    the whole frame must arrive within ``frame_timeout_s``. Raises
    ``FrameError`` for an oversized length, a frame cut short, a stalled
    frame or a reset stream.
    """
    first: bytes | None = None
    with trio.move_on_after(idle_timeout_s):
        try:
            first = await stream.read(HEADER.size)
        except StreamEOF:
            return End.CLOSED
        except BaseLibp2pError as exc:
            raise FrameError("reset", f"before a frame: {exc!r}") from None
    if first is None:
        return End.IDLE
    if not first:
        return End.CLOSED
    with trio.move_on_after(frame_timeout_s) as scope:
        header = first + await _read_exactly(stream, HEADER.size - len(first))
        (length,) = HEADER.unpack(header)
        if length > max_bytes:
            raise FrameError("oversized", f"frame of {length} bytes, limit {max_bytes}")
        return await _read_exactly(stream, length)
    assert scope.cancelled_caught
    raise FrameError("read_timeout", f"frame not complete within {frame_timeout_s} s")


async def _read_exactly(stream: INetStream, n: int) -> bytes:
    chunks: list[bytes] = []
    while n > 0:
        try:
            chunk = await stream.read(n)
        except StreamEOF:
            chunk = b""
        except BaseLibp2pError as exc:
            raise FrameError("reset", f"inside a frame: {exc!r}") from None
        if not chunk:
            raise FrameError("truncated", f"stream ended {n} bytes before the frame did")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
