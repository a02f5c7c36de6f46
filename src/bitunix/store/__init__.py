"""The bot's durable state: an embedded SQLite store (WAL), written behind the hot path.

``SqliteStore`` implements the execution side's ``Journal`` (orders, fills, positions, the
audit trail, model decisions) and the reads a restart restores from; ``Lease`` keeps a
single active instance; ``backup_store`` / ``restore_store`` copy a store online. See
``docs/trading.md``.
"""

from bitunix.store.backup import backup_store, check_store, restore_store
from bitunix.store.lease import Lease, LeaseHolder
from bitunix.store.schema import SCHEMA_VERSION, StoreError
from bitunix.store.sqlite import DailyPnl, SqliteStore

__all__ = [
    "SCHEMA_VERSION",
    "DailyPnl",
    "Lease",
    "LeaseHolder",
    "SqliteStore",
    "StoreError",
    "backup_store",
    "check_store",
    "restore_store",
]
