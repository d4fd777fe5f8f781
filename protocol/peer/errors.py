"""What the Peer raises on a bad user command, and counts on bad remote input (SPEC §11.6).

User commands raise a ``LocalError`` subclass and change nothing. Remote input
never raises out of the Peer: it is dropped and counted by ``reason``; the
remote errors below name the reasons the Peer adds to those of the pipelines.
"""

from __future__ import annotations

from protocol.errors import LocalError, RemoteError


class BadCommand(LocalError):
    """A user command's argument is out of range or cannot be honoured."""

    reason = "bad_command"


class UnknownId(LocalError):
    """A user command names an offer, request, ride or candidate this Peer does not hold."""

    reason = "unknown_id"


class WrongTopic(RemoteError):
    """A gossip message of a kind its topic does not carry."""

    reason = "wrong_topic"


class WrongSender(RemoteError):
    """A stream frame signed by someone other than the peer at the stream's other end."""

    reason = "wrong_sender"


class UnknownRide(RemoteError):
    """A ride message for a ride this Peer has no part in (and not a proposal)."""

    reason = "unknown_ride"


class UnknownOffer(RemoteError):
    """A proposal for an offer this Peer did not make."""

    reason = "unknown_offer"


class Busy(RemoteError):
    """A proposal that would take this Peer past its limit of rides in progress."""

    reason = "busy"


class RideNotDone(BadCommand):
    """A rating of a ride that is not done: no co-signed receipt to name yet (SPEC §11.15)."""

    reason = "not_done"


class AlreadyRatedRide(BadCommand):
    """A second rating of one ride by the same member (SPEC §8.7 allows one)."""

    reason = "already_rated"
