"""Reputation: what the ratings members gave each other add up to (SPEC §8.8).

Pure and integer-only like credit: every peer holding the same entries and
fork proofs computes the same counts and star totals, whatever order they
arrived in. A rating counts when the receipt it names counts as co-signed
for credit (both halves held, neither void: ``credit.co_signed``), and the
rating itself is not void (at or after its author's fork, SPEC §9.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.fields import PublicKey
from protocol.ledger.book import Ledger
from protocol.ledger.cosign import receipt_half
from protocol.ledger.credit import co_signed
from protocol.ledger.rating import RideRating
from protocol.ledger.receipt import Receipt


@dataclass(frozen=True, slots=True)
class Reputation:
    """``count`` ratings that count for a member, and the sum of their stars."""

    count: int = 0
    stars_total: int = 0

    @property
    def mean(self) -> float | None:
        """Mean stars, or None with no rating yet."""
        return self.stars_total / self.count if self.count else None


def reputations(ledger: Ledger) -> dict[PublicKey, Reputation]:
    """The reputation of every member some counted rating rates; others have none yet."""
    counted: dict[bytes, Receipt] = {}
    for proposal, agreement in co_signed(ledger):
        receipt = receipt_half(proposal).receipt
        counted[proposal.message_id] = counted[agreement.message_id] = receipt
    totals: dict[PublicKey, tuple[int, int]] = {}
    for log in ledger:
        frozen_from = ledger.fork_seq(log.owner)
        for entry in log.ratings():
            if frozen_from is not None and entry.message.seq >= frozen_from:
                continue  # void, as a forked author's receipt halves are
            rating = entry.message.payload
            assert isinstance(rating, RideRating)
            # The chain rules made receipt_hash the id of the rater's own half.
            r = counted.get(rating.receipt_hash)
            if r is None:
                continue  # not co-signed (yet), or void
            rated = r.rider if log.owner == r.driver else r.driver
            n, stars = totals.get(rated, (0, 0))
            totals[rated] = (n + 1, stars + rating.stars)
    return {member: Reputation(n, stars) for member, (n, stars) in totals.items()}


def reputation(ledger: Ledger, member: PublicKey) -> Reputation:
    """One member's reputation by ``ledger`` (``reputations`` computes them all at once)."""
    return reputations(ledger).get(member, Reputation())
