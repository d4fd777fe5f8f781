"""Ledger sync as pure functions: compare heads, ask for what is missing, apply (SPEC §10.4-§10.5).

A sync round between two peers: each sends ``sync.heads``; each answers the
other's heads with ``sync.want`` (``wants``); each answers a want with
``sync.entries`` batches (``entries_for``); each opens every frame it receives
(``open_sync_message``) and applies the entries (``apply``). The shell runs
the stream; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from protocol.envelope import Envelope, Signed
from protocol.errors import RemoteError, describe
from protocol.fields import MessageId, PublicKey
from protocol.identity import member_id
from protocol.ledger.book import AddStatus, Ledger, Rejected
from protocol.ledger.chain import parse_entry, verify_parsed
from protocol.ledger.errors import Unchained, WrongPrev
from protocol.ledger.wire import (
    MAX_BATCH,
    MAX_HEADS,
    MAX_WANTS,
    SYNC_KINDS,
    SYNC_LIMITS,
    ForkProof,
    Head,
    LogEntry,
    SyncEntries,
    SyncHeads,
    SyncWant,
    Want,
)
from protocol.messages import Message
from protocol.opening import open_signed

#: Each author's last chained entry: ``author -> (seq, entry id)``.
Heads = Mapping[PublicKey, tuple[int, MessageId]]


def heads(ledger: Ledger) -> dict[PublicKey, tuple[int, MessageId]]:
    """The head of every non-empty log in ``ledger``, authors ascending (a snapshot)."""
    live = ledger.heads
    return {author: live[author] for author in sorted(live)}


def wants(local: Heads, remote: Heads) -> list[Want]:
    """What to ask a peer with ``remote`` heads for, authors ascending.

    A log the peer holds further is asked for from the entry after ours. A
    log at the same ``seq`` with a different head is asked for from that
    ``seq``: the peer's entry there will make a fork proof.
    """
    out = []
    for author in sorted(remote):
        seq, head_id = remote[author]
        mine, my_id = local.get(author, (0, None))
        if seq > mine:
            out.append(Want(author, mine + 1))
        elif seq == mine and head_id != my_id:
            out.append(Want(author, seq))
    return out


def entries_for(ledger: Ledger, wanted: Iterable[Want], limit: int) -> list[bytes]:
    """Raw entries answering ``wanted``, in its order and by ``seq``, at most ``limit`` of them."""
    out: list[bytes] = []
    for want in wanted:
        log = ledger.log(want.author)
        if log is None:
            continue
        for entry in log.since(want.from_seq):
            if len(out) >= limit:
                return out
            out.append(entry.raw)
    return out


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What ``apply`` did with a batch: entries chained, held, already known, forks, rejections.

    ``refetch`` is what to ask the same peer for next: where one of its
    entries does not follow this ledger's copy of the entry before it, the
    two disagree further back, and the peer's earlier entry will show where
    -- a fork proof at the lowest ``seq`` the two logs differ (SPEC §10.5).
    """

    applied: tuple[Signed[LogEntry], ...]
    pending: int
    duplicates: int
    forks: tuple[ForkProof, ...]
    rejected: tuple[Rejected, ...]
    refetch: tuple[Want, ...] = ()


def apply(ledger: Ledger, raws: Iterable[bytes | Signed[LogEntry]]) -> ApplyReport:
    """Verify and add received entries; stop each author's chain at its first bad entry.

    Entries are taken by author and ``seq``, not in the order received. When
    one is rejected, the received entries after it in its author's log are
    not applied either (each is reported as ``Unchained``): they can only
    chain through the rejected one. An entry given already opened
    (``open_entry``, as gossip's validator does) is not parsed or verified again.
    """
    rejected: list[Rejected] = []
    # What to add: an entry opened already, or raw bytes and their parsed envelope.
    parsed: list[
        tuple[PublicKey, int, MessageId, LogEntry, Signed[LogEntry] | Envelope, bytes]
    ] = []
    for item in raws:
        if not isinstance(item, bytes):
            m = item.message
            parsed.append((item.author, m.seq, item.message_id, m, item, item.raw))
            continue
        try:
            env, entry = parse_entry(item)
        except RemoteError as exc:
            rejected.append(Rejected(None, None, None, exc))
            continue
        parsed.append((env.author, entry.seq, env.message_id, entry, env, item))
    parsed.sort(key=lambda p: (p[0], p[1]))

    applied: list[Signed[LogEntry]] = []
    forks: list[ForkProof] = []
    pending = duplicates = 0
    broken: dict[PublicKey, int] = {}
    back: dict[PublicKey, int] = {}
    for author, seq, entry_id, entry, opened, raw in parsed:
        if author in broken and seq > broken[author]:
            error = Unchained(
                describe(
                    "LogEntry.seq",
                    seq,
                    f"follows rejected entry {broken[author]} of {member_id(author)}",
                )
            )
            rejected.append(Rejected(author, seq, entry_id, error))
            continue
        try:
            signed = opened if isinstance(opened, Signed) else verify_parsed(raw, opened, entry)
            result = ledger.add(signed)
        except RemoteError as exc:
            rejected.append(Rejected(author, seq, entry_id, exc))
            broken.setdefault(author, seq)
            if isinstance(exc, WrongPrev):
                _look_back(ledger, back, author, seq)
            continue
        applied.extend(result.applied)
        rejected.extend(result.dropped)
        for drop in result.dropped:
            broken.setdefault(author, drop.seq or seq)
            if isinstance(drop.error, WrongPrev) and drop.seq:
                _look_back(ledger, back, author, drop.seq)
        if result.status is AddStatus.PENDING:
            pending += 1
        elif result.status is AddStatus.DUPLICATE:
            duplicates += 1
        elif result.fork is not None:
            forks.append(result.fork)
            log = ledger.log(author)
            before = log.at(seq - 1) if log else None
            if before is not None and before.message_id != entry.prev:
                _look_back(ledger, back, author, seq)
    return ApplyReport(
        applied=tuple(applied),
        pending=pending,
        duplicates=duplicates,
        forks=tuple(forks),
        rejected=tuple(rejected),
        refetch=tuple(Want(a, back[a]) for a in sorted(back)),
    )


def _look_back(ledger: Ledger, back: dict[PublicKey, int], author: PublicKey, seq: int) -> None:
    """The peer's entry ``seq`` does not follow ours at ``seq - 1``: ask for its ``seq - 1``.

    Not when a fork at or below ``seq - 1`` is known already: nothing there counts.
    """
    known = ledger.fork_seq(author)
    if seq > 1 and (known is None or known > seq - 1):
        back[author] = min(back.get(author, seq - 1), seq - 1)


# -- messages of the sync stream


def open_sync_message(data: bytes) -> Signed[Message]:
    """Size, decode, sync kinds only, signature: one frame of a sync stream (SPEC §10.4).

    Raises the ``RemoteError`` of the first step that fails, like
    ``protocol.ride.validation.open_ride_message``; the entries inside a
    ``sync.entries`` frame are opened one by one later, by ``apply``.
    """
    return open_signed(data, SYNC_KINDS, SYNC_LIMITS)


def heads_messages(local: Heads) -> list[SyncHeads]:
    """``local`` as ``sync.heads`` messages of at most ``MAX_HEADS`` records each."""
    rows = [Head(a, *local[a]) for a in sorted(local)]
    return [SyncHeads(tuple(rows[i : i + MAX_HEADS])) for i in range(0, len(rows), MAX_HEADS)]


def heads_of(messages: Iterable[SyncHeads]) -> dict[PublicKey, tuple[int, MessageId]]:
    """The heads a peer sent, merged from its ``sync.heads`` messages."""
    return {h.author: (h.seq, h.entry_id) for m in messages for h in m.heads}


def want_messages(wanted: Sequence[Want]) -> list[SyncWant]:
    """``wanted`` (authors ascending, as ``wants`` returns) as ``sync.want`` messages."""
    return [SyncWant(tuple(wanted[i : i + MAX_WANTS])) for i in range(0, len(wanted), MAX_WANTS)]


def entry_batches(raws: Sequence[bytes]) -> list[SyncEntries]:
    """Raw entries as ``sync.entries`` batches of at most ``MAX_BATCH``."""
    return [SyncEntries(tuple(raws[i : i + MAX_BATCH])) for i in range(0, len(raws), MAX_BATCH)]
