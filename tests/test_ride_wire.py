"""Ride messages round-trip through seal and open; damaged frames never crash."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import codec
from protocol.errors import RemoteError
from protocol.fields import CostShare, GeoPoint, TimeWindow
from protocol.ride.messages import (
    Accept,
    Cancel,
    CancelReason,
    Confirm,
    Decline,
    DeclineReason,
    DroppedOff,
    PickedUp,
    Propose,
    ReceiptEntry,
    Reveal,
    RideMessage,
)
from protocol.ride.terms import RideTerms
from protocol.ride.validation import MAX_STEP, open_ride_message
from protocol.ride.wire import decode_terms, encode_terms
from protocol.signing import seal
from protocol.validation import DEFAULT_POLICY
from tests.strategies import ALICE, NOW_MS, h3_cells, offer, request

ids = st.binary(min_size=16, max_size=16)
steps = st.integers(min_value=0, max_value=MAX_STEP)
times = st.integers(min_value=0, max_value=2**63 - 1)
points = st.builds(
    GeoPoint,
    st.integers(min_value=-90_000_000, max_value=90_000_000),
    st.integers(min_value=-180_000_000, max_value=180_000_000),
)
costs = st.builds(
    CostShare,
    st.sampled_from(["ILS", "EUR", "USD"]),
    st.integers(min_value=0, max_value=10_000_000),
    st.integers(min_value=0, max_value=10_000_000),
)

windows = st.builds(
    lambda start, length: TimeWindow(start, start + length),
    st.integers(min_value=0, max_value=2**62),
    st.integers(min_value=0, max_value=DEFAULT_POLICY.max_window_ms),
)


@st.composite
def proposals(draw: st.DrawFn) -> Propose:
    res = draw(st.integers(min_value=5, max_value=9))
    return Propose(
        ride_id=draw(ids),
        step=0,
        offer_id=draw(ids),
        request_id=draw(ids),
        seats=draw(st.integers(min_value=1, max_value=8)),
        pickup_cell=draw(h3_cells(res)),
        dropoff_cell=draw(h3_cells(res)),
        cost=draw(costs),
        window=draw(windows),
        max_walk_m=draw(st.integers(min_value=0, max_value=DEFAULT_POLICY.max_walk_m)),
        expires_ms=draw(times),
    )


pins = st.integers(min_value=0, max_value=9999).map(lambda n: f"{n:04d}")

messages: st.SearchStrategy[RideMessage] = st.one_of(
    proposals(),
    st.builds(Accept, ids, steps),
    st.builds(Decline, ids, steps, st.sampled_from(DeclineReason)),
    st.builds(Reveal, ids, steps, points, points, st.binary(min_size=32, max_size=32)),
    st.builds(Confirm, ids, steps, times),
    st.builds(PickedUp, ids, steps, pins, times),
    st.builds(DroppedOff, ids, steps, times, st.integers(min_value=0, max_value=1_000_000)),
    st.builds(ReceiptEntry, ids, steps, st.binary(min_size=1, max_size=600)),
    st.builds(Cancel, ids, steps, st.sampled_from(CancelReason)),
)


@settings(max_examples=300)
@given(messages)
def test_every_valid_ride_message_survives_seal_and_open(message: RideMessage) -> None:
    signed = seal(ALICE, message)
    opened = open_ride_message(signed.raw)
    assert opened.message == message
    assert opened.author == ALICE.public_key
    assert opened.message_id == signed.message_id


@settings(max_examples=300)
@given(messages, st.data())
def test_damaged_frames_are_rejected_never_crash(message: RideMessage, data: st.DataObject) -> None:
    raw = bytearray(seal(ALICE, message).raw)
    i = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[i] ^= data.draw(st.integers(min_value=1, max_value=255))
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    for frame in (bytes(raw), bytes(raw[:cut])):
        try:
            open_ride_message(frame)
        except RemoteError:
            continue
        # A flip can only pass if it left a different, validly signed message:
        # impossible without the key, so any accepted frame is the original.
        raise AssertionError(f"damaged frame accepted: {frame.hex()}")


@given(proposals())
def test_a_proposal_carries_its_terms_and_gives_them_back(message: Propose) -> None:
    terms = RideTerms.of(message)
    assert terms.proposal(message.ride_id, message.step, message.expires_ms) == message
    assert decode_terms(codec.unpack(codec.pack(encode_terms(terms)), "terms"), "terms") == terms


def test_terms_made_from_a_request_agree_with_it_and_any_change_is_named() -> None:
    terms = RideTerms.between(offer(), request())
    assert (terms.offer_id, terms.cost) == (offer().offer_id, offer().cost)
    assert terms.disagreement(request()) is None
    changed = {
        "seats": request(seats=2),
        "pickup_cell": request(pickup_cell=request().dropoff_cell),
        "window": request(window=TimeWindow(NOW_MS, NOW_MS + 1)),
        "max_walk_m": request(max_walk_m=0),
    }
    for name, other in changed.items():
        detail = terms.disagreement(other)
        assert detail is not None and detail.startswith(f"Propose.{name}="), detail
    # The offer's side is not the request's to say.
    assert terms.disagreement(request(seq=7)) is None
