"""Which private pushes count as repeats, and the bounded memory that remembers them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.exchange.dedup import RecentKeys, push_key
from bitunix.wire.private import BalanceData, OrderData, PositionData, TpslData

T1, T2 = "2025-04-26T17:06:13.155255000Z", "2025-04-26T17:06:13.155255001Z"


def order(event: str = "UPDATE", status: str = "NEW", mtime: str | None = T1,
          price: str = "60000", deal: str = "0") -> OrderData:
    return OrderData(event=event, order_id="1", symbol="BTCUSDT", side="BUY",
                     qty=Decimal("0.002"), order_status=status, price=Decimal(price),
                     deal_amount=Decimal(deal), ctime=T1, mtime=mtime)


def test_recent_keys_is_an_lru_of_fixed_size() -> None:
    keys = RecentKeys(3)
    assert [keys.seen(k) for k in "abc"] == [False, False, False]
    assert keys.seen("a")  # refreshed: b is now the oldest
    assert not keys.seen("d")  # pushes b out
    assert len(keys) == 3
    assert not keys.seen("b")
    assert keys.seen("a")
    assert keys.seen("d")
    with pytest.raises(ValueError, match="capacity"):
        RecentKeys(0)


def test_an_order_update_is_keyed_by_its_update_time() -> None:
    assert push_key(order()) == push_key(order())
    assert push_key(order()) != push_key(order(mtime=T2))
    assert push_key(order(deal="0")) != push_key(order(deal="0.001"))
    assert push_key(order(status="NEW")) != push_key(order(status="CANCELED"))
    # The venue spells numbers in different ways; the same value is the same event.
    assert push_key(order(price="60000")) == push_key(order(price="60000.0"))


def test_without_update_time_only_one_off_events_are_keyed() -> None:
    # A modify back to an earlier price is a new event identical to an older one: it must
    # never be taken for a repeat.
    assert push_key(order("UPDATE", mtime=None)) is None
    assert push_key(order("CREATE", mtime=None)) == push_key(order("Create", mtime=None))
    assert push_key(order("CLOSE", "FILLED", mtime=None)) is not None


def test_position_tpsl_and_balance_keys() -> None:
    def pos(event: str, mtime: str | None = None, qty: str = "1") -> PositionData:
        return PositionData(event=event, position_id="7", symbol="BTCUSDT", side="LONG",
                            qty=Decimal(qty), ctime=T1, mtime=mtime)

    assert push_key(pos("OPEN")) == push_key(pos("OPEN"))
    assert push_key(pos("OPEN")) != push_key(pos("CLOSE"))
    assert push_key(pos("UPDATE")) is None
    assert push_key(pos("UPDATE", T2)) == push_key(pos("UPDATE", T2))
    assert push_key(pos("UPDATE", T2)) != push_key(pos("UPDATE", T2, qty="2"))

    def tpsl(event: str, status: str = "NEW") -> TpslData:
        return TpslData(event=event, order_id="5", symbol="BTCUSDT", status=status, ctime=T1)

    assert push_key(tpsl("CREATE")) == push_key(tpsl("CREATE"))
    assert push_key(tpsl("CLOSE", "FILLED")) != push_key(tpsl("CLOSE", "CANCELED"))
    assert push_key(tpsl("UPDATE")) is None
    assert push_key(BalanceData(coin="USDT", available=Decimal(1))) is None
