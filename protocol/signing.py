"""Sealing a message into a signed envelope: the one way lazooz emits messages."""

from __future__ import annotations

from typing import TypeVar

from protocol.codec import encode_body, encode_envelope
from protocol.envelope import VERSION, Envelope, Signed, message_id, signing_input
from protocol.identity import Identity
from protocol.messages import Message

M = TypeVar("M", bound=Message)


def seal(identity: Identity, message: M) -> Signed[M]:
    """Encode ``message``, sign it as ``identity`` and wrap it for the wire."""
    body = encode_body(message)
    env = Envelope(
        version=VERSION,
        kind=message.KIND,
        body=body,
        author=identity.public_key,
        signature=identity.sign(signing_input(message.KIND, body)),
    )
    return Signed(
        message=message,
        author=identity.public_key,
        message_id=message_id(identity.public_key, message.KIND, body),
        raw=encode_envelope(env),
    )
