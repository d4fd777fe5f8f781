"""Driving ledger sync: heads on gossip and on connect, wants, entries, forks (SPEC §11.11).

Every peer converges on every log it hears of: a peer gossips the heads it
holds on ``lazooz/1/ledger`` (soon after its own log changes, and every
``heads_ms``) and sends them to each peer it connects to; whoever holds less
asks the sender for the rest over the sync stream, and asks again while
answers make progress. Entries are verified one by one (``sync.apply``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from protocol.errors import RemoteError, describe
from protocol.fields import MessageId, PublicKey
from protocol.ledger import sync
from protocol.ledger.forks import Fork, verify_fork
from protocol.ledger.wire import ForkProof, SyncEntries, SyncHeads, SyncWant
from protocol.messages import Message
from protocol.peer.actions import Action, Notify, Persist, Publish, Send
from protocol.peer.core import LEDGER_TOPIC, Core
from protocol.peer.errors import WrongSender
from protocol.peer.notices import ForkFound
from protocol.signing import seal

HEADS_TIMER = ("heads",)
#: A log asked for up to some head is not asked for again, of anyone, this soon.
ASK_AGAIN_MS = 10_000
#: Peers whose last heads are remembered, to ask again while answers make progress.
MAX_REMOTES = 1_024

Heads = dict[PublicKey, tuple[int, MessageId]]
#: Heads as read, not kept: a ledger's live ``Ledger.heads`` will do.
HeadsView = Mapping[PublicKey, tuple[int, MessageId]]


class SyncState:
    """The last heads each peer sent, so a sync can go on while it makes progress; and
    what was last asked for of each log, so that many peers gossiping the same new
    head do not each get asked for the same entries."""

    def __init__(self) -> None:
        self.remote: dict[PublicKey, Heads] = {}
        #: author -> (remote head seq asked up to, when), for ``ASK_AGAIN_MS``.
        self.asked: dict[PublicKey, tuple[int, int]] = {}

    def remember(self, peer: PublicKey, heads: Heads) -> None:
        self.remote.pop(peer, None)
        self.remote[peer] = heads
        while len(self.remote) > MAX_REMOTES:
            del self.remote[next(iter(self.remote))]


def behind(local: HeadsView, state: SyncState) -> dict[PublicKey, int]:
    """Per log: entries the peers' last heads show beyond ``local`` (logs not behind left out).

    It is what peers *claim*: the highest head seq any remembered peer sent for
    each author, minus the seq held. Nothing is verified until the entries come.
    """
    highest: dict[PublicKey, int] = {}
    for heads in state.remote.values():
        for author, (seq, _) in heads.items():
            if seq > highest.get(author, 0):
                highest[author] = seq
    out = {}
    for author, seq in highest.items():
        held = local.get(author, (0, None))[0]
        if seq > held:
            out[author] = seq - held
    return out


def connected(core: Core, peer: PublicKey) -> list[Action]:
    """A stream to ``peer`` opened: send it every head this Peer holds."""
    return _send(core, peer, sync.heads_messages(sync.heads(core.ledger)))


def stream_received(
    core: Core, state: SyncState, peer: PublicKey, data: bytes, now_ms: int
) -> list[Action]:
    """One frame of a sync stream from ``peer``; bad input is counted, never raised."""
    try:
        signed = sync.open_sync_message(data)
        if signed.author != peer:
            raise WrongSender(describe("Envelope.author", signed.author.hex()[:16], "not the peer"))
    except RemoteError as exc:
        return [core.reject("sync", exc)]
    m = signed.message
    if isinstance(m, SyncHeads):
        return heads_received(core, state, peer, m, now_ms)
    if isinstance(m, SyncWant):
        raws = sync.entries_for(core.ledger, m.wants, core.params.max_sync_entries)
        return _send(core, peer, sync.entry_batches(raws))
    if isinstance(m, SyncEntries):
        return entries_received(core, state, peer, m, now_ms)
    assert isinstance(m, ForkProof)
    return fork_received(core, m)


def heads_received(
    core: Core, state: SyncState, peer: PublicKey, m: SyncHeads, now_ms: int
) -> list[Action]:
    """Heads from ``peer`` (stream or gossip): ask it for whatever this Peer lacks."""
    remote = sync.heads_of([m])
    known = state.remote.get(peer, {})
    state.remember(peer, {**known, **remote})
    return _ask(core, state, peer, remote, now_ms, again=False)


def entries_received(
    core: Core, state: SyncState, peer: PublicKey, m: SyncEntries, now_ms: int
) -> list[Action]:
    report = sync.apply(core.ledger, m.entries)
    out: list[Action] = [*core.persist_entries(report.applied)]
    out += [core.reject("sync", r.error) for r in report.rejected]
    for proof in report.forks:
        out += _fork_found(core, verify_fork(proof))
    if report.applied:
        out += core.balance_actions()
        remote = state.remote.get(peer)
        if remote:
            out += _ask(core, state, peer, remote, now_ms, again=True)
    # The peer's copy of a log differs further back: ask it for the earlier entry
    # (docs/ledger.md §10.5, step 5), until the fork shows.
    out += _send(core, peer, sync.want_messages(report.refetch))
    return out


def fork_received(core: Core, proof: ForkProof | Fork) -> list[Action]:
    """A fork proof from anyone: verified, recorded, and passed on if it is news."""
    try:
        fork = proof if isinstance(proof, Fork) else verify_fork(proof)
    except RemoteError as exc:
        return [core.reject("sync", exc)]
    known = core.ledger.fork_seq(fork.author)
    if known is not None and known <= fork.seq:
        return []
    core.ledger.add_fork(fork)
    return [*_fork_found(core, fork), *core.balance_actions()]


def publish_heads(core: Core, now_ms: int) -> list[Action]:
    """Gossip this Peer's heads, and set the next periodic round."""
    heads = sync.heads(core.ledger)
    out: list[Action] = [
        Publish(LEDGER_TOPIC, seal(core.identity, m).raw) for m in sync.heads_messages(heads)
    ]
    jitter = core.rng.randint(0, core.params.republish_jitter_ms)
    out.append(core.set_timer(HEADS_TIMER, now_ms + core.params.heads_ms + jitter))
    return out


def log_changed(core: Core, now_ms: int) -> list[Action]:
    """Own log grew (or a log this Peer is in): gossip heads soon, not at the next round."""
    soon = now_ms + core.params.heads_after_change_ms
    at = core.timers.get(HEADS_TIMER)
    if at is not None and at <= soon:
        return []
    return [core.set_timer(HEADS_TIMER, soon)]


# -- internals


def _ask(
    core: Core, state: SyncState, peer: PublicKey, remote: Heads, now_ms: int, *, again: bool
) -> list[Action]:
    """Ask ``peer`` for what this Peer lacks of ``remote``; ``again`` when its last answer
    made progress (then it is asked even if the same was asked of it just now)."""
    wanted = []
    for want in sync.wants(core.ledger.heads, remote):
        seq = remote[want.author][0]
        asked = state.asked.get(want.author)
        if not again and asked is not None and asked[0] >= seq and now_ms < asked[1] + ASK_AGAIN_MS:
            continue
        state.asked[want.author] = (seq, now_ms)
        wanted.append(want)
    if len(state.asked) > MAX_REMOTES:
        stale = [a for a, (_, at) in state.asked.items() if at + ASK_AGAIN_MS <= now_ms]
        for author in stale:
            del state.asked[author]
    return _send(core, peer, sync.want_messages(wanted))


def _send(core: Core, peer: PublicKey, messages: Sequence[Message]) -> list[Action]:
    """``messages``, sealed by this Peer, as frames of the sync stream to ``peer``."""
    return [Send(peer, "sync", seal(core.identity, m).raw) for m in messages]


def _fork_found(core: Core, fork: Fork) -> list[Action]:
    # Kept, so a restarted node still freezes the author's credit without
    # waiting to hear the proof again; the same sealed bytes go on gossip.
    sealed = seal(core.identity, fork.proof).raw
    return [
        Persist("fork", fork.author, sealed),
        Notify(ForkFound(fork.author, fork.seq)),
        Publish(LEDGER_TOPIC, sealed),
    ]
