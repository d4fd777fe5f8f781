"""What a person reads for each notification: a title and a line, in plain words.

Input is the control API's JSON of a notification (``views.notification``),
so the daemon's desktop notifier and ``lazooz watch`` (which reads the same
JSON from ``/v1/events``) say the same thing. The wording follows the web
UI's (``app.js``: ``describeEvent`` and the ``NEXT`` hints).

``describe`` gives every notification a ``Message``; ``alert`` says whether
it is worth a desktop notification: something a person did not just do
themselves (the driver accepted, the PIN, the ride confirmed...). Operational
ones (input rejected, the receipt recorded beside "done") never alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lazooz.control.show import short, when

Json = Mapping[str, Any]

#: Every event that may alert, in the order a ride meets them (``notify.mute`` names these).
EVENTS = (
    "candidates_found",
    "proposed",
    "accepted",
    "declined",
    "revealed",
    "pin_shown",
    "confirmed",
    "pin_rejected",
    "picked_up",
    "dropped_off",
    "receipt_needed",
    "unsigned",
    "done",
    "cancelled",
    "expired",
    "balance_changed",
    "fork_found",
)

#: Cancel reasons a party's node gives by itself: the person did not choose them, so they alert.
_AUTOMATIC = frozenset({"timeout", "wrong_pin", "disputed"})


@dataclass(frozen=True, slots=True)
class Message:
    """One notification for a person: ``event`` (a name in ``EVENTS``, or the notification type
    in snake case), ``title``, ``body``, the ride's id in hex (or ``""``), and ``alert``."""

    event: str
    title: str
    body: str
    ride: str = ""
    alert: bool = True

    def values(self) -> dict[str, str]:
        """The command template's placeholders."""
        return {"title": self.title, "body": self.body, "event": self.event, "ride": self.ride}


# (role, notice) -> title, body, alert. Body fields: {who} the other party, {at} a
# pickup time, {pin}, {left} PIN tries left. A pair absent here never alerts.
_RIDE: Mapping[tuple[str, str], tuple[str, str, bool]] = {
    ("driver", "proposed"): ("Ride request", "Rider {who} asks to join: accept or decline.", True),
    ("rider", "proposed"): ("Ride proposed", "Waiting for driver {who} to accept.", False),
    ("driver", "accepted"): ("Ride accepted", "Waiting for the rider's exact points…", False),
    ("rider", "accepted"): (
        "Driver accepted",
        "Driver {who} accepted: sending your exact points…",
        True,
    ),
    ("driver", "revealed"): (
        "Confirm the pickup",
        "The rider's points fit: confirm the pickup{at}.",
        True,
    ),
    ("rider", "pin_shown"): (
        "Your ride PIN",
        "Your PIN is {pin}: tell it to the driver at pickup.",
        True,
    ),
    ("driver", "confirmed"): (
        "Ride confirmed",
        "Drive to the pickup{at}; ask the rider for their PIN.",
        False,
    ),
    ("rider", "confirmed"): (
        "Ride confirmed",
        "Driver {who} picks you up{at}: tell them your PIN at pickup.",
        True,
    ),
    ("driver", "pin_rejected"): ("Wrong PIN", "The PIN did not match: {left} tries left.", True),
    ("driver", "picked_up"): ("Rider aboard", "Rider aboard: finish at the drop-off.", False),
    ("rider", "picked_up"): ("On the way", "Driver {who} picked you up: on the way.", True),
    ("driver", "dropped_off"): ("Dropped off", "Signing the receipt…", False),
    ("rider", "dropped_off"): ("Dropped off", "Dropped off: the receipt is coming.", True),
    ("driver", "receipt_needed"): ("Receipt", "Signing the receipt…", False),
    ("rider", "receipt_needed"): (
        "Countersign the receipt",
        "Check the ride and countersign the receipt.",
        True,
    ),
    ("driver", "unsigned"): ("Receipt not signed", "The rider has not countersigned yet.", True),
    ("driver", "done"): ("Ride done", "Done: receipt co-signed with rider {who}", True),
    ("rider", "done"): ("Ride done", "Done: receipt co-signed with driver {who}", True),
}


def who(member: Json) -> str:
    """A member as a person reads it: the start of its member id."""
    member_id = str(member.get("member_id", ""))
    return member_id[:12] + "…" if len(member_id) > 12 else member_id


def needs_ride(data: Json) -> bool:
    """Whether ``describe`` says more given the ride (``views.ride``): the rider's pickup time."""
    return data.get("type") == "RideUpdated" and (data["role"], data["notice"]) == (
        "rider",
        "confirmed",
    )


def describe(data: Json, ride: Json | None = None, *, show_pin: bool = True) -> Message:
    """The message for notification ``data`` (``views.notification``); ``ride`` adds the time."""
    kind = data.get("type")
    if kind == "RideUpdated":
        return _ride(data, ride, show_pin)
    if kind == "CandidatesFound":
        n = len(data["matches"])
        what = "offer" if data["role"] == "driver" else "request"
        return Message(
            "candidates_found",
            "Matches found",
            f"{n} match(es) for your {what} {short(data['own_id'])}.",
        )
    if kind == "OwnClosed":
        expired = data["why"] == "expired"
        body = f"Your {data['kind']} {short(data['own_id'])} closed: {data['why']}."
        return Message(
            "expired" if expired else "own_closed",
            f"{data['kind'].capitalize()} closed",
            body,
            alert=expired,
        )
    if kind == "BalanceChanged":
        before, now = data["before_milli"] / 1000, data["balance_milli"] / 1000
        return Message(
            "balance_changed", "Balance changed", f"Balance {before:.3f} → {now:.3f} tokens."
        )
    if kind == "ForkFound":
        body = f"Fork found in {data['author']['member_id']}'s log: their credit is frozen."
        return Message("fork_found", "Fork found", body)
    if kind == "ReceiptRecorded":
        ride_id = str(data["ride_id"])
        body = f"Receipt recorded for ride {short(ride_id)}."
        return Message("receipt_recorded", "Receipt recorded", body, ride_id, alert=False)
    if kind == "InputRejected":
        body = f"Dropped {data['channel']} input ({data['reason']}): {data['detail']}"
        return Message("input_rejected", "Input rejected", body, alert=False)
    return Message(_snake(str(kind)), str(kind), "", alert=False)


def _ride(data: Json, ride: Json | None, show_pin: bool) -> Message:
    role, notice, ride_id = str(data["role"]), str(data["notice"]), str(data["ride_id"])
    party = who(data["counterparty"])
    if notice in ("declined", "cancelled"):
        return _ended(data, party)
    pickup_ms = (ride or {}).get("pickup_ms")
    check = data.get("check")
    if check:
        pickup_ms = check.get("pickup_ms")
    found = _RIDE.get((role, notice))
    if found is None:
        said, state = notice.replace("_", " "), str(data["state"]).replace("_", " ")
        text = f"Ride {short(ride_id)}: {state if said == state else f'{said}, now {state}'}."
        return Message(notice, "Ride " + said, text, ride_id, alert=False)
    title, body, alert = found
    if notice == "pin_shown" and not show_pin:
        body = "Your PIN is ready: open lazooz to see it, and tell it to the driver at pickup."
    if notice == "revealed" and not check:
        alert = False  # the points did not fit: the node declines by itself
    text = body.format(
        who=party,
        at=f" at {when(int(pickup_ms))}" if pickup_ms else "",
        pin=data.get("pin") or "",
        left=data.get("attempts_left"),
    )
    return Message(notice, title, text, ride_id, alert)


def _ended(data: Json, party: str) -> Message:
    """Declined or cancelled: it alerts unless this person ended it on purpose."""
    notice, ride_id = str(data["notice"]), str(data["ride_id"])
    mine = data.get("by") == data["role"]
    reason = str(data.get("reason") or "")
    why = f" ({reason.replace('_', ' ')})" if reason else ""
    other = "Driver" if data["role"] == "rider" else "Rider"
    doer = "You" if mine else f"{other} {party}"
    verb = "declined" if notice == "declined" else "cancelled"
    title = "Ride " + verb
    return Message(
        notice, title, f"{doer} {verb} the ride{why}.", ride_id, not mine or reason in _AUTOMATIC
    )


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))
