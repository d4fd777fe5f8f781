"""A rating of the other party of a ride, as a log entry payload (SPEC §8.7).

The rater names its own receipt half of the ride, in the same log, by
``seq`` and entry id; the rated member is that receipt's other party. The
payload carries stars and nothing else: logs are public and replicated to
every peer, so free text (or a tag vocabulary that grows into it) would be
a privacy and abuse channel nobody could take back.

This module imports nothing that imports ``protocol.ledger.wire``: the wire
module imports it for its payload table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocol import wire
from protocol.errors import InvalidMessage, describe

#: Stars a rating may give.
MIN_STARS = 1
MAX_STARS = 5
#: Bytes of the rated entry's id (a SPEC §2.4 message id).
_ID_BYTES = 32


@dataclass(frozen=True, slots=True)
class RideRating:
    """``stars`` (1..5) for the other party of the receipt half at ``receipt_seq``.

    ``receipt_hash`` is that half's entry id; the half must be an earlier
    entry of the rater's own log, and rated at most once (SPEC §8.7).
    """

    PAYLOAD_KIND: ClassVar[str] = "receipt.rating"

    receipt_seq: int
    receipt_hash: bytes
    stars: int


def encode_rating(r: RideRating) -> list[object]:
    return [r.receipt_seq, r.receipt_hash, r.stars]


def decode_rating(value: object) -> RideRating:
    f = wire.array(value, "RideRating", 3)
    return RideRating(
        receipt_seq=wire.integer(f[0], "RideRating.receipt_seq"),
        receipt_hash=wire.binary(f[1], "RideRating.receipt_hash", size=_ID_BYTES),
        stars=wire.integer(f[2], "RideRating.stars"),
    )


def check_rating(seq: int, rating: RideRating) -> None:
    """The content rules of a rating at ``seq`` of its log (SPEC §8.4 step 5)."""
    if not 1 <= rating.receipt_seq < seq:
        raise InvalidMessage(
            describe(
                "RideRating.receipt_seq",
                rating.receipt_seq,
                f"must name an earlier entry of this log: 1..{max(seq - 1, 0)}",
            )
        )
    if not MIN_STARS <= rating.stars <= MAX_STARS:
        raise InvalidMessage(
            describe("RideRating.stars", rating.stars, f"must be {MIN_STARS}..{MAX_STARS}")
        )
