"""The store's schema: an ordered list of forward migrations, and the version it reaches.

``PRAGMA user_version`` holds how many migrations a database has had. A new
database runs them all, an old one the ones it lacks, each in its own
transaction together with its version bump: a migration that fails leaves
the database at the version before it. There are no downgrades; a database
newer than this code is refused (``SchemaTooNew``). A released migration is
never edited -- a change is a new one at the end. docs/node.md, "Store".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from lazooz.store.records import entry_row

#: ``PRAGMA application_id`` of a lazooz store ("LZZS"): no stray SQLite file is taken for one.
APPLICATION_ID = 0x4C5A5A53


@dataclass(frozen=True, slots=True)
class Migration:
    """One step: takes a database at ``version - 1`` to ``version``, inside a transaction."""

    version: int
    what: str
    run: Callable[[sqlite3.Connection], None]


def _v1_records(db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(
        "CREATE TABLE records ("
        " kind TEXT NOT NULL,"
        " key BLOB NOT NULL,"
        " data BLOB NOT NULL,"
        " PRIMARY KEY (kind, key))"
    )


def _v2_entries_and_peers(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE log_entries ("
        " author BLOB NOT NULL CHECK (length(author) = 32),"
        " seq INTEGER NOT NULL CHECK (seq >= 1),"
        " id BLOB NOT NULL CHECK (length(id) = 32),"
        " raw BLOB NOT NULL,"
        " PRIMARY KEY (author, seq))"
    )
    db.execute("CREATE INDEX log_entries_by_id ON log_entries (id)")
    moved = db.execute("SELECT key, data FROM records WHERE kind = 'entry'").fetchall()
    for key, raw in moved:
        row = entry_row(key, raw)
        db.execute(
            "INSERT INTO log_entries (author, seq, id, raw) VALUES (?, ?, ?, ?)",
            (row.author, row.seq, row.entry_id, row.raw),
        )
    db.execute("DELETE FROM records WHERE kind = 'entry'")
    db.execute(
        "CREATE TABLE peers ("
        " peer_id TEXT PRIMARY KEY NOT NULL,"
        " addrs TEXT NOT NULL,"
        " last_seen_ms INTEGER NOT NULL)"
    )
    db.execute("CREATE INDEX peers_by_last_seen ON peers (last_seen_ms)")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the Peer's records by (kind, key)", _v1_records),
    Migration(2, "log entries in their own table; known peers", _v2_entries_and_peers),
)

#: The version this code writes: databases are migrated up to it.
SCHEMA_VERSION = MIGRATIONS[-1].version


def migrate(db: sqlite3.Connection, target: int = SCHEMA_VERSION) -> list[int]:
    """Run the migrations from the database's version up to ``target``; the versions run.

    ``db`` must be in autocommit mode (``isolation_level=None``): each step
    opens its own ``BEGIN IMMEDIATE`` transaction and commits it with its
    ``user_version``.
    """
    done: list[int] = []
    for step in MIGRATIONS[:target]:
        db.execute("BEGIN IMMEDIATE")
        try:
            (current,) = db.execute("PRAGMA user_version").fetchone()
            if current >= step.version:
                db.execute("ROLLBACK")
                continue
            step.run(db)
            db.execute(f"PRAGMA user_version = {step.version}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # some errors (disk full, I/O) already rolled it back
                db.execute("ROLLBACK")
            raise
        done.append(step.version)
    return done
