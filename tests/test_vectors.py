"""The wire test vectors in tests/vectors/gossip.json hold for this implementation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocol import errors
from protocol.errors import RemoteError
from protocol.identity import Identity
from protocol.validation import ReplayWindow, ValidationPolicy, open_gossip
from tests.vectors import generate

DOCUMENT = json.loads(generate.PATH.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = DOCUMENT["vectors"]

#: Reasons the pipeline alone cannot produce: ``stale`` needs the offer book.
NOT_FROM_PIPELINE = {"stale"}


def _remote_errors_by_reason() -> dict[str, type[RemoteError]]:
    """SPEC Appendix A: each rejection reason names exactly one error class."""
    found: dict[str, type[RemoteError]] = {}
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, RemoteError) and value is not RemoteError:
            assert value.reason not in found, f"two classes for reason {value.reason!r}"
            found[value.reason] = value
    return found


ERRORS_BY_REASON = _remote_errors_by_reason()


def _replay_window(policy: ValidationPolicy) -> ReplayWindow:
    return ReplayWindow(skew_ms=policy.max_skew_ms)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_gives_its_expected_outcome(vector: dict[str, Any]) -> None:
    policy = ValidationPolicy(**DOCUMENT["policy"])
    replay = _replay_window(policy)
    now_ms = vector["now_ms"]
    for prior in vector.get("prior", []):
        open_gossip(bytes.fromhex(prior), now_ms=now_ms, replay=replay, policy=policy)
    data = bytes.fromhex(vector["hex"])

    if vector["expect"] != "ok":
        with pytest.raises(RemoteError) as caught:
            open_gossip(data, now_ms=now_ms, replay=replay, policy=policy)
        assert type(caught.value) is ERRORS_BY_REASON[vector["expect"]], caught.value
        assert str(caught.value).startswith(vector["field"] + "="), caught.value
        return

    signed = open_gossip(data, now_ms=now_ms, replay=replay, policy=policy)
    assert generate.message_json(signed.message) == vector["message"]
    assert signed.author.hex() == vector["author"]
    assert signed.message_id.hex() == vector["message_id"]
    assert signed.raw == data


def test_vectors_file_is_exactly_what_the_generator_writes() -> None:
    committed = generate.PATH.read_text(encoding="utf-8")
    assert committed == generate.render(), (
        "tests/vectors/gossip.json is out of date: run `python -m tests.vectors.generate`"
    )


def test_vectors_cover_every_rejection_reason_of_the_pipeline() -> None:
    expected = set(ERRORS_BY_REASON) - NOT_FROM_PIPELINE
    assert len(VECTORS) >= 15
    assert {v["expect"] for v in VECTORS} == expected | {"ok"}


def test_vector_names_are_unique() -> None:
    names = [v["name"] for v in VECTORS]
    assert len(names) == len(set(names))


def test_vector_keys_derive_their_public_keys_and_member_ids() -> None:
    for key in DOCUMENT["keys"].values():
        identity = Identity.from_seed(bytes.fromhex(key["seed"]))
        assert identity.public_key.hex() == key["public_key"]
        assert identity.member_id == key["member_id"]
