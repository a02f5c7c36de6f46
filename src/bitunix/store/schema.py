"""The store's tables and their versioned migrations.

The schema version lives in SQLite's ``user_version``. :data:`MIGRATIONS` is append-only:
migration *n* takes a database at version *n - 1* to *n*, in one transaction, so a store
written by an older bot opens in a newer one, and a newer store is refused by an older bot
instead of being misread.

Trading rows keep the whole value as canonical JSON (``msgspec``: exact decimal strings,
integer ticks) beside the columns that are queried, so nothing is lost between what the
bot held and what it restores.
"""

from __future__ import annotations

import sqlite3

from bitunix.core.errors import BitunixError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "StoreError", "migrate", "schema_version"]


class StoreError(BitunixError):
    """The store cannot be opened, read or written."""


MIGRATIONS: tuple[str, ...] = (
    # 1: orders, fills, positions, audit trail, decisions, daily PnL, lease, key-value state
    """
    CREATE TABLE orders (
        client_id TEXT PRIMARY KEY,
        symbol TEXT NOT NULL,
        status TEXT NOT NULL,
        is_open INTEGER NOT NULL,
        updated_ns INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX orders_open ON orders (is_open, symbol);
    CREATE TABLE fills (
        trade_id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        symbol TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX fills_order ON fills (client_id);
    CREATE TABLE positions (
        symbol TEXT PRIMARY KEY,
        qty_steps INTEGER NOT NULL,
        updated_ns INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ns INTEGER NOT NULL,
        action TEXT NOT NULL,
        symbol TEXT NOT NULL,
        client_id TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX audit_action ON audit (action, ts_ns);
    CREATE TABLE decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ns INTEGER NOT NULL,
        symbol TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE daily_pnl (
        day TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE lease (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        owner TEXT NOT NULL,
        acquired_ns INTEGER NOT NULL,
        expires_ns INTEGER NOT NULL
    );
    CREATE TABLE state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's schema version (0: empty)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, where: str) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; return the version it had.

    Refuses a database written by a newer bot, and a non-empty file that is not a bitunix
    store (version 0 with tables of its own).
    """
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(f"store {where}: schema version {version} is newer than this bot's "
                         f"({SCHEMA_VERSION}); upgrade bitunix-bot")
    if version == 0:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables:
            raise StoreError(f"store {where}: an SQLite database that is not a bitunix store")
    for n in range(version, SCHEMA_VERSION):
        _apply(conn, n + 1, MIGRATIONS[n])
    return version


def _apply(conn: sqlite3.Connection, version: int, script: str) -> None:
    # executescript() commits first, so each statement is run by hand inside one
    # transaction (the connection is in autocommit mode): a failed migration leaves the
    # previous version intact.
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in filter(str.strip, script.split(";")):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    except sqlite3.Error:
        conn.execute("ROLLBACK")
        raise
