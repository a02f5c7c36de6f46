"""Taker slippage, and the fee and funding settings of the engine and the in-process venue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.core.clock import ManualClock
from bitunix.data import BookEvent, TradeEvent
from bitunix.sim.engine import HOUR_NS, FeeSchedule, MatchingEngine, SimOrderRequest
from bitunix.sim.venue import InProcessVenue

from .conftest import START_NS, set_book

D = Decimal


def engine(**kw: object) -> MatchingEngine:
    eng = MatchingEngine(ManualClock(START_NS), **kw)  # type: ignore[arg-type]
    eng.add_account("u", D("100000"))
    set_book(eng)  # bids 59999.9 ..., asks 60000.0 60000.1 ..., 1 BTC each
    return eng


def market(side: str, qty: str = "1.5", price: str | None = None) -> SimOrderRequest:
    return SimOrderRequest(symbol="BTCUSDT", side=side, order_type="LIMIT" if price else "MARKET",
                           qty=D(qty), price=D(price) if price else None)


def test_no_slippage_by_default() -> None:
    a, b = engine(), engine(slippage_ticks=0)
    for eng in (a, b):
        eng.place_order("u", market("BUY"))
    assert [(f.qty, f.price) for f in a.accounts["u"].fills] == [
        (D("1"), D("60000.0")), (D("0.5"), D("60000.1"))]
    assert a.accounts["u"] == b.accounts["u"]


def test_taker_fills_move_the_ticks_against_the_taker_exactly() -> None:
    eng = engine(slippage_ticks=3)
    eng.place_order("u", market("BUY"))
    fills = eng.accounts["u"].fills
    assert [f.price for f in fills] == [D("60000.3"), D("60000.4")]
    assert fills[0].fee == D("1") * D("60000.3") * D("0.0006")
    eng.place_order("u", market("SELL", qty="1.5"))
    assert [f.price for f in fills[2:]] == [D("59999.6"), D("59999.5")]
    assert all(f.role == "TAKER" for f in fills)


def test_a_limit_taker_never_trades_beyond_its_limit() -> None:
    eng = engine(slippage_ticks=5)
    eng.place_order("u", market("BUY", qty="1.5", price="60000.2"))
    assert [f.price for f in eng.accounts["u"].fills] == [D("60000.2"), D("60000.2")]


def test_maker_fills_do_not_slip() -> None:
    eng = engine(slippage_ticks=4)
    order = eng.place_order("u", market("BUY", qty="0.5", price="59990"))
    assert order.status == "NEW"
    eng.on_trade("BTCUSDT", D("59989.9"), D("1"), False)
    (fill,) = eng.accounts["u"].fills
    assert (fill.role, fill.price) == ("MAKER", D("59990"))


def test_slippage_never_goes_below_one_tick() -> None:
    eng = MatchingEngine(ManualClock(START_NS), slippage_ticks=10)
    eng.add_account("u", D("1000"))
    eng.on_book("BTCUSDT", [[D("0.3"), D("5")]], [[D("0.4"), D("5")]])
    eng.place_order("u", market("BUY", qty="1"))
    eng.place_order("u", market("SELL", qty="1"))
    assert eng.accounts["u"].fills[-1].price == D("0.1")


def test_negative_slippage_is_refused() -> None:
    with pytest.raises(ValueError, match="slippage_ticks"):
        MatchingEngine(ManualClock(0), slippage_ticks=-1)


def events() -> list[BookEvent | TradeEvent]:
    out: list[BookEvent | TradeEvent] = []
    for i in range(6):
        ts = START_NS + i * 2 * HOUR_NS
        out.append(BookEvent(ts_ns=ts, symbol="BTCUSDT", bids=[("59999.9", "5")],
                             asks=[("60000.0", "5")]))
    return out


def test_the_venue_passes_fees_funding_and_slippage_to_its_engine() -> None:
    data = events()
    venue = InProcessVenue(lambda: iter(data), fees=FeeSchedule(D("0.0001"), D("0.001")),
                           funding_rate_pct=D("0.05"), funding_interval_h=4, slippage_ticks=2,
                           start_ns=START_NS)
    assert venue.engine.funding_interval_ns == 4 * HOUR_NS
    venue.step(1)
    venue.place_order(market("BUY", qty="1"))
    (fill,) = venue.account.fills
    assert fill.price == D("60000.2")
    assert fill.fee == D("60000.2") * D("0.001")
    venue.step(10)
    funding = [e.amount for e in venue.account.ledger if e.kind == "funding"]
    mark = (D("59999.9") + D("60000.0")) / 2
    # 10 h of market time from a start inside an interval: settlements every 4 h.
    assert len(funding) == len({ts for ts, *_ in venue.engine.funding_history}) >= 2
    assert funding[0] == -(D("1") * mark * D("0.0005"))


def test_the_venue_keeps_no_ticker_figures_unless_asked() -> None:
    data = [*events(), TradeEvent(ts_ns=START_NS + 13 * HOUR_NS, symbol="BTCUSDT",
                                  price="60000.5", qty="0.25", is_buy=True)]
    quiet = InProcessVenue(lambda: iter(data), start_ns=START_NS)
    full = InProcessVenue(lambda: iter(data), start_ns=START_NS, market_stats=True)
    for venue in (quiet, full):
        venue.step(100)
        assert venue.engine.markets["BTCUSDT"].last == D("60000.5")
    assert quiet.engine.markets["BTCUSDT"].high_24h is None
    assert quiet.playback.trades["BTCUSDT"].current(60) is None
    assert full.engine.markets["BTCUSDT"].quote_volume == D("15000.125")
    candle = full.playback.trades["BTCUSDT"].current(60)
    assert candle is not None
    assert candle.close == D("60000.5")
