"""What a message must agree with in its ride so far (SPEC §7.5).

Each check raises, naming the field, and never changes anything: the
handshake runs them before it applies a message or a command.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any, TypeVar

from protocol.errors import Expired, InvalidMessage, LazoozError, describe
from protocol.ledger.receipt import Receipt
from protocol.ride.errors import InvalidCommand, ReceiptMismatch, WrongPin
from protocol.ride.messages import Confirm, DroppedOff, PickedUp, Propose, Reveal
from protocol.ride.pin import pin_matches
from protocol.ride.policy import HandshakePolicy

E = TypeVar("E", bound=enum.IntEnum)


def proposal_fresh(m: Propose, now_ms: int, policy: HandshakePolicy) -> None:
    if m.expires_ms + policy.max_skew_ms < now_ms:
        raise Expired(describe("Propose.expires_ms", m.expires_ms, f"before now={now_ms}"))
    latest = now_ms + policy.max_proposal_ttl_ms + policy.max_skew_ms
    if m.expires_ms > latest:
        raise InvalidMessage(describe("Propose.expires_ms", m.expires_ms, f"after {latest}"))


def pickup_in_reach(m: Confirm, now_ms: int, policy: HandshakePolicy) -> None:
    latest = now_ms + policy.max_ahead_ms + policy.max_skew_ms
    if m.pickup_ms > latest:
        raise InvalidMessage(describe("Confirm.pickup_ms", m.pickup_ms, f"after {latest}"))


def pin_of_rider(ride_id: bytes, m: PickedUp, reveal: Reveal) -> None:
    if not pin_matches(ride_id, m.pin, reveal.pin_hash):
        raise WrongPin(describe("PickedUp.pin", m.pin, "is not the rider's PIN"))


def dropped_after_pickup(m: DroppedOff, picked_up: PickedUp) -> None:
    if m.at_ms < picked_up.at_ms:
        raise InvalidMessage(
            describe("DroppedOff.at_ms", m.at_ms, f"before pickup at {picked_up.at_ms}")
        )


def same_receipt(got: Receipt | None, want: Receipt, error: type[LazoozError]) -> Receipt:
    """``got`` if it equals ``want`` field by field; else ``error`` naming the first difference."""
    if got is None:
        raise InvalidCommand(describe("receipt", None, "pass the receipt decoded from the entry"))
    for f in dataclasses.fields(Receipt):
        value, expected = getattr(got, f.name), getattr(want, f.name)
        if value != expected:
            raise error(describe(f"Receipt.{f.name}", value, f"expected {expected!r}"))
    return got


def their_receipt(got: Receipt | None, want: Receipt) -> Receipt:
    return same_receipt(got, want, ReceiptMismatch)


def command_enum(kind: type[E], value: int) -> E:
    try:
        return kind(value)
    except ValueError:
        raise InvalidCommand(
            describe(kind.__name__, value, f"must be one of {[int(r) for r in kind]}")
        ) from None


def local(check: Callable[..., None], *args: Any) -> None:
    """Run a wire rule on a message this party is about to send: a failure is
    the caller's bad input, so it is reported as ``InvalidCommand``."""
    try:
        check(*args)
    except InvalidMessage as exc:
        raise InvalidCommand(str(exc)) from None
