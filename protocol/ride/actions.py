"""What a ride handshake asks its Peer to do (SPEC §7.10).

The Peer executes actions in order: it seals each ``Send`` with its identity
(``protocol.signing.seal``) and writes it to the ride stream, keeps one timer
per ride (a new ``SetTimer`` replaces the last), shows ``Notify`` to the user
and answers ``SignReceipt`` with ``receipt_proposed`` / ``receipt_countersigned``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol.fields import PublicKey
from protocol.ledger.receipt import Receipt
from protocol.ride.messages import EndMessage, RideMessage
from protocol.ride.states import Role


class Notice(enum.Enum):
    """Something the user should see. Details are on the handshake's properties."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    #: Driver: the exact points arrived (``RideHandshake.revealed``); check them.
    REVEALED = "revealed"
    #: Rider: show ``Notify.pin`` and tell it to the driver at pickup.
    PIN_SHOWN = "pin_shown"
    CONFIRMED = "confirmed"
    #: Driver: the typed PIN was wrong; ``Notify.attempts_left`` tries remain.
    PIN_REJECTED = "pin_rejected"
    PICKED_UP = "picked_up"
    DROPPED_OFF = "dropped_off"
    #: A receipt half is to be signed (see the ``SignReceipt`` beside it).
    RECEIPT_NEEDED = "receipt_needed"
    #: Driver: the rider has not countersigned by the deadline.
    UNSIGNED = "unsigned"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Ending:
    """Who ended a ride without a receipt, and with which signed message."""

    by: Role
    message: EndMessage


@dataclass(frozen=True, slots=True)
class Action:
    """Base of everything a handshake asks for; each names its ride."""

    ride_id: bytes


@dataclass(frozen=True, slots=True)
class Send(Action):
    """Seal ``message`` as this party and write it to the stream to ``to``."""

    to: PublicKey
    message: RideMessage


@dataclass(frozen=True, slots=True)
class SetTimer(Action):
    """Call ``timer_fired`` at ``at_ms`` (or later); replaces this ride's previous timer."""

    at_ms: int


@dataclass(frozen=True, slots=True)
class Notify(Action):
    """Tell the user. ``pin`` comes with ``PIN_SHOWN``, ``attempts_left`` with
    ``PIN_REJECTED``, ``ending`` with ``DECLINED`` and ``CANCELLED``."""

    notice: Notice
    pin: str | None = None
    attempts_left: int | None = None
    ending: Ending | None = None


@dataclass(frozen=True, slots=True)
class SignReceipt(Action):
    """Sign a half of ``receipt`` as this party's next log entry and hand it back.

    ``proposal`` is None for the driver, who proposes (``proposal_entry``),
    and the driver's raw entry for the rider, who countersigns it
    (``agreement_entry``). Answer with ``receipt_proposed`` or
    ``receipt_countersigned``; append the entry to the own log once that call
    has returned and before executing its ``Send`` (SPEC §7.8). Still owed
    while ``RideHandshake.pending_signature`` is this request.
    """

    receipt: Receipt
    proposal: bytes | None
