"""Errors of the ledger: bad log entries, broken chains, bogus fork proofs (SPEC §8-§10).

All are remote errors except where noted: they mean a log entry or proof that
someone else signed or relayed is bad, and it must be dropped (and counted by
``reason``). Messages are built with ``describe(field, value, rule)``.
"""

from __future__ import annotations

from protocol.errors import InvalidMessage, LocalError, RemoteError

# -- one entry on its own (SPEC §8.4)


class UnknownPayload(InvalidMessage):
    """A log entry's ``payload_kind`` names no payload this version knows."""

    reason = "unknown_payload"


class NotAParty(InvalidMessage):
    """A receipt half sits in the log of someone who is neither its driver nor its rider."""

    reason = "not_a_party"


# -- an entry against its author's chain (SPEC §8.5)


class WrongAuthor(RemoteError):
    """An entry offered to another member's log, or a fork proof over two authors."""

    reason = "wrong_author"


class Gap(RemoteError):
    """An entry whose ``seq`` is beyond the log's head + 1 and cannot be held for later."""

    reason = "gap"


class WrongPrev(RemoteError):
    """An entry's ``prev`` is not the id of its author's entry at ``seq - 1``."""

    reason = "wrong_prev"


class TimeReversal(RemoteError):
    """An entry's ``time_ms`` is earlier than the one before it in the same log."""

    reason = "time_reversal"


class Unchained(RemoteError):
    """An entry of a sync batch that follows a rejected entry of the same log (SPEC §10.5)."""

    reason = "unchained"


class WrongLink(RemoteError):
    """A rating's ``receipt_hash`` is not the id of its log's entry at ``receipt_seq`` (§8.7)."""

    reason = "wrong_link"


class NotAReceipt(RemoteError):
    """A rating names an entry of its log that is not a receipt half (SPEC §8.7)."""

    reason = "not_a_receipt"


class AlreadyRated(RemoteError):
    """A second rating of one receipt half in one log (SPEC §8.7)."""

    reason = "already_rated"


# -- fork proofs (SPEC §9)


class NotAFork(RemoteError):
    """A fork proof whose two entries do not share a ``seq``, or are one entry twice."""

    reason = "not_a_fork"


# -- co-signing (SPEC §8.3)


class ReceiptMismatch(RemoteError):
    """A counterparty's proposal is not the receipt this member expected to sign."""

    reason = "receipt_mismatch"


class NotOwnLog(LocalError):
    """A member tried to write into a log that is not its own."""

    reason = "not_own_log"
