"""The order manager on the in-process simulator: the happy paths and the venue's faults."""

from __future__ import annotations

from bitunix.model import OrderStatus, Side

from .conftest import BTC, D, SimRig, buy, limit, until


async def test_market_entry_fills_at_once_and_books_the_position(rig: SimRig) -> None:
    order = rig.engine.submit(buy(10))
    assert order.status is OrderStatus.FILLED
    assert order.venue_id is not None
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 10 == rig.venue_qty("BTCUSDT")
    assert rig.feedback.filled == [("BTCUSDT", "s1", 60000.0)]
    assert rig.journal.orders[order.client_id].status is OrderStatus.FILLED
    assert len(rig.journal.fills) == 1
    assert rig.engine.open_orders() == []
    assert rig.engine.counters.orders == 1
    assert rig.engine.counters.fills == 1


async def test_round_trip_pnl_equals_the_wallet_change_exactly(rig: SimRig) -> None:
    rig.engine.submit(buy(25))
    rig.book("BTCUSDT", "60123.4")
    rig.engine.submit(buy(25).__class__(spec=BTC, side=Side.SELL, qty_steps=25,
                                        reduce_only=True, strategy="s1", reason="exit:target"))
    assert rig.engine.portfolio.is_flat
    pnl = rig.engine.portfolio.net_realized()
    assert pnl == rig.sim.account.wallet - rig.start_wallet
    assert len(rig.feedback.closed) == 1
    trip = rig.feedback.closed[0]
    assert trip.reason == "target"
    assert trip.strategy == "s1"
    assert trip.net_pnl == pnl


async def test_resting_limit_entry_filled_by_a_later_trade(rig: SimRig) -> None:
    order = rig.engine.submit(limit(Side.BUY, 10, 599000))
    assert order.status is OrderStatus.NEW
    rig.trade("BTCUSDT", "59890.0", qty="1", is_buy=False)
    assert rig.engine.order(order.client_id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 10


async def test_partial_fill_then_cancel_after_the_entry_timeout(rig: SimRig) -> None:
    order = rig.engine.submit(limit(Side.BUY, 30, 599000))
    rig.trade("BTCUSDT", "59890.0", qty="0.001", is_buy=False)
    assert rig.engine.order(order.client_id).status is OrderStatus.PART_FILLED  # type: ignore[union-attr]
    await until(lambda: not rig.engine.order(order.client_id).is_open)  # type: ignore[union-attr]
    final = rig.engine.order(order.client_id)
    assert final is not None
    assert final.status is OrderStatus.PART_FILLED_CANCELED
    assert rig.engine.counters.entry_timeouts == 1
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 10 == rig.venue_qty("BTCUSDT")
    assert D(0) < rig.engine.portfolio.positions["BTCUSDT"].qty


async def test_timed_out_but_filled_is_found_by_lookup_and_its_fills_fetched(rig: SimRig) -> None:
    rig.adapter.faults.lose_submits = 1
    order = rig.engine.submit(buy(10))
    assert order.status is OrderStatus.INIT
    assert rig.venue_qty("BTCUSDT") == 10
    await until(lambda: rig.engine.portfolio.qty_steps("BTCUSDT") == 10)
    assert rig.engine.order(order.client_id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert rig.engine.counters.lookups >= 1
    assert rig.engine.counters.gap_fetches == 1
    assert rig.engine.counters.drift_corrections == 0
    assert rig.engine.counters.resends == 0
    assert len(rig.sim.account.orders) == 1  # no duplicate order


async def test_rate_limited_submit_is_resent_with_the_same_client_id(rig: SimRig) -> None:
    rig.adapter.faults.refuse_submits = 2
    order = rig.engine.submit(buy(10))
    assert order.status is OrderStatus.INIT
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.FILLED)  # type: ignore[union-attr]
    assert rig.engine.counters.resends == 2
    assert [o.client_id for o in rig.sim.account.orders.values()] == [order.client_id]


async def test_rate_limited_beyond_the_attempts_is_rejected(rig: SimRig) -> None:
    rig.adapter.faults.refuse_submits = 5
    order = rig.engine.submit(buy(10))
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.REJECTED)  # type: ignore[union-attr]
    assert "not placed after 3 attempts" in rig.engine.order(order.client_id).reject_reason  # type: ignore[union-attr]
    assert rig.sim.account.orders == {}
    assert rig.feedback.rejected
    assert rig.feedback.rejected[0][0] == "BTCUSDT"


async def test_venue_refusal_is_a_rejection_with_its_code(rig: SimRig) -> None:
    order = rig.engine.submit(buy(10**7))  # far beyond the balance
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason.startswith("[20003]") or order.reject_reason.startswith("[30013]")
    assert rig.engine.counters.rejects == 1
    assert rig.feedback.rejected[0][2] == order.reject_reason


async def test_dropped_fills_are_fetched(rig: SimRig) -> None:
    rig.adapter.faults.drop_fills = 1
    rig.adapter.faults.drop_positions = 1  # or the position check finds it first
    order = rig.engine.submit(buy(10))
    assert order.status is OrderStatus.FILLED
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 0
    await until(lambda: rig.engine.portfolio.qty_steps("BTCUSDT") == 10)
    assert rig.engine.counters.gap_fetches == 1
    assert rig.engine.counters.drift_corrections == 0
