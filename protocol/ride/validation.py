"""Opening a frame received on a ride stream (SPEC §7.3), as pure functions.

The steps are the gossip pipeline's (SPEC §5) without freshness and replay:
a ride message is checked against its ride instead, by ``RideHandshake``
(its author, ``ride_id`` and ``step``; a proposal's expiry).

    1 size  2 decode  3 schema (ride kinds only)  4 signature  5 semantics
"""

from __future__ import annotations

from protocol import geo
from protocol.envelope import Signed
from protocol.errors import BadGeometry, InvalidMessage, describe
from protocol.fields import GeoPoint, H3Cell
from protocol.opening import open_signed
from protocol.ride.messages import (
    RIDE_KINDS,
    Confirm,
    DroppedOff,
    PickedUp,
    Propose,
    Reveal,
    RideMessage,
)
from protocol.ride.pin import PIN_DIGITS, is_pin
from protocol.ride.wire import RIDE_LIMITS
from protocol.validation import (
    DEFAULT_POLICY,
    check_cells,
    check_cost,
    check_range,
    check_window_length,
)
from protocol.wire import DecodeLimits

#: A party sends at most 5 messages in a ride; the bound leaves room and
#: keeps ``step`` a one-byte integer on the wire.
MAX_STEP = 15
#: Longest ride a receipt may describe: the longest route an offer may have.
MAX_DISTANCE_M = 1_000_000
MAX_TIME_MS = 2**63 - 1


def open_ride_message(data: bytes, limits: DecodeLimits = RIDE_LIMITS) -> Signed[RideMessage]:
    """Size, decode, schema, signature and semantics of one ride-stream frame.

    Raises the ``RemoteError`` of the first step that fails; a frame that
    passes is signed by its ``author`` but not yet checked against any ride.
    """
    opened = open_signed(data, RIDE_KINDS, limits)
    message = opened.message
    assert isinstance(message, RideMessage)
    check_message(message)
    return Signed(message=message, author=opened.author, message_id=opened.message_id, raw=data)


def check_message(m: RideMessage) -> None:
    """Ranges and rules that need only the message itself (SPEC §7.2)."""
    name = type(m).__name__
    check_range(f"{name}.step", m.step, 0, MAX_STEP)
    if isinstance(m, Propose):
        _check_propose(m)
    elif isinstance(m, Reveal):
        _check_point("Reveal.pickup", m.pickup)
        _check_point("Reveal.dropoff", m.dropoff)
    elif isinstance(m, PickedUp):
        if not is_pin(m.pin):
            raise InvalidMessage(describe("PickedUp.pin", m.pin, f"must be {PIN_DIGITS} digits"))
        check_range("PickedUp.at_ms", m.at_ms, 0, MAX_TIME_MS)
    elif isinstance(m, DroppedOff):
        check_range("DroppedOff.at_ms", m.at_ms, 0, MAX_TIME_MS)
        check_range("DroppedOff.distance_m", m.distance_m, 0, MAX_DISTANCE_M)
    elif isinstance(m, Confirm):
        check_range("Confirm.pickup_ms", m.pickup_ms, 0, MAX_TIME_MS)


def _check_propose(m: Propose) -> None:
    p = DEFAULT_POLICY
    check_range("Propose.step", m.step, 0, 0)
    check_range("Propose.seats", m.seats, 1, p.max_seats)
    check_range("Propose.expires_ms", m.expires_ms, 0, MAX_TIME_MS)
    check_cells("Propose", m.pickup_cell, m.dropoff_cell)
    check_cost("Propose.cost", m.cost)
    # The request's own rules (SPEC §4.2, §5.7), bar the one that needs its created_ms.
    check_range("Propose.window.start_ms", m.window.start_ms, 0, MAX_TIME_MS)
    check_window_length("Propose.window", m.window, p)
    check_range("Propose.max_walk_m", m.max_walk_m, 0, p.max_walk_m)


def check_in_cells(m: Reveal, pickup_cell: H3Cell, dropoff_cell: H3Cell) -> None:
    """The exact points lie in the coarse cells the proposal named (SPEC §7.2):
    a rider cannot be matched on one place and then reveal another."""
    for field, point, cell in (
        ("pickup", m.pickup, pickup_cell),
        ("dropoff", m.dropoff, dropoff_cell),
    ):
        if geo.cell_of(point, geo.cell_resolution(cell)) != cell:
            raise BadGeometry(
                describe(
                    f"Reveal.{field}",
                    (point.lat_e6, point.lon_e6),
                    f"not in the proposed {field}_cell {cell:x}",
                )
            )


def _check_point(field: str, point: GeoPoint) -> None:
    if not geo.on_earth(point.lat_e6, point.lon_e6):
        raise BadGeometry(
            describe(field, (point.lat_e6, point.lon_e6), "not on Earth (lat_e6, lon_e6)")
        )
