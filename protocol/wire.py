"""Canonical, bounded MessagePack values and typed field readers (SPEC §3).

Every family of messages (gossip, ride handshake, ledger) encodes its bodies
with these primitives, so all of them share one canonical form and one set of
decoding limits. A reader checks one field's type and names the field when it
fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgpack

from protocol.errors import DecodeError, InvalidMessage, describe
from protocol.fields import TimeWindow

ID_BYTES = 16
_MAX_ARRAY = 16
_MAX_STR = 64


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Hard bounds the unpacker enforces before any object is built."""

    max_bytes: int = 64 * 1024


GOSSIP_LIMITS = DecodeLimits()


def pack(value: object) -> bytes:
    """Canonical encoding: shortest forms, ``bin`` for bytes, ``str`` for text."""
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]


def unpack(data: bytes, what: str, limits: DecodeLimits = GOSSIP_LIMITS) -> object:
    """Decode one canonical value, or raise ``DecodeError`` naming ``what``."""
    try:
        value = msgpack.unpackb(
            data,
            use_list=False,
            raw=False,
            strict_map_key=True,
            max_bin_len=limits.max_bytes,
            max_str_len=_MAX_STR,
            max_array_len=_MAX_ARRAY,
            max_map_len=0,
            max_ext_len=0,
            # The length limits let an empty map and a 0-byte ext through (SPEC §3.3).
            object_hook=_refuse_map,
            ext_hook=_refuse_ext,
        )
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        # ValueError covers truncation, trailing bytes, limits and bad UTF-8.
        raise DecodeError(describe(what, f"<{len(data)} bytes>", f"not msgpack: {exc}")) from None
    if pack(value) != data:
        raise DecodeError(describe(what, f"<{len(data)} bytes>", "not canonical msgpack"))
    return value


def _refuse_map(_: object) -> object:
    raise ValueError("maps are not allowed")


def _refuse_ext(code: int, _: bytes) -> object:
    raise ValueError(f"extension type {code} is not allowed")


# -- typed field readers: each names the field that failed


def shape(value: object) -> str:
    if type(value) is tuple:
        return f"<array of {len(value)}>"
    return f"<{type(value).__name__}>"


def array(value: object, field: str, length: int) -> tuple[object, ...]:
    if type(value) is not tuple or len(value) != length:
        raise InvalidMessage(describe(field, shape(value), f"must be an array of {length}"))
    return value


def integer(value: object, field: str) -> int:
    # `type(...) is int` on purpose: msgpack booleans are Python bools, which
    # isinstance() would accept as integers.
    if type(value) is not int:
        raise InvalidMessage(describe(field, shape(value), "must be an integer"))
    return value


def text(value: object, field: str) -> str:
    if type(value) is not str:
        raise InvalidMessage(describe(field, shape(value), "must be a string"))
    return value


def binary(value: object, field: str, size: int | None = None) -> bytes:
    if type(value) is not bytes:
        raise InvalidMessage(describe(field, shape(value), "must be binary"))
    if size is not None and len(value) != size:
        raise InvalidMessage(describe(field, f"<{len(value)} bytes>", f"must be {size} bytes"))
    return value


def window(value: object, field: str) -> TimeWindow:
    start, end = array(value, field, 2)
    return TimeWindow(integer(start, f"{field}.start_ms"), integer(end, f"{field}.end_ms"))
