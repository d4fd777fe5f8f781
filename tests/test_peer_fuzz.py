"""No input from the network makes a Peer raise: mutated frames of a real run, fed back in."""

from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.peer.actions import Publish, Send
from protocol.peer.peer import Peer
from tests.test_peer_multi import run_city
from tests.test_peer_net import Net


@cache
def _recorded() -> tuple[Net, list[tuple[str, str, bytes]]]:
    """A finished city run, and every frame it carried: (channel or topic, kind, bytes)."""
    net, _ = run_city(seed=2)
    frames = []
    for _, _, action in net.trace:
        if isinstance(action, Publish):
            frames.append(("gossip", action.topic, action.data))
        elif isinstance(action, Send):
            frames.append((action.channel, "", action.data))
    return net, frames


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str, bytes]:
    _, frames = _recorded()
    channel, topic, data = draw(st.sampled_from(frames))
    raw = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        what = draw(st.sampled_from(["flip", "cut", "grow"]))
        if what == "flip" and raw:
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] ^= 1 << draw(st.integers(0, 7))
        elif what == "cut" and raw:
            del raw[draw(st.integers(0, len(raw) - 1)) :]
        else:
            raw += draw(st.binary(max_size=8))
    return channel, topic, bytes(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated(), st.sampled_from(["driver", "rider1", "bystander"]))
def test_mutated_frames_are_dropped_or_applied_never_raised(
    frame: tuple[str, str, bytes], name: str
) -> None:
    net, _ = _recorded()
    peer: Peer = net.peer(name)
    channel, topic, data = frame
    sender = net.peer("rider2").public_key
    if channel == "gossip":
        peer.validate_gossip(topic, data, net.now_ms)
        peer.gossip_received(topic, data, net.now_ms)
    else:
        peer.stream_received(sender, "ride" if channel == "ride" else "sync", data, net.now_ms)
