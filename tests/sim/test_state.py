"""State types: derived prices and PnL."""

from __future__ import annotations

from decimal import Decimal

from bitunix.sim.state import SimAccount, SimOrder, SimPosition, opposite

D = Decimal


def test_position_prices_and_pnl() -> None:
    long_ = SimPosition(position_id="1", uid="u", symbol="BTCUSDT", side="LONG", leverage=10,
                        margin_mode="CROSS", position_mode="ONE_WAY", ctime_ns=0, mtime_ns=0,
                        qty=D("2"), entry_value=D("200"))
    assert long_.avg_price == D("100")
    assert long_.unrealized(D("110")) == D("20")
    assert long_.unrealized(None) == 0
    short = SimPosition(position_id="2", uid="u", symbol="BTCUSDT", side="SHORT", leverage=10,
                        margin_mode="CROSS", position_mode="ONE_WAY", ctime_ns=0, mtime_ns=0,
                        qty=D("2"), entry_value=D("200"))
    assert short.unrealized(D("110")) == D("-20")
    flat = SimPosition(position_id="3", uid="u", symbol="BTCUSDT", side="LONG", leverage=1,
                       margin_mode="CROSS", position_mode="ONE_WAY", ctime_ns=0, mtime_ns=0)
    assert flat.avg_price == 0
    assert opposite("LONG") == "SHORT"
    assert opposite("SHORT") == "LONG"


def test_order_average_and_account_buckets() -> None:
    order = SimOrder(order_id="1", uid="u", symbol="BTCUSDT", side="BUY", pos_side="LONG",
                     order_type="LIMIT", effect="GTC", qty=D("3"), price=D("100"), client_id="",
                     reduce_only=False, closing=False, leverage=10, margin_mode="CROSS",
                     position_mode="ONE_WAY", ctime_ns=0, mtime_ns=0)
    assert order.average_price == 0
    order.filled_qty, order.filled_value, order.frozen = D("2"), D("199"), D("10")
    assert order.average_price == D("99.5")
    assert order.remaining == D("1")
    acct = SimAccount(uid="u", wallet=D("1000"))
    acct.open_orders["1"] = order
    assert acct.available() == D("990")
