"""The rows a store keeps, and how a Peer's ``Persist`` records map onto them.

A Peer's ``offer``, ``request`` and ``ride`` records are opaque bytes under
``(kind, key)``. Its ``entry`` records are log entries, which operators look
up by author, sequence number and id, so they get a table of their own; the
mapping is exact both ways (the key is ``author || seq``, SPEC §11.3).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from protocol.errors import LazoozError, StoreError, describe
from protocol.fields import MessageId, PublicKey
from protocol.ledger.chain import parse_entry
from protocol.peer.actions import PersistKind
from protocol.peer.core import entry_key

#: Kinds kept as opaque ``(kind, key) -> data`` records; ``entry`` has its own table.
OPAQUE_KINDS: tuple[PersistKind, ...] = ("follow", "fork", "offer", "request", "ride")
AUTHOR_BYTES = 32
_ENTRY_KEY_BYTES = AUTHOR_BYTES + 8
_MAX_SEQ = 2**63 - 1  # SQLite integers are signed 64-bit


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One log entry as the store holds it: its author, place in the log, id and bytes."""

    author: PublicKey
    seq: int
    entry_id: MessageId
    raw: bytes

    @property
    def key(self) -> bytes:
        """The Peer's ``Persist`` key for this entry."""
        return entry_key(self.author, self.seq)


@dataclass(frozen=True, slots=True)
class KnownPeer:
    """A libp2p peer this node has seen: where it was reachable, and when (Unix ms)."""

    peer_id: str
    addrs: tuple[str, ...]
    last_seen_ms: int


def split_entry_key(key: bytes) -> tuple[PublicKey, int]:
    """``author || seq`` back into its parts; a key of any other shape is a ``StoreError``."""
    if len(key) != _ENTRY_KEY_BYTES:
        rule = f"is {len(key)} bytes; an entry key is {_ENTRY_KEY_BYTES} (author || seq)"
        raise StoreError(describe("stored entry", key.hex()[:24], rule))
    (seq,) = struct.unpack(">Q", key[AUTHOR_BYTES:])
    if not 1 <= seq <= _MAX_SEQ:
        raise StoreError(describe("stored entry", key.hex()[:24], f"seq {seq} is not 1..2^63-1"))
    return PublicKey(key[:AUTHOR_BYTES]), seq


def entry_row(key: bytes, raw: bytes) -> StoredEntry:
    """The row for a ``Persist("entry", key, raw)``.

    The entry is decoded, not verified (the Peer verified it before persisting):
    enough to take its id and to refuse bytes that are not the entry the key names.
    """
    author, seq = split_entry_key(key)
    try:
        env, entry = parse_entry(raw)
    except LazoozError as exc:
        raise StoreError(describe("stored entry", key.hex()[:24], str(exc))) from None
    if env.author != author or entry.seq != seq:
        rule = "the bytes are a different entry than the key names (author || seq)"
        raise StoreError(describe("stored entry", key.hex()[:24], rule))
    return StoredEntry(author, seq, env.message_id, raw)
