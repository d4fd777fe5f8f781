"""A node's durable store: one SQLite file, WAL mode, every commit fsynced before it returns.

``Store.apply`` writes a batch of the Peer's ``Persist`` actions in one
transaction; when it returns, the batch is on disk (``synchronous=FULL``: the
WAL is fsynced at every commit), so the shell may go on to the ``Send`` or
``Publish`` that shows it (SPEC §11.4). ``Store.load`` gives back the records
in the form ``Peer(stored=...)`` takes.

Calls block: a commit costs one fsync (about a millisecond on an SSD, far more
on a slow disk). The node calls the store from the one task that drives the
Peer, through ``trio.to_thread.run_sync``, so a slow disk stalls that task
and nothing else, while the next input still waits for the batch to be
durable. Every method takes the store's lock, so any thread may call any
method, one at a time. docs/node.md, "Store".
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import random
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import final

from lazooz.store.records import OPAQUE_KINDS, KnownPeer, StoredEntry, entry_row, split_entry_key
from lazooz.store.schema import APPLICATION_ID, SCHEMA_VERSION, migrate
from protocol.errors import StoreError, describe
from protocol.fields import GeoPoint, MessageId, PublicKey
from protocol.identity import Identity
from protocol.peer.actions import Persist
from protocol.peer.core import entry_key
from protocol.peer.durable import Record
from protocol.peer.params import PeerParams
from protocol.peer.peer import Peer

#: The store's file name inside a node's data directory.
DB_NAME = "lazooz.db"

_SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
_BUSY_TIMEOUT_MS = 5_000


class SchemaTooNew(StoreError):
    """The database was written by a newer lazooz, whose schema this code does not know."""


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """What SQLite reports for the settings durability rests on (``PRAGMA`` queries)."""

    journal_mode: str
    synchronous: str
    schema_version: int
    application_id: int


@final
class Store:
    """The node's SQLite database. Open it with ``Store.open``; close it (or use ``with``)."""

    __slots__ = ("_db", "_lock", "_lockfile", "path")

    def __init__(self, path: Path, db: sqlite3.Connection, lockfile: int) -> None:
        self.path = path
        self._db = db
        self._lockfile = lockfile
        self._lock = threading.Lock()

    # -- opening and closing

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True, check: bool = True) -> Store:
        """Open the store at ``path``, creating it (mode 0600) if ``create``, and migrate it.

        Only one process may have a store open: a second ``open`` of the same
        file, while the first is open, raises ``StoreError`` (two nodes writing
        one member's log would fork it). ``check`` runs SQLite's ``quick_check``
        so a damaged file is refused now rather than half-read later.
        """
        path = Path(path)
        shown = str(path)
        if not path.parent.is_dir():
            rule = "its directory does not exist: create it, or fix node.data_dir"
            raise StoreError(describe("store", shown, rule))
        if not path.exists():
            if not create:
                raise StoreError(describe("store", shown, "does not exist"))
            _create_private(path)
        lockfile = _take_lock(path)
        try:
            db = _connect(path)
        except BaseException:
            os.close(lockfile)
            raise
        store = cls(path, db, lockfile)
        try:
            with store._guard("opening"):
                store._prepare(check)
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self, check: bool) -> None:
        db = self._db
        (app_id,) = db.execute("PRAGMA application_id").fetchone()
        (version,) = db.execute("PRAGMA user_version").fetchone()
        (tables,) = db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if app_id != APPLICATION_ID and (app_id != 0 or version != 0 or tables != 0):
            rule = f"is an SQLite database of something else (application_id {app_id:#x})"
            raise StoreError(rule)
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                describe(
                    "store",
                    str(self.path),
                    f"has schema version {version}, newer than this lazooz knows "
                    f"({SCHEMA_VERSION}): run the newer lazooz that wrote it",
                )
            )
        (mode,) = db.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode != "wal":
            raise StoreError(f"cannot use WAL mode here (got {mode!r}): use a local filesystem")
        db.execute("PRAGMA synchronous = FULL")
        db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        if check:
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise StoreError(f"is damaged ({'; '.join(problems[:3])}): restore a backup")
        migrate(db)

    def close(self) -> None:
        """Close the database and release the lock; the store cannot be used after."""
        with self._lock:
            if self._lockfile < 0:
                return
            try:
                self._db.close()
            finally:
                os.close(self._lockfile)  # closing the descriptor releases the flock
                self._lockfile = -1

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the Peer's records

    def apply(self, persists: Iterable[Persist]) -> int:
        """Write a batch of ``Persist`` actions in one transaction; durable when this returns.

        ``persists`` is consumed inside the transaction: if anything fails or is
        raised meanwhile, nothing of the batch is written. Returns how many
        actions were applied.
        """
        with self._lock, self._guard("writing records"):
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                n = 0
                for action in persists:
                    self._write(action)
                    n += 1
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # disk full and I/O errors roll back by themselves
                    db.execute("ROLLBACK")
                raise
        return n

    def _write(self, p: Persist) -> None:
        if not isinstance(p, Persist):
            raise TypeError(f"Store.apply takes Persist actions, not {type(p).__name__}")
        db = self._db
        if p.kind == "entry":
            if p.data is None:
                author, seq = split_entry_key(p.key)
                db.execute("DELETE FROM log_entries WHERE author = ? AND seq = ?", (author, seq))
                return
            row = entry_row(p.key, p.data)
            db.execute(
                "INSERT INTO log_entries (author, seq, id, raw) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (author, seq) DO UPDATE SET id = excluded.id, raw = excluded.raw",
                (row.author, row.seq, row.entry_id, row.raw),
            )
        elif p.kind in OPAQUE_KINDS:
            if p.data is None:
                db.execute("DELETE FROM records WHERE kind = ? AND key = ?", (p.kind, p.key))
                return
            db.execute(
                "INSERT INTO records (kind, key, data) VALUES (?, ?, ?)"
                " ON CONFLICT (kind, key) DO UPDATE SET data = excluded.data",
                (p.kind, bytes(p.key), bytes(p.data)),
            )
        else:
            rule = f"must be 'entry' or one of {list(OPAQUE_KINDS)}"
            raise StoreError(describe("Persist.kind", p.kind, rule))

    def load(self) -> list[Record]:
        """Every record, as ``Peer(stored=...)`` takes them: entries in key order, then the rest."""
        out: list[Record] = []
        with self._lock, self._guard("loading records"):
            rows = self._db.execute("SELECT author, seq, raw FROM log_entries ORDER BY author, seq")
            for author, seq, raw in rows:
                if not (isinstance(author, bytes) and isinstance(seq, int)):
                    raise StoreError(describe("log entry", (author, seq), "is not (blob, int)"))
                if not isinstance(raw, bytes):
                    raise StoreError(describe("log entry", (author.hex()[:16], seq), "not a blob"))
                out.append(("entry", entry_key(PublicKey(author), seq), raw))
            rows = self._db.execute("SELECT kind, key, data FROM records ORDER BY kind, key")
            for kind, key, data in rows:
                if kind not in OPAQUE_KINDS or not isinstance(key, bytes):
                    raise StoreError(describe("record", (kind, key), "is not a Peer record"))
                if not isinstance(data, bytes):
                    raise StoreError(describe(f"stored {kind}", key.hex()[:24], "is not a blob"))
                out.append((kind, key, data))
        return out

    def restore_peer(
        self,
        identity: Identity,
        home: GeoPoint,
        rng: random.Random,
        params: PeerParams | None = None,
    ) -> Peer:
        """A Peer rebuilt from this store (SPEC §11.4); errors in records name the file."""
        records = self.load()
        try:
            return Peer(identity, home, rng, params, records)
        except StoreError as exc:
            raise StoreError(describe("store", str(self.path), str(exc))) from None

    # -- log entries, for operators

    def entries(self, author: PublicKey | None = None, since_seq: int = 1) -> list[StoredEntry]:
        """Log entries held, by author and ``seq``; of one ``author`` from ``since_seq`` on."""
        sql = "SELECT author, seq, id, raw FROM log_entries"
        args: tuple[object, ...] = ()
        if author is not None:
            sql += " WHERE author = ? AND seq >= ?"
            args = (author, since_seq)
        with self._lock, self._guard("reading log entries"):
            rows = self._db.execute(sql + " ORDER BY author, seq", args).fetchall()
        return [StoredEntry(PublicKey(a), s, MessageId(i), r) for a, s, i, r in rows]

    def entry(self, entry_id: bytes) -> StoredEntry | None:
        """The entry with id ``entry_id``, if held."""
        with self._lock, self._guard("reading log entries"):
            row = self._db.execute(
                "SELECT author, seq, id, raw FROM log_entries WHERE id = ?", (entry_id,)
            ).fetchone()
        return None if row is None else StoredEntry(PublicKey(row[0]), row[1], row[2], row[3])

    def heads(self) -> dict[PublicKey, int]:
        """The highest ``seq`` held of every author's log."""
        with self._lock, self._guard("reading log entries"):
            rows = self._db.execute("SELECT author, max(seq) FROM log_entries GROUP BY author")
            return {PublicKey(a): s for a, s in rows}

    # -- known peers

    def note_peers(self, peers: Iterable[KnownPeer]) -> None:
        """Remember peers (one transaction); a note older than the one held changes nothing."""
        rows = [(p.peer_id, json.dumps(list(p.addrs)), p.last_seen_ms) for p in peers]
        with self._lock, self._guard("writing known peers"):
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO peers (peer_id, addrs, last_seen_ms) VALUES (?, ?, ?)"
                    " ON CONFLICT (peer_id) DO UPDATE SET"
                    " addrs = excluded.addrs, last_seen_ms = excluded.last_seen_ms"
                    " WHERE excluded.last_seen_ms >= peers.last_seen_ms",
                    rows,
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def known_peers(self, limit: int | None = None) -> list[KnownPeer]:
        """Peers seen, the most recently seen first."""
        sql = "SELECT peer_id, addrs, last_seen_ms FROM peers ORDER BY last_seen_ms DESC, peer_id"
        with self._lock, self._guard("reading known peers"):
            rows = self._db.execute(sql + " LIMIT ?", (-1 if limit is None else limit,)).fetchall()
            return [_known_peer(*row) for row in rows]

    def forget_peers(self, seen_before_ms: int) -> int:
        """Drop peers not seen since ``seen_before_ms``; how many went."""
        with self._lock, self._guard("writing known peers"):
            cur = self._db.execute("DELETE FROM peers WHERE last_seen_ms < ?", (seen_before_ms,))
            return cur.rowcount

    # -- for status, metrics and tests

    def counts(self) -> dict[str, int]:
        """Rows held: ``entry``, ``offer``, ``request``, ``ride`` and ``peer``."""
        with self._lock, self._guard("counting"):
            db = self._db
            out: dict[str, int] = dict.fromkeys(OPAQUE_KINDS, 0)
            out.update(db.execute("SELECT kind, count(*) FROM records GROUP BY kind").fetchall())
            (out["entry"],) = db.execute("SELECT count(*) FROM log_entries").fetchone()
            (out["peer"],) = db.execute("SELECT count(*) FROM peers").fetchone()
        return out

    def settings(self) -> StoreSettings:
        """Journal mode, synchronous level, schema version and application id, as SQLite says."""
        with self._lock, self._guard("reading settings"):
            db = self._db
            (mode,) = db.execute("PRAGMA journal_mode").fetchone()
            (sync,) = db.execute("PRAGMA synchronous").fetchone()
            (version,) = db.execute("PRAGMA user_version").fetchone()
            (app_id,) = db.execute("PRAGMA application_id").fetchone()
        return StoreSettings(mode, _SYNCHRONOUS.get(sync, str(sync)), version, app_id)

    def check(self) -> None:
        """SQLite's full ``integrity_check``; ``StoreError`` listing what is wrong."""
        with self._lock, self._guard("checking"):
            problems = [row[0] for row in self._db.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise StoreError(f"is damaged ({'; '.join(problems[:3])}): restore a backup")

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Name this file in every error; SQLite's errors become ``StoreError``."""
        if self._lockfile < 0:
            raise StoreError(describe("store", str(self.path), "is closed"))
        try:
            yield
        except SchemaTooNew:
            raise
        except StoreError as exc:
            raise StoreError(describe("store", str(self.path), f"{doing}: {exc}")) from None
        except sqlite3.Error as exc:
            rule = f"{doing}: {exc}{_hint(exc)}"
            raise StoreError(describe("store", str(self.path), rule)) from exc


def _hint(exc: sqlite3.Error) -> str:
    """What an operator can do about an SQLite error, where there is something."""
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return " (the file is damaged or not a lazooz store: restore a backup)"
    if "disk is full" in text:
        return " (free some disk space; nothing of the failed batch was written)"
    return ""


def _known_peer(peer_id: object, addrs: object, last_seen_ms: object) -> KnownPeer:
    try:
        decoded = json.loads(addrs) if isinstance(addrs, str) else None
    except json.JSONDecodeError:
        decoded = None
    if (
        not isinstance(peer_id, str)
        or not isinstance(last_seen_ms, int)
        or not isinstance(decoded, list)
        or not all(isinstance(a, str) for a in decoded)
    ):
        raise StoreError(describe("known peer", peer_id, "row is not (text, JSON list, int)"))
    return KnownPeer(peer_id, tuple(decoded), last_seen_ms)


def _create_private(path: Path) -> None:
    """An empty file only the owner can read: SQLite gives its WAL the same mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(describe("store", str(path), f"cannot be created: {exc}")) from exc
    os.close(fd)
    # The new name must survive a power loss too, not only what SQLite writes into it.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _take_lock(path: Path) -> int:
    """Hold an exclusive ``flock`` on ``<path>.lock`` for as long as the store is open."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(describe("store", str(path), f"cannot open its lock file: {exc}")) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise StoreError(describe("store", str(path), f"cannot lock: {exc}")) from exc
        rule = "is open in another lazooz process: stop it first (one node per data directory)"
        raise StoreError(describe("store", str(path), rule)) from None
    return fd


def _connect(path: Path) -> sqlite3.Connection:
    try:
        # Autocommit mode: every transaction is an explicit BEGIN ... COMMIT here.
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(describe("store", str(path), f"cannot be opened: {exc}")) from exc
