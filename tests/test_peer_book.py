"""The book's shelves: newer seqs replace older ones, and a sweep drops exactly what expired."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.envelope import Signed
from protocol.errors import Stale
from protocol.fields import MessageId, PublicKey
from protocol.messages import RideRequest
from protocol.peer.book import Shelf
from tests.strategies import ALICE, BOB, NOW_MS, request

AUTHORS = (ALICE.public_key, BOB.public_key)

# One step: put (author, id, seq, minutes to live) or sweep at some minute.
_put = st.tuples(
    st.just("put"),
    st.sampled_from(AUTHORS),
    st.integers(0, 3),
    st.integers(0, 4),
    st.integers(1, 60),
)
_sweep = st.tuples(st.just("sweep"), st.integers(0, 90))


def _signed(author: PublicKey, rid: int, seq: int, minutes: int) -> Signed[RideRequest]:
    m = request(request_id=bytes([rid]) * 16, seq=seq, expires_ms=NOW_MS + minutes * 60_000)
    return Signed(m, author, MessageId(bytes([rid, seq]) * 16), b"")


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_put, _sweep), max_size=60), st.integers(1, 6))
def test_a_sweep_drops_exactly_what_a_full_scan_would(
    steps: list[tuple[Any, ...]], capacity: int
) -> None:
    shelf: Shelf[RideRequest] = Shelf(capacity)
    model: dict[tuple[PublicKey, bytes], RideRequest] = {}
    skew = 30_000
    for step in steps:
        if step[0] == "put":
            _, author, rid, seq, minutes = step
            signed = _signed(author, rid, seq, minutes)
            key = (author, signed.message.request_id)
            held = model.get(key)
            if held is not None and seq <= held.seq:
                try:
                    shelf.put(signed)
                except Stale:
                    continue
                raise AssertionError("an older or equal seq was taken")
            _, evicted = shelf.put(signed)
            model[key] = signed.message
            for gone in evicted:
                del model[gone]
        else:
            now = NOW_MS + step[1] * 60_000
            expected = {k for k, m in model.items() if m.expires_ms + skew < now}
            assert set(shelf.expire(now, skew)) == expected
            for k in expected:
                del model[k]
        assert {(b.author, b.message.request_id): b.message for b in shelf} == model


def test_a_replaced_request_lives_as_long_as_its_newer_seq_says() -> None:
    shelf: Shelf[RideRequest] = Shelf(10)
    shelf.put(_signed(ALICE.public_key, 1, 0, 10))
    shelf.put(_signed(ALICE.public_key, 1, 1, 40))  # republished, living longer
    assert shelf.expire(NOW_MS + 20 * 60_000, 0) == []
    assert len(shelf) == 1
    assert shelf.expire(NOW_MS + 41 * 60_000, 0) == [(ALICE.public_key, bytes([1]) * 16)]
    assert len(shelf) == 0
