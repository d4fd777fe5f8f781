"""Everything a Peer can be tuned by, with defaults that work for a city (SPEC §11.2)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, get_args

from protocol.errors import ConfigError, describe
from protocol.geo import REQUEST_RESOLUTION, PrivacyZone
from protocol.ledger.credit import CreditV1
from protocol.matching import DEFAULT_PARAMS, MatchParams
from protocol.ride.policy import DEFAULT_POLICY as DEFAULT_HANDSHAKE
from protocol.ride.policy import HandshakePolicy
from protocol.validation import DEFAULT_POLICY as DEFAULT_VALIDATION
from protocol.validation import ValidationPolicy

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class RidePolicy:
    """Which ride steps the Peer takes by itself, and which wait for the user.

    The rider's reveal is always automatic (proposing was the user's choice),
    and so is the driver's exact check of revealed points: a misfit is
    declined at once with its reason. The rest is the user's by default.
    """

    #: Driver: accept every proposal whose terms fit an open offer.
    auto_accept: bool = False
    #: Driver: confirm revealed points that pass the exact check.
    auto_confirm: bool = False
    #: Driver: sign the receipt at drop-off (the distance typed is the receipt).
    auto_propose_receipt: bool = True
    #: Rider: countersign a receipt that matches the ride as the rider saw it.
    auto_countersign: bool = False
    #: How long a driver has to answer a proposal (it is the proposal's expiry).
    proposal_ttl_ms: int = 2 * MINUTE_MS


#: Which logs a Peer holds (SPEC §10.6): ``full`` every log it
#: hears of (a node daemon, the reference for every balance); ``own`` a light member's
#: (a phone): its own log and the logs of the members it rode with.
LedgerMode = Literal["full", "own"]
#: Which area topics a Peer hears (SPEC §4.3): ``all``, both sides of every home
#: cell from start (an always-on peer that forwards for others); ``needed``, offers
#: only while it has an open request and requests only while it has an open offer.
Listen = Literal["all", "needed"]

_ZONE = PrivacyZone()
_CREDIT = CreditV1()


@dataclass(frozen=True, slots=True)
class PeerParams:
    """A Peer's parameters; every duration is in milliseconds."""

    #: Rings of res-5 area cells around home to subscribe to (SPEC §4.3).
    area_rings: int = 1
    #: Which of the home area's topics to hear: ``all`` or ``needed`` (see ``Listen``).
    listen: Listen = "all"
    #: Resolution of published request cells (SPEC §4.2).
    request_resolution: int = REQUEST_RESOLUTION
    #: Own offers and requests are republished this often (plus up to
    #: ``republish_jitter_ms``) until they expire, so late joiners hear them.
    republish_ms: int = 5 * MINUTE_MS
    republish_jitter_ms: int = 30 * SECOND_MS
    #: How often the book drops expired offers and requests.
    sweep_ms: int = 1 * MINUTE_MS
    #: Most offers and requests of others held; when full, the soonest to expire goes.
    max_book_offers: int = 10_000
    max_book_requests: int = 10_000
    #: Rides in progress (not ended) at once; more proposals are refused as ``busy``.
    max_rides: int = 64
    #: Ended rides are kept this long to answer late messages, then forgotten.
    keep_ended_ms: int = 1 * DAY_MS
    #: A round of heads goes to ``heads_fanout`` recent contacts this often (plus jitter).
    heads_ms: int = 5 * MINUTE_MS
    heads_fanout: int = 3
    #: Most entries sent in answer to one ``sync.want``.
    max_sync_entries: int = 256
    #: Gossip messages opened by ``validate_gossip`` and not yet received, kept at most.
    max_validated: int = 1_024
    replay_capacity: int = 200_000
    #: ``full``: hold every log heard of; ``own``: a light member, holding the logs of
    #: the authors it follows (itself and its ride counterparties), SPEC §10.6.
    ledger: LedgerMode = "full"
    privacy_zone: PrivacyZone = _ZONE
    rides: RidePolicy = RidePolicy()
    handshake: HandshakePolicy = DEFAULT_HANDSHAKE
    matching: MatchParams = DEFAULT_PARAMS
    credit: CreditV1 = _CREDIT
    validation: ValidationPolicy = DEFAULT_VALIDATION

    def __post_init__(self) -> None:
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                rule = f"must be one of {list(choices)}"
                raise ConfigError(describe(f"PeerParams.{name}", getattr(self, name), rule))
        for f in fields(self):
            value = getattr(self, f.name)
            if type(value) is int and value < (0 if f.name in _MAY_BE_ZERO else 1):
                raise ConfigError(describe(f"PeerParams.{f.name}", value, "must be positive"))
        ttl_ms, most_ms = self.rides.proposal_ttl_ms, self.handshake.max_proposal_ttl_ms
        if not 0 < ttl_ms <= most_ms:
            raise ConfigError(
                describe(
                    "RidePolicy.proposal_ttl_ms",
                    ttl_ms,
                    f"must be 1..{most_ms} (HandshakePolicy.max_proposal_ttl_ms)",
                )
            )
        p = self.validation
        if not p.min_cell_resolution <= self.request_resolution <= p.max_cell_resolution:
            raise ConfigError(
                describe(
                    "PeerParams.request_resolution",
                    self.request_resolution,
                    f"must be {p.min_cell_resolution}..{p.max_cell_resolution}",
                )
            )


#: The fields that take one of a few words, and those words.
_CHOICES: dict[str, tuple[str, ...]] = {"listen": get_args(Listen), "ledger": get_args(LedgerMode)}
_MAY_BE_ZERO = frozenset({"area_rings", "republish_jitter_ms"})
