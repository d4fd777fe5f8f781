"""Member identities: keys, signatures and member ids (SPEC §2.3-§2.5)."""

from __future__ import annotations

import bech32
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import BadIdentity, BadSignature
from protocol.identity import Identity, member_id, parse_member_id, verify
from tests import strategies
from tests.strategies import ALICE, BOB

FAST = settings(max_examples=100, deadline=None)

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"  # bech32's alphabet


def test_ed25519_matches_rfc_8032_test_1() -> None:
    identity = Identity.from_seed(
        bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    )
    assert identity.public_key.hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )
    assert identity.sign(b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


def test_member_id_of_the_spec_example_key() -> None:
    # SPEC §2.5 gives this id; the key is the vectors' "alice", seed 01 * 32.
    assert ALICE.member_id == "lz174jc3yk7nqjn5tmhx505zu"


@FAST
@given(strategies.identities)
def test_member_id_parses_back_to_itself(identity: Identity) -> None:
    assert identity.member_id.startswith("lz1")
    assert parse_member_id(identity.member_id) == identity.member_id


def test_different_keys_have_different_member_ids() -> None:
    assert ALICE.member_id != BOB.member_id


def test_parse_member_id_ignores_case_dashes_and_spaces() -> None:
    typed = "  LZ17-4JC3-YK7N QJN5-TMHX-505ZU "
    assert parse_member_id(typed) == ALICE.member_id


def test_every_single_character_typo_in_a_member_id_is_detected() -> None:
    text = ALICE.member_id
    for i in range(len("lz1"), len(text)):
        for c in _CHARSET:
            if c == text[i]:
                continue
            with pytest.raises(BadIdentity):
                parse_member_id(text[:i] + c + text[i + 1 :])


def test_every_swap_of_neighbouring_characters_in_a_member_id_is_detected() -> None:
    text = ALICE.member_id
    for i in range(len("lz1"), len(text) - 1):
        if text[i] == text[i + 1]:
            continue
        with pytest.raises(BadIdentity):
            parse_member_id(text[:i] + text[i + 1] + text[i] + text[i + 2 :])


def test_dropped_character_in_a_member_id_is_detected() -> None:
    text = ALICE.member_id
    for i in range(len("lz1"), len(text)):
        with pytest.raises(BadIdentity):
            parse_member_id(text[:i] + text[i + 1 :])


def test_member_id_typo_error_names_the_text_and_what_to_expect() -> None:
    with pytest.raises(BadIdentity) as caught:
        parse_member_id("lz174jc3yk7nqjn5tmhx505zv")
    assert str(caught.value) == (
        "member_id='lz174jc3yk7nqjn5tmhx505zv': not a lazooz member id (lz1..., checksum)"
    )


def _five_bit(data: bytes) -> list[int]:
    groups = bech32.convertbits(data, 8, 5)
    assert groups is not None  # 8-to-5 bit conversion with padding cannot fail
    return groups


def test_valid_bech32_with_another_prefix_is_not_a_member_id() -> None:
    other = bech32.bech32_encode("bc", _five_bit(bytes(10)))
    with pytest.raises(BadIdentity, match="not a lazooz member id"):
        parse_member_id(other)


def test_valid_bech32_of_the_wrong_length_is_not_a_member_id() -> None:
    longer = bech32.bech32_encode("lz", _five_bit(bytes(20)))
    with pytest.raises(BadIdentity, match="wrong length for a lazooz member id"):
        parse_member_id(longer)


def test_member_id_is_a_function_of_the_public_key_only() -> None:
    assert member_id(ALICE.public_key) == ALICE.member_id


# -- signatures


@FAST
@given(strategies.identities, st.binary(max_size=200))
def test_signature_verifies_for_its_signer(identity: Identity, data: bytes) -> None:
    verify(identity.public_key, data, identity.sign(data), field="sig")


def test_signature_by_another_key_fails_naming_field_and_claimed_member() -> None:
    with pytest.raises(BadSignature) as caught:
        verify(ALICE.public_key, b"ride", BOB.sign(b"ride"), field="Receipt.driver_sig")
    message = str(caught.value)
    assert message.startswith("Receipt.driver_sig=")
    assert message.endswith(f"does not verify for {ALICE.member_id}")


@FAST
@given(st.binary(min_size=1, max_size=100), st.data())
def test_signature_fails_for_changed_data(data: bytes, draw: st.DataObject) -> None:
    bit = draw.draw(st.integers(0, len(data) * 8 - 1))
    changed = bytearray(data)
    changed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(BadSignature):
        verify(ALICE.public_key, bytes(changed), ALICE.sign(data), field="sig")


@pytest.mark.parametrize(
    ("key", "signature"),
    [(bytes(31), bytes(64)), (bytes(32), bytes(63)), (bytes(33), bytes(64))],
)
def test_malformed_key_or_signature_is_a_bad_signature_not_a_crash(
    key: bytes, signature: bytes
) -> None:
    with pytest.raises(BadSignature, match=r"^sig='<malformed>': key or signature has the wrong"):
        verify(key, b"data", signature, field="sig")


def test_signature_from_a_small_order_key_is_refused() -> None:
    # The identity point: libsodium refuses it rather than accept "any" signature.
    identity_point = bytes([1]) + bytes(31)
    with pytest.raises(BadSignature):
        verify(identity_point, b"data", identity_point + bytes(32), field="sig")


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_seed_of_the_wrong_size_is_refused_naming_its_size(size: int) -> None:
    with pytest.raises(BadIdentity) as caught:
        Identity.from_seed(bytes(size))
    assert str(caught.value) == f"seed='<{size} bytes>': must be 32 bytes"


def test_identity_repr_shows_the_member_id_and_never_the_seed() -> None:
    shown = repr(ALICE)
    assert shown == f"Identity({ALICE.member_id})"
    assert ALICE.seed.hex() not in shown
