"""One member's log: verifying an entry on its own, and against the chain before it.

An entry is accepted in two stages (SPEC §8.4-§8.5). ``open_entry`` takes raw
bytes to a signed, well-typed ``LogEntry`` -- all a fork proof needs.
``check_entry`` then applies the rules of the entry's content, and
``MemberLog.append`` the rules of the chain: next ``seq``, ``prev`` naming the
head, ``time_ms`` not going back, and a rating naming an earlier receipt
half of the same log, once (SPEC §8.7).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import final

from protocol import geo
from protocol.envelope import Envelope, Signed
from protocol.errors import InvalidMessage, Stale, describe
from protocol.fields import H3Cell, MessageId, PublicKey
from protocol.identity import member_id, verify
from protocol.ledger.errors import (
    AlreadyRated,
    Gap,
    NotAParty,
    NotAReceipt,
    TimeReversal,
    WrongAuthor,
    WrongLink,
    WrongPrev,
)
from protocol.ledger.rating import RideRating, check_rating
from protocol.ledger.receipt import Receipt
from protocol.ledger.wire import ENTRY_LIMITS, ZERO_HASH, LogEntry, ReceiptHalf
from protocol.messages import Message
from protocol.opening import parse
from protocol.validation import DEFAULT_POLICY

ENTRY_KINDS: dict[str, type[Message]] = {LogEntry.KIND: LogEntry}

MAX_SEQ = 2**63 - 1
MAX_TIME_MS = 2**63 - 1
#: Longest ride a receipt may claim: the longest route an offer may have (SPEC §4.1).
MAX_RIDE_M = 1_000_000
#: What one rider may owe for one ride, in minor units: base + 1000 km at the top rate.
MAX_RIDE_COST_MINOR = DEFAULT_POLICY.max_cost_minor * 1001


def parse_entry(raw: bytes) -> tuple[Envelope, LogEntry]:
    """Size, envelope, header and body of a raw entry (SPEC §8.4 steps 1-3), unverified."""
    env, entry = parse(raw, ENTRY_KINDS, ENTRY_LIMITS)
    assert isinstance(entry, LogEntry)
    return env, entry


def verify_parsed(raw: bytes, env: Envelope, entry: LogEntry) -> Signed[LogEntry]:
    """Step 4: the signature; returns the entry as the author signed it."""
    verify(env.author, env.signing_input(), env.signature, field="Envelope.signature")
    return Signed(message=entry, author=env.author, message_id=env.message_id, raw=raw)


def open_entry(raw: bytes) -> Signed[LogEntry]:
    """A raw entry that is well-typed and signed by its author (steps 1-4); no content rules."""
    env, entry = parse_entry(raw)
    return verify_parsed(raw, env, entry)


def check_entry(entry: Signed[LogEntry]) -> None:
    """The rules of an entry's content (step 5), independent of the rest of its log."""
    m = entry.message
    _range("LogEntry.seq", m.seq, 1, MAX_SEQ)
    if (m.seq == 1) != (m.prev == ZERO_HASH):
        rule = "must be 32 zero bytes" if m.seq == 1 else "must not be zero after seq 1"
        raise InvalidMessage(describe("LogEntry.prev", m.prev.hex()[:16] + "...", rule))
    _range("LogEntry.time_ms", m.time_ms, 0, MAX_TIME_MS)
    if isinstance(m.payload, ReceiptHalf):
        _check_half(entry.author, m.payload)
    else:
        check_rating(m.seq, m.payload)


def _check_half(author: PublicKey, half: ReceiptHalf) -> None:
    _range("ReceiptHalf.link_seq", half.link_seq, 0, MAX_SEQ)
    if (half.link_seq == 0) != (half.link_hash == ZERO_HASH):
        raise InvalidMessage(
            describe(
                "ReceiptHalf.link_hash",
                half.link_hash.hex()[:16] + "...",
                "must be zero exactly when link_seq is 0 (a proposal)",
            )
        )
    r = half.receipt
    if r.driver == r.rider:
        raise InvalidMessage(
            describe("Receipt.rider", member_id(r.rider), "must not be the driver")
        )
    if author not in (r.driver, r.rider):
        raise NotAParty(
            describe("Receipt", member_id(author), "the log's owner must be its driver or rider")
        )
    check_receipt(r)


def check_receipt(r: Receipt) -> None:
    """Ranges of a receipt's fields (SPEC §8.2); how plausible the ride was is credit's job."""
    p = DEFAULT_POLICY
    _range("Receipt.distance_m", r.distance_m, 0, MAX_RIDE_M)
    _range("Receipt.seats", r.seats, 1, p.max_seats)
    _range("Receipt.started_ms", r.started_ms, 0, MAX_TIME_MS)
    _range("Receipt.ended_ms", r.ended_ms, 0, MAX_TIME_MS)
    resolutions = []
    for name, cell in (("pickup_cell", r.pickup_cell), ("dropoff_cell", r.dropoff_cell)):
        res = _resolution(cell)
        if res is None:
            raise InvalidMessage(describe(f"Receipt.{name}", cell, "not a valid H3 cell"))
        _range(f"Receipt.{name}.resolution", res, p.min_cell_resolution, p.max_cell_resolution)
        resolutions.append(res)
    if resolutions[0] != resolutions[1]:
        raise InvalidMessage(
            describe("Receipt.dropoff_cell", f"<res {resolutions[1]}>", "must match pickup's")
        )
    currency = r.cost.currency
    if not (
        len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()
    ):
        raise InvalidMessage(describe("Receipt.cost.currency", currency, "must be ISO 4217"))
    _range("Receipt.cost.base_minor", r.cost.base_minor, 0, p.max_cost_minor)
    _range("Receipt.cost.per_km_minor", r.cost.per_km_minor, 0, p.max_cost_minor)
    _range("Receipt.cost_minor", r.cost_minor, 0, MAX_RIDE_COST_MINOR)


@functools.lru_cache(maxsize=65_536)
def _resolution(cell: int) -> int | None:
    """The resolution of an H3 cell, or None for a non-cell; rides repeat cells, so memoised."""
    return geo.cell_resolution(H3Cell(cell)) if geo.is_cell(cell) else None


def _range(field_name: str, value: int, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise InvalidMessage(describe(field_name, value, f"must be {lo}..{hi}"))


@final
class HeadIndex:
    """The head of every non-empty log of a ledger, and a count of its changes.

    Kept up to date by ``MemberLog.link`` as entries chain, so reading a
    ledger's heads costs nothing per message (the simulator's hot path);
    ``version`` grows whenever a log grows or a fork is recorded, so a result
    computed from the ledger (balances) can be reused until it moves.
    """

    __slots__ = ("heads", "version")

    def __init__(self) -> None:
        self.heads: dict[PublicKey, tuple[int, MessageId]] = {}
        self.version = 0


@final
class MemberLog:
    """One author's entries ``1..head_seq``, each chained to the one before (SPEC §8.5).

    A log held by a ``Ledger`` reports each new head to the ledger's ``HeadIndex``.
    """

    __slots__ = ("_entries", "_index", "_ratings", "owner")

    def __init__(self, owner: PublicKey, index: HeadIndex | None = None) -> None:
        self.owner = owner
        self._entries: list[Signed[LogEntry]] = []
        self._index = index
        #: ``seq`` of a rated receipt half -> the rating entry (SPEC §8.7: one each).
        self._ratings: dict[int, Signed[LogEntry]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Signed[LogEntry]]:
        return iter(self._entries)

    def __repr__(self) -> str:
        return f"MemberLog({member_id(self.owner)}, head_seq={self.head_seq})"

    @property
    def head_seq(self) -> int:
        """Sequence number of the last entry; 0 for an empty log."""
        return len(self._entries)

    @property
    def head_id(self) -> MessageId:
        """Id of the last entry; ``ZERO_HASH`` for an empty log, as the first entry's ``prev``."""
        return self._entries[-1].message_id if self._entries else MessageId(ZERO_HASH)

    @property
    def head_time_ms(self) -> int:
        return self._entries[-1].message.time_ms if self._entries else 0

    def at(self, seq: int) -> Signed[LogEntry] | None:
        """The entry with sequence number ``seq``, if the log reaches it."""
        return self._entries[seq - 1] if 1 <= seq <= len(self._entries) else None

    def ratings(self) -> Iterator[Signed[LogEntry]]:
        """This log's rating entries, in ``seq`` order."""
        return iter(self._ratings.values())

    def rating_of(self, seq: int) -> Signed[LogEntry] | None:
        """The rating entry of this log that rates its receipt half at ``seq``, if any."""
        return self._ratings.get(seq)

    def since(self, seq: int) -> list[Signed[LogEntry]]:
        """Entries ``seq..head_seq``."""
        return self._entries[max(seq, 1) - 1 :]

    def append(self, entry: bytes | Signed[LogEntry]) -> Signed[LogEntry]:
        """Verify ``entry`` (raw bytes are opened first) and make it the new head."""
        signed = open_entry(entry) if isinstance(entry, bytes) else entry
        check_entry(signed)
        self.link(signed)
        return signed

    def link(self, entry: Signed[LogEntry]) -> None:
        """Chain an entry that already passed ``open_entry`` and ``check_entry``."""
        self.check_next(entry)
        self._entries.append(entry)
        payload = entry.message.payload
        if isinstance(payload, RideRating):
            self._ratings[payload.receipt_seq] = entry
        if self._index is not None:
            self._index.heads[self.owner] = (len(self._entries), entry.message_id)
            self._index.version += 1

    def check_next(self, entry: Signed[LogEntry]) -> None:
        """Raise unless ``entry`` can be this log's next entry (SPEC §8.5)."""
        m = entry.message
        if entry.author != self.owner:
            raise WrongAuthor(
                describe(
                    "Envelope.author",
                    member_id(entry.author),
                    f"this is the log of {member_id(self.owner)}",
                )
            )
        expected = self.head_seq + 1
        if m.seq > expected:
            raise Gap(describe("LogEntry.seq", m.seq, f"the log's next seq is {expected}"))
        if m.seq < expected:
            raise Stale(describe("LogEntry.seq", m.seq, f"the log already holds 1..{expected - 1}"))
        if m.prev != self.head_id:
            raise WrongPrev(
                describe(
                    "LogEntry.prev",
                    m.prev.hex()[:16] + "...",
                    f"must be the id of entry {m.seq - 1}, {self.head_id.hex()[:16]}...",
                )
            )
        if m.time_ms < self.head_time_ms:
            raise TimeReversal(
                describe(
                    "LogEntry.time_ms",
                    m.time_ms,
                    f"before entry {m.seq - 1}'s time_ms={self.head_time_ms}",
                )
            )
        if isinstance(m.payload, RideRating):
            self._check_rated(m.payload)

    def _check_rated(self, rating: RideRating) -> None:
        """SPEC §8.7: a rating names a receipt half of this log by seq and id, once."""
        rated = self.at(rating.receipt_seq)
        if rated is None:  # only if the content rules were skipped: receipt_seq < seq
            raise NotAReceipt(
                describe("RideRating.receipt_seq", rating.receipt_seq, "no such entry in this log")
            )
        if rated.message_id != rating.receipt_hash:
            raise WrongLink(
                describe(
                    "RideRating.receipt_hash",
                    rating.receipt_hash.hex()[:16] + "...",
                    f"must be the id of entry {rating.receipt_seq},"
                    f" {rated.message_id.hex()[:16]}...",
                )
            )
        if not isinstance(rated.message.payload, ReceiptHalf):
            raise NotAReceipt(
                describe(
                    "RideRating.receipt_seq",
                    rating.receipt_seq,
                    f"entry {rating.receipt_seq} is a {rated.message.payload.PAYLOAD_KIND},"
                    " not a receipt.half",
                )
            )
        if rating.receipt_seq in self._ratings:
            raise AlreadyRated(
                describe(
                    "RideRating.receipt_seq",
                    rating.receipt_seq,
                    f"already rated by entry {self._ratings[rating.receipt_seq].message.seq}",
                )
            )
