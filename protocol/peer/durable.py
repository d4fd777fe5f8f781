"""What a Peer keeps across restarts: exported as ``Persist`` records, rebuilt from them.

The durable parts are the log entries the Peer holds (its own and others'),
its own offers and requests (with their private parts), the journal of
every ride it still remembers, and, for a light member, the authors it
follows. A store that executed every ``Persist`` holds
exactly these records; ``restore`` takes them back, and ``Peer.start`` then
resumes: republishes what is open, re-arms ride timers, and resends each
unfinished ride's messages (the counterparty ignores what it already has).
SPEC §11.4.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import msgpack

from protocol.errors import LazoozError, StoreError, describe
from protocol.fields import PublicKey
from protocol.identity import PUBLIC_KEY_BYTES
from protocol.ledger.forks import open_fork
from protocol.ledger.wire import ReceiptHalf
from protocol.peer import journal
from protocol.peer import own as own_mod
from protocol.peer import rides as rides_mod
from protocol.peer.actions import Action, Persist, PersistKind, Send
from protocol.peer.core import Core, entry_key
from protocol.ride import actions as hs
from protocol.ride.machine import RideHandshake
from protocol.ride.states import RideState
from protocol.signing import seal

#: One stored record: ``(kind, key, data)`` as a ``Persist`` wrote it.
Record = tuple[PersistKind, bytes, bytes]


def export(core: Core) -> list[Persist]:
    """Everything durable, as the ``Persist`` actions that would store it from scratch."""
    out = [
        Persist("entry", entry_key(e.author, e.message.seq), e.raw)
        for log in core.ledger
        for e in log
    ]
    out += [
        Persist("fork", author, seal(core.identity, fork.proof).raw)
        for author, fork in sorted(core.ledger.forks.items())
    ]
    if core.follows is not None:
        out += [Persist("follow", a, b"") for a in sorted(core.follows - {core.me})]
    out += [Persist("offer", k, own_mod.dump_offer(o)) for k, o in core.offers.items()]
    out += [Persist("request", k, own_mod.dump_request(r)) for k, r in core.requests.items()]
    out += [Persist("ride", k, journal.dump(r)) for k, r in core.rides.items()]
    return out


def restore(core: Core, records: Iterable[Record]) -> None:
    """Load stored records into a Peer not yet started.

    Records are the Peer's own writing: one that does not load means a broken
    store, and raises ``StoreError`` naming the record.
    """
    by_kind: dict[str, list[Record]] = {
        "entry": [],
        "fork": [],
        "follow": [],
        "offer": [],
        "request": [],
        "ride": [],
    }
    for record in records:
        if record[0] not in by_kind:
            rule = f"must be one of {sorted(by_kind)}"
            raise StoreError(describe("record kind", record[0], rule))
        by_kind[record[0]].append(record)
    for kind, key, data in by_kind["fork"]:
        with _loading(kind, key):
            core.ledger.add_fork(open_fork(data))
    for kind, key, data in sorted(by_kind["entry"], key=lambda r: r[1]):
        with _loading(kind, key):
            core.ledger.add(data)
    for kind, key, data in by_kind["offer"]:
        with _loading(kind, key):
            offer = own_mod.load_offer(data)
        core.offers[offer.offer_id] = offer
    for kind, key, data in by_kind["request"]:
        with _loading(kind, key):
            request = own_mod.load_request(data)
        core.requests[request.request_id] = request
    for kind, key, data in by_kind["ride"]:
        with _loading(kind, key):
            ride = journal.load(data, core.params.handshake)
            ride.saved = data
            # A receipt half in the journal may not have reached the store as an entry.
            for op, _, args in ride.journal:
                if op in ("receipt_proposed", "receipt_countersigned") and isinstance(
                    args[0], bytes
                ):
                    core.ledger.add(args[0])
        core.rides[ride.ride_id] = ride
    if core.follows is not None:
        _refollow(core, by_kind["follow"])
    core.balance_milli = core.balances().get(core.me, 0)


def _refollow(core: Core, records: list[Record]) -> None:
    """A light member follows again whom it followed: the ``follow`` records, and what
    they were written for, should a record have missed the store (every author whose
    log it holds, every counterparty of an agreed ride, every member its receipts name).
    A Peer that held every log before holds them still."""
    follows = core.follows
    assert follows is not None
    for kind, key, _ in records:
        if len(key) != PUBLIC_KEY_BYTES:
            raise StoreError(describe(f"stored {kind}", key.hex()[:24], "is not a member key"))
        follows.add(PublicKey(key))
    follows.update(log.owner for log in core.ledger)
    follows.update(r.counterparty for r in core.rides.values() if r.state in rides_mod.AGREED)
    own = core.ledger.log(core.me)
    for entry in own or ():
        half = entry.message.payload
        if isinstance(half, ReceiptHalf):
            follows.update((half.receipt.driver, half.receipt.rider))


@contextmanager
def _loading(kind: str, key: bytes) -> Iterator[None]:
    """Turn anything a bad record makes the loaders raise into one ``StoreError``."""
    try:
        yield
    except (LazoozError, ValueError, TypeError, KeyError, msgpack.UnpackException) as exc:
        raise StoreError(describe(f"stored {kind}", key.hex()[:24], str(exc))) from None


def resume(core: Core, now_ms: int) -> list[Action]:
    """At start after a restore: republish what is open, re-arm rides, resend their messages."""
    out: list[Action] = []
    for offer in core.offers.values():
        if offer.status in ("open", "booked"):
            out.append(core.set_timer(("offer", offer.offer_id), now_ms))
            offer.next_publish_ms = now_ms
    for request in core.requests.values():
        if request.status in ("open", "booked"):
            out.append(core.set_timer(("request", request.request_id), now_ms))
            request.next_publish_ms = now_ms
    for ride in core.rides.values():
        h = ride.handshake
        if ride.ended:
            continue
        if h.deadline_ms is not None:
            out.append(core.set_timer(rides_mod.timer_key(ride.ride_id), h.deadline_ms))
        out += resend(core, ride.handshake)
        rides_mod.recheck(core, ride)
    return out


def resend(core: Core, h: RideHandshake) -> list[Action]:
    """What ``h`` has sent so far, sealed again: the other side drops duplicates."""
    return [
        Send(a.to, "ride", seal(core.identity, a.message).raw)
        for a in h.resend()
        if isinstance(a, hs.Send)
    ]


def reconnected(core: Core, key: PublicKey) -> list[Action]:
    """A connection to ``key`` opened: resend the messages of unfinished rides with it.

    A message sent while the other side was offline was dropped by the shell,
    and a party that restarts resends only once; without this a ride could
    wait for its deadline on a message the other side will never repeat (a
    driver's receipt half reaching a rider that countersigned while the driver
    was away is answered by the rider's countersignature again, SPEC §7.9).
    """
    out: list[Action] = []
    for ride in core.rides.values():
        h = ride.handshake
        # A fresh proposal opens the connection itself: resending it would only
        # double the first frame; a lost one ends at its short deadline.
        if not ride.ended and h.counterparty == key and h.state is not RideState.PROPOSED:
            out += resend(core, h)
    return out
