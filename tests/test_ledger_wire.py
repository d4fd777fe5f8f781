"""Ledger bodies on the wire: round trips, one encoding each, bounded decoding (SPEC §8-§10)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import codec
from protocol.errors import DecodeError, InvalidMessage
from protocol.fields import MessageId, PublicKey
from protocol.ledger import wire
from protocol.ledger.errors import UnknownPayload
from protocol.ledger.wire import (
    ENTRY_LIMITS,
    LEDGER_CODECS,
    ForkProof,
    Head,
    LogEntry,
    SyncEntries,
    SyncHeads,
    SyncWant,
    Want,
)
from protocol.messages import Message
from tests.strategies import ALICE
from tests.test_ledger_fixtures import MEMBERS, Members

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys = st.binary(min_size=32, max_size=32).map(PublicKey)
ids = st.binary(min_size=32, max_size=32).map(MessageId)
seqs = st.integers(1, 2**63 - 1)


def _sorted_unique(
    rows: list[tuple[PublicKey, int, MessageId]],
) -> list[tuple[PublicKey, int, MessageId]]:
    return sorted({r[0]: r for r in rows}.values())


sync_heads = st.lists(st.tuples(keys, seqs, ids), max_size=20).map(
    lambda rows: SyncHeads(tuple(Head(*r) for r in _sorted_unique(rows)))
)
sync_wants = st.lists(st.tuples(keys, seqs), max_size=20).map(
    lambda rows: SyncWant(tuple(Want(a, s) for a, s in sorted(dict(rows).items())))
)
sync_entries = st.lists(st.binary(max_size=500), max_size=16).map(
    lambda items: SyncEntries(tuple(items))
)
fork_proofs = st.builds(ForkProof, st.binary(max_size=600), st.binary(max_size=600))


@st.composite
def log_entries(draw: st.DrawFn) -> LogEntry:
    """Entries of any field values the types allow; content rules are not the codec's job."""
    members = Members(*MEMBERS)
    proposal, agreement = members.ride(MEMBERS[0], MEMBERS[1])
    m = draw(st.sampled_from([proposal.message, agreement.message]))
    return LogEntry(
        seq=draw(st.integers(-(2**63), 2**64 - 1)),
        prev=draw(st.binary(min_size=32, max_size=32)),
        time_ms=draw(st.integers(0, 2**64 - 1)),
        payload=m.payload,
    )


STRATEGIES: dict[type[Message], st.SearchStrategy[Message]] = {
    LogEntry: log_entries(),
    ForkProof: fork_proofs,
    SyncHeads: sync_heads,
    SyncWant: sync_wants,
    SyncEntries: sync_entries,
}


def test_every_ledger_kind_has_a_codec_a_strategy_and_a_place_in_all_kinds() -> None:
    assert set(LEDGER_CODECS) == set(STRATEGIES)
    for cls in LEDGER_CODECS:
        assert codec.ALL_KINDS[cls.KIND] is cls


@FAST
@given(st.one_of(*STRATEGIES.values()))
def test_ledger_bodies_round_trip_with_one_encoding(message: Message) -> None:
    body = codec.encode_body(message)
    assert codec.decode_body(message.KIND, body, wire.SYNC_LIMITS) == message
    assert codec.encode_body(codec.decode_body(message.KIND, body, wire.SYNC_LIMITS)) == body


def _entry_body() -> bytes:
    proposal, _ = Members(*MEMBERS).ride(MEMBERS[0], MEMBERS[1])
    return codec.encode_body(proposal.message)


def test_a_longer_integer_form_is_not_canonical() -> None:
    body = _entry_body()
    assert body[:2] == b"\x95\x01"  # array of 5, seq 1 as a positive fixint
    longer = b"\x95\xcf" + struct.pack(">Q", 1) + body[2:]
    with pytest.raises(DecodeError, match="not canonical"):
        codec.decode_body(LogEntry.KIND, longer)


def test_a_boolean_is_not_a_sequence_number() -> None:
    body = b"\x95\xc3" + _entry_body()[2:]
    with pytest.raises(InvalidMessage, match=r"^LogEntry\.seq="):
        codec.decode_body(LogEntry.KIND, body)


def test_an_unknown_payload_kind_is_invalid_and_says_which_kinds_exist() -> None:
    value = codec.unpack(_entry_body(), "LogEntry")
    assert type(value) is tuple
    body = codec.pack([*value[:3], "ride.rating", value[4]])
    with pytest.raises(
        UnknownPayload, match=r"^LogEntry\.payload_kind='ride\.rating'.*receipt\.half"
    ):
        codec.decode_body(LogEntry.KIND, body)
    assert issubclass(UnknownPayload, InvalidMessage)


def test_an_entry_body_is_bounded_before_it_is_built() -> None:
    value = codec.unpack(_entry_body(), "LogEntry")
    assert type(value) is tuple
    body = codec.pack([value[0], b"\x00" * (ENTRY_LIMITS.max_bytes + 1), *value[2:]])
    with pytest.raises(DecodeError):
        codec.decode_body(LogEntry.KIND, body, ENTRY_LIMITS)


def _heads_body(packed: bytes) -> bytes:
    return codec.pack([packed])


HEAD = struct.Struct(">32sQ32s")
RECORD_FAULTS = {
    "authors_descend": HEAD.pack(b"\x02" * 32, 1, bytes(32))
    + HEAD.pack(b"\x01" * 32, 1, bytes(32)),
    "author_twice": HEAD.pack(b"\x01" * 32, 1, bytes(32)) * 2,
    "seq_0": HEAD.pack(b"\x01" * 32, 0, bytes(32)),
    "seq_above_int64": HEAD.pack(b"\x01" * 32, 2**63, bytes(32)),
    "a_partial_record": HEAD.pack(b"\x01" * 32, 1, bytes(32))[:-1],
    "too_many_records": b"".join(
        HEAD.pack(i.to_bytes(32, "big"), 1, bytes(32)) for i in range(wire.MAX_HEADS + 1)
    ),
}


@pytest.mark.parametrize("fault", sorted(RECORD_FAULTS))
def test_packed_heads_must_be_whole_records_of_ascending_authors(fault: str) -> None:
    with pytest.raises(InvalidMessage, match=r"^SyncHeads\.heads"):
        codec.decode_body(SyncHeads.KIND, _heads_body(RECORD_FAULTS[fault]), wire.SYNC_LIMITS)


def test_packed_wants_are_checked_the_same_way() -> None:
    want = struct.Struct(">32sQ")
    body = codec.pack([want.pack(b"\x02" * 32, 1) + want.pack(b"\x01" * 32, 1)])
    with pytest.raises(InvalidMessage, match=r"^SyncWant\.wants\[1\]\.author"):
        codec.decode_body(SyncWant.KIND, body)


def test_an_entries_batch_holds_at_most_16_byte_strings() -> None:
    with pytest.raises(DecodeError):
        codec.decode_body(SyncEntries.KIND, codec.pack([[b"x"] * 17]))
    with pytest.raises(InvalidMessage, match=r"^SyncEntries\.entries\[1\]="):
        codec.decode_body(SyncEntries.KIND, codec.pack([[b"x", "x"]]))


def test_a_log_entry_travels_on_the_ledger_topic_but_not_bare_on_the_sync_stream() -> None:
    raw = Members(ALICE, MEMBERS[1]).ride(ALICE, MEMBERS[1])[0].raw
    env = codec.decode_envelope(raw)
    with pytest.raises(InvalidMessage):
        codec.check_header(env, wire.SYNC_KINDS)
    assert codec.check_header(env, wire.LEDGER_TOPIC_KINDS) is LogEntry
