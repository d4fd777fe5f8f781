"""Opening one signed envelope: the steps every channel shares (SPEC §5 steps 1-4).

Size, canonical decoding, the kinds this channel carries, the body's schema,
then the author's signature — each failure a typed ``RemoteError``. What
comes after (freshness and replay on gossip, a ride's state on the ride
stream, chain rules for log entries) belongs to each channel.
"""

from __future__ import annotations

from collections.abc import Mapping

from protocol.codec import check_header, decode_body, decode_envelope
from protocol.envelope import Envelope, Signed
from protocol.errors import Oversized, describe
from protocol.identity import verify
from protocol.messages import Message
from protocol.wire import DecodeLimits


def parse(
    data: bytes, kinds: Mapping[str, type[Message]], limits: DecodeLimits
) -> tuple[Envelope, Message]:
    """Steps 1-3, unverified: size, envelope, a kind of ``kinds``, the body."""
    if len(data) > limits.max_bytes:
        raise Oversized(describe("message", f"<{len(data)} bytes>", f"limit is {limits.max_bytes}"))
    env = decode_envelope(data, limits)
    cls = check_header(env, kinds)
    message = decode_body(env.kind, env.body, limits)
    assert isinstance(message, cls)
    return env, message


def verified(data: bytes, env: Envelope, message: Message) -> Signed[Message]:
    """Step 4: the author's signature; the message as it was signed."""
    verify(env.author, env.signing_input(), env.signature, field="Envelope.signature")
    return Signed(message=message, author=env.author, message_id=env.message_id, raw=data)


def open_signed(
    data: bytes, kinds: Mapping[str, type[Message]], limits: DecodeLimits
) -> Signed[Message]:
    """Steps 1-4 on the bytes of one frame or message."""
    env, message = parse(data, kinds, limits)
    return verified(data, env, message)
