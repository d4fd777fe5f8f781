"""Credit rule v1: from the logs a peer holds to every member's balance (SPEC §10.1-§10.3).

Pure and integer-only, so every peer holding the same entries computes the
same balances, whatever order the entries arrived in. Balances are in
milli-tokens: one token per passenger-kilometre shared, so one milli-token per
passenger-metre. ``explain`` gives the same computation line by line, for a
wallet to show why a ride earned what it did.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from protocol.envelope import Signed
from protocol.fields import MessageId, PublicKey
from protocol.identity import member_id
from protocol.ledger.book import Ledger
from protocol.ledger.receipt import Receipt
from protocol.ledger.wire import LogEntry, ReceiptHalf

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class CreditV1:
    """The constants of credit rule v1 (SPEC §10.2); change them only with a new version."""

    VERSION: ClassVar[str] = "credit/1"

    #: A ride of the same two members (either driving) within this window of an
    #: earlier one earns half of what the previous one in the window did.
    pair_window_ms: int = 7 * DAY_MS
    #: Most a driver earns from rides ending on one UTC day: about a full
    #: working day of pooled driving (8 h x 40 km/h x 1.5 extra passengers).
    daily_cap_milli: int = 500_000
    #: Rides faster than this on average, or of no duration, earn nothing.
    max_speed_kmh: int = 150


class Verdict(enum.Enum):
    """Why a receipt earned what it did; only ``COUNTED`` receipts earn anything."""

    COUNTED = "counted"
    ONE_SIGNATURE = "one_signature"  # no matching agreement half (yet)
    FORKED = "forked"  # a half at or after its author's fork (SPEC §9.2)
    DUPLICATE_RIDE = "duplicate_ride"  # another co-signed receipt of this ride_id came first
    NO_DURATION = "no_duration"  # ended_ms <= started_ms
    TOO_FAST = "too_fast"  # implied speed above ``max_speed_kmh``


@dataclass(frozen=True, slots=True)
class CreditLine:
    """One receipt proposal and how the rule treated it, in processing order.

    ``base_milli`` is passenger-metres (``distance_m * seats``). ``pair_index``
    is k for the k-th credited ride of the pair in the window (0 when the ride
    was not eligible), so the ride earns ``base_milli // 2**(k-1)``
    (``after_pair_milli``), then at most ``cap_left_milli``, what the
    driver's daily cap still allowed.
    """

    ride_id: bytes
    driver: PublicKey
    rider: PublicKey
    proposal_id: MessageId
    agreement_id: MessageId | None
    ended_ms: int
    verdict: Verdict
    base_milli: int
    pair_index: int
    after_pair_milli: int
    cap_left_milli: int
    credited_milli: int

    @property
    def capped(self) -> bool:
        return self.credited_milli < self.after_pair_milli

    def describe(self) -> str:
        """One line for a wallet: what the ride was worth and every term applied to it."""
        head = f"ride {self.ride_id.hex()[:8]} {member_id(self.driver)}->{member_id(self.rider)}"
        if self.verdict is not Verdict.COUNTED:
            return f"{head}: {self.verdict.value}, earns 0"
        cap = f", capped to {self.credited_milli}" if self.capped else ""
        return (
            f"{head}: base {self.base_milli}, pair ride {self.pair_index} "
            f"(1/{2 ** (self.pair_index - 1)}) = {self.after_pair_milli}{cap}"
            f" -> {self.credited_milli} milli-tokens"
        )


def balances(ledger: Ledger, params: CreditV1 = CreditV1()) -> dict[PublicKey, int]:
    """Milli-tokens of every member with a log in ``ledger`` (0 for most riders)."""
    out = {log.owner: 0 for log in ledger}
    for line in explain(ledger, params):
        if line.credited_milli:
            out[line.driver] = out.get(line.driver, 0) + line.credited_milli
    return out


def explain(
    ledger: Ledger, params: CreditV1 = CreditV1(), member: PublicKey | None = None
) -> list[CreditLine]:
    """Every receipt proposal in ``ledger`` and what it earned, in processing order.

    With ``member``, only the lines of rides it drove or rode in; the
    numbers are those of the whole computation (caps and pair counts need it).
    """
    lines = _assess(ledger, params)
    if member is None:
        return lines
    return [ln for ln in lines if member in (ln.driver, ln.rider)]


# -- the rule


def co_signed(ledger: Ledger) -> list[tuple[Signed[LogEntry], Signed[LogEntry]]]:
    """Every co-signed receipt with no void half, as ``(proposal, agreement)`` (SPEC §8.3, §9.2).

    The pairing credit starts from, before any credit term; ratings count on it (§8.7).
    """
    return [(c.proposal, c.agreement) for c in _pair_halves(ledger) if c.agreement is not None]


@dataclass(slots=True)
class _Candidate:
    proposal: Signed[LogEntry]
    agreement: Signed[LogEntry] | None
    verdict: Verdict

    @property
    def receipt(self) -> Receipt:
        half = self.proposal.message.payload
        assert isinstance(half, ReceiptHalf)  # only receipt halves become candidates
        return half.receipt


def _assess(ledger: Ledger, params: CreditV1) -> list[CreditLine]:
    candidates = sorted(_pair_halves(ledger), key=_order)
    _mark_duplicate_rides(candidates)
    pair_rides: dict[tuple[bytes, bytes], deque[int]] = {}
    earned: dict[tuple[PublicKey, int], int] = {}
    lines = []
    for c in candidates:
        r = c.receipt
        base = r.distance_m * r.seats
        duration_ms = r.ended_ms - r.started_ms
        verdict = c.verdict
        if verdict is Verdict.COUNTED:
            if duration_ms <= 0:
                verdict = Verdict.NO_DURATION
            elif r.distance_m * HOUR_MS > params.max_speed_kmh * 1000 * duration_ms:
                verdict = Verdict.TOO_FAST
        k = after_pair = cap_left = credited = 0
        if verdict is Verdict.COUNTED:
            recent = pair_rides.setdefault(_pair(r.driver, r.rider), deque())
            while recent and recent[0] <= r.ended_ms - params.pair_window_ms:
                recent.popleft()
            k = len(recent) + 1
            recent.append(r.ended_ms)
            after_pair = base >> (k - 1)
            day = (r.driver, r.ended_ms // DAY_MS)
            cap_left = params.daily_cap_milli - earned.get(day, 0)
            credited = min(after_pair, cap_left)
            earned[day] = earned.get(day, 0) + credited
        lines.append(
            CreditLine(
                ride_id=r.ride_id,
                driver=r.driver,
                rider=r.rider,
                proposal_id=c.proposal.message_id,
                agreement_id=c.agreement.message_id if c.agreement else None,
                ended_ms=r.ended_ms,
                verdict=verdict,
                base_milli=base,
                pair_index=k,
                after_pair_milli=after_pair,
                cap_left_milli=cap_left,
                credited_milli=credited,
            )
        )
    return lines


def _order(c: _Candidate) -> tuple[int, bytes, bytes]:
    """SPEC §10.1: receipts are taken by end time, then ride id, whatever their arrival."""
    r = c.receipt
    return (r.ended_ms, r.ride_id, c.proposal.message_id)


def _pair(a: PublicKey, b: PublicKey) -> tuple[bytes, bytes]:
    """The unordered pair: taking turns at the wheel does not reset the pair count."""
    return (a, b) if a < b else (b, a)


def _pair_halves(ledger: Ledger) -> list[_Candidate]:
    """Every proposal, matched with an agreement that links to it (SPEC §8.3).

    Halves at or after their author's fork are void (SPEC §9.2): a void
    proposal is listed as ``FORKED``, and one whose only agreement is void too.
    """
    candidates: dict[bytes, _Candidate] = {}
    agreements: list[Signed[LogEntry]] = []
    void_links: set[bytes] = set()
    for log in ledger:
        frozen_from = ledger.fork_seq(log.owner)
        for entry in log:
            half = entry.message.payload
            if not isinstance(half, ReceiptHalf):
                continue  # a rating (SPEC §8.7) earns nothing
            void = frozen_from is not None and entry.message.seq >= frozen_from
            if half.is_proposal:
                verdict = Verdict.FORKED if void else Verdict.ONE_SIGNATURE
                candidates[entry.message_id] = _Candidate(entry, None, verdict)
            elif void:
                void_links.add(half.link_hash)
            else:
                agreements.append(entry)
    for agreement in agreements:
        half = agreement.message.payload
        assert isinstance(half, ReceiptHalf)
        c = candidates.get(half.link_hash)
        if c is None or c.verdict is not Verdict.ONE_SIGNATURE:
            continue
        proposal = c.proposal
        receipt = c.receipt
        if (
            proposal.message.seq == half.link_seq
            and receipt == half.receipt
            and {proposal.author, agreement.author} == {receipt.driver, receipt.rider}
        ):
            c.agreement = agreement
            c.verdict = Verdict.COUNTED
    for link in void_links:
        c = candidates.get(link)
        if c is not None and c.verdict is Verdict.ONE_SIGNATURE:
            c.verdict = Verdict.FORKED
    return list(candidates.values())


def _mark_duplicate_rides(ordered: list[_Candidate]) -> None:
    """A ride id earns once: the co-signed receipt first in SPEC §10.1 order keeps it."""
    first: dict[bytes, _Candidate] = {}
    for c in ordered:
        if c.verdict is not Verdict.COUNTED:
            continue
        ride_id = c.receipt.ride_id
        if ride_id in first:
            c.verdict = Verdict.DUPLICATE_RIDE
        else:
            first[ride_id] = c
