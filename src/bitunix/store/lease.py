"""Single active instance: a lease row with a heartbeat.

The bot that trades holds the lease: one row naming its owner and when the lease expires.
It renews (heartbeats) well before that; a second bot on the same store (a hot standby)
finds the lease held and does not trade; once the holder stops renewing and the lease has
lapsed, the standby takes it over (and must reconcile with the venue before its first
order). Acquire and renew are one ``BEGIN IMMEDIATE`` transaction each, so two bots can
never both believe they hold it. Time is wall-clock nanoseconds (both processes must agree
on it), injected for tests.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from bitunix.store.schema import StoreError
from bitunix.store.sqlite import connect

__all__ = ["Lease", "LeaseHolder"]


class LeaseHolder(msgspec.Struct, frozen=True, kw_only=True):
    """Who holds the lease and until when (wall-clock ns)."""

    owner: str
    acquired_ns: int
    expires_ns: int


class Lease:
    """The trading lease of one store, as seen by ``owner`` (see the module docs)."""

    def __init__(self, path: Path | str, owner: str, *, ttl_s: float,
                 now_ns: Callable[[], int]) -> None:
        if ttl_s <= 0:
            raise StoreError(f"lease ttl must be > 0, was {ttl_s}")
        self.path = Path(path)
        self.owner = owner
        self.ttl_ns = int(ttl_s * 1e9)
        self._now_ns = now_ns
        self._conn = connect(self.path)
        self.held = False
        self.takeovers = 0

    def holder(self) -> LeaseHolder | None:
        """The current row (None: never taken)."""
        row = self._run("SELECT owner, acquired_ns, expires_ns FROM lease WHERE id = 1",
                        fetch=True)
        if row is None:
            return None
        owner, acquired_ns, expires_ns = row
        return LeaseHolder(owner=owner, acquired_ns=acquired_ns, expires_ns=expires_ns)

    def try_acquire(self) -> bool:
        """Take the lease if it is free, lapsed, or already ours; True when held after."""
        now = self._now_ns()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            row = self._conn.execute(
                "SELECT owner, expires_ns FROM lease WHERE id = 1").fetchone()
            if row is not None and row[0] != self.owner and row[1] > now:
                self._conn.execute("COMMIT")
                self.held = False
                return False
            if row is not None and row[0] != self.owner:
                self.takeovers += 1
            self._conn.execute(
                "INSERT INTO lease (id, owner, acquired_ns, expires_ns) VALUES (1, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, "
                "acquired_ns = CASE WHEN lease.owner = excluded.owner THEN lease.acquired_ns "
                "ELSE excluded.acquired_ns END, expires_ns = excluded.expires_ns",
                (self.owner, now, now + self.ttl_ns))
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"store {self.path}: lease: {exc}") from None
        self.held = True
        return True

    def renew(self) -> bool:
        """Heartbeat: extend the lease if it is still ours; False when it was lost (another
        instance took it over after it lapsed): the caller must stop trading at once."""
        now = self._now_ns()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            cur = self._conn.execute(
                "UPDATE lease SET expires_ns = ? WHERE id = 1 AND owner = ?",
                (now + self.ttl_ns, self.owner))
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"store {self.path}: lease: {exc}") from None
        self.held = cur.rowcount == 1
        return self.held

    def release(self) -> None:
        """Give the lease up (at a clean stop), so a standby takes over at once."""
        self._run("DELETE FROM lease WHERE id = 1 AND owner = ?", (self.owner,))
        self.held = False

    def close(self) -> None:
        """Close the connection (the lease is not released: see :meth:`release`)."""
        self._conn.close()

    def _run(self, sql: str, args: tuple[object, ...] = (), *,
             fetch: bool = False) -> tuple[Any, ...] | None:
        try:
            cur = self._conn.execute(sql, args)
            return cur.fetchone() if fetch else None
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: lease: {exc}") from None

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:  # no transaction open
            return
