"""Which of the counterparty's messages a party has applied (SPEC §7.5).

A received message is first placed: is it from the counterparty, for this
ride, of a kind its sender may send, new or a duplicate, and next in its
sender's order. Only then does the handshake look at what it says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from protocol.envelope import Signed
from protocol.errors import describe
from protocol.fields import MessageId, PublicKey
from protocol.identity import member_id
from protocol.ride.errors import (
    Equivocation,
    NotCounterparty,
    OutOfOrder,
    UnexpectedMessage,
    WrongRide,
)
from protocol.ride.messages import Cancel, RideMessage
from protocol.ride.states import Role, senders


@dataclass(frozen=True, slots=True)
class Inbox:
    """Ids of the applied messages of one sender in one ride, by step. Immutable:
    ``after`` returns the next inbox, so a failed call cannot half-update one."""

    ride_id: bytes
    sender: PublicKey
    role: Role
    ids: Mapping[int, MessageId] = field(default_factory=dict)
    #: The step expected next: one past the highest applied.
    next_step: int = 0

    def place(self, signed: Signed[RideMessage]) -> bool:
        """Raise unless ``signed`` belongs here; True if it is a duplicate of an applied one."""
        m = signed.message
        name = type(m).__name__
        if signed.author != self.sender:
            raise NotCounterparty(
                describe(
                    "Envelope.author",
                    member_id(signed.author),
                    f"this ride's {self.role.value} is {member_id(self.sender)}",
                )
            )
        if m.ride_id != self.ride_id:
            raise WrongRide(describe(f"{name}.ride_id", m.ride_id.hex(), "another ride"))
        if self.role not in senders(type(m)):
            raise UnexpectedMessage(describe(name, m.KIND, f"a {self.role.value} never sends this"))
        known = self.ids.get(m.step)
        if known == signed.message_id:
            return True
        if known is not None:
            raise Equivocation(describe(f"{name}.step", m.step, "already had a different message"))
        return False

    def check_order(self, m: RideMessage) -> None:
        """Raise if an earlier message of the sender is missing. A cancel may skip
        ahead: nothing said before an ending changes the outcome."""
        if m.step == self.next_step or (isinstance(m, Cancel) and m.step > self.next_step):
            return
        raise OutOfOrder(describe(f"{type(m).__name__}.step", m.step, f"expected {self.next_step}"))

    def after(self, signed: Signed[RideMessage]) -> Inbox:
        step = signed.message.step
        return Inbox(
            self.ride_id,
            self.sender,
            self.role,
            {**self.ids, step: signed.message_id},
            max(self.next_step, step + 1),
        )
