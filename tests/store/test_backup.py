"""Online backup while the store is written, and restore that refuses a live store."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bitunix.model import ContractSpec, Fill, Side
from bitunix.store import Lease, SqliteStore, StoreError, backup_store, check_store, restore_store

BTC = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                   qty_decimals=4, min_qty=Decimal("0.0001"))
NOW = 10**18


def fill(i: int) -> Fill:
    return Fill(trade_id=f"t{i}", client_id="c", venue_order_id="v", spec=BTC, side=Side.SELL,
                qty_steps=1, price_ticks=600000 + i, fee=Decimal("0.01"), ts_ns=i)


def test_backup_while_writing_then_restore(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite"
    store = SqliteStore(live, flush_interval_s=0.005)
    for i in range(500):
        store.record_fill(fill(i))
    store.flush()
    for i in range(500, 1000):  # still being written while the backup runs
        store.record_fill(fill(i))
    backup = tmp_path / "b.sqlite"
    assert backup_store(live, backup) == 1
    store.close()
    with SqliteStore(backup) as copy:
        n = len(copy.fills())
    assert 500 <= n <= 1000
    assert [f.trade_id for f in SqliteStore(backup).fills()][:3] == ["t0", "t1", "t2"]
    with pytest.raises(StoreError, match="already exists"):
        backup_store(live, backup)
    with pytest.raises(StoreError, match="does not exist"):
        backup_store(live, tmp_path / "nodir" / "x.sqlite")
    # restore the backup over the live store: the replaced one is kept aside
    kept = restore_store(backup, live, now_ns=lambda: NOW)
    assert kept is not None
    with SqliteStore(kept) as old:
        assert len(old.fills()) == 1000
    with SqliteStore(live) as restored:
        assert len(restored.fills()) == n
    # restore into a new place
    assert restore_store(backup, tmp_path / "fresh.sqlite", now_ns=lambda: NOW) is None
    assert check_store(tmp_path / "fresh.sqlite") == 1


def test_restore_refuses_a_store_a_bot_holds(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite"
    SqliteStore(live).close()
    backup = tmp_path / "b.sqlite"
    backup_store(live, backup)
    lease = Lease(live, "running-bot", ttl_s=30, now_ns=lambda: NOW)
    assert lease.try_acquire()
    with pytest.raises(StoreError, match="in use by the running bot 'running-bot'"):
        restore_store(backup, live, now_ns=lambda: NOW + 1)
    # once the lease lapsed (the bot died), the restore goes ahead
    assert restore_store(backup, live, now_ns=lambda: NOW + 31 * 10**9) is not None
    lease.close()


def test_check_store_refuses_what_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        check_store(tmp_path / "nope")
    text = tmp_path / "t.sqlite"
    text.write_text("hello, not sqlite")
    with pytest.raises(StoreError, match="not an SQLite database"):
        check_store(text)
    empty = tmp_path / "e.sqlite"
    import sqlite3

    sqlite3.connect(empty).close()
    empty.write_bytes(b"")
    with pytest.raises(StoreError, match="not a bitunix store"):
        check_store(empty)
