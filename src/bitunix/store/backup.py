"""Online backup and restore of a store (SQLite's backup API).

``backup_store`` copies a store while a bot is writing to it (WAL readers do not block the
writer), page by page, into a new file. ``restore_store`` puts a backup in place of a store
that no running bot holds: it refuses a store whose lease is live, checks that the source is
a bitunix store this bot can read, and keeps the store it replaces beside it, so a restore
loses nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from bitunix.store.schema import SCHEMA_VERSION, StoreError, schema_version

__all__ = ["backup_store", "check_store", "restore_store"]


def _open(path: Path) -> sqlite3.Connection:
    """A plain connection that changes nothing: no journal-mode switch, and (unlike a
    read-only one on a WAL file) it can clean its -wal/-shm files up when it closes."""
    try:
        conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=5000")
    except sqlite3.Error as exc:
        raise StoreError(f"store {path}: cannot open: {exc}") from None
    return conn


def check_store(path: Path) -> int:
    """The schema version of the bitunix store at ``path``; raises :class:`StoreError` when
    it is missing, not SQLite, not a bitunix store, or newer than this bot."""
    if not path.is_file():
        raise StoreError(f"store {path}: does not exist")
    conn = _open(path)
    try:
        version = schema_version(conn)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"store {path}: not an SQLite database ({exc})") from None
    finally:
        conn.close()
    if version == 0 or not {"orders", "fills", "positions", "audit", "lease"} <= tables:
        raise StoreError(f"store {path}: not a bitunix store")
    if version > SCHEMA_VERSION:
        raise StoreError(f"store {path}: schema version {version} is newer than this bot's "
                         f"({SCHEMA_VERSION}); upgrade bitunix-bot")
    return version


def _copy(src: Path, dest: Path) -> None:
    source = _open(src)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
        # A copy is one self-contained file (the source's WAL mode would leave -wal/-shm
        # files beside it); the bot turns WAL back on when it opens the store.
        target.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise StoreError(f"backup {src} -> {dest}: {exc}") from None
    finally:
        target.close()
        source.close()


def backup_store(src: Path, dest: Path) -> int:
    """Copy the store ``src`` (possibly in use) to the new file ``dest``; return its schema
    version. Refuses to overwrite an existing ``dest``."""
    check_store(src)
    if dest.exists():
        raise StoreError(f"backup destination {dest}: already exists (choose a new name)")
    if not dest.parent.is_dir():
        raise StoreError(f"backup destination {dest}: directory {dest.parent} does not exist")
    _copy(src, dest)
    return check_store(dest)


def restore_store(src: Path, dest: Path, *, now_ns: Callable[[], int]) -> Path | None:
    """Replace the store ``dest`` with the backup ``src``; return where the replaced store
    was kept (None if ``dest`` did not exist). Refuses while a bot holds ``dest``'s lease."""
    check_store(src)
    kept: Path | None = None
    if dest.exists():
        check_store(dest)
        conn = _open(dest)
        try:
            row = conn.execute("SELECT owner, expires_ns FROM lease WHERE id = 1").fetchone()
        finally:
            conn.close()
        if row is not None and row[1] > now_ns():
            raise StoreError(f"store {dest}: in use by the running bot {row[0]!r} (its lease "
                             "is live); stop it first")
        kept = dest.with_name(f"{dest.name}.before-restore-{now_ns() // 1_000_000_000}")
        _copy(dest, kept)
        for suffix in ("-wal", "-shm"):
            Path(f"{dest}{suffix}").unlink(missing_ok=True)
        dest.unlink()
    _copy(src, dest)
    check_store(dest)
    return kept
