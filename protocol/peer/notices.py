"""What the Peer tells its user, carried by ``Notify`` actions (SPEC §11.5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from protocol.fields import PublicKey
from protocol.ledger.receipt import Receipt
from protocol.matching import Candidate
from protocol.ride.actions import Notice
from protocol.ride.states import RideState, Role


@dataclass(frozen=True, slots=True)
class Match:
    """A candidate ride between an offer and a request, with both parties named.

    ``exact`` is True when the request's exact points were used (a rider
    matching its own request, or a driver checking revealed points).
    """

    candidate: Candidate
    driver: PublicKey
    rider: PublicKey
    exact: bool

    @property
    def offer_id(self) -> bytes:
        return self.candidate.offer_id

    @property
    def request_id(self) -> bytes:
        return self.candidate.request_id

    @property
    def rank_key(self) -> tuple[float, bytes, bytes, bytes, bytes]:
        c = self.candidate
        return (c.score, c.offer_id, self.driver, c.request_id, self.rider)


@dataclass(frozen=True, slots=True)
class Notification:
    """Base of everything the Peer shows its user."""


@dataclass(frozen=True, slots=True)
class CandidatesFound(Notification):
    """New matches for one of the user's own requests (``role`` rider) or offers (driver).

    ``own_id`` is that request's or offer's id; ``matches`` are the new ones,
    best first. ``Peer.candidates`` lists them all.
    """

    role: Role
    own_id: bytes
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class RideUpdated(Notification):
    """A ride moved, or needs the user. ``notice`` says what happened (``protocol.ride``).

    ``pin`` comes with ``PIN_SHOWN`` (rider: say it at pickup); ``attempts_left``
    with ``PIN_REJECTED``; ``reason`` (a ``DeclineReason``/``CancelReason`` name)
    and ``by`` with ``DECLINED`` and ``CANCELLED``; ``check`` with ``REVEALED``
    (driver: the exact match the Peer computed, whose ``pickup_ms`` ``confirm``
    proposes).
    """

    ride_id: bytes
    role: Role
    notice: Notice
    state: RideState
    counterparty: PublicKey
    offer_id: bytes
    request_id: bytes
    pin: str | None = None
    attempts_left: int | None = None
    reason: str | None = None
    by: Role | None = None
    check: Match | None = None


@dataclass(frozen=True, slots=True)
class ReceiptRecorded(Notification):
    """Both halves of a ride's receipt are signed; ``receipt`` is in both parties' logs."""

    ride_id: bytes
    receipt: Receipt


@dataclass(frozen=True, slots=True)
class BalanceChanged(Notification):
    """The user's own balance, in milli-tokens, changed from ``before_milli``."""

    member: PublicKey
    balance_milli: int
    before_milli: int


@dataclass(frozen=True, slots=True)
class InputRejected(Notification):
    """Remote input was dropped; ``count`` is the running total for ``(channel, reason)``."""

    channel: Literal["gossip", "ride", "sync"]
    reason: str
    detail: str
    count: int


@dataclass(frozen=True, slots=True)
class ForkFound(Notification):
    """``author`` signed two different log entries at ``seq``; its credit is frozen."""

    author: PublicKey
    seq: int


@dataclass(frozen=True, slots=True)
class OwnClosed(Notification):
    """One of the user's own offers or requests stopped being published.

    ``why``: ``expired``; ``booked`` (a request's ride is confirmed, or an
    offer's seats are all taken); ``withdrawn`` (the user).
    """

    kind: Literal["offer", "request"]
    own_id: bytes
    why: Literal["expired", "booked", "withdrawn"]
