"""The signed envelope every message travels in, and what its signature covers.

Signing input (SPEC §2.3): ``b"lazooz/1/" + kind + b"\\x00" + body``. The NUL
after the kind keeps kinds and bodies from running into each other, so no
signature over one kind can be replayed as another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Generic, TypeVar

from protocol.fields import MessageId, PublicKey
from protocol.messages import Message

VERSION = 1
DOMAIN = b"lazooz/1/"
_ID_PERSON = b"lazooz/msgid"

M_co = TypeVar("M_co", bound=Message, covariant=True)


@dataclass(frozen=True, slots=True)
class Envelope:
    """The outer array on the wire: ``[version, kind, body, author, signature]``."""

    version: int
    kind: str
    body: bytes
    author: PublicKey
    signature: bytes

    def signing_input(self) -> bytes:
        return signing_input(self.kind, self.body)

    @property
    def message_id(self) -> MessageId:
        return message_id(self.author, self.kind, self.body)


def signing_input(kind: str, body: bytes) -> bytes:
    """The exact bytes an author signs for a message of ``kind``."""
    return DOMAIN + kind.encode("ascii") + b"\x00" + body


def message_id(author: bytes, kind: str, body: bytes) -> MessageId:
    """32-byte id of a message: BLAKE2b over author key and signing input.

    The signature is left out so that an id names what was said, by whom.
    """
    h = hashlib.blake2b(digest_size=32, person=_ID_PERSON)
    h.update(author)
    h.update(signing_input(kind, body))
    return MessageId(h.digest())


@dataclass(frozen=True, slots=True)
class Signed(Generic[M_co]):
    """A message whose envelope verified: who said it, its id, and the raw bytes.

    ``raw`` is kept so a peer can relay or store exactly what the author signed.
    """

    message: M_co
    author: PublicKey
    message_id: MessageId
    raw: bytes
