"""The user's own offers and requests: publish, republish until expiry, close (SPEC §11.8)."""

from __future__ import annotations

from typing import Any, Literal

from protocol.errors import describe
from protocol.peer import listening
from protocol.peer import own as own_mod
from protocol.peer.actions import Action, CancelTimer, Notify, Persist, Publish
from protocol.peer.core import Core
from protocol.peer.errors import UnknownId
from protocol.peer.notices import CandidatesFound, OwnClosed
from protocol.peer.own import OwnOffer, OwnRequest
from protocol.ride.states import Role

Kind = Literal["offer", "request"]
Why = Literal["expired", "booked", "withdrawn"]


def add_offer(core: Core, now_ms: int, **terms: Any) -> tuple[bytes, list[Action]]:
    """Make, sign and publish an offer; it is republished until it expires."""
    own = own_mod.new_offer(core.identity, core.rng, core.params, now_ms=now_ms, **terms)
    core.offers[own.offer_id] = own
    out = [*listening.update(core), *_publish_offer(core, own, now_ms)]
    found = core.matcher.offer_added(own, core.book.requests)
    if found:
        out.append(Notify(CandidatesFound(Role.DRIVER, own.offer_id, tuple(found))))
    return own.offer_id, out


def add_request(core: Core, now_ms: int, **terms: Any) -> tuple[bytes, list[Action]]:
    """Make, sign and publish a request; it is republished until booked or expired."""
    own = own_mod.new_request(core.identity, core.rng, core.params, now_ms=now_ms, **terms)
    core.requests[own.request_id] = own
    out = [*listening.update(core), *_publish_request(core, own, now_ms)]
    found = core.matcher.request_added(own, core.book.offers)
    if found:
        out.append(Notify(CandidatesFound(Role.RIDER, own.request_id, tuple(found))))
    return own.request_id, out


def timer_fired(core: Core, kind: Kind, own_id: bytes, now_ms: int) -> list[Action]:
    """An own offer's or request's timer: republish it, or close it at its expiry."""
    item = core.offers.get(own_id) if kind == "offer" else core.requests.get(own_id)
    if item is None or item.status in ("expired", "withdrawn"):
        return []
    expires_ms = item.offer.expires_ms if isinstance(item, OwnOffer) else item.request.expires_ms
    if now_ms >= expires_ms:
        return close(core, kind, own_id, "expired")
    if item.status != "open" or now_ms < item.next_publish_ms:
        return [_schedule(core, kind, item)]
    if isinstance(item, OwnOffer):
        own_mod.republished_offer(core.identity, item)
        return _publish_offer(core, item, now_ms)
    own_mod.republished_request(core.identity, item)
    return _publish_request(core, item, now_ms)


def close(core: Core, kind: Kind, own_id: bytes, why: Why) -> list[Action]:
    """Stop publishing an own offer or request (it stays, for rides in progress)."""
    item = core.offers.get(own_id) if kind == "offer" else core.requests.get(own_id)
    if item is None:
        raise UnknownId(describe(f"{kind}_id", own_id.hex(), f"not one of your {kind}s"))
    if item.status == why or item.status in ("expired", "withdrawn"):
        return []
    item.status = why
    out: list[Action] = [_persist(kind, item), Notify(OwnClosed(kind, own_id, why))]
    if why != "booked":
        out.append(CancelTimer((kind, own_id)))
        core.timers.pop((kind, own_id), None)
        core.matcher.forget_own(own_id)
    # Closed, even as booked, it needs nothing heard until it reopens.
    return [*out, *listening.update(core)]


def reopen(core: Core, kind: Kind, own_id: bytes, now_ms: int) -> list[Action]:
    """Publish again an offer or request that was closed as booked (its ride fell through)."""
    item = core.offers.get(own_id) if kind == "offer" else core.requests.get(own_id)
    if item is None or item.status != "booked":
        return []
    expires_ms = item.offer.expires_ms if isinstance(item, OwnOffer) else item.request.expires_ms
    if now_ms >= expires_ms:
        return close(core, kind, own_id, "expired")
    item.status = "open"
    out = listening.update(core)
    if isinstance(item, OwnOffer):
        own_mod.republished_offer(core.identity, item)
        return [*out, *_publish_offer(core, item, now_ms)]
    own_mod.republished_request(core.identity, item)
    return [*out, *_publish_request(core, item, now_ms)]


def seats_changed(core: Core, offer_id: bytes, now_ms: int) -> list[Action]:
    """Republish an offer with the seats still free, or close it as booked when none are."""
    own = core.offers.get(offer_id)
    if own is None or own.status in ("expired", "withdrawn"):
        return []
    if own.free_seats <= 0:
        return close(core, "offer", offer_id, "booked")
    if own.status == "booked":
        return reopen(core, "offer", offer_id, now_ms)
    if own.offer.seats == own.free_seats:
        return []
    own_mod.republished_offer(core.identity, own)
    return _publish_offer(core, own, now_ms)


# -- internals


def _publish_offer(core: Core, own: OwnOffer, now_ms: int) -> list[Action]:
    own.next_publish_ms = own_mod.next_publish_ms(core.params, core.rng, now_ms)
    return [
        _persist("offer", own),
        *(Publish(topic, own.raw) for topic in own.topics),
        _schedule(core, "offer", own),
    ]


def _publish_request(core: Core, own: OwnRequest, now_ms: int) -> list[Action]:
    own.next_publish_ms = own_mod.next_publish_ms(core.params, core.rng, now_ms)
    return [
        _persist("request", own),
        Publish(own.topic, own.raw),
        _schedule(core, "request", own),
    ]


def _schedule(core: Core, kind: Kind, item: OwnOffer | OwnRequest) -> Action:
    expires_ms = item.offer.expires_ms if isinstance(item, OwnOffer) else item.request.expires_ms
    at = expires_ms if item.status != "open" else min(item.next_publish_ms, expires_ms)
    key = (kind, item.offer_id if isinstance(item, OwnOffer) else item.request_id)
    return core.set_timer(key, at)


def _persist(kind: Kind, item: OwnOffer | OwnRequest) -> Persist:
    if isinstance(item, OwnOffer):
        return Persist("offer", item.offer_id, own_mod.dump_offer(item))
    return Persist("request", item.request_id, own_mod.dump_request(item))
