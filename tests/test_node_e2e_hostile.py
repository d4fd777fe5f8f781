"""A hostile raw libp2p peer against a real daemon: what it publishes is rejected and counted,
and the node goes on serving an honest member.

The attacker is a py-libp2p host in the test process (``lazooz.net.open_host``
with a fresh identity and a validator that lets everything out). It joins
the daemon's area topic and publishes garbage, an oversized blob, a forged
offer (one member's name, another's signature), an expired one, and a valid
offer twice (the second is a replay). The daemon counts each by reason in
``/v1/status`` and ``lazooz_rejected_total``; then an honest daemon's offer,
made through its API, still reaches it as a candidate of its request.
"""

from __future__ import annotations

import os
import re
import time

import pytest
import trio

from protocol import geo
from protocol.fields import TimeWindow
from protocol.identity import Identity
from protocol.messages import RideOffer
from tests import strategies
from tests.node_swarm import Member, Swarm, now_ms
from tests.test_node_e2e import HOUR_MS, MINUTE_MS, offer_body, request_body
from tests.test_peer_net import TEL_AVIV

#: Reasons the daemon must count on the gossip channel, one message (at least) each.
EXPECTED = ("decode", "oversized", "bad_signature", "expired", "replayed", "unknown_kind")


def hostile_messages() -> list[tuple[str, bytes]]:
    """(what, bytes) to publish, in order; the valid offer comes twice."""
    now = now_ms()
    mallory = Identity.from_seed(os.urandom(32))
    victim = Identity.from_seed(os.urandom(32))

    def offer(created_ms: int) -> RideOffer:
        return strategies.offer(
            offer_id=os.urandom(16),
            created_ms=created_ms,
            expires_ms=created_ms + 2 * HOUR_MS,
            departure=TimeWindow(created_ms + 10 * MINUTE_MS, created_ms + 25 * MINUTE_MS),
        )

    valid = strategies.envelope_of(mallory, offer(now))
    return [
        ("garbage", b"\x93not a lazooz envelope"),
        ("oversized", os.urandom(70 * 1024)),
        ("forged", strategies.envelope_of(victim, offer(now), signer=mallory)),
        ("expired", strategies.envelope_of(mallory, offer(now - 3 * HOUR_MS))),
        ("valid", valid),
        ("replay", valid),
        # A request on the offer topic (SPEC §4.3): each side carries its one kind.
        ("wrong side", strategies.envelope_of(mallory, strategies.request())),
    ]


def rejected(member: Member) -> dict[str, int]:
    counts: dict[str, int] = member.get("/v1/status")["rejected"]
    return counts


def all_counted(member: Member) -> dict[str, int] | None:
    counts = rejected(member)
    return counts if all(counts.get(f"gossip/{r}", 0) >= 1 for r in EXPECTED) else None


async def attack(swarm: Swarm, target: Member, topic: str) -> list[bool]:
    """Publish every hostile message from a raw host; wait until the target counted them."""
    from lazooz.net import Handlers, NetConfig, open_host

    handlers = Handlers(
        validate=lambda topic, data: True,
        gossip=lambda topic, data: None,
        frame=lambda key, channel, data: None,
    )
    config = NetConfig(bootstrap=[target.addr()], publish_timeout_s=60.0)
    async with open_host(Identity.from_seed(os.urandom(32)), config, handlers) as net:
        await net.subscribe(topic)
        sent = [await net.publish(topic, data) for _, data in hostile_messages()]
        # Stay on the network until the daemon has seen (and refused) them all.
        await trio.to_thread.run_sync(
            lambda: swarm.wait(
                "the daemon to count every hostile message", lambda: all_counted(target)
            )
        )
    return sent


@pytest.mark.slow
def test_a_raw_peer_publishing_forged_and_malformed_gossip_is_rejected_and_counted(
    swarm: Swarm,
) -> None:
    started = time.monotonic()
    target = swarm.add("target")
    swarm.start(target)
    assert rejected(target) == {}
    honest = swarm.add("honest", bootstrap=[target.addr()])
    honest.start()  # its imports overlap with the attack

    topic = geo.area_topic(geo.topic_cell(TEL_AVIV), "offers")
    sent = trio.run(attack, swarm, target, topic)
    assert all(sent), sent
    counts = rejected(target)
    assert {k: v for k, v in counts.items() if not k.startswith("gossip/")} == {}
    metrics = target.metrics()
    for reason in EXPECTED:
        pattern = rf'lazooz_rejected_total\{{channel="gossip",reason="{reason}"\}} (\S+)'
        found = re.search(pattern, metrics)
        assert found is not None and float(found.group(1)) == counts[f"gossip/{reason}"], reason

    # The node still serves honest members: an offer made afterwards reaches it.
    honest.wait_ready()
    request = target.post("/v1/requests", request_body())
    offer = honest.post("/v1/offers", offer_body())
    swarm.wait(
        "the honest offer to reach the target as a candidate",
        lambda: (
            offer["offer_id"]
            in {c["offer_id"] for c in target.get(f"/v1/candidates/{request['request_id']}")}
        ),
    )
    assert all(rejected(target).get(f"gossip/{r}") == counts[f"gossip/{r}"] for r in EXPECTED)
    codes = swarm.stop_all()
    assert codes == {"target": 0, "honest": 0}, swarm.explain()
    assert swarm.leftovers() == []
    print(f"hostile peer: {time.monotonic() - started:.1f} s, rejected {counts}")
