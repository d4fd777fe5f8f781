"""One Ed25519 key, two names: the member's ``PublicKey`` and the libp2p peer id.

A lazooz member's libp2p host signs its Noise handshakes and gossipsub
messages with the member's own key, so the transport-authenticated peer id of
a connection *is* the member on the other end. The mapping is exact and
needs no lookup, because libp2p inlines keys of up to 42 bytes in the peer id
(an ``identity`` multihash) instead of hashing them:

    peer id bytes = 0x00 0x24                 multihash: identity, 36 bytes
                    0x08 0x01                 protobuf PublicKey.Type = Ed25519 (1)
                    0x12 0x20 <32-byte key>   protobuf PublicKey.Data

Printed in base58btc, every such id starts with ``12D3KooW``.
``peer_id_of`` builds it from a ``PublicKey``; ``public_key_of`` takes it
apart, and refuses (``None``) any peer id that does not carry an Ed25519 key
in exactly this canonical form (RSA and secp256k1 peers, hashed ids), since
such a peer cannot be a lazooz member.
"""

from __future__ import annotations

import nacl.signing
from libp2p.crypto.ed25519 import Ed25519PrivateKey
from libp2p.crypto.keys import KeyPair
from libp2p.peer.id import ID

from protocol.fields import PublicKey
from protocol.identity import PUBLIC_KEY_BYTES, Identity

#: Multihash header (identity, 36 bytes) and protobuf header (Ed25519, 32 bytes of key).
ED25519_PEER_ID_PREFIX = b"\x00\x24\x08\x01\x12\x20"
_PEER_ID_BYTES = len(ED25519_PEER_ID_PREFIX) + PUBLIC_KEY_BYTES


def peer_id_of(public_key: PublicKey) -> ID:
    """The libp2p peer id of a member's public key."""
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise ValueError(f"public_key=<{len(public_key)} bytes>: must be 32 bytes")
    return ID(ED25519_PEER_ID_PREFIX + public_key)


def public_key_of(peer_id: ID) -> PublicKey | None:
    """The member key a peer id carries, or ``None`` if it carries no Ed25519 key."""
    raw = peer_id.to_bytes()
    if len(raw) != _PEER_ID_BYTES or not raw.startswith(ED25519_PEER_ID_PREFIX):
        return None
    return PublicKey(raw[len(ED25519_PEER_ID_PREFIX) :])


def key_pair_of(identity: Identity) -> KeyPair:
    """The libp2p key pair holding the same Ed25519 secret as ``identity``."""
    private = Ed25519PrivateKey(nacl.signing.SigningKey(identity.seed))
    return KeyPair(private, private.get_public_key())
