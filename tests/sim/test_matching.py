"""Matching: crossing, eligibility, book walks, trade fills and the resting-order bounds."""

from __future__ import annotations

from decimal import Decimal

from bitunix.sim.matching import (
    INF,
    NEG_INF,
    RestingOrders,
    available_liquidity,
    crosses,
    eligible,
    trade_fills,
    walk,
)
from bitunix.sim.state import MarketState, SimOrder

D = Decimal


def order(side: str, price: str | None, qty: str = "1", oid: str = "1",
          ctime: int = 0) -> SimOrder:
    return SimOrder(order_id=oid, uid="u", symbol="BTCUSDT", side=side, pos_side="LONG",
                    order_type="LIMIT" if price else "MARKET", effect="GTC", qty=D(qty),
                    price=D(price) if price else None, client_id="", reduce_only=False,
                    closing=False, leverage=10, margin_mode="CROSS", position_mode="ONE_WAY",
                    ctime_ns=ctime, mtime_ns=ctime, status="NEW")


def no_cap(_o: SimOrder, qty: Decimal) -> Decimal:
    return qty


def market() -> MarketState:
    mkt = MarketState()
    mkt.set_raw_book([("99", "1"), ("98", "2")], [("100", "1"), ("101", "2")])
    return mkt


def test_crosses_and_eligible_read_the_best_level_only() -> None:
    mkt = market()
    assert crosses(order("BUY", "100"), mkt)
    assert not crosses(order("BUY", "99.9"), mkt)
    assert crosses(order("SELL", "99"), mkt)
    assert crosses(order("SELL", None), mkt)
    assert not crosses(order("BUY", None), MarketState())
    assert eligible(order("BUY", "100"), D("100"))
    assert not eligible(order("BUY", "100"), D("101"))
    assert eligible(order("SELL", None), D("1"))


def test_available_liquidity_within_the_limit() -> None:
    mkt = market()
    assert available_liquidity(order("BUY", "100.5"), mkt) == D("1")
    assert available_liquidity(order("BUY", None), mkt) == D("3")
    assert available_liquidity(order("SELL", "98"), mkt) == D("3")


def test_a_taker_walk_consumes_levels_at_their_prices() -> None:
    mkt = market()
    o = order("BUY", "101", qty="2.5")
    fills = []
    for qty, price in walk(o, mkt.asks, False, no_cap):
        fills.append((qty, price))
        o.filled_qty += qty
    assert fills == [(D("1"), D("100")), (D("1.5"), D("101"))]
    assert mkt.asks == [[D("101"), D("0.5")]]  # consumed until the next snapshot


def test_a_maker_walk_trades_at_its_own_price_and_one_fill_stops() -> None:
    mkt = market()
    o = order("SELL", "98.5", qty="5")
    assert list(walk(o, mkt.bids, True, no_cap, one_fill=True)) == [(D("1"), D("98.5"))]
    capped = list(walk(order("SELL", "98"), mkt.bids, True, lambda _o, _q: D(0)))
    assert capped == []


def test_trade_fills_through_or_at_touch() -> None:
    buys = [order("BUY", "100", qty="1", oid="1"), order("BUY", "99", qty="1", oid="2")]
    through = list(trade_fills(buys, D("99"), D("5"), False, no_cap))
    assert [(o.order_id, q) for o, q in through] == [("1", D("1"))]
    touch = list(trade_fills(buys, D("99"), D("5"), True, no_cap))
    assert [(o.order_id, q) for o, q in touch] == [("1", D("1")), ("2", D("1"))]
    small = list(trade_fills(buys, D("98"), D("0.5"), True, no_cap))
    assert [(o.order_id, q) for o, q in small] == [("1", D("0.5"))]


def test_resting_orders_bounds_follow_every_change() -> None:
    told: list[str] = []
    book = RestingOrders(["BTCUSDT"], on_change=told.append)
    assert book.bounds("BTCUSDT") == (NEG_INF, INF)
    b1, b2, s1 = order("BUY", "99", oid="1"), order("BUY", "98", oid="2"), order("SELL", "101",
                                                                              oid="3")
    for o in (b1, b2, s1):
        book.add(o)
    assert book.bounds("BTCUSDT") == (D("99"), D("101"))
    book.discard(b1)
    assert book.bounds("BTCUSDT") == (D("98"), D("101"))
    s1.price = D("100.5")
    book.repriced("BTCUSDT")
    assert book.bounds("BTCUSDT") == (D("98"), D("100.5"))
    book.discard(b1)  # not resting any more: nothing changes
    assert told == ["BTCUSDT"] * 5


def test_priority_is_price_then_time() -> None:
    book = RestingOrders(["BTCUSDT"])
    late_best = order("BUY", "100", oid="3", ctime=5)
    early_best = order("BUY", "100", oid="2", ctime=1)
    worse = order("BUY", "99", oid="1", ctime=0)
    for o in (late_best, early_best, worse):
        book.add(o)
    assert [o.order_id for o in book.priority("BTCUSDT", "BUY", D("99"))] == ["2", "3", "1"]
    assert book.priority("BTCUSDT", "BUY", D("100.5")) == []
    assert book.priority("BTCUSDT", "SELL", D("1000")) == []
