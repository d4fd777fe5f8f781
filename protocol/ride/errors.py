"""What can go wrong in a ride handshake, and whose fault it was (SPEC §7.5).

Remote errors mean the counterparty's message is dropped and the ride is
unchanged; local errors mean this program asked for something the ride does
not allow. Out-of-state commands raise ``protocol.errors.IllegalTransition``.
Every one of them leaves the handshake exactly as it was.
"""

from __future__ import annotations

from protocol.errors import LocalError, RemoteError


class NotCounterparty(RemoteError):
    """The message is signed by someone other than this ride's counterparty."""

    reason = "not_counterparty"


class WrongRide(RemoteError):
    """The message belongs to another ride (a replay from elsewhere, or a mix-up)."""

    reason = "wrong_ride"


class OutOfOrder(RemoteError):
    """The message's step is ahead of the next one expected: an earlier one is missing."""

    reason = "out_of_order"


class Equivocation(RemoteError):
    """A second, different message for a step already processed from the same sender."""

    reason = "equivocation"


class UnexpectedMessage(RemoteError):
    """The counterparty sent a message its role may not send in the ride's state."""

    reason = "unexpected"


class WrongPin(RemoteError):
    """A pick-up message whose PIN does not match the hash the rider revealed."""

    reason = "wrong_pin"


class ReceiptMismatch(RemoteError):
    """A receipt half that is not the ride this party saw."""

    reason = "receipt_mismatch"


class InvalidCommand(LocalError):
    """A command's argument is out of range or inconsistent with the ride."""

    reason = "invalid_command"
