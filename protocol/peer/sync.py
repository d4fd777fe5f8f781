"""Driving ledger sync: entries on gossip, heads on connect and in rounds, forks (SPEC §11.11).

A full Peer converges on every log it hears of. An author gossips each entry
it appends to its own log on ``lazooz/1/ledger``, so a new receipt half costs
every peer one message, not a sync. Heads (the last entry of every log held)
go only over the sync stream: to each peer on connect, and every
``heads_ms`` to a few recent contacts, so a peer that missed an entry or was
away catches up; whoever holds less asks the sender for the rest, and asks
again while answers make progress. Entries are verified one by one
(``sync.apply``).

A light Peer (``PeerParams.ledger == "own"``, SPEC §10.6) holds only the logs
of the authors it follows (``Core.follows``): it applies and asks for those,
and any receipt half naming it (whose author it then follows); it still
answers wants with what it holds, sends its heads and takes fork proofs from
anyone.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from functools import partial

from protocol.envelope import Signed
from protocol.errors import RemoteError, describe
from protocol.fields import MessageId, PublicKey
from protocol.ledger import sync
from protocol.ledger.chain import open_entry, parse_entry
from protocol.ledger.forks import Fork, verify_fork
from protocol.ledger.wire import (
    ForkProof,
    LogEntry,
    ReceiptHalf,
    SyncEntries,
    SyncHeads,
    SyncWant,
    Want,
)
from protocol.messages import Message
from protocol.peer import rides
from protocol.peer.actions import Action, Notify, Persist, Publish, Send
from protocol.peer.core import LEDGER_TOPIC, Core, names
from protocol.peer.errors import WrongSender
from protocol.peer.notices import ForkFound
from protocol.signing import seal

HEADS_TIMER = ("heads",)
#: A log asked for up to some head is not asked for again, of anyone, this soon.
ASK_AGAIN_MS = 10_000
#: Peers whose last heads are remembered, to ask again while answers make progress.
MAX_REMOTES = 1_024
#: Recent contacts remembered, to pick a round's peers from.
MAX_CONTACTS = 256

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
        #: Peers this one had a stream with, least recent first -> when last.
        self.contacts: OrderedDict[PublicKey, int] = OrderedDict()
        #: When this Peer last sent its heads to each peer, least recent first.
        self.heads_sent: OrderedDict[PublicKey, int] = OrderedDict()

    def sent_heads(self, peer: PublicKey, now_ms: int) -> None:
        self.heads_sent.pop(peer, None)
        self.heads_sent[peer] = now_ms
        while len(self.heads_sent) > MAX_CONTACTS:
            self.heads_sent.popitem(last=False)

    def seen(self, peer: PublicKey, now_ms: int) -> None:
        """A stream with ``peer`` opened or carried a frame."""
        self.contacts.pop(peer, None)
        self.contacts[peer] = now_ms
        while len(self.contacts) > MAX_CONTACTS:
            self.contacts.popitem(last=False)

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


def connected(core: Core, state: SyncState, peer: PublicKey, now_ms: int) -> list[Action]:
    """A stream to ``peer`` opened: send it every head this Peer holds."""
    state.seen(peer, now_ms)
    state.sent_heads(peer, now_ms)
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
        return heads_received(core, state, peer, m, now_ms, reply=True)
    if isinstance(m, SyncWant):
        raws = sync.entries_for(core.ledger, m.wants, core.params.max_sync_entries)
        return _send(core, peer, sync.entry_batches(raws))
    if isinstance(m, SyncEntries):
        return entries_received(core, state, peer, m, now_ms)
    assert isinstance(m, ForkProof)
    return fork_received(core, m)


def heads_received(
    core: Core, state: SyncState, peer: PublicKey, m: SyncHeads, now_ms: int, *, reply: bool
) -> list[Action]:
    """Heads from ``peer`` (stream or gossip): ask it for whatever this Peer lacks.

    With ``reply`` (they came over the stream), answer with this Peer's own heads
    when it holds entries ``peer`` lacks, unless it sent ``peer`` its heads in the
    last ``ASK_AGAIN_MS``: a round then works both ways, and two peers never echo.
    """
    remote = sync.heads_of([m])
    known = state.remote.get(peer, {})
    merged = {**known, **remote}
    state.remember(peer, merged)
    out = _ask(core, state, peer, remote, now_ms, again=False)
    last = state.heads_sent.get(peer)
    if reply and (last is None or now_ms >= last + ASK_AGAIN_MS) and _lacks(merged, core):
        state.sent_heads(peer, now_ms)
        out += _send(core, peer, sync.heads_messages(sync.heads(core.ledger)))
    return out


def _lacks(remote: HeadsView, core: Core) -> bool:
    """Does a peer with ``remote`` heads lack an entry this Peer holds?"""
    return any(
        seq > remote.get(author, (0, None))[0] for author, (seq, _) in core.ledger.heads.items()
    )


def entries_received(
    core: Core, state: SyncState, peer: PublicKey, m: SyncEntries, now_ms: int
) -> list[Action]:
    admitted, out = _admit(core, _opened(core, m.entries))
    report, applied = _apply(core, admitted, now_ms)
    out += applied
    if report.applied:
        remote = state.remote.get(peer)
        if remote:
            out += _ask(core, state, peer, remote, now_ms, again=True)
    # The peer's copy of a log differs further back: ask it for the earlier entry
    # (docs/ledger.md §10.5, step 5), until the fork shows.
    out += _send(core, peer, sync.want_messages(report.refetch))
    return out


def entry_heard(core: Core, state: SyncState, entry: Signed[LogEntry], now_ms: int) -> list[Action]:
    """An author's new log entry on gossip: apply it; ask the author for any gap before it,
    and the proposer for the receipt half an agreement names if that was missed too.

    A light Peer drops an entry of an author it does not follow, unless the entry
    is a receipt half naming it: then it follows the author."""
    if not core.follows_author(entry.author):
        if not names(entry.message, core.me):
            return []
        # Asked for below like any gap, if the entry does not chain yet.
        follow = core.follow(entry.author, fetch=False)
    else:
        follow = []
    report, out = _apply(core, [entry], now_ms)
    out = [*follow, *out]
    m = entry.message
    if report.pending:
        # Held: entries before it were missed (lost, or sent while this Peer was away).
        out += _ask_for(core, state, entry.author, m.seq, entry.message_id, now_ms)
    half = m.payload
    if report.applied and isinstance(half, ReceiptHalf) and not half.is_proposal:
        # Both halves were gossiped; a lost proposal would otherwise wait for a round.
        r = half.receipt
        proposer = r.driver if entry.author == r.rider else r.rider
        if core.ledger.heads.get(proposer, (0, b""))[0] < half.link_seq:
            link = MessageId(half.link_hash)
            out += _ask_for(core, state, proposer, half.link_seq, link, now_ms)
    out += _send(core, entry.author, sync.want_messages(report.refetch))
    return out


def _ask_for(
    core: Core, state: SyncState, author: PublicKey, seq: int, entry_id: MessageId, now_ms: int
) -> list[Action]:
    """Ask ``author`` for its log up to ``seq`` (known to exist, with id ``entry_id``),
    remembered as its head so ``behind`` counts the gap until it fills; nothing when
    this Peer does not follow ``author``."""
    if not core.follows_author(author):
        return []
    known = state.remote.get(author, {})
    state.remember(author, {**known, author: (seq, entry_id)})
    return _ask(core, state, author, {author: (seq, entry_id)}, now_ms, again=False)


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


def heads_round(core: Core, state: SyncState, now_ms: int) -> list[Action]:
    """Send this Peer's heads to a few of its last contacts, and set the next round.

    Gossiping every head to everyone would cost each peer every log of the
    town per round (members² · logs); a few contacts per round still spread
    whatever someone missed, the way anti-entropy does, at members · logs.
    """
    contacts = sorted(state.contacts)
    chosen = core.rng.sample(contacts, min(core.params.heads_fanout, len(contacts)))
    out: list[Action] = []
    if chosen:
        # Even empty: "I hold nothing" is what lets the contact answer with its heads.
        messages = sync.heads_messages(sync.heads(core.ledger)) or [SyncHeads(())]
        for peer in chosen:
            state.sent_heads(peer, now_ms)
            out += _send(core, peer, messages)
    jitter = core.rng.randint(0, core.params.republish_jitter_ms)
    out.append(core.set_timer(HEADS_TIMER, now_ms + core.params.heads_ms + jitter))
    return out


# -- internals


def _ask(
    core: Core, state: SyncState, peer: PublicKey, remote: Heads, now_ms: int, *, again: bool
) -> list[Action]:
    """Ask ``peer`` for what this Peer lacks of ``remote``; ``again`` when its last answer
    made progress (then it is asked even if the same was asked of it just now)."""
    wanted = []
    for want in sync.wants(core.ledger.heads, remote):
        if not core.follows_author(want.author):
            continue
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


def _apply(
    core: Core, entries: Sequence[bytes | Signed[LogEntry]], now_ms: int
) -> tuple[sync.ApplyReport, list[Action]]:
    """Add ``entries`` to the ledger; store what chained, count what did not, tell of
    forks, of a moved balance and of rides the entries finished."""
    report = sync.apply(core.ledger, entries)
    out: list[Action] = [*core.persist_entries(report.applied)]
    out += _follow_named(core, report.applied)
    out += [core.reject("sync", r.error) for r in report.rejected]
    for proof in report.forks:
        out += _fork_found(core, verify_fork(proof))
    out += core.balance_actions(report.applied)
    out += rides.countersigned_elsewhere(core, report.applied, now_ms)
    return report, out


def fetch_followed(core: Core, state: SyncState, now_ms: int) -> list[Action]:
    """Ask for the logs of the authors a light Peer began to follow.

    Of a peer whose last heads show more of the log than is held, else of the
    author itself (it holds its whole log); not when the log was asked for in
    the last ``ASK_AGAIN_MS``. What lies beyond one answer is asked for as
    entries arrive (``entries_received``), or in a heads round.
    """
    out: list[Action] = []
    for author in core.unfetched:
        asked = state.asked.get(author)
        if asked is not None and now_ms < asked[1] + ASK_AGAIN_MS:
            continue
        held = core.ledger.heads.get(author, (0, None))[0]
        source = next(
            (
                peer
                for peer in reversed(state.remote)
                if state.remote[peer].get(author, (0, None))[0] > held
            ),
            None,
        )
        if source is not None:
            out += _ask(
                core, state, source, {author: state.remote[source][author]}, now_ms, again=True
            )
        else:
            out += _send(core, author, sync.want_messages([Want(author, held + 1)]))
    core.unfetched.clear()
    return out


def _follow_named(core: Core, applied: Sequence[Signed[LogEntry]]) -> list[Action]:
    """A light Peer follows every member a receipt half in its own log names: its own
    log may come back by sync (a phone reinstalled from its key)."""
    if core.follows is None:
        return []
    out: list[Action] = []
    for entry in applied:
        half = entry.message.payload
        if entry.author == core.me and isinstance(half, ReceiptHalf):
            out += core.follow(half.receipt.driver)
            out += core.follow(half.receipt.rider)
    return out


def _admit(
    core: Core, entries: Sequence[bytes | Signed[LogEntry]]
) -> tuple[list[bytes | Signed[LogEntry]], list[Action]]:
    """The entries of a sync answer this Peer applies, and the follows they start.

    A full Peer takes all. A light one takes those of authors it follows, and
    first follows the author of any receipt half naming it (verified first, so a
    forgery starts no follow), with that author's other entries of the batch.
    An entry that does not parse is kept, for ``apply`` to refuse and count.
    """
    if core.follows is None:
        return list(entries), []
    read: list[tuple[PublicKey | None, bytes | Signed[LogEntry]]] = []
    out: list[Action] = []
    for item in entries:
        if not isinstance(item, bytes):
            entry = item.message
            author: PublicKey | None = item.author
        else:
            try:
                env, entry = parse_entry(item)
            except RemoteError:
                read.append((None, item))
                continue
            author = env.author
        read.append((author, item))
        if author not in core.follows and names(entry, core.me):
            try:
                opened = item if not isinstance(item, bytes) else open_entry(item)
            except RemoteError:
                continue  # ``apply`` refuses it, if its author is followed at all
            out += core.follow(opened.author)
    kept = [item for author, item in read if author is None or author in core.follows]
    return kept, out


def _opened(core: Core, raws: Sequence[bytes]) -> Sequence[bytes | Signed[LogEntry]]:
    """Entries opened through the Peers' shared work when there is some (a simulator's:
    every member syncs the same entries); one that fails stays raw for ``apply`` to
    refuse and report."""
    shared = core.shared
    if shared is None:
        return raws
    out: list[bytes | Signed[LogEntry]] = []
    for raw in raws:
        try:
            out.append(shared.remember("entry", raw, partial(open_entry, raw)))
        except RemoteError:
            out.append(raw)
    return out


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
