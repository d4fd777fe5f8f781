"""Everything that decides a ride handshake's transitions, in one table (SPEC §7.4).

Like h11's ``_state.py``, this module does not know which party it runs for:
a message moves the ride the same way when its sender sends it and when the
receiver receives it, so both copies of the machine walk the same states. The
key names the *sender's* role, because who may say what is the rule.

``docs/handshake.md`` shows ``render_table()`` and ``render_diagram()``; a test
fails when the docs and this table differ.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import final

from protocol.ride.messages import (
    Accept,
    Cancel,
    Confirm,
    Decline,
    DroppedOff,
    PickedUp,
    Propose,
    ReceiptEntry,
    Reveal,
    RideMessage,
)


class Role(enum.Enum):
    RIDER = "rider"
    DRIVER = "driver"

    @property
    def other(self) -> Role:
        return Role.DRIVER if self is Role.RIDER else Role.RIDER


class RideState(enum.Enum):
    """Where a ride stands, as one party has seen it."""

    #: Nothing said yet.
    IDLE = "idle"
    #: The rider proposed; the driver is to accept or decline.
    PROPOSED = "proposed"
    #: The driver accepted; the rider is to reveal the exact points.
    ACCEPTED = "accepted"
    #: The rider revealed; the driver is to check the points and confirm or decline.
    REVEALED = "revealed"
    #: The driver confirmed a pickup time; the driver is to pick up.
    CONFIRMED = "confirmed"
    #: The rider is aboard; the driver is to drop off.
    PICKED_UP = "picked_up"
    #: The ride is over; the driver is to sign and send its receipt half.
    DROPPED_OFF = "dropped_off"
    #: The driver's half is with the rider; the rider is to countersign.
    RECEIPT_PROPOSED = "receipt_proposed"
    #: (Driver only) the rider did not countersign by the deadline; a late
    #: countersignature still completes the ride.
    UNSIGNED = "unsigned"
    #: Both halves of the receipt exist.
    DONE = "done"
    #: Declined or cancelled, by either party or by a deadline.
    CANCELLED = "cancelled"


@final
class Timeout:
    """Local event: this party's deadline for the current state has passed."""


Event = type[RideMessage] | type[Timeout]

S = RideState
R, D = Role.RIDER, Role.DRIVER

#: States that a party leaves by a move of its own or of the counterparty, and
#: in which a deadline runs. Either party may cancel in all but the last one.
_CANCELLABLE = (S.PROPOSED, S.ACCEPTED, S.REVEALED, S.CONFIRMED, S.PICKED_UP, S.DROPPED_OFF)

#: (state, sender's role, event) -> next state. Anything else is illegal.
TRANSITIONS: Mapping[tuple[RideState, Role, Event], RideState] = {
    (S.IDLE, R, Propose): S.PROPOSED,
    # The driver never heard the proposal; the rider gave up on it.
    (S.IDLE, R, Cancel): S.CANCELLED,
    (S.PROPOSED, D, Accept): S.ACCEPTED,
    (S.PROPOSED, D, Decline): S.CANCELLED,
    (S.ACCEPTED, R, Reveal): S.REVEALED,
    (S.REVEALED, D, Confirm): S.CONFIRMED,
    (S.REVEALED, D, Decline): S.CANCELLED,
    (S.CONFIRMED, D, PickedUp): S.PICKED_UP,
    (S.PICKED_UP, D, DroppedOff): S.DROPPED_OFF,
    (S.DROPPED_OFF, D, ReceiptEntry): S.RECEIPT_PROPOSED,
    (S.RECEIPT_PROPOSED, R, ReceiptEntry): S.DONE,
    **{
        (s, role, ev): S.CANCELLED
        for s in _CANCELLABLE
        for role in Role
        for ev in (Cancel, Timeout)
    },
    # A signed half cannot be taken back: once the driver's is out, only the
    # rider decides (SPEC §7.4). The driver's deadline only stops its waiting.
    (S.RECEIPT_PROPOSED, R, Cancel): S.CANCELLED,
    (S.RECEIPT_PROPOSED, R, Timeout): S.CANCELLED,
    (S.RECEIPT_PROPOSED, D, Timeout): S.UNSIGNED,
    (S.UNSIGNED, R, ReceiptEntry): S.DONE,
    (S.UNSIGNED, R, Cancel): S.CANCELLED,
    # Crossed endings: both called the ride off before hearing the other.
    # Recorded; no party ends a ride twice (SPEC §7.9).
    (S.CANCELLED, R, Cancel): S.CANCELLED,
    (S.CANCELLED, D, Cancel): S.CANCELLED,
    (S.CANCELLED, D, Decline): S.CANCELLED,
}

#: No party sends anything new from these; what reaches them is answered (SPEC §7.9).
ENDED = frozenset({S.DONE, S.CANCELLED})

#: Messages that end a ride without a receipt.
ENDINGS: tuple[type[RideMessage], ...] = (Decline, Cancel)


def next_state(state: RideState, sender: Role, event: Event) -> RideState | None:
    """The state after ``sender``'s ``event``, or None when the table forbids it."""
    return TRANSITIONS.get((state, sender, event))


def senders(event: Event) -> frozenset[Role]:
    """The roles that may ever send ``event``."""
    return _SENDERS.get(event, frozenset())


_SENDERS: dict[Event, frozenset[Role]] = {}
for _state, _role, _event in TRANSITIONS:
    _SENDERS[_event] = _SENDERS.get(_event, frozenset()) | {_role}


def mover(state: RideState) -> Role | None:
    """Whose move takes the ride forward from ``state`` (other than by ending it)."""
    for (s, role, event), _ in TRANSITIONS.items():
        if s is state and event not in (Cancel, Timeout, *ENDINGS):
            return role
    return None


def _event_name(event: Event) -> str:
    return "(deadline)" if event is Timeout else f"`{event.KIND}`"


def _grouped() -> dict[tuple[RideState, Event, RideState], list[Role]]:
    """Table rows with the roles that share them, in state order."""
    rows: dict[tuple[RideState, Event, RideState], list[Role]] = {}
    for state in RideState:
        for (s, role, event), nxt in TRANSITIONS.items():
            if s is state:
                rows.setdefault((state, event, nxt), []).append(role)
    return rows


def _who(roles: list[Role]) -> str:
    return "either" if len(roles) == len(Role) else roles[0].value


def render_table() -> str:
    """The transition table as Markdown, one row per state, event and next state."""
    lines = ["| state | sender | event | next state |", "|---|---|---|---|"]
    for (state, event, nxt), roles in _grouped().items():
        lines.append(f"| `{state.name}` | {_who(roles)} | {_event_name(event)} | `{nxt.name}` |")
    return "\n".join(lines) + "\n"


def render_diagram() -> str:
    """The table as a Mermaid state diagram, one edge per pair of states."""
    edges: dict[tuple[RideState, RideState], list[str]] = {}
    for (state, event, nxt), roles in _grouped().items():
        if state is nxt:
            continue
        name = "deadline" if event is Timeout else event.KIND.removeprefix("ride.")
        edges.setdefault((state, nxt), []).append(f"{_who(roles)} {name}")
    lines = ["```mermaid", "stateDiagram-v2", "    [*] --> IDLE"]
    for (state, nxt), labels in edges.items():
        lines.append(f"    {state.name} --> {nxt.name}: {', '.join(labels)}")
    lines += ["    DONE --> [*]", "    CANCELLED --> [*]", "```"]
    return "\n".join(lines) + "\n"
