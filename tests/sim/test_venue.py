"""The in-process venue of backtests: same engine, clock following the events."""

from __future__ import annotations

from decimal import Decimal
from itertools import islice

import pytest

from bitunix.data import TradeEvent
from bitunix.sim.engine import SimOrderRequest
from bitunix.sim.errors import SimError
from bitunix.sim.venue import InProcessVenue

from .conftest import flat_market

D = Decimal


def test_trades_on_the_bundled_capture_conserve_value() -> None:
    venue = InProcessVenue(balance=D("1000"))
    pushes: list[str] = []
    venue.on_push(lambda uid, ch, data: pushes.append(ch))
    for seen, event in enumerate(islice(venue.events(), 3000), 1):
        if seen == 500:
            venue.place_order(SimOrderRequest(symbol="BTCUSDT", side="BUY", order_type="MARKET",
                                              qty=D("0.01")))
        if seen == 2500:
            venue.place_order(SimOrderRequest(symbol="BTCUSDT", side="SELL", order_type="MARKET",
                                              qty=D("0.01"), reduce_only=True))
        assert venue.clock.now_ns() >= event.ts_ns
    acct = venue.account
    assert acct.positions == {}
    assert len(acct.fills) >= 2
    cash = sum((f.qty * f.price * (1 if f.side == "SELL" else -1) for f in acct.fills), D(0))
    fees = sum((f.fee for f in acct.fills), D(0))
    assert acct.wallet - D("1000") == cash - fees
    assert venue.equity() == acct.wallet
    assert {"order", "position", "balance"} <= set(pushes)


def test_run_until_resting_order_and_cancel() -> None:
    events = flat_market(n_books=5)
    venue = InProcessVenue(lambda: iter(events))
    assert venue.run_until(events[2].ts_ns) == 3
    order = venue.place_order(SimOrderRequest(symbol="BTCUSDT", side="BUY", order_type="LIMIT",
                                              qty=D("0.1"), price=D("59000")))
    venue.engine.on_trade("BTCUSDT", D("60000"), D("1"), False)
    assert venue.cancel_order(order.order_id).status == "CANCELED"
    with pytest.raises(SimError):
        venue.cancel_order(order.order_id)
    assert venue.step(100) == 3
    assert isinstance(events[-1], TradeEvent)
    assert list(venue.events()) == []


def test_events_yields_applied_events_only_and_buffers_nothing() -> None:
    events = flat_market(n_books=3)
    foreign = TradeEvent(ts_ns=events[0].ts_ns, symbol="XYZUSDT", price="1", qty="1",
                         is_buy=True)
    data = [events[0], foreign, *events[1:]]
    venue = InProcessVenue(lambda: iter(data))
    seen = list(venue.events())
    assert seen == events
    assert venue.playback.applied == len(events)
    assert venue.playback.on_event is None  # a run applying events itself keeps none
