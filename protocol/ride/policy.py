"""Deadlines and limits of a ride handshake (SPEC §7.6): every waiting state has one."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.ride.states import RideState, Role, mover

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class HandshakePolicy:
    """How long each step may take, in ms from entering its state.

    The party whose move a state awaits gets the time below; the party
    waiting on it gets ``grace_ms`` more, so that normally the one who is late
    says so (a cancel with reason ``timeout``) before the other gives up.
    """

    #: Driver to accept or decline; never later than the proposal's expiry.
    answer_ms: int = 2 * MINUTE_MS
    #: Rider to reveal the exact points after an accept.
    reveal_ms: int = 1 * MINUTE_MS
    #: Driver to check the exact points and confirm or decline.
    confirm_ms: int = 2 * MINUTE_MS
    #: Driver to pick the rider up, counted from the confirmed pickup time.
    no_show_ms: int = 15 * MINUTE_MS
    #: From pickup to drop-off.
    ride_ms: int = 6 * HOUR_MS
    #: Driver's Peer to sign and send its receipt half after drop-off.
    sign_ms: int = 10 * MINUTE_MS
    #: Rider to countersign (its user may want to look first).
    countersign_ms: int = 1 * HOUR_MS
    #: Extra time for the party that waits on the other's move.
    grace_ms: int = 30 * SECOND_MS
    #: Clock difference allowed between the parties (proposal expiry, pickup time).
    max_skew_ms: int = 30 * SECOND_MS
    #: How far ahead a confirmed pickup may be.
    max_ahead_ms: int = 2 * DAY_MS
    #: Longest a proposal may stay open: its ``expires_ms`` at most this far after
    #: now (plus ``max_skew_ms`` when received). A driver keeps an ended ride until
    #: then, to catch a replayed proposal (§7.3), so this bounds what it keeps.
    max_proposal_ttl_ms: int = 1 * HOUR_MS
    #: Wrong PINs the driver may type before the ride is cancelled.
    pin_attempts: int = 5

    def deadline_ms(
        self,
        state: RideState,
        role: Role,
        now_ms: int,
        *,
        expires_ms: int = 0,
        pickup_ms: int = 0,
    ) -> int | None:
        """When ``role``'s wait in ``state``, entered at ``now_ms``, ends; None if it
        has no deadline."""
        if state is RideState.PROPOSED:
            base = min(now_ms + self.answer_ms, expires_ms)
        elif state is RideState.CONFIRMED:
            base = pickup_ms + self.no_show_ms
        else:
            step_ms = {
                RideState.ACCEPTED: self.reveal_ms,
                RideState.REVEALED: self.confirm_ms,
                RideState.PICKED_UP: self.ride_ms,
                RideState.DROPPED_OFF: self.sign_ms,
                RideState.RECEIPT_PROPOSED: self.countersign_ms,
            }.get(state)
            if step_ms is None:
                return None
            base = now_ms + step_ms
        return base if mover(state) is role else base + self.grace_ms


DEFAULT_POLICY = HandshakePolicy()
