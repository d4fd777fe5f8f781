"""Gossip in: a topic validator's verdict, and what an accepted message changes (SPEC §11.7).

``validate`` runs the whole pipeline once (SPEC §5 for ride topics; size,
decode, kind and signature for the ledger topic) and keeps what it opened;
``received`` then uses that without verifying again. A shell without a
validator hook calls ``received`` alone, which validates first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import cast

from protocol import geo
from protocol.codec import check_header, decode_body, decode_envelope
from protocol.envelope import Signed
from protocol.errors import RemoteError, describe
from protocol.identity import verify
from protocol.ledger.chain import check_entry, open_entry
from protocol.ledger.forks import Fork, open_fork
from protocol.ledger.wire import LEDGER_TOPIC_KINDS, ForkProof, LogEntry, SyncHeads
from protocol.messages import Message, RideOffer, RideRequest
from protocol.peer import sync as peer_sync
from protocol.peer.actions import Action, Notify
from protocol.peer.book import Booked, Key
from protocol.peer.core import LEDGER_TOPIC, Core
from protocol.peer.errors import WrongTopic
from protocol.peer.notices import CandidatesFound
from protocol.peer.sync import SyncState
from protocol.ride.states import Role
from protocol.validation import ValidationPolicy, check_size, open_gossip

RIDES_TOPIC_PREFIX = geo.AREA_TOPIC_PREFIX
#: The one kind each side of an area carries (SPEC §4.3): any other is ``unknown_kind`` there.
SIDE_KINDS: dict[geo.Side, dict[str, type[Message]]] = {
    "offers": {RideOffer.KIND: RideOffer},
    "requests": {RideRequest.KIND: RideRequest},
}

Opened = Signed[RideOffer] | Signed[RideRequest] | Signed[SyncHeads] | Signed[LogEntry] | Fork


@dataclass(frozen=True, slots=True)
class Accepted:
    """The message is valid: deliver and forward it."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """The message is bad: drop it and do not forward it. ``reason`` as in SPEC Appendix A."""

    reason: str
    detail: str


Verdict = Accepted | Rejected


class Validated:
    """Messages opened by ``validate`` and not yet ``received``, oldest dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, bytes], Opened] = OrderedDict()

    def put(self, topic: str, data: bytes, opened: Opened) -> None:
        self._items[(topic, data)] = opened
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def take(self, topic: str, data: bytes) -> Opened | None:
        return self._items.pop((topic, data), None)


def open_message(core: Core, topic: str, data: bytes, now_ms: int) -> Opened:
    """The pipeline of ``topic``'s family; raises the ``RemoteError`` of the first failure."""
    side = geo.topic_side(topic)
    if side is not None:
        signed = open_gossip(
            data,
            now_ms=now_ms,
            replay=core.replay,
            policy=core.params.validation,
            shared=core.shared,
            kinds=SIDE_KINDS[side],
        )
        narrowed = _narrow(signed)
        if signed.author != core.me:
            if isinstance(signed.message, RideOffer):
                core.book.offers.check(cast(Signed[RideOffer], narrowed))
            else:
                core.book.requests.check(cast(Signed[RideRequest], narrowed))
        return narrowed
    if topic == LEDGER_TOPIC:
        policy = core.params.validation
        if core.shared is None:
            return _open_ledger(data, policy)
        return core.shared.run("ledger", policy, data, lambda: _open_ledger(data, policy))
    raise WrongTopic(describe("topic", topic, "not a lazooz/1 topic this peer reads"))


def _open_ledger(data: bytes, policy: ValidationPolicy) -> Opened:
    """A ``lazooz/1/ledger`` message, every step of it pure in the bytes (§11.7)."""
    check_size(data, policy)
    limits = policy.decode_limits
    env = decode_envelope(data, limits)
    cls = check_header(env, LEDGER_TOPIC_KINDS)
    if cls is ForkProof:
        return open_fork(data, limits)
    if cls is LogEntry:
        entry = open_entry(data)
        check_entry(entry)
        return entry
    message = decode_body(env.kind, env.body, limits)
    assert isinstance(message, SyncHeads)
    verify(env.author, env.signing_input(), env.signature, field="Envelope.signature")
    return Signed(message=message, author=env.author, message_id=env.message_id, raw=data)


def _narrow(signed: Signed[RideOffer | RideRequest]) -> Signed[RideOffer] | Signed[RideRequest]:
    # The same object, typed by its message's class: a copy per receiver costs a
    # town's every delivery for nothing.
    if isinstance(signed.message, RideOffer):
        return cast(Signed[RideOffer], signed)
    return cast(Signed[RideRequest], signed)


def validate(core: Core, validated: Validated, topic: str, data: bytes, now_ms: int) -> Verdict:
    try:
        opened = open_message(core, topic, data, now_ms)
    except RemoteError as exc:
        core.reject("gossip", exc)
        return Rejected(exc.reason, str(exc))
    validated.put(topic, data, opened)
    return Accepted()


def received(
    core: Core,
    validated: Validated,
    sync_state: SyncState,
    topic: str,
    data: bytes,
    now_ms: int,
) -> list[Action]:
    """A gossip message delivered on ``topic``: book it, match it, or sync from it."""
    opened = validated.take(topic, data)
    if opened is None:
        try:
            opened = open_message(core, topic, data, now_ms)
        except RemoteError as exc:
            return [core.reject("gossip", exc)]
    if isinstance(opened, Fork):
        return peer_sync.fork_received(core, opened)
    if opened.author == core.me:
        return []  # an echo of our own message
    m = opened.message
    if isinstance(m, SyncHeads):
        return peer_sync.heads_received(core, sync_state, opened.author, m, now_ms, reply=False)
    if isinstance(m, LogEntry):
        entry = Signed(m, opened.author, opened.message_id, opened.raw)
        return peer_sync.entry_heard(core, sync_state, entry, now_ms)
    try:
        if isinstance(m, RideOffer):
            return _offer(core, cast(Signed[RideOffer], opened))
        assert isinstance(m, RideRequest)
        return _request(core, cast(Signed[RideRequest], opened))
    except RemoteError as exc:
        # Stale here: a newer seq arrived between validation and delivery.
        return [core.reject("gossip", exc)]


def _offer(core: Core, signed: Signed[RideOffer]) -> list[Action]:
    _, evicted = core.book.offers.put(signed)
    for key in evicted:
        core.matcher.offer_gone(key)
    booked = core.book.offers.get((signed.author, signed.message.offer_id))
    if booked is None:
        return []  # evicted at once: it expires before everything held
    open_requests = [r for r in core.requests.values() if r.status == "open"]
    found = core.matcher.offer_heard(booked, open_requests)
    return [
        Notify(CandidatesFound(Role.RIDER, request_id, (match,)))
        for request_id, match in found.items()
    ]


def _request(core: Core, signed: Signed[RideRequest]) -> list[Action]:
    _, evicted = core.book.requests.put(signed)
    for key in evicted:
        core.matcher.request_gone(key)
    booked: Booked[RideRequest] | None = core.book.requests.get(
        (signed.author, signed.message.request_id)
    )
    if booked is None:
        return []
    open_offers = [o for o in core.offers.values() if o.status == "open"]
    found = core.matcher.request_heard(booked, open_offers)
    return [
        Notify(CandidatesFound(Role.DRIVER, offer_id, (match,)))
        for offer_id, match in found.items()
    ]


def expire(core: Core, now_ms: int) -> None:
    """Drop offers and requests past expiry, and their candidates."""
    skew = core.params.validation.max_skew_ms
    gone: list[Key] = core.book.offers.expire(now_ms, skew)
    for key in gone:
        core.matcher.offer_gone(key)
    for key in core.book.requests.expire(now_ms, skew):
        core.matcher.request_gone(key)
