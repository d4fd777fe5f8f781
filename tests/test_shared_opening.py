"""Peers sharing opening work (protocol.shared) decide exactly as Peers that do not."""

from __future__ import annotations

import random

import pytest

from protocol.errors import BadGeometry
from protocol.identity import Identity
from protocol.ledger.wire import SyncEntries
from protocol.peer.gossip import Accepted, Rejected
from protocol.peer.params import HOUR_MS, PeerParams
from protocol.peer.peer import Peer
from protocol.shared import SharedOpening
from protocol.signing import seal
from protocol.validation import ValidationPolicy
from tests.strategies import ALICE, BOB, NOW_MS, offer
from tests.test_ledger_fixtures import Members
from tests.test_peer_gossip import CASES, TOPIC
from tests.test_peer_net import TEL_AVIV
from tests.test_peer_sync import RELAY


def peers(shared: SharedOpening | None, n: int = 3) -> list[Peer]:
    out = []
    for seed in range(20, 20 + n):
        peer = Peer(
            Identity.from_seed(bytes([seed]) * 32), TEL_AVIV, random.Random(seed), shared=shared
        )
        peer.start(NOW_MS)
        out.append(peer)
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_bad_case_is_refused_for_the_same_reason_by_every_sharing_peer(case: str) -> None:
    topic, make, reason = CASES[case]
    data = make()
    shared = SharedOpening(PeerParams().validation)
    for peer in peers(shared):
        verdict = peer.validate_gossip(topic, data, NOW_MS)
        assert isinstance(verdict, Rejected) and verdict.reason == reason, verdict
        assert peer.rejected() == {("gossip", reason): 1}


def test_a_good_message_is_opened_once_and_each_peer_still_keeps_its_own_replay_window() -> None:
    shared = SharedOpening(PeerParams().validation)
    raw = seal(ALICE, offer()).raw
    group = peers(shared)
    for peer in group:
        assert peer.validate_gossip(TOPIC, raw, NOW_MS) == Accepted()
        peer.gossip_received(TOPIC, raw, NOW_MS)
    assert shared.misses == 1  # opened (its side's kind among the steps), rules judged: once
    for peer in group:
        again = peer.validate_gossip(TOPIC, raw, NOW_MS + 1)
        assert isinstance(again, Rejected) and again.reason == "replayed"
    # A late Peer's clock is its own: the message has expired by then.
    (late,) = peers(shared, 1)
    verdict = late.validate_gossip(TOPIC, raw, NOW_MS + 3 * 24 * HOUR_MS)
    assert isinstance(verdict, Rejected) and verdict.reason == "expired"


def test_a_peer_under_another_policy_opens_for_itself() -> None:
    shared = SharedOpening(ValidationPolicy())
    strict = ValidationPolicy(max_seats=1)
    raw = seal(ALICE, offer(seats=2)).raw
    (lenient,) = peers(shared, 1)
    assert lenient.validate_gossip(TOPIC, raw, NOW_MS) == Accepted()
    other = Peer(
        Identity.from_seed(bytes([40]) * 32),
        TEL_AVIV,
        random.Random(40),
        PeerParams(validation=strict),
        shared=shared,
    )
    other.start(NOW_MS)
    verdict = other.validate_gossip(TOPIC, raw, NOW_MS)
    assert isinstance(verdict, Rejected) and verdict.reason == "invalid"


def test_a_kept_error_is_raised_anew_each_time_and_the_memo_is_bounded() -> None:
    shared = SharedOpening(None, capacity=2)
    calls: list[bytes] = []

    def refuse(data: bytes) -> None:
        calls.append(data)
        raise BadGeometry(f"route: {data!r} goes nowhere")

    raised = []
    for _ in range(2):
        with pytest.raises(BadGeometry, match="goes nowhere") as info:
            shared.run("x", None, b"a", lambda: refuse(b"a"))
        raised.append(info.value)
    assert calls == [b"a"] and raised[0] is not raised[1]
    for key in (b"1", b"2", b"3"):
        assert shared.run("x", None, key, lambda k=key: k) == key  # type: ignore[misc]
    shared.run("x", None, b"a", lambda: None)  # evicted: computed again, now fine
    assert calls == [b"a"]
    assert len(shared._memo) == 2


def test_sync_frames_through_shared_opening_apply_and_refuse_as_alone() -> None:
    proposal, agreement = Members(ALICE, BOB).ride(ALICE, BOB)
    forged = agreement.raw[:-1] + bytes([agreement.raw[-1] ^ 1])
    frame = seal(RELAY, SyncEntries((proposal.raw, forged, b"junk"))).raw
    alone = peers(None, 1)
    shared = peers(SharedOpening(PeerParams().validation), 2)
    for peer in alone + shared:
        peer.stream_received(RELAY.public_key, "sync", frame, NOW_MS)
        assert len(peer.ledger) == 1
        assert peer.rejected() == {("sync", "bad_signature"): 1, ("sync", "decode"): 1}
