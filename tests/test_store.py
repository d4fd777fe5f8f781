"""The node's SQLite store: round trips, batches, durability settings, damage, migrations."""

from __future__ import annotations

import os
import random
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from lazooz.store import MIGRATIONS, SCHEMA_VERSION, KnownPeer, SchemaTooNew, Store
from lazooz.store.schema import APPLICATION_ID, migrate
from protocol.envelope import Signed
from protocol.errors import StoreError
from protocol.ledger.wire import LogEntry
from protocol.peer.actions import Persist
from protocol.peer.core import entry_key
from protocol.peer.durable import Record
from protocol.peer.params import PeerParams
from tests.strategies import ALICE, BOB
from tests.test_ledger_fixtures import Members
from tests.test_peer_net import TEL_AVIV


def two_rides() -> list[Signed[LogEntry]]:
    """Four real log entries: two co-signed rides between Alice (driver) and Bob."""
    members = Members(ALICE, BOB)
    members.ride(ALICE, BOB)
    members.ride(ALICE, BOB)
    return [e for log in members.logs.values() for e in log]


ENTRIES = two_rides()


def persist(e: Signed[LogEntry]) -> Persist:
    return Persist("entry", entry_key(e.author, e.message.seq), e.raw)


OWN = [
    Persist("offer", b"o" * 16, b"\x95offer"),
    Persist("request", b"q" * 16, b"\x95request"),
    Persist("ride", b"r" * 16, b"\x93journal"),
]


def records(actions: list[Persist]) -> list[Record]:
    """What a store that executed ``actions`` must load: entries in key order, then the rest."""
    held: dict[tuple[str, bytes], bytes] = {}
    for p in actions:
        if p.data is None:
            held.pop((p.kind, p.key), None)
        else:
            held[p.kind, p.key] = p.data
    entries = sorted((k, v) for k, v in held.items() if k[0] == "entry")
    rest = sorted((k, v) for k, v in held.items() if k[0] != "entry")
    return [(kind, key, data) for (kind, key), data in entries + rest]  # type: ignore[misc]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "lazooz.db"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    with Store.open(path) as s:
        yield s


def raw_db(path: Path) -> sqlite3.Connection:
    """A plain connection beside the store's, as an operator's ``sqlite3`` shell would be."""
    return sqlite3.connect(path, isolation_level=None)


# -- round trips


def test_a_batch_reads_back_as_the_records_a_peer_takes(path: Path) -> None:
    batch = [persist(e) for e in reversed(ENTRIES)] + OWN
    with Store.open(path) as store:
        assert store.apply(batch) == len(batch)
    with Store.open(path) as store:
        assert store.load() == records(batch)
        assert store.counts() == {
            "entry": 4,
            "follow": 0,
            "fork": 0,
            "offer": 1,
            "request": 1,
            "ride": 1,
            "peer": 0,
        }


def test_a_light_node_follows_the_same_authors_after_a_restart(path: Path) -> None:
    light = PeerParams(ledger="own")
    with Store.open(path) as store:
        # What a light Peer writes when it starts following someone (docs/ledger.md §10.6).
        store.apply([Persist("follow", BOB.public_key, b"")])
    with Store.open(path) as store:
        assert store.counts()["follow"] == 1
        peer = store.restore_peer(ALICE, TEL_AVIV, random.Random(1), light)
    assert peer.follows() == frozenset({ALICE.public_key, BOB.public_key})


def test_log_entries_are_kept_by_author_seq_and_id(store: Store) -> None:
    store.apply(persist(e) for e in ENTRIES)
    assert store.heads() == {ALICE.public_key: 2, BOB.public_key: 2}
    alice = store.entries(ALICE.public_key)
    assert [(x.seq, x.raw) for x in alice] == [
        (e.message.seq, e.raw) for e in ENTRIES if e.author == ALICE.public_key
    ]
    assert [x.seq for x in store.entries(ALICE.public_key, since_seq=2)] == [2]
    for e in ENTRIES:
        found = store.entry(e.message_id)
        assert found is not None
        assert (found.author, found.seq, found.raw) == (e.author, e.message.seq, e.raw)
        assert found.key == entry_key(e.author, e.message.seq)
    assert store.entry(bytes(32)) is None
    assert len(store.entries()) == 4


def test_a_later_persist_replaces_and_none_deletes(store: Store) -> None:
    first = [persist(ENTRIES[0]), *OWN]
    store.apply(first)
    later = [
        Persist("offer", b"o" * 16, b"\x95offer, republished"),
        Persist("ride", b"r" * 16, None),
        Persist("entry", persist(ENTRIES[0]).key, None),
        Persist("request", b"never stored", None),  # deleting nothing is fine
    ]
    store.apply(later)
    assert store.load() == records(first + later)
    assert store.load() == [
        ("offer", b"o" * 16, b"\x95offer, republished"),
        ("request", b"q" * 16, b"\x95request"),
    ]


def test_an_empty_batch_changes_nothing(store: Store) -> None:
    store.apply(OWN)
    assert store.apply([]) == 0
    assert store.load() == records(OWN)


# -- batches are all or nothing


class Interrupted(Exception):
    pass


def test_a_batch_interrupted_half_way_writes_nothing(store: Store) -> None:
    store.apply(OWN[:1])

    def half_a_batch() -> Iterator[Persist]:
        yield from [persist(e) for e in ENTRIES]
        yield OWN[1]
        raise Interrupted  # the shell died before the batch was whole

    with pytest.raises(Interrupted):
        store.apply(half_a_batch())
    assert store.load() == records(OWN[:1])
    store.apply(OWN[1:])  # and the store goes on working
    assert store.load() == records(OWN)


def test_an_entry_whose_bytes_are_not_the_entry_its_key_names_fails_the_whole_batch(
    store: Store, path: Path
) -> None:
    wrong = Persist("entry", persist(ENTRIES[0]).key, ENTRIES[1].raw)
    with pytest.raises(StoreError, match="a different entry than the key names") as info:
        store.apply([*OWN, wrong])
    assert str(path) in str(info.value)
    assert store.load() == []
    for bad, rule in [
        (Persist("entry", b"short", ENTRIES[0].raw), "is 5 bytes"),
        (Persist("entry", persist(ENTRIES[0]).key, b"\x93junk"), "stored entry"),
        (Persist("entry", ALICE.public_key + bytes(8), ENTRIES[0].raw), "seq 0"),
        (Persist("gossip", b"k", b"d"), "Persist.kind='gossip'"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(StoreError, match=rule):
            store.apply([OWN[0], bad])
    assert store.load() == []


def test_only_persist_actions_are_applied(store: Store) -> None:
    with pytest.raises(TypeError, match="takes Persist actions"):
        store.apply([OWN[0], "Publish"])  # type: ignore[list-item]
    assert store.load() == []


@pytest.mark.trio
async def test_batches_from_trio_worker_threads_all_land_whole(store: Store) -> None:
    """How the node calls the store: ``trio.to_thread.run_sync``, from several tasks at once."""

    async def writer(task: int) -> None:
        for n in range(10):
            batch = [Persist("ride", bytes([task, n, j]), bytes(64)) for j in range(5)]
            assert await trio.to_thread.run_sync(store.apply, batch) == 5

    async with trio.open_nursery() as nursery:
        for task in range(4):
            nursery.start_soon(writer, task)
    keys = [key for _, key, _ in await trio.to_thread.run_sync(store.load)]
    assert keys == sorted(bytes([t, n, j]) for t in range(4) for n in range(10) for j in range(5))


# -- durability settings and the file itself


def test_wal_mode_and_synchronous_full_are_in_force(store: Store, path: Path) -> None:
    settings = store.settings()
    assert settings.journal_mode == "wal"
    assert settings.synchronous == "FULL"
    assert settings.schema_version == SCHEMA_VERSION
    assert settings.application_id == APPLICATION_ID
    # WAL mode is a property of the file: any other connection sees it too.
    other = raw_db(path)
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    other.close()


def test_the_database_and_its_wal_are_readable_by_the_owner_only(store: Store, path: Path) -> None:
    store.apply(OWN)
    wal = path.with_name(path.name + "-wal")
    for f in (path, wal):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_a_store_open_elsewhere_is_refused_until_closed(path: Path) -> None:
    first = Store.open(path)
    with pytest.raises(StoreError, match="open in another lazooz process"):
        Store.open(path)
    first.close()
    first.close()  # closing twice is harmless
    with Store.open(path) as again:
        assert again.load() == []


def test_a_closed_store_says_so(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError, match="is closed"):
        store.load()


def test_a_missing_directory_or_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory does not exist") as info:
        Store.open(tmp_path / "nowhere" / "lazooz.db")
    assert "nowhere" in str(info.value)
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "lazooz.db", create=False)


# -- damage


def test_a_file_that_is_not_a_database_is_a_store_error_naming_it(path: Path) -> None:
    path.write_bytes(b"this is a grocery list, not a database\n" * 200)
    with pytest.raises(StoreError, match="not a database") as info:
        Store.open(path)
    assert str(path) in str(info.value)


def test_another_programs_sqlite_database_is_refused(path: Path) -> None:
    db = raw_db(path)
    db.execute("CREATE TABLE photos (id INTEGER)")
    db.close()
    with pytest.raises(StoreError, match="SQLite database of something else"):
        Store.open(path)


def test_a_damaged_database_is_refused_on_open(path: Path) -> None:
    with Store.open(path) as store:
        store.apply(Persist("ride", i.to_bytes(4, "big"), bytes(300)) for i in range(400))
    raw_db(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    data[3 * page : 6 * page] = b"\xa5" * (3 * page)  # three b-tree pages overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"malformed|damaged") as info:
        Store.open(path)
    assert str(path) in str(info.value)
    assert "restore a backup" in str(info.value)


def test_a_record_of_a_kind_the_peer_never_wrote_is_a_store_error(store: Store, path: Path) -> None:
    db = raw_db(path)
    db.execute("INSERT INTO records VALUES ('wallet', x'01', x'02')")
    db.close()
    with pytest.raises(StoreError, match="wallet") as info:
        store.load()
    assert str(path) in str(info.value)


def test_a_record_the_peer_cannot_load_names_the_file_and_the_record(
    store: Store, path: Path
) -> None:
    store.apply([persist(e) for e in ENTRIES])
    store.apply([Persist("ride", b"\x07" * 16, b"\xc1")])
    with pytest.raises(StoreError, match="stored ride='07070707") as info:
        store.restore_peer(ALICE, TEL_AVIV, random.Random(1))
    assert str(path) in str(info.value)


def test_a_text_value_where_a_blob_belongs_is_a_store_error(store: Store, path: Path) -> None:
    db = raw_db(path)
    db.execute("INSERT INTO records VALUES ('offer', x'01', 'text, not bytes')")
    db.close()
    with pytest.raises(StoreError, match="is not a blob"):
        store.load()


# -- schema versions


V1_SCHEMA = f"""
PRAGMA application_id = {APPLICATION_ID};
CREATE TABLE records (
 kind TEXT NOT NULL, key BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY (kind, key));
PRAGMA user_version = 1;
"""


def make_v1(path: Path, rows: list[Persist]) -> None:
    """A store as the first lazooz wrote it: every record, entries too, in one table."""
    db = raw_db(path)
    db.executescript(V1_SCHEMA)
    db.executemany("INSERT INTO records VALUES (?, ?, ?)", [(p.kind, p.key, p.data) for p in rows])
    db.close()


def schema_of(path: Path) -> list[tuple[str, str]]:
    db = raw_db(path)
    rows = db.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    db.close()
    return [(name, "".join((sql or "").split())) for name, sql in rows]  # blind to layout


def test_migrations_are_numbered_one_by_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
    assert SCHEMA_VERSION >= 2


def test_a_v1_store_is_migrated_to_the_current_schema_keeping_every_record(
    tmp_path: Path,
) -> None:
    old = [*(persist(e) for e in ENTRIES), *OWN]
    make_v1(tmp_path / "old.db", old)
    with Store.open(tmp_path / "old.db") as store:
        assert store.settings().schema_version == SCHEMA_VERSION
        assert store.load() == records(old)
        assert store.heads() == {ALICE.public_key: 2, BOB.public_key: 2}
        assert store.entry(ENTRIES[0].message_id) is not None
        assert store.counts()["entry"] == 4
    # A migrated store has exactly the schema of a new one.
    Store.open(tmp_path / "new.db").close()
    assert schema_of(tmp_path / "old.db") == schema_of(tmp_path / "new.db")


def test_the_migration_code_builds_the_v1_schema_the_test_freezes(tmp_path: Path) -> None:
    frozen, built = tmp_path / "frozen.db", tmp_path / "built.db"
    make_v1(frozen, [])
    db = raw_db(built)
    assert migrate(db, target=1) == [1]
    assert migrate(db, target=1) == []
    assert db.execute("PRAGMA user_version").fetchone() == (1,)
    db.close()
    assert schema_of(frozen) == schema_of(built)


def test_a_migration_that_fails_leaves_the_store_at_its_old_version(path: Path) -> None:
    broken = Persist("entry", persist(ENTRIES[0]).key, b"\x93not an entry")
    make_v1(path, [*OWN, broken])
    with pytest.raises(StoreError, match="stored entry") as info:
        Store.open(path)
    assert str(path) in str(info.value)
    db = raw_db(path)
    assert db.execute("PRAGMA user_version").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM records").fetchone() == (4,)
    assert "log_entries" not in {name for name, _ in schema_of(path)}
    db.close()


def test_a_store_from_a_newer_lazooz_is_refused_naming_both_versions(path: Path) -> None:
    with Store.open(path) as store:
        store.apply(OWN)
    newer = SCHEMA_VERSION + 1
    raw_db(path).execute(f"PRAGMA user_version = {newer}").close()
    with pytest.raises(SchemaTooNew) as info:
        Store.open(path)
    message = str(info.value)
    assert f"schema version {newer}" in message
    assert f"({SCHEMA_VERSION})" in message
    assert str(path) in message
    assert isinstance(info.value, StoreError)
    # Nothing was touched: the newer lazooz still finds its store as it left it.
    db = raw_db(path)
    assert db.execute("PRAGMA user_version").fetchone() == (newer,)
    assert db.execute("SELECT count(*) FROM records").fetchone() == (3,)
    db.close()


# -- known peers


def test_known_peers_are_remembered_newest_first_and_forgotten_when_old(store: Store) -> None:
    a = KnownPeer("12D3KooWA", ("/ip4/127.0.0.1/tcp/4001",), 1_000)
    b = KnownPeer("12D3KooWB", ("/ip4/127.0.0.1/tcp/4002", "/ip6/::1/tcp/4002"), 2_000)
    store.note_peers([a, b])
    assert store.known_peers() == [b, a]
    # An older note does not overwrite a newer one; a newer one does.
    store.note_peers([KnownPeer("12D3KooWB", (), 1_500)])
    assert store.known_peers(limit=1) == [b]
    moved = KnownPeer("12D3KooWA", ("/ip4/127.0.0.1/tcp/5001",), 3_000)
    store.note_peers([moved])
    assert store.known_peers() == [moved, b]
    assert store.forget_peers(seen_before_ms=2_500) == 1
    assert store.known_peers() == [moved]
    assert store.counts()["peer"] == 1


def test_a_known_peer_row_that_is_not_json_is_a_store_error(store: Store, path: Path) -> None:
    db = raw_db(path)
    db.execute("INSERT INTO peers VALUES ('12D3KooWC', 'not json', 5)")
    db.close()
    with pytest.raises(StoreError, match="known peer='12D3KooWC'"):
        store.known_peers()


def test_the_store_file_survives_the_process_that_wrote_it(path: Path) -> None:
    with Store.open(path) as store:
        store.apply(OWN)
    assert os.path.getsize(path) > 0
    with Store.open(path, create=False) as store:
        assert store.load() == records(OWN)
