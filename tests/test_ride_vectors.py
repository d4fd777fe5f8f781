"""The ride-stream test vectors in tests/vectors/ride.json hold for this implementation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocol.errors import RemoteError
from protocol.identity import Identity
from protocol.ride.messages import RIDE_KINDS
from protocol.ride.pin import pin_hash
from protocol.ride.validation import MAX_STEP, open_ride_message
from protocol.ride.wire import RIDE_LIMITS
from tests.vectors import generate, generate_ride

DOCUMENT = json.loads(generate_ride.PATH.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = DOCUMENT["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_ride_vector_gives_its_expected_outcome(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    if vector["expect"] != "ok":
        with pytest.raises(RemoteError) as caught:
            open_ride_message(data)
        assert caught.value.reason == vector["expect"], caught.value
        assert str(caught.value).startswith(vector["field"] + "="), caught.value
        return
    signed = open_ride_message(data)
    assert generate.message_json(signed.message) == vector["message"]
    assert signed.author.hex() == vector["author"]
    assert signed.message_id.hex() == vector["message_id"]
    assert signed.raw == data


def test_ride_vectors_file_is_exactly_what_the_generator_writes() -> None:
    committed = generate_ride.PATH.read_text(encoding="utf-8")
    assert committed == generate_ride.render(), (
        "tests/vectors/ride.json is out of date: run `python -m tests.vectors.generate_ride`"
    )


def test_ride_vectors_cover_every_kind_and_every_opener_rejection() -> None:
    ok_kinds = {v["message"]["kind"] for v in VECTORS if v["expect"] == "ok"}
    assert ok_kinds == set(RIDE_KINDS)
    reasons = {v["expect"] for v in VECTORS}
    assert reasons == {
        "ok",
        "oversized",
        "decode",
        "unknown_version",
        "unknown_kind",
        "invalid",
        "geometry",
        "bad_signature",
    }


def test_ride_vector_names_are_unique() -> None:
    names = [v["name"] for v in VECTORS]
    assert len(names) == len(set(names))


def test_ride_vector_header_matches_the_code() -> None:
    assert DOCUMENT["limits"] == {
        "max_bytes": RIDE_LIMITS.max_bytes,
        "max_step": MAX_STEP,
        "pin_digits": 4,
    }
    ride_id = bytes.fromhex(DOCUMENT["ride_id"])
    assert pin_hash(ride_id, DOCUMENT["pin"]).hex() == DOCUMENT["pin_hash"]
    for key in DOCUMENT["keys"].values():
        identity = Identity.from_seed(bytes.fromhex(key["seed"]))
        assert identity.public_key.hex() == key["public_key"]
        assert identity.member_id == key["member_id"]
