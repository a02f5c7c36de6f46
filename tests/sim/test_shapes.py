"""Wire shapes: decimal text, ISO times, quirks casing."""

from __future__ import annotations

from decimal import Decimal

from bitunix.sim import shapes
from bitunix.sim.engine import MatchingEngine, SimOrderRequest

D = Decimal


def test_dec_and_iso() -> None:
    assert shapes.dec(D("1E+3")) == "1000"
    assert shapes.dec(D("0.000100")) == "0.0001"
    assert shapes.dec(D("-0")) == "0"
    assert shapes.dec(None) == ""
    assert shapes.iso_ns(1_745_687_173_155_255_000) == "2025-04-26T17:06:13.155255000Z"
    assert shapes.iso_s(1_748_803_492_958_000_000) == "2025-06-01T18:44:52Z"


def test_quirks_casing_of_ws_orders(engine: MatchingEngine) -> None:
    order = engine.place_order("u1", SimOrderRequest(
        symbol="BTCUSDT", side="SELL", order_type="LIMIT", qty=D("0.1"), price=D("60500"),
        sl_price=D("61000"), sl_stop_type="MARK_PRICE"))
    plain = shapes.ws_order(order, "CREATE")
    quirky = shapes.ws_order(order, "CREATE", quirks=True)
    assert (plain["side"], plain["type"]) == ("SELL", "LIMIT")
    assert (quirky["side"], quirky["type"]) == ("Sell", "Limit")
    assert plain["slPrice"] == "61000"
    assert "tpPrice" not in plain
    rest = shapes.rest_order(order)
    assert rest["slStopType"] == "MARK_PRICE"
    assert rest["tpStopType"] == ""
    assert shapes.rest_order(order, quirks=True)["status"] == "NEW_"


def test_quirks_casing_of_ws_tpsl(engine: MatchingEngine) -> None:
    engine.place_order("u1", SimOrderRequest(symbol="BTCUSDT", side="BUY", order_type="MARKET",
                                             qty=D("0.1")))
    pos = next(iter(engine.accounts["u1"].positions.values()))
    tp = engine.place_tpsl("u1", "BTCUSDT", pos.position_id, sl_price=D("59000"),
                           sl_stop_type="MARK_PRICE", sl_qty=D("0.1"))
    acct = engine.accounts["u1"]
    plain = shapes.ws_tpsl(tp, "CREATE", acct, 20)
    quirky = shapes.ws_tpsl(tp, "CREATE", acct, 20, quirks=True)
    assert (plain["side"], plain["slStopType"], plain["slOrderType"]) == (
        "SELL", "MARK_PRICE", "MARKET")
    assert (quirky["side"], quirky["slStopType"], quirky["slOrderType"]) == (
        "Sell", "Mark", "Market")
    assert plain["leverage"] == "20"
