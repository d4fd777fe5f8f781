"""The Peer on gossip: validator verdicts, the book and its expiry, bad input counted."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

import pytest

from protocol import codec, geo
from protocol.identity import Identity
from protocol.ledger.wire import SyncHeads
from protocol.peer.actions import Action, Notify
from protocol.peer.core import LEDGER_TOPIC
from protocol.peer.gossip import Accepted, Rejected
from protocol.peer.notices import CandidatesFound, InputRejected
from protocol.peer.params import HOUR_MS, MINUTE_MS
from protocol.peer.peer import SWEEP_TIMER, Peer
from protocol.signing import seal
from tests.strategies import ALICE, BOB, NOW_MS, offer, request
from tests.test_peer_net import TEL_AVIV
from tests.test_ride_flow import DROPOFF, PICKUP

TOPIC = geo.area_topic(geo.topic_cell(TEL_AVIV), "offers")
REQUESTS = geo.area_topic(geo.topic_cell(TEL_AVIV), "requests")


def started_peer(seed: int = 9) -> Peer:
    peer = Peer(Identity.from_seed(bytes([seed]) * 32), TEL_AVIV, random.Random(seed))
    peer.start(NOW_MS)
    return peer


def northward_request(peer: Peer, seats: int = 1) -> bytes:
    """An own request along CITY_ROUTE, which runs north (so the ride does too)."""
    request_id, _ = peer.request(
        pickup=DROPOFF,
        dropoff=PICKUP,
        window=request().window,
        seats=seats,
        max_walk_m=600,
        expires_ms=NOW_MS + 3 * 3_600_000,
        now_ms=NOW_MS,
    )
    return request_id


def rejections(actions: list[Action]) -> list[InputRejected]:
    return [
        a.event for a in actions if isinstance(a, Notify) and isinstance(a.event, InputRejected)
    ]


def test_a_valid_offer_is_accepted_once_and_booked() -> None:
    peer = started_peer()
    raw = seal(ALICE, offer()).raw
    assert peer.validate_gossip(TOPIC, raw, NOW_MS) == Accepted()
    assert peer.gossip_received(TOPIC, raw, NOW_MS) == []
    assert peer.book().offers == ((ALICE.public_key, offer()),)
    # The same bytes again are a replay: counted, not booked twice.
    verdict = peer.validate_gossip(TOPIC, raw, NOW_MS + 1)
    assert verdict == Rejected("replayed", verdict.detail if isinstance(verdict, Rejected) else "")
    assert peer.rejected() == {("gossip", "replayed"): 1}
    assert len(peer.book().offers) == 1


def _flip_signature(raw: bytes) -> bytes:
    return raw[:-1] + bytes([raw[-1] ^ 1])


def _other_author(raw: bytes) -> bytes:
    env = codec.decode_envelope(raw)
    return codec.pack([env.version, env.kind, env.body, BOB.public_key, env.signature])


CASES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "garbage": (TOPIC, lambda: b"\x93not an envelope", "decode"),
    "oversized": (TOPIC, lambda: b"\x00" * (64 * 1024 + 1), "oversized"),
    "forged signature": (TOPIC, lambda: _flip_signature(seal(ALICE, offer()).raw), "bad_signature"),
    "someone else's name": (
        TOPIC,
        lambda: _other_author(seal(ALICE, offer()).raw),
        "bad_signature",
    ),
    "expired": (
        TOPIC,
        lambda: (
            seal(ALICE, offer(created_ms=NOW_MS - 3 * HOUR_MS, expires_ms=NOW_MS - HOUR_MS)).raw
        ),
        "expired",
    ),
    "no seats": (TOPIC, lambda: seal(ALICE, offer(seats=0)).raw, "invalid"),
    "ledger kind on a ride topic": (TOPIC, lambda: seal(ALICE, SyncHeads(())).raw, "unknown_kind"),
    "ride kind on the ledger topic": (
        LEDGER_TOPIC,
        lambda: seal(ALICE, offer()).raw,
        "unknown_kind",
    ),
    "a topic nobody reads": ("lazooz/1/other", lambda: seal(ALICE, offer()).raw, "wrong_topic"),
    # Each side of an area carries its one kind (SPEC §4.3).
    "an offer on a requests topic": (REQUESTS, lambda: seal(ALICE, offer()).raw, "unknown_kind"),
    "a request on an offers topic": (TOPIC, lambda: seal(ALICE, request()).raw, "unknown_kind"),
    "the one topic of an area before sides": (
        TOPIC.removesuffix("/offers"),
        lambda: seal(ALICE, offer()).raw,
        "wrong_topic",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_gossip_is_counted_by_reason_and_never_booked(case: str) -> None:
    topic, make, reason = CASES[case]
    data = make()
    peer = started_peer()
    verdict = peer.validate_gossip(topic, data, NOW_MS)
    assert isinstance(verdict, Rejected) and verdict.reason == reason, verdict
    # A shell without a validator hook delivers it anyway: the Peer says why it drops it.
    got = rejections(peer.gossip_received(topic, data, NOW_MS))
    assert [(r.channel, r.reason, r.count) for r in got] == [("gossip", reason, 2)]
    assert peer.rejected() == {("gossip", reason): 2}
    assert peer.book().offers == () and peer.book().requests == ()


def test_an_older_seq_is_stale_and_a_newer_one_replaces() -> None:
    peer = started_peer()
    for m in (offer(seq=5), offer(seq=4), offer(seq=5, seats=2), offer(seq=6, seats=1)):
        peer.gossip_received(TOPIC, seal(ALICE, m).raw, NOW_MS)
    assert peer.book().offers == ((ALICE.public_key, offer(seq=6, seats=1)),)
    assert peer.rejected() == {("gossip", "stale"): 2}


def test_one_offer_id_of_two_authors_are_two_offers() -> None:
    peer = started_peer()
    peer.gossip_received(TOPIC, seal(ALICE, offer()).raw, NOW_MS)
    peer.gossip_received(TOPIC, seal(BOB, offer()).raw, NOW_MS)
    assert sorted(a for a, _ in peer.book().offers) == sorted([ALICE.public_key, BOB.public_key])


def test_the_book_forgets_what_expired_and_its_candidates_go_with_it() -> None:
    peer = started_peer()
    request_id = northward_request(peer)
    short = offer(expires_ms=NOW_MS + 30 * MINUTE_MS)
    actions = peer.gossip_received(TOPIC, seal(ALICE, short).raw, NOW_MS)
    found = [
        a.event for a in actions if isinstance(a, Notify) and isinstance(a.event, CandidatesFound)
    ]
    assert [f.own_id for f in found] == [request_id]
    assert [m.offer_id for m in peer.candidates(request_id)] == [short.offer_id]

    # Sweeps before expiry (plus skew) keep it; the first one after drops it.
    t = NOW_MS
    while t <= short.expires_ms + 30_000:
        t += MINUTE_MS
        peer.timer_fired(SWEEP_TIMER, t)
        if t <= short.expires_ms + 30_000:
            assert len(peer.book().offers) == 1
    assert peer.book().offers == ()
    assert peer.candidates(request_id) == []


def test_the_book_is_bounded_and_drops_what_expires_first() -> None:
    from protocol.peer.params import PeerParams

    peer = Peer(ALICE, TEL_AVIV, random.Random(1), PeerParams(max_book_requests=2))
    peer.start(NOW_MS)
    lives = [50, 10, 30]
    for i, minutes in enumerate(lives):
        m = request(request_id=bytes([i]) * 16, expires_ms=NOW_MS + minutes * MINUTE_MS)
        peer.gossip_received(REQUESTS, seal(BOB, m).raw, NOW_MS)
    assert sorted(m.request_id[0] for _, m in peer.book().requests) == [0, 2]


def test_own_messages_heard_back_are_not_booked() -> None:
    peer = Peer(ALICE, TEL_AVIV, random.Random(1))
    peer.start(NOW_MS)
    assert peer.gossip_received(TOPIC, seal(ALICE, offer()).raw, NOW_MS) == []
    assert peer.book().offers == ()


def test_a_request_publishes_cells_only() -> None:
    peer = started_peer()
    pickup = geo.cell_center(request().pickup_cell)
    dropoff = geo.cell_center(request().dropoff_cell)
    _, actions = peer.request(
        pickup=dataclasses.replace(pickup, lat_e6=pickup.lat_e6 + 123),
        dropoff=dropoff,
        window=request().window,
        seats=1,
        max_walk_m=600,
        expires_ms=NOW_MS + 3_600_000,
        now_ms=NOW_MS,
    )
    from protocol.peer.actions import Publish

    (published,) = [a for a in actions if isinstance(a, Publish)]
    assert published.topic == geo.area_topic(request().pickup_cell, "requests")
    env = codec.decode_envelope(published.data)
    body = codec.decode_body(env.kind, env.body)
    assert dataclasses.asdict(body).keys() == dataclasses.asdict(request()).keys()
    assert (pickup.lat_e6 + 123).to_bytes(4, "little", signed=True) not in published.data


def test_a_republished_offer_keeps_its_candidate_and_one_with_too_few_seats_loses_it() -> None:
    peer = started_peer()
    request_id = northward_request(peer, seats=2)
    peer.gossip_received(TOPIC, seal(ALICE, offer(seats=3)).raw, NOW_MS)
    assert [m.offer_id for m in peer.candidates(request_id)] == [offer().offer_id]
    # Republished: new seq and times, same everything matching reads.
    again = offer(seats=3, seq=1, created_ms=NOW_MS + MINUTE_MS)
    peer.gossip_received(TOPIC, seal(ALICE, again).raw, NOW_MS + MINUTE_MS)
    assert [m.offer_id for m in peer.candidates(request_id)] == [offer().offer_id]
    # A rider took two seats elsewhere: one left, this request needs two.
    fewer = offer(seats=1, seq=2, created_ms=NOW_MS + 2 * MINUTE_MS)
    peer.gossip_received(TOPIC, seal(ALICE, fewer).raw, NOW_MS + 2 * MINUTE_MS)
    assert peer.candidates(request_id) == []


def test_a_republished_request_with_more_seats_than_the_offer_has_loses_its_candidate() -> None:
    peer = started_peer()
    o = offer()
    offer_id, _ = peer.offer(
        route=o.route,
        departure=o.departure,
        duration_s=o.duration_s,
        seats=2,
        max_detour_m=o.max_detour_m,
        max_detour_s=o.max_detour_s,
        cost=o.cost,
        expires_ms=o.expires_ms,
        now_ms=NOW_MS,
    )
    # The request's cells lie along CITY_ROUTE in its direction (north to south).
    north_south = request(pickup_cell=request().dropoff_cell, dropoff_cell=request().pickup_cell)
    peer.gossip_received(REQUESTS, seal(BOB, dataclasses.replace(north_south, seats=1)).raw, NOW_MS)
    assert [m.request_id for m in peer.candidates(offer_id)] == [north_south.request_id]
    later = dataclasses.replace(north_south, seats=1, seq=1, created_ms=NOW_MS + MINUTE_MS)
    peer.gossip_received(REQUESTS, seal(BOB, later).raw, NOW_MS + MINUTE_MS)
    assert [m.request_id for m in peer.candidates(offer_id)] == [north_south.request_id]
    more = dataclasses.replace(north_south, seats=3, seq=2, created_ms=NOW_MS + 2 * MINUTE_MS)
    peer.gossip_received(REQUESTS, seal(BOB, more).raw, NOW_MS + 2 * MINUTE_MS)
    assert peer.candidates(offer_id) == []
