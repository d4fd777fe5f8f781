"""The lazooz error tree: every failure in the protocol layer is one of these.

Errors say whose fault it was (h11's rule): a ``RemoteError`` means bytes from
someone else were bad and must be dropped (and counted by ``reason``); a
``LocalError`` means this program misused the API or its configuration.
Each message names the field, the value and the limit that failed.
"""

from __future__ import annotations

from typing import ClassVar


class LazoozError(Exception):
    """Base of every error lazooz raises on purpose."""

    #: Short stable code for metrics and test vectors ("rejected by reason").
    reason: ClassVar[str] = "error"


class RemoteError(LazoozError):
    """Input from another party was bad; drop it, count it, keep going."""

    reason = "remote"


class LocalError(LazoozError):
    """The caller misused the API or gave bad local input."""

    reason = "local"


# -- remote: the order below is the order of the validation pipeline (SPEC §5)


class Oversized(RemoteError):
    """The raw message is larger than the limit for its channel."""

    reason = "oversized"


class DecodeError(RemoteError):
    """The bytes are not a well-formed, canonical lazooz encoding."""

    reason = "decode"


class InvalidMessage(RemoteError):
    """A field has the wrong type, is out of range, or breaks a rule."""

    reason = "invalid"


class UnknownVersion(InvalidMessage):
    """The envelope's protocol version is not one this peer speaks."""

    reason = "unknown_version"


class UnknownKind(InvalidMessage):
    """The envelope's kind names no message type of this version."""

    reason = "unknown_kind"


class BadSignature(RemoteError):
    """The signature does not verify for the author key and signed bytes."""

    reason = "bad_signature"


class Expired(RemoteError):
    """The message's expiry has passed (allowing for clock skew)."""

    reason = "expired"


class NotYetValid(RemoteError):
    """The message claims to be created further in the future than skew allows."""

    reason = "future"


class Replayed(RemoteError):
    """A message with this id was already accepted inside the replay window."""

    reason = "replayed"


class Stale(RemoteError):
    """An older sequence number of something already known in a newer version."""

    reason = "stale"


class BadGeometry(InvalidMessage):
    """Coordinates off the Earth, or a route or place that cannot exist."""

    reason = "geometry"


# -- local


class IllegalTransition(LocalError):
    """An event arrived that the state machine does not allow in its state."""

    reason = "illegal_transition"


class ConfigError(LocalError):
    """A configuration value is wrong; the message says which and what to do."""

    reason = "config"


class StoreError(LocalError):
    """Durable storage failed or holds something it should not."""

    reason = "store"


class BadIdentity(LocalError):
    """A key or member id given by the user is malformed."""

    reason = "identity"


def describe(field: str, value: object, rule: str) -> str:
    """Format the one error message shape used everywhere: ``field=value: rule``."""
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{field}={shown}: {rule}"
