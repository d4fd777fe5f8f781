"""The Peer's own offers: republished until expiry with the same cut route, then stopped."""

from __future__ import annotations

import itertools

from protocol import codec, geo
from protocol.fields import CostShare, TimeWindow
from protocol.messages import RideOffer
from protocol.peer.actions import Publish
from protocol.peer.notices import OwnClosed
from protocol.peer.params import MINUTE_MS, PeerParams
from tests.strategies import NOW_MS
from tests.test_peer_net import DRIVE, Net, notes_of


def _offer_publishes(net: Net, name: str) -> list[tuple[int, RideOffer]]:
    out = []
    for t, who, action in net.trace:
        if (
            who == name
            and isinstance(action, Publish)
            and action.topic.startswith("lazooz/1/rides/")
        ):
            env = codec.decode_envelope(action.data)
            message = codec.decode_body(env.kind, env.body)
            assert isinstance(message, RideOffer)
            out.append((t, message))
    return out


def test_an_offer_is_republished_until_it_expires_then_never_again() -> None:
    net = Net()
    params = PeerParams(republish_ms=5 * MINUTE_MS, republish_jitter_ms=20_000)
    driver = net.add("driver", 1, params)
    listener = net.add("listener", 2, params)
    offer_id, actions = driver.peer.offer(
        route=DRIVE,
        departure=TimeWindow(NOW_MS + 30 * MINUTE_MS, NOW_MS + 40 * MINUTE_MS),
        duration_s=660,
        seats=2,
        max_detour_m=1_000,
        max_detour_s=300,
        cost=CostShare("EUR", 100, 50),
        expires_ms=NOW_MS + 22 * MINUTE_MS,
        now_ms=net.now_ms,
    )
    net.run("driver", actions)
    net.run_until(NOW_MS + 2 * 3_600_000)

    sent = _offer_publishes(net, "driver")
    rounds = sorted({t for t, _ in sent})
    # At creation, then every 5 min plus at most 20 s of jitter, while before expiry.
    assert len(rounds) == 5
    assert rounds[-1] < NOW_MS + 22 * MINUTE_MS
    for a, b in itertools.pairwise(rounds):
        assert 5 * MINUTE_MS <= b - a <= 5 * MINUTE_MS + 20_000
    # One topic per area the cut route crosses, each round; seq grows, the route never changes.
    topics = set(geo.route_topics(sent[0][1].route))
    published = {a.topic for _, w, a in net.trace if w == "driver" and isinstance(a, Publish)}
    assert topics <= published and not any(t.endswith("/requests") for t in published)
    seqs = sorted({m.seq for _, m in sent})
    assert seqs == list(range(5))
    assert {m.route for _, m in sent} == {sent[0][1].route}
    assert {m.offer_id for _, m in sent} == {offer_id}
    # The cut route is shorter than the drive and inside it.
    assert geo.route_length_m(sent[0][1].route) < geo.route_length_m(DRIVE) - 600

    closed = notes_of(driver, OwnClosed)
    assert closed == [OwnClosed("offer", offer_id, "expired")]
    # The listener held it, each newer seq replacing the older, until it expired.
    assert listener.peer.book().offers == ()
    assert listener.peer.rejected() == {}
