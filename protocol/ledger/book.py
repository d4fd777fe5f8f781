"""All the member logs a peer knows, the entries it holds for later, and the forks it found.

``Ledger.add`` is the one door for entries from other peers (SPEC §8.6). The
result depends only on which entries arrive, never on their order: an entry
that arrives before its predecessor waits in a bounded pending set and is
chained when the gap fills, and two entries at one ``seq`` are a fork however
they arrive.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import final

from protocol.envelope import Signed
from protocol.errors import ConfigError, RemoteError, describe
from protocol.fields import MessageId, PublicKey
from protocol.identity import member_id
from protocol.ledger.chain import HeadIndex, MemberLog, check_entry, open_entry
from protocol.ledger.errors import Gap
from protocol.ledger.forks import Fork, fork_proof, verify_fork
from protocol.ledger.wire import ForkProof, LogEntry


class AddStatus(enum.Enum):
    """What ``Ledger.add`` did with an entry that was not rejected."""

    ADDED = "added"  # chained as its author's new head
    PENDING = "pending"  # held until the entries before it arrive
    DUPLICATE = "duplicate"  # already held (chained or pending)
    FORK = "fork"  # conflicts with a held entry at its seq: see ``AddResult.fork``


@dataclass(frozen=True, slots=True)
class Rejected:
    """An entry that was not applied, and why; ``author`` and ``seq`` when they could be read."""

    author: PublicKey | None
    seq: int | None
    entry_id: MessageId | None
    error: RemoteError


@dataclass(frozen=True, slots=True)
class AddResult:
    """The outcome of one ``Ledger.add``.

    ``applied`` lists, in chain order, every entry this call chained: the entry
    itself and any pending ones it unblocked. ``dropped`` lists pending entries
    that turned out not to chain onto it.
    """

    status: AddStatus
    applied: tuple[Signed[LogEntry], ...] = ()
    dropped: tuple[Rejected, ...] = ()
    fork: ForkProof | None = None


@final
class Ledger:
    """Every log this peer holds, keyed by author."""

    __slots__ = (
        "_forks",
        "_index",
        "_logs",
        "_pending",
        "_pending_count",
        "max_pending",
        "max_pending_per_author",
    )

    def __init__(self, *, max_pending: int = 65_536, max_pending_per_author: int = 1_024) -> None:
        if not 1 <= max_pending_per_author <= max_pending:
            raise ConfigError(
                describe(
                    "Ledger.max_pending_per_author",
                    max_pending_per_author,
                    f"must be 1..max_pending={max_pending}",
                )
            )
        self.max_pending = max_pending
        self.max_pending_per_author = max_pending_per_author
        self._logs: dict[PublicKey, MemberLog] = {}
        self._pending: dict[PublicKey, dict[int, Signed[LogEntry]]] = {}
        self._pending_count = 0
        self._forks: dict[PublicKey, Fork] = {}
        self._index = HeadIndex()

    # -- reading

    def __iter__(self) -> Iterator[MemberLog]:
        """Logs in ascending author order, so every walk over a ledger is the same."""
        return (self._logs[a] for a in sorted(self._logs))

    def __len__(self) -> int:
        """Number of chained entries over all logs."""
        return sum(len(log) for log in self._logs.values())

    @property
    def heads(self) -> Mapping[PublicKey, tuple[int, MessageId]]:
        """``author -> (head seq, head id)`` of every non-empty log, kept as entries chain.

        A live view: it changes as the ledger does; copy it to keep a snapshot.
        """
        return self._index.heads

    @property
    def version(self) -> int:
        """Grows whenever a log is created, an entry chains or a fork is recorded.

        Anything derived from the ledger (``credit.balances``) may have moved since.
        """
        return self._index.version

    def log(self, author: PublicKey) -> MemberLog | None:
        return self._logs.get(author)

    def own_log(self, owner: PublicKey) -> MemberLog:
        """``owner``'s log, created empty if this ledger has none yet: where a member writes."""
        log = self._logs.get(owner)
        if log is None:
            log = self._logs[owner] = MemberLog(owner, self._index)
            self._index.version += 1  # a new (empty) log is a new member in ``balances``
        return log

    @property
    def pending_count(self) -> int:
        return self._pending_count

    @property
    def forks(self) -> Mapping[PublicKey, Fork]:
        """The lowest-``seq`` fork known of each author who forked."""
        return self._forks

    def fork_seq(self, author: PublicKey) -> int | None:
        fork = self._forks.get(author)
        return fork.seq if fork else None

    # -- writing

    def add(self, entry: bytes | Signed[LogEntry]) -> AddResult:
        """Take one entry from anyone (SPEC §8.6); raise a ``RemoteError`` to reject it.

        A rejected entry changes nothing. Raw bytes are opened (and their
        signature verified) first; a ``Signed`` entry is trusted to be opened.
        """
        signed = open_entry(entry) if isinstance(entry, bytes) else entry
        author, seq = signed.author, signed.message.seq
        log = self._logs.get(author)
        held = self._pending.get(author, {}).get(seq)
        if held is None and log is not None:
            held = log.at(seq)
        if held is not None:
            if held.message_id == signed.message_id:
                return AddResult(AddStatus.DUPLICATE)
            proof = fork_proof(held, signed)
            self._record_fork(Fork(author=author, seq=seq, proof=proof))
            return AddResult(AddStatus.FORK, fork=proof)
        check_entry(signed)
        head_seq = log.head_seq if log else 0
        if seq > head_seq + 1:
            self._hold(signed)
            return AddResult(AddStatus.PENDING)
        log = log or MemberLog(author, self._index)
        log.link(signed)
        self._logs[author] = log
        applied, dropped = self._drain(log)
        return AddResult(AddStatus.ADDED, applied=(signed, *applied), dropped=dropped)

    def add_fork(self, proof: ForkProof | Fork) -> Fork:
        """Freeze the author of a fork (SPEC §9.2); a bare proof is verified first (§9.1)."""
        fork = proof if isinstance(proof, Fork) else verify_fork(proof)
        self._record_fork(fork)
        return fork

    def _record_fork(self, fork: Fork) -> None:
        known = self._forks.get(fork.author)
        if known is None or (fork.seq, fork.proof.first) < (known.seq, known.proof.first):
            self._forks[fork.author] = fork
            self._index.version += 1

    def _hold(self, entry: Signed[LogEntry]) -> None:
        mine = self._pending.get(entry.author, {})
        if self._pending_count >= self.max_pending or len(mine) >= self.max_pending_per_author:
            raise Gap(
                describe(
                    "LogEntry.seq",
                    entry.message.seq,
                    f"{member_id(entry.author)}'s log is at {self._head_seq(entry.author)}"
                    " and no more entries can be held for later",
                )
            )
        self._pending.setdefault(entry.author, mine)[entry.message.seq] = entry
        self._pending_count += 1

    def _head_seq(self, author: PublicKey) -> int:
        log = self._logs.get(author)
        return log.head_seq if log else 0

    def _drain(self, log: MemberLog) -> tuple[list[Signed[LogEntry]], tuple[Rejected, ...]]:
        """Chain held entries that now follow the head; drop the first that does not fit."""
        mine = self._pending.get(log.owner)
        applied: list[Signed[LogEntry]] = []
        dropped: tuple[Rejected, ...] = ()
        while mine and (nxt := mine.pop(log.head_seq + 1, None)) is not None:
            self._pending_count -= 1
            try:
                log.link(nxt)
            except RemoteError as exc:
                dropped = (Rejected(nxt.author, nxt.message.seq, nxt.message_id, exc),)
                break
            applied.append(nxt)
        if mine is not None and not mine:
            del self._pending[log.owner]
        return applied, dropped
