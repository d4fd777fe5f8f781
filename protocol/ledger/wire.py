"""Ledger messages and their canonical bodies (SPEC §8-§10).

Log entries, fork proofs and the three sync messages, with the codec table
``LEDGER_CODECS`` that ``protocol.codec`` merges into its own. Decoders check
types and the shape of packed records; the rules an entry must keep (ranges,
who may write what) are in ``protocol.ledger.chain`` because a fork proof
needs only well-typed, signed entries (SPEC §9).

This module imports nothing that imports ``protocol.codec``: the codec imports
it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from protocol import wire
from protocol.errors import InvalidMessage, describe
from protocol.fields import CostShare, H3Cell, MessageId, PublicKey
from protocol.ledger.errors import UnknownPayload
from protocol.ledger.rating import RideRating, decode_rating, encode_rating
from protocol.ledger.receipt import Receipt
from protocol.messages import Message
from protocol.wire import ID_BYTES, DecodeLimits

#: Bytes of an entry id (a SPEC §2.4 message id) and of a public key.
HASH_BYTES = 32
KEY_BYTES = 32
#: ``prev`` of a log's first entry, and ``link_hash`` of a proposal.
ZERO_HASH = bytes(HASH_BYTES)

#: A whole log entry envelope, as stored, synced and put in fork proofs.
MAX_ENTRY_BYTES = 4096
ENTRY_LIMITS = DecodeLimits(max_bytes=MAX_ENTRY_BYTES)
#: A message on the sync stream (``/lazooz/sync/1.0.0``).
MAX_SYNC_BYTES = 128 * 1024
SYNC_LIMITS = DecodeLimits(max_bytes=MAX_SYNC_BYTES)
#: Records per ``sync.heads`` / ``sync.want`` message; more are sent as several messages.
MAX_HEADS = 512
MAX_WANTS = 512
#: Entries per ``sync.entries`` batch: the SPEC §3.3 array bound.
MAX_BATCH = 16


# -- log entries (SPEC §8)


@dataclass(frozen=True, slots=True)
class ReceiptHalf:
    """One side's signature of a ride receipt, as a log entry payload (SPEC §8.2).

    The proposer's half has ``link_seq == 0`` and ``link_hash == ZERO_HASH``; the
    counterparty's half (the agreement) names the proposal by its author's
    ``seq`` and its entry id. Only a proposal with a matching agreement counts.
    """

    PAYLOAD_KIND: ClassVar[str] = "receipt.half"

    receipt: Receipt
    link_seq: int
    link_hash: bytes

    @property
    def is_proposal(self) -> bool:
        return self.link_seq == 0


#: Every payload of version 1 (SPEC §8.1); ``RideRating`` is in ``protocol.ledger.rating``.
Payload = ReceiptHalf | RideRating


@dataclass(frozen=True, slots=True)
class LogEntry(Message):
    """Entry ``seq`` (1-based) of its author's log; the author is the envelope's signer.

    ``prev`` is the id of the author's entry ``seq - 1`` (``ZERO_HASH`` for the
    first), so each entry's id fixes the whole log before it. ``time_ms`` is the
    author's clock when it wrote the entry and never decreases along a log.
    """

    KIND: ClassVar[str] = "log.entry"

    seq: int
    prev: bytes
    time_ms: int
    payload: Payload


# -- fork proofs (SPEC §9)


@dataclass(frozen=True, slots=True)
class ForkProof(Message):
    """Two signed entries of one author with one ``seq``: proof the author forked its log.

    ``first`` and ``second`` are raw entry envelopes; ``first``'s entry id sorts
    before ``second``'s, so one fork has exactly one proof.
    """

    KIND: ClassVar[str] = "ledger.fork"

    first: bytes
    second: bytes


# -- sync (SPEC §10.4)


@dataclass(frozen=True, slots=True)
class Head:
    """The last entry a peer holds of ``author``'s log."""

    author: PublicKey
    seq: int
    entry_id: MessageId


@dataclass(frozen=True, slots=True)
class Want:
    """A request for ``author``'s entries from ``from_seq`` on."""

    author: PublicKey
    from_seq: int


@dataclass(frozen=True, slots=True)
class SyncHeads(Message):
    """Some of the log heads a peer holds, authors in ascending byte order."""

    KIND: ClassVar[str] = "sync.heads"

    heads: tuple[Head, ...]


@dataclass(frozen=True, slots=True)
class SyncWant(Message):
    """The logs and sequence numbers a peer asks for, authors in ascending byte order."""

    KIND: ClassVar[str] = "sync.want"

    wants: tuple[Want, ...]


@dataclass(frozen=True, slots=True)
class SyncEntries(Message):
    """A batch of raw log entry envelopes, each verified by the receiver on its own."""

    KIND: ClassVar[str] = "sync.entries"

    entries: tuple[bytes, ...]


# -- bodies

Encoder = Callable[[Any], list[object]]
Decoder = Callable[[object], Message]


def _encode_receipt(r: Receipt) -> list[object]:
    return [
        r.ride_id,
        r.offer_id,
        r.request_id,
        r.driver,
        r.rider,
        r.pickup_cell,
        r.dropoff_cell,
        r.distance_m,
        r.seats,
        r.started_ms,
        r.ended_ms,
        [r.cost.currency, r.cost.base_minor, r.cost.per_km_minor],
        r.cost_minor,
    ]


def _decode_receipt(value: object) -> Receipt:
    f = wire.array(value, "Receipt", 13)
    cost = wire.array(f[11], "Receipt.cost", 3)
    return Receipt(
        ride_id=wire.binary(f[0], "Receipt.ride_id", size=ID_BYTES),
        offer_id=wire.binary(f[1], "Receipt.offer_id", size=ID_BYTES),
        request_id=wire.binary(f[2], "Receipt.request_id", size=ID_BYTES),
        driver=PublicKey(wire.binary(f[3], "Receipt.driver", size=KEY_BYTES)),
        rider=PublicKey(wire.binary(f[4], "Receipt.rider", size=KEY_BYTES)),
        pickup_cell=H3Cell(wire.integer(f[5], "Receipt.pickup_cell")),
        dropoff_cell=H3Cell(wire.integer(f[6], "Receipt.dropoff_cell")),
        distance_m=wire.integer(f[7], "Receipt.distance_m"),
        seats=wire.integer(f[8], "Receipt.seats"),
        started_ms=wire.integer(f[9], "Receipt.started_ms"),
        ended_ms=wire.integer(f[10], "Receipt.ended_ms"),
        cost=CostShare(
            currency=wire.text(cost[0], "Receipt.cost.currency"),
            base_minor=wire.integer(cost[1], "Receipt.cost.base_minor"),
            per_km_minor=wire.integer(cost[2], "Receipt.cost.per_km_minor"),
        ),
        cost_minor=wire.integer(f[12], "Receipt.cost_minor"),
    )


def _encode_half(h: ReceiptHalf) -> list[object]:
    return [_encode_receipt(h.receipt), h.link_seq, h.link_hash]


def _decode_half(value: object) -> ReceiptHalf:
    f = wire.array(value, "ReceiptHalf", 3)
    return ReceiptHalf(
        receipt=_decode_receipt(f[0]),
        link_seq=wire.integer(f[1], "ReceiptHalf.link_seq"),
        link_hash=wire.binary(f[2], "ReceiptHalf.link_hash", size=HASH_BYTES),
    )


#: Payload kind -> (encoder, decoder); the kind is written before the payload array.
PAYLOADS: dict[str, tuple[Callable[[Any], list[object]], Callable[[object], Payload]]] = {
    ReceiptHalf.PAYLOAD_KIND: (_encode_half, _decode_half),
    RideRating.PAYLOAD_KIND: (encode_rating, decode_rating),
}


def _encode_entry(m: LogEntry) -> list[object]:
    kind = m.payload.PAYLOAD_KIND
    return [m.seq, m.prev, m.time_ms, kind, PAYLOADS[kind][0](m.payload)]


def _decode_entry(value: object) -> LogEntry:
    f = wire.array(value, "LogEntry", 5)
    seq = wire.integer(f[0], "LogEntry.seq")
    prev = wire.binary(f[1], "LogEntry.prev", size=HASH_BYTES)
    time_ms = wire.integer(f[2], "LogEntry.time_ms")
    kind = wire.text(f[3], "LogEntry.payload_kind")
    try:
        decode_payload = PAYLOADS[kind][1]
    except KeyError:
        raise UnknownPayload(
            describe("LogEntry.payload_kind", kind, f"must be one of {sorted(PAYLOADS)}")
        ) from None
    return LogEntry(seq=seq, prev=prev, time_ms=time_ms, payload=decode_payload(f[4]))


def _encode_fork(m: ForkProof) -> list[object]:
    return [m.first, m.second]


def _decode_fork(value: object) -> ForkProof:
    f = wire.array(value, "ForkProof", 2)
    return ForkProof(
        first=wire.binary(f[0], "ForkProof.first"),
        second=wire.binary(f[1], "ForkProof.second"),
    )


# Packed records (SPEC §10.4): fixed width, so every byte string of whole
# records is canonical once authors must strictly ascend.
_HEAD = struct.Struct(">32sQ32s")
_WANT = struct.Struct(">32sQ")
_MAX_SEQ = 2**63 - 1


def _records(value: object, field: str, record: struct.Struct, limit: int) -> list[tuple[Any, ...]]:
    data = wire.binary(value, field)
    if len(data) % record.size or len(data) > limit * record.size:
        raise InvalidMessage(
            describe(
                field, f"<{len(data)} bytes>", f"must be 0..{limit} records of {record.size} bytes"
            )
        )
    rows = list(record.iter_unpack(data))
    for i in range(1, len(rows)):
        if rows[i][0] <= rows[i - 1][0]:
            raise InvalidMessage(describe(f"{field}[{i}].author", "<key>", "authors must ascend"))
    for i, row in enumerate(rows):
        if not 1 <= row[1] <= _MAX_SEQ:
            raise InvalidMessage(describe(f"{field}[{i}].seq", row[1], f"must be 1..{_MAX_SEQ}"))
    return rows


def _encode_heads(m: SyncHeads) -> list[object]:
    return [b"".join(_HEAD.pack(h.author, h.seq, h.entry_id) for h in m.heads)]


def _decode_heads(value: object) -> SyncHeads:
    (packed,) = wire.array(value, "SyncHeads", 1)
    rows = _records(packed, "SyncHeads.heads", _HEAD, MAX_HEADS)
    return SyncHeads(tuple(Head(PublicKey(a), s, MessageId(h)) for a, s, h in rows))


def _encode_want(m: SyncWant) -> list[object]:
    return [b"".join(_WANT.pack(w.author, w.from_seq) for w in m.wants)]


def _decode_want(value: object) -> SyncWant:
    (packed,) = wire.array(value, "SyncWant", 1)
    rows = _records(packed, "SyncWant.wants", _WANT, MAX_WANTS)
    return SyncWant(tuple(Want(PublicKey(a), s) for a, s in rows))


def _encode_entries(m: SyncEntries) -> list[object]:
    return [list(m.entries)]


def _decode_entries(value: object) -> SyncEntries:
    (items,) = wire.array(value, "SyncEntries", 1)
    if type(items) is not tuple:
        raise InvalidMessage(describe("SyncEntries.entries", wire.shape(items), "must be an array"))
    return SyncEntries(
        tuple(wire.binary(e, f"SyncEntries.entries[{i}]") for i, e in enumerate(items))
    )


#: Ledger bodies, merged into ``protocol.codec._CODECS``.
LEDGER_CODECS: dict[type[Message], tuple[Encoder, Decoder]] = {
    LogEntry: (_encode_entry, _decode_entry),
    ForkProof: (_encode_fork, _decode_fork),
    SyncHeads: (_encode_heads, _decode_heads),
    SyncWant: (_encode_want, _decode_want),
    SyncEntries: (_encode_entries, _decode_entries),
}

#: The kinds a sync stream carries, for ``codec.check_header``.
SYNC_KINDS: dict[str, type[Message]] = {
    cls.KIND: cls for cls in (SyncHeads, SyncWant, SyncEntries, ForkProof)
}
#: The kinds the ``lazooz/1/ledger`` gossip topic carries.
LEDGER_TOPIC_KINDS: dict[str, type[Message]] = {
    cls.KIND: cls for cls in (LogEntry, SyncHeads, ForkProof)
}
