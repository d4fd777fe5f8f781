"""Must-show: no sequence of events leaves rider and driver disagreeing about a ride.

Hypothesis drives both parties' handshakes with user commands (in any order,
legal or not), a network that loses, duplicates, reorders and replays frames,
forgeries (a stranger's key, a broken signature, another ride, a party's own
frame reflected back), stream reconnects and timers in virtual time.

After every step: the two never hold different outcomes, except that one has
ended (cancelled, timed out or countersigned) and the other has not heard
yet. At the end the network heals: every frame in flight is delivered, both
reopen the stream (``resend``) and every due timer fires; then they agree —
both DONE with the same receipt and the same two signed halves, or both
CANCELLED holding the same endings. Every rejected call changes nothing.
"""

from __future__ import annotations

from collections import deque

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from protocol.errors import LazoozError
from protocol.ride.machine import RideHandshake
from protocol.ride.messages import Cancel, CancelReason, DeclineReason
from protocol.ride.policy import MINUTE_MS
from protocol.ride.states import ENDED, RideState, Role
from protocol.signing import seal
from tests.test_ride_flow import (
    DROPOFF,
    IDENTITIES,
    MALLORY,
    OTHER_RIDE_ID,
    PICKUP,
    RIDE_ID,
    Pair,
    snapshot,
)

R, D = Role.RIDER, Role.DRIVER
S = RideState

roles = st.sampled_from(Role)
picks = st.integers(min_value=0, max_value=2**16)


def outcome(m: RideHandshake) -> tuple[object, ...] | None:
    """What a party believes the ride ended as; None while it runs."""
    if m.state is S.DONE:
        return ("done", m.halves, m.receipt)
    if m.state is S.CANCELLED:
        return ("cancelled", frozenset(m.endings))
    return None


class HandshakeOverABadNetwork(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pair = Pair(real_ledger=False)
        #: Every frame ever sent to each role, for replays.
        self.sent_to: dict[Role, list[bytes]] = {R: [], D: []}
        self.rejected = 0
        self.furthest = S.IDLE

    # -- plumbing

    def machines_snapshot(self) -> dict[Role, dict[str, object]]:
        return {role: snapshot(m) for role, m in self.pair.machines.items()}

    def attempt(self, call: object) -> bool:
        """Run ``call``; if it raises, it must have changed nothing."""
        assert callable(call)
        before = self.machines_snapshot()
        inbox_before = {role: list(q) for role, q in self.pair.inbox.items()}
        try:
            call()
        except LazoozError:
            assert self.machines_snapshot() == before
            assert {role: list(q) for role, q in self.pair.inbox.items()} == inbox_before
            self.rejected += 1
            return False
        finally:
            for role in Role:
                for raw in self.pair.inbox[role]:
                    if raw not in self.sent_to[role]:
                        self.sent_to[role].append(raw)
        return True

    def command(self, role: Role, name: str, *args: object, **kwargs: object) -> None:
        self.attempt(lambda: self.pair.do(role, name, *args, **kwargs))

    def take(self, role: Role, pick: int) -> bytes | None:
        """Remove and return a frame in flight to ``role``, chosen by ``pick`` (reordering)."""
        q = self.pair.inbox[role]
        if not q:
            return None
        i = pick % len(q)
        raw = q[i]
        del q[i]
        return raw

    # -- user commands, legal or not

    @initialize()
    def rider_proposes(self) -> None:
        # Every run is about a ride; an untouched pair has nothing to disagree on.
        self.propose()

    @rule()
    def propose(self) -> None:
        self.command(R, "propose", expires_ms=self.pair.now_ms + 10 * MINUTE_MS)

    @rule()
    def accept(self) -> None:
        self.command(D, "accept")

    @rule(reason=st.sampled_from(DeclineReason))
    def decline(self, reason: DeclineReason) -> None:
        self.command(D, "decline", reason)

    @rule()
    def reveal(self) -> None:
        self.command(R, "reveal", PICKUP, DROPOFF, rng=self.pair.rng)

    @rule(ahead_ms=st.integers(min_value=0, max_value=30 * MINUTE_MS))
    def confirm(self, ahead_ms: int) -> None:
        self.command(D, "confirm", self.pair.now_ms + ahead_ms)

    @rule(right=st.booleans())
    def picked_up(self, right: bool) -> None:
        pin = self.pair.rider.pin or "0000"
        typed = pin if right else f"{(int(pin) + 1) % 10_000:04d}"
        self.command(D, "picked_up", typed)

    @rule(distance_m=st.integers(min_value=0, max_value=30_000))
    def dropped_off(self, distance_m: int) -> None:
        self.command(D, "dropped_off", distance_m)

    @rule()
    def driver_signs(self) -> None:
        if self.pair.driver.pending_signature is not None:
            self.attempt(lambda: self.pair.sign(D))

    @rule()
    def rider_countersigns(self) -> None:
        if self.pair.rider.pending_signature is not None:
            self.attempt(lambda: self.pair.sign(R))

    @rule(role=roles, reason=st.sampled_from(CancelReason), now=st.integers(0, 3))
    def cancel(self, role: Role, reason: CancelReason, now: int) -> None:
        # Only one draw in four cancels, so that runs also reach the later states.
        if now == 0:
            self.command(role, "cancel", reason)

    @rule(moves=st.integers(min_value=1, max_value=12))
    def honest_moves(self, moves: int) -> None:
        """The next ``moves`` moves of an honest pair on a good network."""
        for _ in range(moves):
            self.honest_move()

    @rule(stage=st.sampled_from([s for s in RideState if s not in ENDED]))
    def honest_until(self, stage: RideState) -> None:
        """Honest moves until either party reaches ``stage`` (or 20 moves)."""
        for _ in range(20):
            if stage in (self.pair.rider.state, self.pair.driver.state):
                return
            self.honest_move()

    def honest_move(self) -> None:
        """One party acts if its own state lets it; otherwise the oldest frame arrives."""
        p = self.pair
        if p.driver.state is S.PROPOSED:
            self.accept()
        elif p.rider.state is S.ACCEPTED:
            self.reveal()
        elif p.driver.state is S.REVEALED:
            self.confirm(MINUTE_MS)
        elif p.driver.state is S.CONFIRMED:
            self.picked_up(right=True)
        elif p.driver.state is S.PICKED_UP:
            self.dropped_off(2_000)
        elif p.driver.pending_signature is not None:
            self.driver_signs()
        elif p.rider.pending_signature is not None:
            self.rider_countersigns()
        elif p.inbox[D] or p.inbox[R]:
            self.deliver(D if p.inbox[D] else R, 0)

    # -- time

    @rule(ms=st.integers(min_value=1, max_value=20 * MINUTE_MS))
    def tick(self, ms: int) -> None:
        self.pair.now_ms += ms

    @rule(role=roles, now=st.integers(0, 3))
    def timer_fires(self, role: Role, now: int) -> None:
        if now == 0 and self.pair.timers[role] is not None:
            self.attempt(lambda: self.pair.fire(role))

    # -- the network

    @rule(role=roles, pick=picks)
    def deliver(self, role: Role, pick: int) -> None:
        raw = self.take(role, pick)
        if raw is not None:
            self.attempt(lambda: self.pair.feed(role, raw))

    @rule(role=roles, pick=picks)
    def duplicate(self, role: Role, pick: int) -> None:
        q = self.pair.inbox[role]
        if q:
            q.append(q[pick % len(q)])

    @rule(role=roles, pick=picks)
    def lose(self, role: Role, pick: int) -> None:
        self.take(role, pick)

    @rule(role=roles, pick=picks)
    def replay_old_frame(self, role: Role, pick: int) -> None:
        old = self.sent_to[role]
        if old:
            self.attempt(lambda: self.pair.feed(role, old[pick % len(old)]))

    @rule(role=roles)
    def reconnect(self, role: Role) -> None:
        self.pair.run(role, self.pair.machines[role].resend())

    # -- forgeries

    @rule(role=roles, step=st.integers(min_value=0, max_value=6))
    def stranger_signs(self, role: Role, step: int) -> None:
        raw = seal(MALLORY, Cancel(RIDE_ID, step, CancelReason.UNSAFE)).raw
        self.attempt(lambda: self.pair.feed(role, raw))

    @rule(role=roles, pick=picks)
    def signature_broken(self, role: Role, pick: int) -> None:
        old = self.sent_to[role]
        if old:
            raw = bytearray(old[pick % len(old)])
            raw[-1 - pick % 64] ^= 1 << (pick % 8)
            self.attempt(lambda: self.pair.feed(role, bytes(raw)))

    @rule(role=roles, step=st.integers(min_value=0, max_value=6))
    def other_ride(self, role: Role, step: int) -> None:
        raw = seal(IDENTITIES[role.other], Cancel(OTHER_RIDE_ID, step, CancelReason.OTHER)).raw
        self.attempt(lambda: self.pair.feed(role, raw))

    @rule(role=roles, pick=picks)
    def reflected(self, role: Role, pick: int) -> None:
        own = self.sent_to[role.other]
        if own:
            self.attempt(lambda: self.pair.feed(role, own[pick % len(own)]))

    # -- what must always hold

    @invariant()
    def never_disagree_except_not_yet_heard(self) -> None:
        rider, driver = self.pair.rider, self.pair.driver
        order = list(RideState)
        for m in (rider, driver):
            if m.state not in ENDED and order.index(m.state) > order.index(self.furthest):
                self.furthest = m.state
        if S.DONE in (rider.state, driver.state):
            self.furthest = S.DONE
        states = {rider.state, driver.state}
        assert states != {S.DONE, S.CANCELLED}
        if driver.state is S.DONE:
            # The driver completes only on the rider's countersignature.
            assert rider.state is S.DONE
        if rider.state is S.DONE and driver.state is not S.DONE:
            # The countersignature is on its way (or lost until the next reconnect).
            assert driver.state in (S.RECEIPT_PROPOSED, S.UNSIGNED)
        if rider.state is S.DONE and driver.state is S.DONE:
            assert outcome(rider) == outcome(driver)
        for me, other in ((rider, driver), (driver, rider)):
            # Nobody believes in an ending the other did not sign and send.
            for ending in me.endings:
                if ending.by is other.role:
                    assert ending in other.endings
            assert len({e.by for e in me.endings}) == len(me.endings)

    def teardown(self) -> None:
        pair = self.pair
        for _ in range(12):
            self.drain_once()
            if all(m.state in ENDED or m.state is S.IDLE for m in pair.machines.values()):
                self.drain_once()  # let the last endings cross
                break
        rider, driver = pair.rider, pair.driver
        event(f"furthest: {self.furthest.name}")
        event(f"outcome: {rider.state.name}/{driver.state.name}")
        assert outcome(rider) == outcome(driver), (rider.state, driver.state)
        assert rider.state in ENDED or (rider.state, driver.state) == (S.IDLE, S.IDLE)

    def drain_once(self) -> None:
        """The network heals: deliver what is in flight, reconnect, fire due timers."""
        pair = self.pair
        self.deliver_everything()
        for role in Role:
            pair.run(role, pair.machines[role].resend())
        self.deliver_everything()
        for role in Role:
            if pair.timers[role] is not None and pair.machines[role].deadline_ms is not None:
                self.attempt(lambda r=role: pair.fire(r))
        self.deliver_everything()

    def deliver_everything(self) -> None:
        inbox = self.pair.inbox
        while any(inbox.values()):
            for role in Role:
                q: deque[bytes] = inbox[role]
                while q:
                    raw = q.popleft()
                    self.attempt(lambda r=role, b=raw: self.pair.feed(r, b))


HandshakeOverABadNetwork.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_two_parties_never_disagree_about_a_ride = HandshakeOverABadNetwork.TestCase
