"""Writing the two halves of a ride receipt into their authors' logs (SPEC §8.3), and ratings.

The ride handshake calls these: one party proposes (usually the driver, at
drop-off), the other checks the proposal is the ride it saw and countersigns.

``propose_receipt`` and ``countersign`` sign the half and append it to the
member's own log. ``proposal_entry`` and ``agreement_entry`` only sign it, as
that log's next entry, for a caller that appends later (``MemberLog.append``)
once something else has succeeded. Such an entry must never be sent before it
is appended: a second, different entry at its ``seq`` would be a fork of the
member's own log (SPEC §9). ``rating_entry`` signs a rating of a ride's other
party the same way (SPEC §8.7).
"""

from __future__ import annotations

import dataclasses

from protocol.envelope import Signed
from protocol.errors import describe
from protocol.identity import Identity, member_id
from protocol.ledger.chain import MemberLog, check_entry, open_entry
from protocol.ledger.errors import NotOwnLog, ReceiptMismatch
from protocol.ledger.rating import RideRating
from protocol.ledger.receipt import Receipt
from protocol.ledger.wire import ZERO_HASH, LogEntry, Payload, ReceiptHalf
from protocol.signing import seal


def propose_receipt(
    identity: Identity, log: MemberLog, receipt: Receipt, time_ms: int
) -> Signed[LogEntry]:
    """Sign ``receipt`` as the first half and append it to ``identity``'s own ``log``."""
    return log.append(proposal_entry(identity, log, receipt, time_ms))


def countersign(
    identity: Identity,
    log: MemberLog,
    proposal: bytes | Signed[LogEntry],
    time_ms: int,
    *,
    expected: Receipt,
) -> Signed[LogEntry]:
    """Check the counterparty's ``proposal`` is ``expected``; append the agreement half.

    Raises ``ReceiptMismatch`` (naming the first differing field) when the
    proposal is not the ride this member saw or was not made by the other
    party of it; nothing is written then.
    """
    return log.append(agreement_entry(identity, log, proposal, time_ms, expected=expected))


def proposal_entry(
    identity: Identity, log: MemberLog, receipt: Receipt, time_ms: int
) -> Signed[LogEntry]:
    """The proposal half of ``receipt``, signed as the next entry of ``log``; not appended.

    ``time_ms`` is the caller's clock; an entry never goes back in time, so a
    clock that jumped backwards writes the previous entry's time instead.
    """
    half = ReceiptHalf(receipt=receipt, link_seq=0, link_hash=ZERO_HASH)
    return _next_entry(identity, log, half, time_ms)


def agreement_entry(
    identity: Identity,
    log: MemberLog,
    proposal: bytes | Signed[LogEntry],
    time_ms: int,
    *,
    expected: Receipt,
) -> Signed[LogEntry]:
    """The agreement half linking to ``proposal``, signed as ``log``'s next entry; not appended.

    Checks as ``countersign`` does; a raw ``proposal`` is verified first.
    """
    signed = open_entry(proposal) if isinstance(proposal, bytes) else proposal
    check_entry(signed)
    half = receipt_half(signed)
    if not half.is_proposal:
        raise ReceiptMismatch(
            describe("ReceiptHalf.link_seq", half.link_seq, "must be 0: not a proposal")
        )
    for f in dataclasses.fields(Receipt):
        got, want = getattr(half.receipt, f.name), getattr(expected, f.name)
        if got != want:
            raise ReceiptMismatch(describe(f"Receipt.{f.name}", got, f"expected {want!r}"))
    if {signed.author, identity.public_key} != {expected.driver, expected.rider}:
        raise ReceiptMismatch(
            describe(
                "Envelope.author",
                member_id(signed.author),
                f"must be the other party of a ride of {member_id(identity.public_key)}",
            )
        )
    agreement = ReceiptHalf(
        receipt=half.receipt, link_seq=signed.message.seq, link_hash=signed.message_id
    )
    return _next_entry(identity, log, agreement, time_ms)


def receipt_half(entry: Signed[LogEntry]) -> ReceiptHalf:
    """``entry``'s payload, which must be a receipt half (``receipt_mismatch`` otherwise)."""
    half = entry.message.payload
    if not isinstance(half, ReceiptHalf):
        raise ReceiptMismatch(
            describe("LogEntry.payload_kind", half.PAYLOAD_KIND, "must be receipt.half")
        )
    return half


def rating_entry(
    identity: Identity, log: MemberLog, half: Signed[LogEntry], stars: int, time_ms: int
) -> Signed[LogEntry]:
    """A rating of the other party of ``half`` (an own receipt half in ``log``), signed as
    ``log``'s next entry; not appended. Raises as ``MemberLog.append`` would."""
    rating = RideRating(receipt_seq=half.message.seq, receipt_hash=half.message_id, stars=stars)
    return _next_entry(identity, log, rating, time_ms)


def _next_entry(
    identity: Identity, log: MemberLog, half: Payload, time_ms: int
) -> Signed[LogEntry]:
    if log.owner != identity.public_key:
        raise NotOwnLog(
            describe("log", member_id(log.owner), f"{identity.member_id} writes only its own log")
        )
    entry = LogEntry(
        seq=log.head_seq + 1,
        prev=log.head_id,
        time_ms=max(time_ms, log.head_time_ms),
        payload=half,
    )
    signed = seal(identity, entry)
    # The same content rules as for anyone's entry: a receipt this member is
    # not in, or a field out of range, raises before anything is signed away.
    check_entry(signed)
    log.check_next(signed)
    return signed
