"""The ledger test vectors in tests/vectors/ledger.json hold for this implementation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocol import codec
from protocol.errors import RemoteError
from protocol.fields import PublicKey
from protocol.identity import Identity
from protocol.ledger.book import AddStatus, Ledger
from protocol.ledger.credit import CreditV1, balances, explain
from protocol.ledger.forks import open_fork
from protocol.ledger.reputation import Reputation, reputations
from tests.vectors import generate_ledger

DOCUMENT = json.loads(generate_ledger.PATH.read_text(encoding="utf-8"))
ENTRIES: list[dict[str, Any]] = DOCUMENT["entries"]
FORKS: list[dict[str, Any]] = DOCUMENT["forks"]
BALANCES: list[dict[str, Any]] = DOCUMENT["balances"]
REPUTATIONS: list[dict[str, Any]] = DOCUMENT["reputations"]
KEYS = {name: PublicKey(bytes.fromhex(key["public_key"])) for name, key in DOCUMENT["keys"].items()}


@pytest.mark.parametrize("vector", ENTRIES, ids=[v["name"] for v in ENTRIES])
def test_entry_vector_gives_its_expected_outcome(vector: dict[str, Any]) -> None:
    ledger = Ledger()
    for prior in vector["prior"]:
        assert ledger.add(bytes.fromhex(prior)).status in (AddStatus.ADDED, AddStatus.PENDING)
    data = bytes.fromhex(vector["hex"])
    if vector["expect"] not in {s.value for s in AddStatus}:
        before = (len(ledger), ledger.pending_count)
        with pytest.raises(RemoteError) as caught:
            ledger.add(data)
        assert caught.value.reason == vector["expect"], caught.value
        assert str(caught.value).startswith(vector["field"] + "="), caught.value
        assert (len(ledger), ledger.pending_count) == before
        return
    result = ledger.add(data)
    assert result.status.value == vector["expect"]
    if result.status is AddStatus.FORK:
        assert result.fork is not None
        assert codec.encode_body(result.fork).hex() == vector["fork_proof"]
        return
    signed = result.applied[0] if result.applied else None
    if signed is not None:
        assert generate_ledger.entry_json(signed.message) == vector["entry"]
        assert signed.author.hex() == vector["author"]
        assert signed.message_id.hex() == vector["entry_id"]


@pytest.mark.parametrize("vector", FORKS, ids=[v["name"] for v in FORKS])
def test_fork_vector_gives_its_expected_outcome(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    if vector["expect"] != "ok":
        with pytest.raises(RemoteError) as caught:
            open_fork(data)
        assert caught.value.reason == vector["expect"], caught.value
        assert str(caught.value).startswith(vector["field"] + "="), caught.value
        return
    fork = open_fork(data)
    assert (fork.author.hex(), fork.seq) == (vector["author"], vector["seq"])


@pytest.mark.parametrize("vector", BALANCES, ids=[v["name"] for v in BALANCES])
def test_credit_vector_gives_its_balances(vector: dict[str, Any]) -> None:
    ledger = Ledger()
    for raw in vector["entries"]:
        assert ledger.add(bytes.fromhex(raw)).status is AddStatus.ADDED
    for raw in vector["forks"]:
        ledger.add_fork(open_fork(bytes.fromhex(raw)))
    lines = explain(ledger)
    got = [
        {
            "ride_id": ln.ride_id.hex(),
            "verdict": ln.verdict.value,
            "credited_milli": ln.credited_milli,
        }
        for ln in lines
    ]
    assert got == vector["lines"]
    expected = {KEYS[name]: milli for name, milli in vector["balances"].items()}
    assert balances(ledger) == expected


@pytest.mark.parametrize("vector", REPUTATIONS, ids=[v["name"] for v in REPUTATIONS])
def test_reputation_vector_gives_its_counts_and_stars(vector: dict[str, Any]) -> None:
    ledger = Ledger()
    for raw in vector["entries"]:
        assert ledger.add(bytes.fromhex(raw)).status is AddStatus.ADDED
    for raw in vector["forks"]:
        ledger.add_fork(open_fork(bytes.fromhex(raw)))
    got = reputations(ledger)
    for name, want in vector["reputations"].items():
        assert got.get(KEYS[name], Reputation()) == Reputation(want["count"], want["stars_total"])


def test_credit_vectors_state_the_constants_of_credit_v1() -> None:
    params = CreditV1()
    assert DOCUMENT["credit"] == {
        "version": CreditV1.VERSION,
        "pair_window_ms": params.pair_window_ms,
        "daily_cap_milli": params.daily_cap_milli,
        "max_speed_kmh": params.max_speed_kmh,
    }


def test_ledger_vectors_file_is_exactly_what_the_generator_writes() -> None:
    committed = generate_ledger.PATH.read_text(encoding="utf-8")
    assert committed == generate_ledger.render(), (
        "tests/vectors/ledger.json is out of date: run `python -m tests.vectors.generate_ledger`"
    )


def test_ledger_vectors_cover_every_ledger_rejection_reason() -> None:
    seen = {v["expect"] for v in ENTRIES} | {v["expect"] for v in FORKS}
    for reason in (
        "added",
        "pending",
        "duplicate",
        "fork",
        "bad_signature",
        "wrong_prev",
        "time_reversal",
        "invalid",
        "not_a_party",
        "unknown_payload",
        "decode",
        "oversized",
        "unknown_kind",
        "unknown_version",
        "wrong_author",
        "not_a_fork",
        "wrong_link",
        "not_a_receipt",
        "already_rated",
        "ok",
    ):
        assert reason in seen, reason
    names = [v["name"] for v in ENTRIES + FORKS + BALANCES + REPUTATIONS]
    assert len(names) == len(set(names))


def test_ledger_vector_keys_derive_their_public_keys() -> None:
    for key in DOCUMENT["keys"].values():
        identity = Identity.from_seed(bytes.fromhex(key["seed"]))
        assert identity.public_key.hex() == key["public_key"]
