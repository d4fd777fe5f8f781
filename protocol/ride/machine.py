"""One ride as one party sees it: commands and messages in, actions out (SPEC §7).

``RideHandshake`` is sans-IO in the style of h11: the Peer calls a command
(the local user's move), ``receive`` (a verified message from the ride stream)
or ``timer_fired``, and executes the actions returned. A call that raises
changes nothing; a call that returns has applied everything it returned.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, final

from protocol.envelope import Signed
from protocol.errors import IllegalTransition, describe
from protocol.fields import GeoPoint, PublicKey
from protocol.identity import member_id
from protocol.ledger.receipt import Receipt
from protocol.ride import checks
from protocol.ride.actions import Action, Ending, Notice, Notify, Send, SetTimer, SignReceipt
from protocol.ride.errors import (
    InvalidCommand,
    UnexpectedMessage,
)
from protocol.ride.inbox import Inbox
from protocol.ride.messages import (
    Accept,
    Cancel,
    CancelReason,
    Confirm,
    Decline,
    DeclineReason,
    DroppedOff,
    EndMessage,
    PickedUp,
    Propose,
    ReceiptEntry,
    Reveal,
    RideMessage,
)
from protocol.ride.pin import is_pin, new_pin, pin_hash, pin_matches
from protocol.ride.policy import DEFAULT_POLICY, HandshakePolicy
from protocol.ride.states import ENDED, Event, RideState, Role, Timeout, next_state
from protocol.ride.terms import RideTerms, expected_receipt
from protocol.ride.validation import MAX_DISTANCE_M, check_in_cells, check_message
from protocol.wire import ID_BYTES

S = RideState


@final
class RideHandshake:
    """The handshake of ride ``ride_id`` for the party ``me`` playing ``role``.

    Build with ``RideHandshake.rider(...)`` (the rider knows the terms and
    proposes) or ``RideHandshake.driver(...)`` (made by the driver's Peer when
    a proposal for an unknown ride arrives; the terms come with it).
    """

    def __init__(
        self,
        role: Role,
        *,
        ride_id: bytes,
        me: PublicKey,
        counterparty: PublicKey,
        terms: RideTerms | None,
        policy: HandshakePolicy,
    ) -> None:
        if len(ride_id) != ID_BYTES:
            raise InvalidCommand(describe("ride_id", ride_id.hex(), f"must be {ID_BYTES} bytes"))
        if me == counterparty:
            raise InvalidCommand(describe("counterparty", member_id(me), "must not be me"))
        self.role = role
        self.ride_id = ride_id
        self.me = me
        self.counterparty = counterparty
        self.policy = policy
        self._state = S.IDLE
        self._terms = terms
        self._expires_ms = 0
        self._deadline_ms: int | None = None
        #: Messages this party sent, by step.
        self._sent: list[RideMessage] = []
        self._inbox = Inbox(ride_id, counterparty, role.other)
        self._reveal: Reveal | None = None
        self._pin: str | None = None
        self._pin_attempts_left = policy.pin_attempts
        self._confirm: Confirm | None = None
        self._picked_up: PickedUp | None = None
        self._dropped_off: DroppedOff | None = None
        self._proposal: bytes | None = None
        self._agreement: bytes | None = None
        self._pending: SignReceipt | None = None
        self._endings: list[Ending] = []
        #: The message with which this party ended the ride, answered to late messages.
        self._final: RideMessage | None = None

    @classmethod
    def rider(
        cls,
        *,
        ride_id: bytes,
        me: PublicKey,
        driver: PublicKey,
        terms: RideTerms,
        policy: HandshakePolicy = DEFAULT_POLICY,
    ) -> RideHandshake:
        """The rider's side; ``ride_id`` is 16 fresh random bytes the rider chose."""
        return cls(
            Role.RIDER, ride_id=ride_id, me=me, counterparty=driver, terms=terms, policy=policy
        )

    @classmethod
    def driver(
        cls,
        *,
        ride_id: bytes,
        me: PublicKey,
        rider: PublicKey,
        policy: HandshakePolicy = DEFAULT_POLICY,
    ) -> RideHandshake:
        """The driver's side, before the proposal is received."""
        return cls(
            Role.DRIVER, ride_id=ride_id, me=me, counterparty=rider, terms=None, policy=policy
        )

    # -- what the Peer and the user may look at

    @property
    def state(self) -> RideState:
        return self._state

    @property
    def terms(self) -> RideTerms | None:
        return self._terms

    @property
    def deadline_ms(self) -> int | None:
        return self._deadline_ms

    @property
    def expires_ms(self) -> int:
        """When the proposal expires; 0 while none was made or received."""
        return self._expires_ms

    @property
    def revealed(self) -> tuple[GeoPoint, GeoPoint] | None:
        """Exact pickup and drop-off, once the rider has revealed them."""
        return None if self._reveal is None else (self._reveal.pickup, self._reveal.dropoff)

    @property
    def pin(self) -> str | None:
        """Rider only: the PIN to say at pickup."""
        return self._pin

    @property
    def pickup_ms(self) -> int | None:
        return None if self._confirm is None else self._confirm.pickup_ms

    @property
    def pin_attempts_left(self) -> int:
        return self._pin_attempts_left

    @property
    def receipt(self) -> Receipt | None:
        """The receipt this party expects, once the ride is dropped off."""
        if self._terms is None or self._picked_up is None or self._dropped_off is None:
            return None
        driver, rider = (
            (self.me, self.counterparty)
            if self.role is Role.DRIVER
            else (self.counterparty, self.me)
        )
        return expected_receipt(
            self.ride_id,
            self._terms,
            driver=driver,
            rider=rider,
            picked_up=self._picked_up,
            dropped_off=self._dropped_off,
        )

    @property
    def halves(self) -> tuple[bytes, bytes] | None:
        """The driver's proposal and the rider's agreement entries, once both exist."""
        if self._proposal is None or self._agreement is None:
            return None
        return self._proposal, self._agreement

    @property
    def pending_signature(self) -> SignReceipt | None:
        """The signature this party still owes, if any (see ``SignReceipt``)."""
        return self._pending

    @property
    def endings(self) -> tuple[Ending, ...]:
        """Who ended the ride and how: one entry, or two if both did at once."""
        return tuple(self._endings)

    # -- rider commands

    def propose(self, *, now_ms: int, expires_ms: int) -> list[Action]:
        """Ask the driver for the ride; the driver must answer before ``expires_ms``."""
        nxt = self._command(Propose, "propose")
        assert self._terms is not None  # a rider always has terms
        ttl_ms = self.policy.max_proposal_ttl_ms
        if not now_ms < expires_ms <= now_ms + ttl_ms:
            raise InvalidCommand(
                describe(
                    "expires_ms", expires_ms, f"must be after now={now_ms}, by {ttl_ms} ms at most"
                )
            )
        message = self._terms.proposal(self.ride_id, self._step(), expires_ms)
        checks.local(check_message, message)
        self._expires_ms = expires_ms
        return [self._send(message), *self._enter(nxt, now_ms), self._notify(Notice.PROPOSED)]

    def reveal(
        self, pickup: GeoPoint, dropoff: GeoPoint, *, now_ms: int, rng: random.Random
    ) -> list[Action]:
        """Tell the driver, and only the driver, the exact points; make the PIN."""
        nxt = self._command(Reveal, "reveal")
        assert self._terms is not None
        draft = Reveal(self.ride_id, self._step(), pickup, dropoff, pin_hash=bytes(32))
        checks.local(check_message, draft)
        checks.local(check_in_cells, draft, self._terms.pickup_cell, self._terms.dropoff_cell)
        pin = new_pin(rng)
        message = dataclasses.replace(draft, pin_hash=pin_hash(self.ride_id, pin))
        self._reveal = message
        self._pin = pin
        return [
            self._send(message),
            *self._enter(nxt, now_ms),
            self._notify(Notice.PIN_SHOWN, pin=pin),
        ]

    def receipt_countersigned(self, entry: bytes, receipt: Receipt, *, now_ms: int) -> list[Action]:
        """Rider: the agreement half ``entry`` (of ``receipt``) is signed; send it."""
        nxt = self._command(ReceiptEntry, "countersign")
        self._check_own_receipt(entry, receipt)
        message = ReceiptEntry(self.ride_id, self._step(), entry)
        self._agreement = entry
        self._final = message
        self._pending = None
        return [self._send(message), *self._enter(nxt, now_ms), self._notify(Notice.DONE)]

    # -- driver commands

    def accept(self, *, now_ms: int) -> list[Action]:
        """Yes to the proposal (the Peer has checked its terms against the offer)."""
        nxt = self._command(Accept, "accept")
        if now_ms > self._expires_ms:
            raise InvalidCommand(
                describe("now_ms", now_ms, f"the proposal expired at {self._expires_ms}")
            )
        message = Accept(self.ride_id, self._step())
        return [self._send(message), *self._enter(nxt, now_ms), self._notify(Notice.ACCEPTED)]

    def decline(self, reason: DeclineReason, *, now_ms: int) -> list[Action]:
        """No, to the proposal or (after checking them) to the revealed points."""
        self._command(Decline, "decline")
        code = checks.command_enum(DeclineReason, reason)
        return self._end_by_me(Decline(self.ride_id, self._step(), code))

    def confirm(self, pickup_ms: int, *, now_ms: int) -> list[Action]:
        """The revealed points fit; the driver will be at the pickup at ``pickup_ms``."""
        nxt = self._command(Confirm, "confirm")
        if not now_ms <= pickup_ms <= now_ms + self.policy.max_ahead_ms:
            raise InvalidCommand(
                describe(
                    "pickup_ms",
                    pickup_ms,
                    f"must be now={now_ms} .. {self.policy.max_ahead_ms} ms ahead",
                )
            )
        message = Confirm(self.ride_id, self._step(), pickup_ms)
        self._confirm = message
        return [
            self._send(message),
            *self._enter(nxt, now_ms),
            self._notify(Notice.CONFIRMED),
        ]

    def picked_up(self, pin: str, *, now_ms: int) -> list[Action]:
        """The driver typed the PIN the rider said. A wrong PIN returns
        ``PIN_REJECTED``; the last allowed wrong one cancels the ride."""
        nxt = self._command(PickedUp, "pick up")
        typed = "".join(pin.split())
        if not is_pin(typed):
            raise InvalidCommand(describe("pin", pin, "must be 4 digits"))
        assert self._reveal is not None
        if not pin_matches(self.ride_id, typed, self._reveal.pin_hash):
            self._pin_attempts_left -= 1
            rejected = self._notify(Notice.PIN_REJECTED, attempts_left=self._pin_attempts_left)
            if self._pin_attempts_left > 0:
                return [rejected]
            return [
                rejected,
                *self._end_by_me(Cancel(self.ride_id, self._step(), CancelReason.WRONG_PIN)),
            ]
        message = PickedUp(self.ride_id, self._step(), typed, now_ms)
        self._picked_up = message
        return [self._send(message), *self._enter(nxt, now_ms), self._notify(Notice.PICKED_UP)]

    def dropped_off(self, distance_m: int, *, now_ms: int) -> list[Action]:
        """The ride is over after ``distance_m`` metres along the route; sign the receipt."""
        nxt = self._command(DroppedOff, "drop off")
        if not 0 <= distance_m <= MAX_DISTANCE_M:
            raise InvalidCommand(describe("distance_m", distance_m, f"must be 0..{MAX_DISTANCE_M}"))
        assert self._picked_up is not None
        message = DroppedOff(
            self.ride_id, self._step(), max(now_ms, self._picked_up.at_ms), distance_m
        )
        self._dropped_off = message
        receipt = self.receipt
        assert receipt is not None
        self._pending = SignReceipt(self.ride_id, receipt, proposal=None)
        return [
            self._send(message),
            *self._enter(nxt, now_ms),
            self._notify(Notice.DROPPED_OFF),
            self._notify(Notice.RECEIPT_NEEDED),
            self._pending,
        ]

    def receipt_proposed(self, entry: bytes, receipt: Receipt, *, now_ms: int) -> list[Action]:
        """Driver: the proposal half ``entry`` (of ``receipt``) is signed; send it."""
        nxt = self._command(ReceiptEntry, "propose the receipt")
        self._check_own_receipt(entry, receipt)
        message = ReceiptEntry(self.ride_id, self._step(), entry)
        self._proposal = entry
        self._pending = None
        return [self._send(message), *self._enter(nxt, now_ms)]

    def countersigned_elsewhere(
        self, entry: bytes, receipt: Receipt, *, now_ms: int
    ) -> list[Action]:
        """Driver: the rider's agreement half ``entry`` (of ``receipt``) reached the
        ledger although its ``ride.receipt`` frame did not (lost, and the rider gone).

        The Peer has checked that ``entry`` is the rider's own log entry and links to
        this ride's proposal half; the ride is done as if the frame had come. Only
        while the receipt is proposed: otherwise nothing changes.
        """
        if self.role is not Role.DRIVER or self._state is not RideState.RECEIPT_PROPOSED:
            return []
        expected = self.receipt
        assert expected is not None
        checks.their_receipt(receipt, expected)
        self._agreement = entry
        return [*self._enter(RideState.DONE, now_ms), self._notify(Notice.DONE)]

    # -- either party

    def cancel(self, reason: CancelReason, *, now_ms: int) -> list[Action]:
        """Call the ride off. Not for the driver once its receipt half is out."""
        self._command(Cancel, "cancel")
        code = checks.command_enum(CancelReason, reason)
        return self._end_by_me(Cancel(self.ride_id, self._step(), code))

    def timer_fired(self, now_ms: int) -> list[Action]:
        """The Peer's timer for this ride went off; early or stale firings do nothing."""
        if self._deadline_ms is None or now_ms < self._deadline_ms:
            return []
        nxt = next_state(self._state, self.role, Timeout)
        assert nxt is not None  # every state with a deadline has a Timeout entry
        if nxt is S.CANCELLED:
            return self._end_by_me(Cancel(self.ride_id, self._step(), CancelReason.TIMEOUT))
        self._state = nxt
        self._deadline_ms = None
        return [self._notify(Notice.UNSIGNED)]

    def resend(self) -> list[Action]:
        """Everything this party sent, in order: call when the ride stream is reopened.

        The counterparty ignores what it already has, so this is always safe.
        """
        return [Send(self.ride_id, self.counterparty, m) for m in self._sent]

    # -- the ride stream

    def receive(
        self, signed: Signed[RideMessage], *, now_ms: int, receipt: Receipt | None = None
    ) -> list[Action]:
        """A message from the ride stream, already opened and verified
        (``open_ride_message``). For ``ride.receipt`` the Peer passes the
        ``receipt`` it decoded from the entry; the handshake cannot read entries.
        """
        if self._inbox.place(signed):
            return self._answer_repeat(signed.message)  # a duplicate: already applied
        m = signed.message
        sender = self.role.other
        nxt = next_state(self._state, sender, type(m))
        if self._state in ENDED:
            actions = self._after_end(m, sender, nxt)
        else:
            self._inbox.check_order(m)
            if nxt is None:
                raise UnexpectedMessage(
                    describe(type(m).__name__, m.KIND, f"not allowed in {self._state.name}")
                )
            actions = self._apply(m, nxt, now_ms, receipt)
        self._inbox = self._inbox.after(signed)
        return actions

    # -- internals

    def _apply(
        self, m: RideMessage, nxt: RideState, now_ms: int, receipt: Receipt | None
    ) -> list[Action]:
        """Check the counterparty's ``m`` against the ride, then apply it."""
        if isinstance(m, Cancel | Decline):
            return self._end_by_them(m)
        if isinstance(m, Propose):
            checks.proposal_fresh(m, now_ms, self.policy)
            self._terms = RideTerms.of(m)
            self._expires_ms = m.expires_ms
            return [*self._enter(nxt, now_ms), self._notify(Notice.PROPOSED)]
        if isinstance(m, Accept):
            return [*self._enter(nxt, now_ms), self._notify(Notice.ACCEPTED)]
        if isinstance(m, Reveal):
            assert self._terms is not None
            check_in_cells(m, self._terms.pickup_cell, self._terms.dropoff_cell)
            self._reveal = m
            return [*self._enter(nxt, now_ms), self._notify(Notice.REVEALED)]
        if isinstance(m, Confirm):
            checks.pickup_in_reach(m, now_ms, self.policy)
            self._confirm = m
            return [*self._enter(nxt, now_ms), self._notify(Notice.CONFIRMED)]
        if isinstance(m, PickedUp):
            assert self._reveal is not None
            checks.pin_of_rider(self.ride_id, m, self._reveal)
            self._picked_up = m
            return [*self._enter(nxt, now_ms), self._notify(Notice.PICKED_UP)]
        if isinstance(m, DroppedOff):
            assert self._picked_up is not None
            checks.dropped_after_pickup(m, self._picked_up)
            self._dropped_off = m
            return [*self._enter(nxt, now_ms), self._notify(Notice.DROPPED_OFF)]
        assert isinstance(m, ReceiptEntry)
        expected = self.receipt
        assert expected is not None
        receipt = checks.their_receipt(receipt, expected)
        if self.role is Role.RIDER:
            self._proposal = m.entry
            self._pending = SignReceipt(self.ride_id, receipt, proposal=m.entry)
            return [
                *self._enter(nxt, now_ms),
                self._notify(Notice.RECEIPT_NEEDED),
                self._pending,
            ]
        self._agreement = m.entry
        return [*self._enter(nxt, now_ms), self._notify(Notice.DONE)]

    def _answer_repeat(self, m: RideMessage) -> list[Action]:
        """Nothing for a duplicate, except a driver repeating its receipt half to a
        rider that is done: the countersignature was lost (a broken stream, a
        crash before it left), so say it again. Only this repeat is answered: the
        countersignature is the ride's last message and nothing answers it, so
        two parties never echo each other."""
        if (
            self.role is Role.RIDER
            and self._state is RideState.DONE
            and isinstance(m, ReceiptEntry)
            and self._sent
            and isinstance(self._sent[-1], ReceiptEntry)
        ):
            return [Send(self.ride_id, self.counterparty, self._sent[-1])]
        return []

    def _after_end(self, m: RideMessage, sender: Role, nxt: RideState | None) -> list[Action]:
        """A message reaching a ride this party has ended: record a crossed ending,
        and answer with this party's own ending so the sender converges."""
        if nxt is not None:
            assert isinstance(m, Cancel | Decline)
            if any(e.by is sender for e in self._endings):
                raise UnexpectedMessage(
                    describe(type(m).__name__, m.KIND, f"the {sender.value} already ended the ride")
                )
            self._endings.append(Ending(sender, m))
        return [] if self._final is None else [Send(self.ride_id, self.counterparty, self._final)]

    def _command(self, event: Event, what: str) -> RideState:
        """The state a local command leads to, or ``IllegalTransition``."""
        nxt = None if self._state in ENDED else next_state(self._state, self.role, event)
        if nxt is None:
            raise IllegalTransition(
                describe(
                    "RideHandshake.state",
                    self._state.name,
                    f"a {self.role.value} cannot {what} now",
                )
            )
        return nxt

    def _step(self) -> int:
        return len(self._sent)

    def _send(self, message: RideMessage) -> Send:
        self._sent.append(message)
        return Send(self.ride_id, self.counterparty, message)

    def _enter(self, state: RideState, now_ms: int) -> list[Action]:
        self._state = state
        self._deadline_ms = self.policy.deadline_ms(
            state,
            self.role,
            now_ms,
            expires_ms=self._expires_ms,
            pickup_ms=0 if self._confirm is None else self._confirm.pickup_ms,
        )
        return [] if self._deadline_ms is None else [SetTimer(self.ride_id, self._deadline_ms)]

    def _end_by_me(self, message: EndMessage) -> list[Action]:
        ending = Ending(self.role, message)
        self._final = message
        return [self._send(message), *self._end(ending)]

    def _end_by_them(self, message: EndMessage) -> list[Action]:
        return self._end(Ending(self.role.other, message))

    def _end(self, ending: Ending) -> list[Action]:
        self._endings.append(ending)
        self._state = S.CANCELLED
        self._deadline_ms = None
        self._pending = None
        declined = isinstance(ending.message, Decline)
        return [self._notify(Notice.DECLINED if declined else Notice.CANCELLED, ending=ending)]

    def _notify(self, notice: Notice, **detail: Any) -> Notify:
        return Notify(self.ride_id, notice, **detail)

    def _check_own_receipt(self, entry: bytes, receipt: Receipt) -> None:
        if not entry:
            raise InvalidCommand(describe("entry", entry, "must be a signed log entry"))
        expected = self.receipt
        assert expected is not None
        checks.same_receipt(receipt, expected, InvalidCommand)
