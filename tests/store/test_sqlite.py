"""The SQLite store: write-behind journal, exact round trips, restore reads, failures."""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from bitunix.model import (
    ContractSpec,
    Fill,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    Position,
    Side,
    apply_fill,
)
from bitunix.model.records import AuditEntry, Decision
from bitunix.store import SCHEMA_VERSION, DailyPnl, SqliteStore, StoreError
from bitunix.store.schema import migrate, schema_version
from bitunix.store.sqlite import connect

BTC = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                   qty_decimals=4, min_qty=Decimal("0.0001"))


def order(cid: str, status: OrderStatus = OrderStatus.INIT, updated: int = 0) -> Order:
    o = Order.from_intent(OrderIntent(spec=BTC, side=Side.BUY, qty_steps=10,
                                      order_type=OrderType.LIMIT, price_ticks=600001,
                                      strategy="ovirx", reason="enter"), cid, created_ns=1)
    return msgspec.structs.replace(o, status=status, updated_ns=updated,
                                   fee=Decimal("0.0123456789"))


def fill(tid: str, cid: str = "c1", ts: int = 5) -> Fill:
    return Fill(trade_id=tid, client_id=cid, venue_order_id="v1", spec=BTC, side=Side.BUY,
                qty_steps=4, price_ticks=600001, fee=Decimal("-0.00012"), ts_ns=ts, maker=True)


def test_everything_round_trips_exactly(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SqliteStore(path, flush_interval_s=0.01) as store:
        assert store.migrated_from == 0
        store.record_order(order("c1"))
        store.record_order(order("c1", OrderStatus.PART_FILLED, updated=3))  # upsert
        store.record_order(order("c2", OrderStatus.FILLED, updated=2))
        store.record_fill(fill("t1"))
        store.record_fill(fill("t1"))  # the same trade twice: kept once
        store.record_fill(fill("t2", ts=6))
        pos = apply_fill(Position(spec=BTC), fill("t1"))
        store.record_position(pos)
        store.record_audit(AuditEntry(ts_ns=7, action="submit", symbol="BTCUSDT",
                                      client_id="c1", reason="enter", detail={"qty": "0.001"}))
        store.record_decision(Decision(ts_ns=8, symbol="BTCUSDT", strategy="ovirx",
                                       direction=-1, probability=0.71, source="model",
                                       model="m@1", outcome="order"))
        store.record_daily_pnl(DailyPnl(day="2024-08-08", start_equity="10000",
                                        realized="1.5", unrealized="-0.2", fees="0.3",
                                        funding="0"))
        store.set_state("kill_switch", "on")
        store.flush()
        assert store.pending == 0
        assert [o.client_id for o in store.orders()] == ["c2", "c1"]
        assert [o.client_id for o in store.orders(open_only=True)] == ["c1"]
        assert store.orders(symbol="ETHUSDT") == []
        assert [o.client_id for o in store.orders(symbol="BTCUSDT", latest=1)] == ["c1"]
        assert store.orders(open_only=True)[0] == order("c1", OrderStatus.PART_FILLED, 3)
        assert [f.trade_id for f in store.fills()] == ["t1", "t2"]
        assert store.fills("c1")[0] == fill("t1")
        assert store.positions() == [pos]
        assert store.audit("submit")[0].detail == {"qty": "0.001"}
        assert len(store.audit()) == 1
        assert store.decisions()[0].probability == 0.71
        assert store.daily_pnl()[0].realized == "1.5"
        assert store.state("kill_switch") == "on"
        assert store.state("nope") is None
        assert store.error == ""
    # reopened: same content, no migration
    with SqliteStore(path) as again:
        assert again.migrated_from == SCHEMA_VERSION
        assert again.positions() == [pos]


def test_a_decision_without_a_probability_reads_back_as_nan(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.sqlite") as store:
        store.record_decision(Decision(ts_ns=1, symbol="BTCUSDT", strategy="exit",
                                       direction=-1, probability=math.nan, source="rules",
                                       model="", outcome="exit"))
        store.record_decision(Decision(ts_ns=2, symbol="BTCUSDT", strategy="ovirx",
                                       direction=1, probability=0.25, source="model",
                                       model="gbm@1", outcome="order"))
        store.flush()
        first, second = store.decisions()
    assert math.isnan(first.probability)
    assert (first.strategy, first.outcome) == ("exit", "exit")
    assert second.probability == 0.25


def test_close_writes_what_is_queued_and_journal_calls_never_block(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = SqliteStore(path, flush_interval_s=60.0)  # the timer would never fire in time
    for i in range(2000):
        store.record_fill(fill(f"t{i}", ts=i))
    store.close()
    store.close()  # idempotent
    with SqliteStore(path) as again:
        assert len(again.fills()) == 2000
    assert store.batches >= 1


def test_writes_come_from_one_background_thread(tmp_path: Path) -> None:
    seen: set[str] = set()
    store = SqliteStore(tmp_path / "s.sqlite", flush_interval_s=0.01)
    store._write.set_trace_callback(lambda _sql: seen.add(threading.current_thread().name))
    store.record_order(order("c1"))
    store.flush()
    store.close()
    assert seen == {"bitunix-store-writer"}


def test_a_failed_write_keeps_the_records_and_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = SqliteStore(path, flush_interval_s=0.01)
    blocker = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database
    store._write.execute("PRAGMA busy_timeout=10")
    store.record_order(order("c1"))
    with pytest.raises(StoreError, match="not written"):
        store.flush(timeout_s=0.5)
    assert "write failed" in store.error
    assert store.pending == 1
    blocker.execute("ROLLBACK")  # the lock goes away: the retry writes it
    store.flush(timeout_s=5.0)
    assert store.pending == 0
    assert "write failed" in store.error  # the run still has to say it happened
    store.close()
    with SqliteStore(path) as again:
        assert [o.client_id for o in again.orders()] == ["c1"]


def test_close_raises_when_records_cannot_be_written(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = SqliteStore(path, flush_interval_s=0.01)
    blocker = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    blocker.execute("BEGIN EXCLUSIVE")
    store._write.execute("PRAGMA busy_timeout=10")
    store.record_fill(fill("t1"))
    with pytest.raises(StoreError, match="1 records not written"):
        store.close()
    blocker.execute("ROLLBACK")


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        SqliteStore(tmp_path / "missing-dir" / "s.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(StoreError, match=r"junk\.sqlite"):
        SqliteStore(junk)
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(StoreError, match="not a bitunix store"):
        SqliteStore(other)
    newer = tmp_path / "newer.sqlite"
    with SqliteStore(newer):
        pass
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this bot"):
        SqliteStore(newer)


def test_an_unreadable_record_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SqliteStore(path) as store:
        store.record_order(order("c1"))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE orders SET body = '{\"client_id\": 3}'")
    conn.commit()
    conn.close()
    with SqliteStore(path) as store, pytest.raises(StoreError, match="unreadable"):
        store.orders()


def test_a_failed_migration_leaves_the_previous_version(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from bitunix.store import schema

    conn = connect(tmp_path / "m.sqlite")
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, "CREATE TABLE broken ("))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with pytest.raises(sqlite3.Error):
        migrate(conn, "m")
    assert schema_version(conn) == 1  # the first migration committed, the broken one not
    assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
