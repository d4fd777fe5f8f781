"""The member key and the libp2p peer id are one key; frames are length-prefixed."""

from __future__ import annotations

import hashlib

import multihash
import pytest
from libp2p.crypto.rsa import create_new_key_pair as new_rsa_key_pair
from libp2p.crypto.secp256k1 import create_new_key_pair as new_secp256k1_key_pair
from libp2p.peer.id import ID

from lazooz.net import RIDE, SYNC, FrameTooLarge, key_pair_of, peer_id_of, public_key_of
from lazooz.net.frames import check_size, encode
from protocol.fields import PublicKey
from protocol.identity import Identity


def identity(n: int) -> Identity:
    return Identity.from_seed(bytes([n]) * 32)


@pytest.mark.parametrize("n", [1, 2, 200])
def test_peer_id_is_the_member_key_as_libp2p_derives_it(n: int) -> None:
    member = identity(n)
    libp2p_id = ID.from_pubkey(key_pair_of(member).public_key)
    assert peer_id_of(member.public_key) == libp2p_id
    assert libp2p_id.to_base58().startswith("12D3KooW")
    assert public_key_of(libp2p_id) == member.public_key
    assert public_key_of(ID.from_base58(libp2p_id.to_base58())) == member.public_key


def test_libp2p_key_signs_exactly_as_the_member_identity() -> None:
    member = identity(7)
    pair = key_pair_of(member)
    assert pair.public_key.to_bytes() == member.public_key
    assert pair.private_key.sign(b"lazooz") == member.sign(b"lazooz")


def test_peer_ids_that_carry_no_ed25519_key_name_no_member() -> None:
    rsa = ID.from_pubkey(new_rsa_key_pair().public_key)
    secp = ID.from_pubkey(new_secp256k1_key_pair().public_key)
    hashed = ID(multihash.encode(hashlib.sha256(b"x").digest(), "sha2-256"))
    cut = ID(peer_id_of(identity(1).public_key).to_bytes()[:-1])
    for peer in (rsa, secp, hashed, ID(b""), cut):
        assert public_key_of(peer) is None


def test_peer_id_of_refuses_a_key_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        peer_id_of(PublicKey(b"\x01" * 31))


def test_frame_is_a_big_endian_length_then_the_bytes() -> None:
    assert encode(b"abc") == b"\x00\x00\x00\x03abc"
    assert encode(b"") == b"\x00\x00\x00\x00"


@pytest.mark.parametrize(("spec", "limit"), [(RIDE, 16 * 1024), (SYNC, 128 * 1024)])
def test_frames_above_the_channel_limit_are_refused_before_sending(spec, limit) -> None:  # type: ignore[no-untyped-def]
    assert spec.max_frame_bytes == limit
    check_size(spec, b"\x00" * limit)
    with pytest.raises(FrameTooLarge, match=f"{spec.channel} frame.*at most {limit} bytes"):
        check_size(spec, b"\x00" * (limit + 1))
