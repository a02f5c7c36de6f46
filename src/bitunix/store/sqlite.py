"""The embedded SQLite store (WAL): the bot's orders, fills, positions, daily PnL, model
decisions and the append-only audit trail.

Writes stay off the hot path: the ``record_*`` methods (the execution side's ``Journal``)
only append to an in-memory queue; a writer thread with its own connection encodes and
writes what is queued every ``flush_interval_s`` in one transaction. What a crash can lose
is therefore the last interval's records, and those are orders and fills the venue also
holds (reconciliation at the next start recovers them) plus their audit lines. A write
that fails keeps its records queued (nothing is dropped) and marks the store failed; the
run reports it and exits non-zero.

Reads (restore at start, ``status``, tests) use a second connection; WAL lets them run
beside the writer and beside an online backup.
"""

from __future__ import annotations

import collections
import contextlib
import math
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from bitunix.model import Fill, Order, Position
from bitunix.model.records import AuditEntry, Decision
from bitunix.store.schema import StoreError, migrate

__all__ = ["DailyPnl", "SqliteStore", "connect"]

_T = TypeVar("_T")
_ENCODER = msgspec.json.Encoder()


class DailyPnl(msgspec.Struct, frozen=True, kw_only=True):
    """One UTC day's PnL in the quote coin, as exact decimal strings."""

    day: str
    start_equity: str
    realized: str
    unrealized: str
    fees: str
    funding: str


def connect(path: Path, *, timeout_s: float = 5.0) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with WAL and a busy
    timeout."""
    try:
        conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed transaction survives a process crash (it is in
        # the WAL); only a power loss can take the last ones back.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raise StoreError(f"store {path}: cannot open: {exc}") from None
    return conn


def _upsert_order(o: Order) -> tuple[str, tuple[Any, ...]]:
    return ("INSERT INTO orders (client_id, symbol, status, is_open, updated_ns, body) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO UPDATE SET "
            "status = excluded.status, is_open = excluded.is_open, "
            "updated_ns = excluded.updated_ns, body = excluded.body",
            (o.client_id, o.symbol, o.status.value, int(o.is_open),
             max(o.updated_ns, o.created_ns), _ENCODER.encode(o).decode()))


def _insert_fill(f: Fill) -> tuple[str, tuple[Any, ...]]:
    return ("INSERT OR IGNORE INTO fills (trade_id, client_id, symbol, ts_ns, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (f.trade_id, f.client_id, f.symbol, f.ts_ns, _ENCODER.encode(f).decode()))


def _upsert_position(p: Position) -> tuple[str, tuple[Any, ...]]:
    return ("INSERT INTO positions (symbol, qty_steps, updated_ns, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (symbol) DO UPDATE SET qty_steps = excluded.qty_steps, "
            "updated_ns = excluded.updated_ns, body = excluded.body",
            (p.symbol, p.qty_steps, p.updated_ns, _ENCODER.encode(p).decode()))


def _insert_audit(a: AuditEntry) -> tuple[str, tuple[Any, ...]]:
    return ("INSERT INTO audit (ts_ns, action, symbol, client_id, body) VALUES (?, ?, ?, ?, ?)",
            (a.ts_ns, a.action, a.symbol, a.client_id, _ENCODER.encode(a).decode()))


class _StoredDecision(msgspec.Struct, frozen=True, kw_only=True):
    """A stored :class:`Decision`: JSON keeps a NaN probability as null."""

    ts_ns: int
    symbol: str
    strategy: str
    direction: int
    probability: float | None
    source: str
    model: str
    outcome: str


def _insert_decision(d: Decision) -> tuple[str, tuple[Any, ...]]:
    return ("INSERT INTO decisions (ts_ns, symbol, body) VALUES (?, ?, ?)",
            (d.ts_ns, d.symbol, _ENCODER.encode(d).decode()))


def _upsert_daily(d: DailyPnl) -> tuple[str, tuple[Any, ...]]:
    return ("INSERT INTO daily_pnl (day, body) VALUES (?, ?) ON CONFLICT (day) DO UPDATE "
            "SET body = excluded.body", (d.day, _ENCODER.encode(d).decode()))


def _set_state(item: tuple[str, str]) -> tuple[str, tuple[Any, ...]]:
    return ("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
            "value = excluded.value", item)


_Row = tuple[Callable[[Any], tuple[str, tuple[Any, ...]]], Any]


class SqliteStore:
    """The bot's state in one SQLite file; see the module docs.

    Use ``with SqliteStore(path) as store:`` (or call :meth:`close`): closing writes
    everything still queued. ``flush()`` waits until what is queued now is on disk.
    """

    def __init__(self, path: Path | str, *, flush_interval_s: float = 0.05,
                 max_batch: int = 5000) -> None:
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self._max_batch = max_batch
        if self.path.parent and not self.path.parent.exists():
            raise StoreError(f"store {self.path}: directory {self.path.parent} does not exist")
        self._read = connect(self.path)
        try:
            self.migrated_from = migrate(self._read, str(self.path))
        except sqlite3.Error as exc:
            self._read.close()
            raise StoreError(f"store {self.path}: cannot read: {exc}") from None
        except StoreError:
            self._read.close()
            raise
        self._write = connect(self.path)
        self._queue: collections.deque[_Row] = collections.deque()
        self._cond = threading.Condition()
        self._queued = 0
        self._written = 0
        self._error = ""
        self._closing = False
        self.batches = 0
        self._thread = threading.Thread(target=self._writer, name="bitunix-store-writer",
                                        daemon=True)
        self._thread.start()

    # -- Journal (enqueue only) ---------------------------------------------------------

    def _put(self, encode: Callable[[Any], tuple[str, tuple[Any, ...]]], value: Any) -> None:
        self._queue.append((encode, value))
        self._queued += 1

    def record_order(self, order: Order) -> None:
        """Queue the order's latest state (upsert by client id)."""
        self._put(_upsert_order, order)

    def record_fill(self, fill: Fill) -> None:
        """Queue a fill (kept once per trade id)."""
        self._put(_insert_fill, fill)

    def record_position(self, position: Position) -> None:
        """Queue the position's latest state (upsert by symbol)."""
        self._put(_upsert_position, position)

    def record_audit(self, entry: AuditEntry) -> None:
        """Queue an audit entry (append-only)."""
        self._put(_insert_audit, entry)

    def record_decision(self, decision: Decision) -> None:
        """Queue a model decision (append-only)."""
        self._put(_insert_decision, decision)

    def record_daily_pnl(self, pnl: DailyPnl) -> None:
        """Queue a day's PnL (upsert by day)."""
        self._put(_upsert_daily, pnl)

    def set_state(self, key: str, value: str) -> None:
        """Queue a small named value (kill switch, instance epoch...)."""
        self._put(_set_state, (key, value))

    # -- the writer -----------------------------------------------------------------------

    def _writer(self) -> None:
        # Batching by design: wake every flush interval (or when flushed/closed) and write
        # everything queued; the hot path never takes a lock.
        while True:
            with self._cond:
                if not self._closing:
                    self._cond.wait(self.flush_interval_s)
                closing = self._closing
            while self._queue and self._write_batch():
                pass
            if closing:
                return

    def _write_batch(self) -> bool:
        batch: list[_Row] = []
        while self._queue and len(batch) < self._max_batch:
            batch.append(self._queue.popleft())
        try:
            self._write.execute("BEGIN")
            for encode, value in batch:
                sql, args = encode(value)
                self._write.execute(sql, args)
            self._write.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._write.execute("ROLLBACK")
            # Keep the records: nothing is dropped; the run reports the failure.
            self._queue.extendleft(reversed(batch))
            with self._cond:
                # The first failure is kept (a run that lost its store must say so even if a
                # later retry succeeds); writing is retried at the next interval.
                self._error = self._error or f"store {self.path}: write failed: {exc}"
                self._cond.notify_all()
            return False
        with self._cond:
            self._written += len(batch)
            self.batches += 1
            self._cond.notify_all()
        return True

    @property
    def error(self) -> str:
        """Why writing failed, if it ever did ("" while it never has)."""
        return self._error

    @property
    def pending(self) -> int:
        """Records queued and not yet written."""
        return self._queued - self._written

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until everything queued so far is written; raise :class:`StoreError` if the
        store failed or the wait timed out."""
        target = self._queued
        with self._cond:
            self._cond.notify_all()
            ok = self._cond.wait_for(lambda: self._written >= target, timeout_s)
        if not ok:
            why = f": {self._error}" if self._error else ""
            raise StoreError(f"store {self.path}: {target - self._written} records not written "
                             f"after {timeout_s} s{why}")

    def close(self) -> None:
        """Write what is queued, stop the writer, close the connections. Raises
        :class:`StoreError` if records could not be written (they are reported, not lost
        silently)."""
        if self._closing:
            return
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        self._write.close()
        self._read.close()
        if self._queue:
            raise StoreError(f"{self._error or f'store {self.path}: write failed'} "
                             f"({len(self._queue)} records not written)")

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads --------------------------------------------------------------------------

    def _rows(self, sql: str, args: Iterable[Any], type_: type[_T]) -> list[_T]:
        try:
            rows = self._read.execute(sql, tuple(args)).fetchall()
            return [msgspec.json.decode(body, type=type_) for (body,) in rows]
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: cannot read: {exc}") from None
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise StoreError(f"store {self.path}: a stored record is unreadable: {exc}") from None

    def orders(self, *, open_only: bool = False, symbol: str | None = None,
               latest: int | None = None) -> list[Order]:
        """Orders (oldest change first); ``latest``: only the last that many changed."""
        where = ["1"]
        args: list[Any] = []
        if open_only:
            where.append("is_open = 1")
        if symbol is not None:
            where.append("symbol = ?")
            args.append(symbol)
        # Bandit's B608 (SQL built from strings) is silenced on the two statements below:
        # the query joins fixed fragments only and every value is a bound parameter.
        sql = (f"SELECT body, updated_ns, client_id FROM orders WHERE {' AND '.join(where)} "  # nosec
               "ORDER BY updated_ns DESC, client_id DESC")
        if latest is not None:
            sql += " LIMIT ?"
            args.append(latest)
        return self._rows(f"SELECT body FROM ({sql}) ORDER BY updated_ns, client_id", args,  # nosec
                          Order)

    def fills(self, client_id: str | None = None) -> list[Fill]:
        """Fills (of one order), in time order."""
        if client_id is None:
            return self._rows("SELECT body FROM fills ORDER BY ts_ns, trade_id", (), Fill)
        return self._rows("SELECT body FROM fills WHERE client_id = ? ORDER BY ts_ns, trade_id",
                          (client_id,), Fill)

    def positions(self) -> list[Position]:
        """The last recorded position of every symbol (flat ones included)."""
        return self._rows("SELECT body FROM positions ORDER BY symbol", (), Position)

    def audit(self, action: str | None = None) -> list[AuditEntry]:
        """The audit trail, oldest first (of one action)."""
        if action is None:
            return self._rows("SELECT body FROM audit ORDER BY seq", (), AuditEntry)
        return self._rows("SELECT body FROM audit WHERE action = ? ORDER BY seq", (action,),
                          AuditEntry)

    def decisions(self) -> list[Decision]:
        """Model decisions, oldest first (a decision without a probability, NaN, is stored
        by JSON as null and read back as NaN)."""
        rows = self._rows("SELECT body FROM decisions ORDER BY seq", (), _StoredDecision)
        return [Decision(ts_ns=r.ts_ns, symbol=r.symbol, strategy=r.strategy,
                         direction=r.direction,
                         probability=math.nan if r.probability is None else r.probability,
                         source=r.source, model=r.model, outcome=r.outcome) for r in rows]

    def daily_pnl(self) -> list[DailyPnl]:
        """Recorded days, oldest first."""
        return self._rows("SELECT body FROM daily_pnl ORDER BY day", (), DailyPnl)

    def state(self, key: str) -> str | None:
        """A named value set with :meth:`set_state` (None: never set)."""
        try:
            row = self._read.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: cannot read: {exc}") from None
        return None if row is None else str(row[0])
