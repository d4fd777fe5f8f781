"""Driving ride handshakes: commands and ride-stream frames in, actions out (SPEC §11.10).

Each ride's ``RideHandshake`` decides what may happen; this module executes
what it asks (sealing sends, one timer per ride, signing receipts into the
ledger) and takes the steps the Peer takes by itself: the rider's reveal,
the driver's exact check of revealed points, seats, and re-publishing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from protocol.envelope import Signed
from protocol.errors import RemoteError, describe
from protocol.fields import PublicKey
from protocol.ledger.chain import open_entry
from protocol.ledger.cosign import agreement_entry, proposal_entry, receipt_half
from protocol.ledger.wire import LogEntry, ReceiptHalf
from protocol.peer import journal, publishing
from protocol.peer.actions import Action, CancelTimer, Notify, Persist, Send
from protocol.peer.core import Core
from protocol.peer.errors import BadCommand, Busy, UnknownId, UnknownOffer, UnknownRide, WrongSender
from protocol.peer.matches import ExactMisfit
from protocol.peer.notices import Match, ReceiptRecorded, RideUpdated
from protocol.peer.ride import Ride
from protocol.ride import actions as hs
from protocol.ride.machine import RideHandshake
from protocol.ride.messages import (
    CancelReason,
    DeclineReason,
    Propose,
    ReceiptEntry,
    RideMessage,
)
from protocol.ride.states import RideState, Role
from protocol.ride.terms import RideTerms
from protocol.ride.validation import open_ride_message
from protocol.signing import seal
from protocol.wire import ID_BYTES

Notice = hs.Notice


#: States of a ride both parties agreed to (the driver accepted): a light member
#: follows the counterparty's log from then on.
AGREED = frozenset(RideState) - {RideState.IDLE, RideState.PROPOSED, RideState.CANCELLED}


def timer_key(ride_id: bytes) -> tuple[str, bytes]:
    return ("ride", ride_id)


# -- rider commands


def propose(
    core: Core, request_id: bytes, offer_id: bytes, now_ms: int, driver: PublicKey | None
) -> tuple[bytes, list[Action]]:
    """Start a ride on one of an own request's candidates; returns the new ride's id."""
    own = core.requests.get(request_id)
    if own is None:
        raise UnknownId(describe("request_id", request_id.hex(), "not one of your requests"))
    if own.status != "open":
        raise BadCommand(describe("request_id", request_id.hex(), f"is {own.status}"))
    if own.ride_id is not None and not core.rides[own.ride_id].ended:
        raise BadCommand(
            describe("request_id", request_id.hex(), f"has ride {own.ride_id.hex()} in progress")
        )
    found = [
        m
        for (d, oid), m in core.matcher.rider.get(request_id, {}).items()
        if oid == offer_id and (driver is None or d == driver)
    ]
    if not found:
        raise UnknownId(describe("offer_id", offer_id.hex(), "is not a candidate of this request"))
    match = min(found, key=lambda m: m.rank_key)
    booked = core.book.offers.get((match.driver, offer_id))
    assert booked is not None  # candidates are dropped with their offers
    if _full(core):
        raise BadCommand(describe("rides", core.params.max_rides, "rides in progress already"))
    terms = RideTerms.between(booked.message, own.request)
    ride_id = core.rng.randbytes(ID_BYTES)
    handshake = RideHandshake.rider(
        ride_id=ride_id, me=core.me, driver=match.driver, terms=terms, policy=core.params.handshake
    )
    ride = Ride(handshake, offer_id, request_id, match)
    started = journal.step(ride, "propose", now_ms, now_ms + core.params.rides.proposal_ttl_ms)
    core.rides[ride_id] = ride
    own.ride_id = ride_id
    return ride_id, _run(core, ride, started, now_ms)


# -- user commands on a ride (either role; the handshake says who may)


def command(core: Core, ride_id: bytes, now_ms: int, op: str, *args: int | str) -> list[Action]:
    """Run a user's command (a ``journal`` step) on a ride; errors are the user's and
    change nothing."""
    ride = _ride(core, ride_id)
    return _run(core, ride, journal.step(ride, op, now_ms, *args), now_ms)


def confirm(core: Core, ride_id: bytes, now_ms: int, pickup_ms: int | None) -> list[Action]:
    ride = _ride(core, ride_id)
    if pickup_ms is None:
        if ride.match is None or not ride.match.exact or ride.role is not Role.DRIVER:
            raise BadCommand(describe("pickup_ms", None, "give one: no exact check has passed"))
        pickup_ms = max(now_ms, ride.match.candidate.pickup_ms)
    return command(core, ride_id, now_ms, "confirm", pickup_ms)


def finish(core: Core, ride_id: bytes, now_ms: int, distance_m: int | None) -> list[Action]:
    ride = _ride(core, ride_id)
    if distance_m is None:
        if ride.match is None:
            raise BadCommand(describe("distance_m", None, "give one: the ride has no estimate"))
        distance_m = round(ride.match.candidate.shared_m)
    return command(core, ride_id, now_ms, "dropped_off", distance_m)


def sign_receipt(core: Core, ride_id: bytes, now_ms: int) -> list[Action]:
    ride = _ride(core, ride_id)
    pending = ride.handshake.pending_signature
    if pending is None:
        raise BadCommand(describe("ride_id", ride_id.hex(), "has no receipt to sign"))
    out: list[Action] = []
    signed = _sign(core, ride, pending, now_ms, out)
    return [*out, *_run(core, ride, signed, now_ms)]


def timer_fired(core: Core, ride_id: bytes, now_ms: int) -> list[Action]:
    ride = core.rides.get(ride_id)
    if ride is None:
        return []
    return _run(core, ride, journal.step(ride, "timer", now_ms), now_ms)


def sweep(core: Core, now_ms: int) -> list[Action]:
    """Forget rides ended more than ``keep_ended_ms`` ago whose proposal has expired."""
    gone = [
        rid
        for rid, r in core.rides.items()
        if r.ended_ms is not None and _kept_until(core, r) < now_ms
    ]
    for rid in gone:
        del core.rides[rid]
    return [Persist("ride", rid, None) for rid in gone]


def _kept_until(core: Core, ride: Ride) -> int:
    """An ended ride answers late messages for ``keep_ended_ms``, and stays at least
    as long as its proposal is fresh: a replayed ``ride.propose`` must meet this
    ride, not start a second one with its id (docs/handshake.md §7.3)."""
    assert ride.ended_ms is not None
    fresh_until = ride.handshake.expires_ms + core.params.handshake.max_skew_ms
    return max(ride.ended_ms + core.params.keep_ended_ms, fresh_until)


# -- the ride stream


def stream_received(core: Core, peer: PublicKey, data: bytes, now_ms: int) -> list[Action]:
    """One frame of a ride stream from ``peer``; bad input is counted, never raised."""
    try:
        signed = open_ride_message(data)
        if signed.author != peer:
            raise WrongSender(describe("Envelope.author", signed.author.hex()[:16], "not the peer"))
        m = signed.message
        ride = core.rides.get(m.ride_id)
        created = ride is None
        if ride is None:
            ride = _proposed_ride(core, signed)
        entry = open_entry(m.entry) if isinstance(m, ReceiptEntry) else None
        if entry is not None:
            receipt_half(entry)  # a ride stream carries receipt halves, not ratings
        started = journal.step(ride, "receive", now_ms, data, opened=signed)
    except RemoteError as exc:
        return [core.reject("ride", exc)]
    out: list[Action] = []
    if created:
        core.rides[ride.ride_id] = ride
    if entry is not None:
        out += _learn_entry(core, entry)
    out += _run(core, ride, started, now_ms)
    if created:
        out += _answer_proposal(core, ride, now_ms)
    return out


def _proposed_ride(core: Core, signed: Signed[RideMessage]) -> Ride:
    """A driver's new ride, for a proposal on one of its offers; anything else is refused."""
    m = signed.message
    if not isinstance(m, Propose):
        raise UnknownRide(describe(f"{type(m).__name__}.ride_id", m.ride_id.hex(), "no such ride"))
    if m.offer_id not in core.offers:
        raise UnknownOffer(describe("Propose.offer_id", m.offer_id.hex(), "not an offer of mine"))
    if _full(core):
        raise Busy(describe("rides", core.params.max_rides, "rides in progress already"))
    handshake = RideHandshake.driver(
        ride_id=m.ride_id, me=core.me, rider=signed.author, policy=core.params.handshake
    )
    return Ride(handshake, m.offer_id, m.request_id)


def _answer_proposal(core: Core, ride: Ride, now_ms: int) -> list[Action]:
    """Decline a proposal whose terms the offer cannot meet; accept it if the policy says so."""
    own = core.offers[ride.offer_id]
    terms = ride.handshake.terms
    assert terms is not None
    reason: DeclineReason | None = None
    if own.status in ("expired", "withdrawn") or now_ms >= own.offer.expires_ms:
        reason = DeclineReason.TOO_LATE
    elif terms.cost != own.offer.cost or _disagreement(core, ride) is not None:
        reason = DeclineReason.OTHER
    elif terms.seats > own.free_seats:
        reason = DeclineReason.NO_SEATS
    if reason is not None:
        return command(core, ride.ride_id, now_ms, "decline", reason)
    if core.params.rides.auto_accept:
        return command(core, ride.ride_id, now_ms, "accept")
    return []


def countersigned_elsewhere(
    core: Core, applied: Sequence[Signed[LogEntry]], now_ms: int
) -> list[Action]:
    """Entries that reached the ledger by gossip or sync: a rider's agreement half that
    countersigns one of this driver's rides still waiting for it ends that ride DONE.

    The ``ride.receipt`` frame is the usual way; when it is lost and the rider is gone
    (nothing resends a finished ride's last message), the ride would otherwise sit in
    ``RECEIPT_PROPOSED`` and time out ``UNSIGNED`` while every ledger counts it.
    """
    out: list[Action] = []
    for entry in applied:
        half = entry.message.payload
        if not isinstance(half, ReceiptHalf) or half.is_proposal:
            continue
        ride = core.rides.get(half.receipt.ride_id)
        if (
            ride is None
            or ride.role is not Role.DRIVER
            or ride.state is not RideState.RECEIPT_PROPOSED
            or entry.author != ride.handshake.counterparty
        ):
            continue
        own = core.ledger.log(core.me)
        proposal = own.at(half.link_seq) if own is not None else None
        if proposal is None or proposal.message_id != half.link_hash:
            continue
        try:
            started = journal.step(ride, "countersigned_elsewhere", now_ms, entry.raw)
        except RemoteError as exc:
            out.append(core.reject("sync", exc))
            continue
        out += _run(core, ride, started, now_ms)
    return out


def _learn_entry(core: Core, entry: Signed[LogEntry]) -> list[Action]:
    """The counterparty's receipt half joins this Peer's ledger (persisted before any reply)."""
    try:
        result = core.ledger.add(entry)
    except RemoteError as exc:
        return [core.reject("ride", exc)]
    # Its author gossips it (``own_entry``); nothing more to tell anyone here.
    return list(core.persist_entries(result.applied))


# -- executing a handshake's actions


def _run(core: Core, ride: Ride, started: list[hs.Action], now_ms: int) -> list[Action]:
    """Execute a handshake's actions, and the steps they lead to; the ride's journal is
    persisted first, so a ``Send`` never goes out of a step a restart would forget."""
    out: list[Action] = []
    queue = deque(started)
    while queue:
        a = queue.popleft()
        if isinstance(a, hs.Send):
            out.append(Send(a.to, "ride", seal(core.identity, a.message).raw))
        elif isinstance(a, hs.SetTimer):
            out.append(core.set_timer(timer_key(ride.ride_id), a.at_ms))
        elif isinstance(a, hs.Notify):
            queue.extend(_notice(core, ride, a, now_ms, out))
        elif isinstance(a, hs.SignReceipt):
            auto = (
                core.params.rides.auto_propose_receipt
                if a.proposal is None
                else core.params.rides.auto_countersign
            )
            if auto:
                queue.extend(_sign(core, ride, a, now_ms, out))
    if ride.state in AGREED:
        # A light member holds the logs of those it rode with (SPEC §10.6).
        out = [*core.follow(ride.counterparty), *out]
    saved = journal.dump(ride)
    if saved == ride.saved:
        return out
    ride.saved = saved
    return [Persist("ride", ride.ride_id, saved), *out]


def _notice(
    core: Core, ride: Ride, a: hs.Notify, now_ms: int, out: list[Action]
) -> list[hs.Action]:
    """Show the user what happened, and take the steps the Peer takes by itself."""
    h = ride.handshake
    notice = a.notice
    check: Match | None = None
    then: list[hs.Action] = []
    misfit: ExactMisfit | None = None
    if notice is Notice.REVEALED:
        result = _exact_check(core, ride)
        if isinstance(result, ExactMisfit):
            misfit = result
        else:
            check = ride.match = result
    ending = a.ending
    update = RideUpdated(
        ride_id=ride.ride_id,
        role=ride.role,
        notice=notice,
        state=h.state,
        counterparty=ride.counterparty,
        offer_id=ride.offer_id,
        request_id=ride.request_id,
        pin=a.pin,
        attempts_left=a.attempts_left,
        reason=misfit.detail if misfit else (ending.message.reason.name if ending else None),
        by=ending.by if ending else None,
        check=check,
    )
    out.append(Notify(update))
    if misfit is not None:
        return journal.step(ride, "decline", now_ms, misfit.reason)
    if notice is Notice.REVEALED and core.params.rides.auto_confirm and check is not None:
        return journal.step(ride, "confirm", now_ms, max(now_ms, check.candidate.pickup_ms))
    if notice is Notice.ACCEPTED:
        if ride.role is Role.RIDER:
            own = core.requests[ride.request_id]
            seed = core.rng.getrandbits(64)
            p, d = own.pickup, own.dropoff
            then = journal.step(
                ride, "reveal", now_ms, seed, p.lat_e6, p.lon_e6, d.lat_e6, d.lon_e6
            )
        else:
            core.offers[ride.offer_id].taken[ride.ride_id] = ride.seats
            out.extend(publishing.seats_changed(core, ride.offer_id, now_ms))
    elif notice is Notice.CONFIRMED and ride.role is Role.RIDER:
        out.extend(publishing.close(core, "request", ride.request_id, "booked"))
    elif notice in (Notice.DECLINED, Notice.CANCELLED, Notice.DONE):
        out.extend(_ended(core, ride, now_ms))
    return then


def _ended(core: Core, ride: Ride, now_ms: int) -> list[Action]:
    ride.ended_ms = now_ms
    core.timers.pop(timer_key(ride.ride_id), None)
    out: list[Action] = [CancelTimer(timer_key(ride.ride_id))]
    if ride.role is Role.DRIVER:
        own = core.offers.get(ride.offer_id)
        if own is not None and own.taken.pop(ride.ride_id, None) is not None:
            out += publishing.seats_changed(core, ride.offer_id, now_ms)
    else:
        req = core.requests.get(ride.request_id)
        if req is not None and req.ride_id == ride.ride_id and ride.state is RideState.CANCELLED:
            req.ride_id = None
            out += publishing.reopen(core, "request", ride.request_id, now_ms)
    receipt = ride.handshake.receipt
    if ride.state is RideState.DONE and receipt is not None:
        out.append(Notify(ReceiptRecorded(ride.ride_id, receipt)))
        out += core.balance_actions()
    return out


def _sign(
    core: Core, ride: Ride, a: hs.SignReceipt, now_ms: int, out: list[Action]
) -> list[hs.Action]:
    """Sign this party's receipt half as its log's next entry; once the handshake takes it,
    append and persist it, and only then let the ride send it (docs/handshake.md §7.8)."""
    log = core.ledger.own_log(core.me)
    try:
        if a.proposal is None:
            entry = proposal_entry(core.identity, log, a.receipt, now_ms)
        else:
            entry = agreement_entry(core.identity, log, a.proposal, now_ms, expected=a.receipt)
    except RemoteError as exc:
        out.append(core.reject("ride", exc))
        return journal.step(ride, "cancel", now_ms, CancelReason.DISPUTED)
    op = "receipt_proposed" if a.proposal is None else "receipt_countersigned"
    then = journal.step(ride, op, now_ms, entry.raw)
    log.append(entry)
    out.extend(core.wrote(entry))
    return then


def recheck(core: Core, ride: Ride) -> None:
    """After a restart: a driver's ride in the offer's plan gets its exact check back."""
    if ride.role is Role.DRIVER and ride.state in _RIDING and ride.handshake.revealed:
        result = _exact_check(core, ride)
        ride.match = result if isinstance(result, Match) else None


def _exact_check(core: Core, ride: Ride) -> Match | ExactMisfit:
    """The driver's check of revealed points against its offer and its other riders,
    within the proposal's window and walk."""
    h = ride.handshake
    points = h.revealed
    terms = h.terms
    own = core.offers.get(ride.offer_id)
    assert points is not None and terms is not None and own is not None
    # The request may have been heard on gossip only since the proposal came.
    disagreement = _disagreement(core, ride)
    if disagreement is not None:
        return ExactMisfit(DeclineReason.OTHER, disagreement)
    riders = [
        r.match.candidate
        for r in core.rides.values()
        if r.offer_id == ride.offer_id
        and r.ride_id != ride.ride_id
        and r.role is Role.DRIVER
        and r.match is not None
        and r.state in _RIDING
        and r.request_id != ride.request_id
    ]
    return core.matcher.exact_check(own, terms, ride.counterparty, points, riders)


def _disagreement(core: Core, ride: Ride) -> str | None:
    """How the rider's request, if this Peer heard it on gossip, contradicts the terms
    the rider proposed (docs/peer.md §11.10); None if it does not, or was not heard."""
    terms = ride.handshake.terms
    assert terms is not None
    request = core.book.requests.get((ride.counterparty, terms.request_id))
    return None if request is None else terms.disagreement(request.message)


#: States of a driver's ride whose rider is part of the offer's plan (once checked).
_RIDING = frozenset({RideState.REVEALED, RideState.CONFIRMED, RideState.PICKED_UP})


def _ride(core: Core, ride_id: bytes) -> Ride:
    ride = core.rides.get(ride_id)
    if ride is None:
        raise UnknownId(describe("ride_id", ride_id.hex(), "not one of your rides"))
    return ride


def _full(core: Core) -> bool:
    """``max_rides`` rides are in progress: no new one, proposed or received."""
    return sum(not r.ended for r in core.rides.values()) >= core.params.max_rides
