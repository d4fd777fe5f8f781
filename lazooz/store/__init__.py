"""The node's durable store: the Peer's records, log entries and known peers in one SQLite file.

docs/node.md, "Store".
"""

from lazooz.store.records import KnownPeer, StoredEntry
from lazooz.store.schema import MIGRATIONS, SCHEMA_VERSION
from lazooz.store.store import DB_NAME, SchemaTooNew, Store, StoreSettings

__all__ = [
    "DB_NAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "KnownPeer",
    "SchemaTooNew",
    "Store",
    "StoreSettings",
    "StoredEntry",
]
