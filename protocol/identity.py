"""Member identities: Ed25519 keys, signatures and human-readable member ids.

One Ed25519 key is both the libp2p peer id and the member identity (py-libp2p's
Ed25519 keys wrap the same PyNaCl ``SigningKey``). This module is pure: the
caller supplies the 32-byte seed from a cryptographic source, and saving or
loading the key file is the shell's job (``lazooz.keyfile``).
"""

from __future__ import annotations

import hashlib
from typing import final

import bech32
import nacl.bindings
import nacl.exceptions
import nacl.signing

from protocol.errors import BadIdentity, BadSignature, describe
from protocol.fields import PublicKey

SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64

#: Human-readable part of a member id; ids look like ``lz1...`` (bech32).
MEMBER_ID_HRP = "lz"
#: A member id carries an 80-bit digest of the key: short enough to read out,
#: long enough that nobody can make a key matching someone else's id.
_MEMBER_DIGEST_BYTES = 10
_MEMBER_DIGEST_PERSON = b"lazooz/member"


@final
class Identity:
    """A member's private signing key. Build with ``from_seed``."""

    __slots__ = ("_key", "public_key")

    def __init__(self, key: nacl.signing.SigningKey) -> None:
        self._key = key
        self.public_key = PublicKey(bytes(key.verify_key))

    @classmethod
    def from_seed(cls, seed: bytes) -> Identity:
        """The identity whose secret is ``seed`` (32 bytes from a CSPRNG)."""
        if len(seed) != SEED_BYTES:
            raise BadIdentity(describe("seed", f"<{len(seed)} bytes>", "must be 32 bytes"))
        return cls(nacl.signing.SigningKey(seed))

    @property
    def seed(self) -> bytes:
        """The 32-byte secret; whoever holds it can sign as this member."""
        return bytes(self._key)

    @property
    def member_id(self) -> str:
        return member_id(self.public_key)

    def sign(self, data: bytes) -> bytes:
        """A detached 64-byte Ed25519 signature of ``data``."""
        return self._key.sign(data).signature

    def __repr__(self) -> str:
        return f"Identity({self.member_id})"


def verify(public_key: bytes, data: bytes, signature: bytes, *, field: str) -> None:
    """Check a detached signature; raise ``BadSignature`` naming ``field``."""
    if len(signature) != SIGNATURE_BYTES or len(public_key) != PUBLIC_KEY_BYTES:
        raise BadSignature(describe(field, "<malformed>", "key or signature has the wrong size"))
    try:
        nacl.bindings.crypto_sign_open(signature + data, public_key)
    except nacl.exceptions.BadSignatureError:
        raise BadSignature(
            describe(
                field, signature.hex()[:16] + "...", f"does not verify for {member_id(public_key)}"
            )
        ) from None


def member_id(public_key: bytes) -> str:
    """The member id of a public key: bech32 of an 80-bit digest, e.g. ``lz1...``.

    Bech32's checksum catches any typo of up to four characters, so a member id
    read over the phone either parses to the right member or fails.
    """
    digest = hashlib.blake2b(
        public_key, digest_size=_MEMBER_DIGEST_BYTES, person=_MEMBER_DIGEST_PERSON
    ).digest()
    data = bech32.convertbits(digest, 8, 5)
    assert data is not None  # 8-to-5 bit conversion with padding cannot fail
    return bech32.bech32_encode(MEMBER_ID_HRP, data)


def parse_member_id(text: str) -> str:
    """Normalise a member id typed by a person, or raise ``BadIdentity``."""
    cleaned = text.strip().lower().replace("-", "").replace(" ", "")
    hrp, data = bech32.bech32_decode(cleaned)
    if hrp != MEMBER_ID_HRP or data is None:
        raise BadIdentity(describe("member_id", text, "not a lazooz member id (lz1..., checksum)"))
    digest = bech32.convertbits(data, 5, 8, False)
    if digest is None or len(digest) != _MEMBER_DIGEST_BYTES:
        raise BadIdentity(describe("member_id", text, "wrong length for a lazooz member id"))
    return cleaned
