"""Exits on the in-process simulator: exchange stop/target, the bot's trailing stop, time."""

from __future__ import annotations

import pytest

from bitunix.execution import ExitPlan
from bitunix.model import Order, OrderIntent, Side

from .conftest import BTC, SimRig, buy, until


def _tpsl(rig: SimRig) -> tuple[object, object] | None:
    for tp in rig.sim.account.tpsl.values():
        if tp.kind == "POSITION_TPSL":
            return tp.tp_price, tp.sl_price
    return None


def test_exit_plan_travels_from_intent_to_order() -> None:
    intent = buy(10, sl_ticks=599000, tp_ticks=601000, trail_distance_ticks=30,
                 trail_arm_ticks=20, max_hold_ns=5)
    plan = ExitPlan.from_order(Order.from_intent(intent, "bx1-1", 0))
    assert plan == ExitPlan(stop_ticks=599000, target_ticks=601000, trail_distance_ticks=30,
                            trail_arm_ticks=20, max_hold_ns=5)
    assert plan.protects
    assert not ExitPlan(trail_distance_ticks=3).protects
    with pytest.raises(ValueError, match="exit distances"):
        OrderIntent(spec=BTC, side=Side.BUY, qty_steps=1, max_hold_ns=-1)


async def test_stop_and_target_are_attached_once_the_entry_fills(rig: SimRig) -> None:
    rig.engine.submit(buy(10, sl_ticks=599000, tp_ticks=601000))
    await until(lambda: rig.engine.counters.protections == 1)
    assert _tpsl(rig) == (BTC.tick_size * 601000, BTC.tick_size * 599000)
    assert rig.journal.actions("protect")


async def test_exchange_stop_closes_and_the_trip_says_stop(rig: SimRig) -> None:
    rig.engine.submit(buy(10, sl_ticks=599000, tp_ticks=601000))
    await until(lambda: rig.engine.counters.protections == 1)
    rig.book("BTCUSDT", "59880")
    rig.trade("BTCUSDT", "59890.0", is_buy=False)  # last price through the stop
    assert rig.venue_qty("BTCUSDT") == 0
    assert rig.engine.portfolio.is_flat
    assert [t.reason for t in rig.feedback.closed] == ["stop"]
    assert rig.engine.portfolio.net_realized() == rig.sim.account.wallet - rig.start_wallet
    assert rig.engine.exits.guards == {}


async def test_exchange_target_closes_and_the_trip_says_target(rig: SimRig) -> None:
    rig.engine.submit(buy(10, sl_ticks=599000, tp_ticks=601000))
    await until(lambda: rig.engine.counters.protections == 1)
    rig.book("BTCUSDT", "60110")
    rig.trade("BTCUSDT", "60100.0")
    assert rig.engine.portfolio.is_flat
    assert [t.reason for t in rig.feedback.closed] == ["target"]


async def test_trailing_stop_moves_only_tighter_and_a_burst_is_one_modify(rig: SimRig) -> None:
    rig.engine.submit(buy(10, sl_ticks=599000, trail_distance_ticks=50, trail_arm_ticks=20))
    await until(lambda: rig.engine.counters.protections == 1)
    rig.book("BTCUSDT", "60001")  # +10 ticks: not armed yet
    assert rig.engine.exits.guards["BTCUSDT"].pending_stop is None
    for mid in ("60003", "60005", "60008", "60010"):  # a burst within the debounce
        rig.book("BTCUSDT", mid)
    await until(lambda: rig.engine.counters.trail_moves == 1)
    assert _tpsl(rig) == (None, BTC.tick_size * 600050)
    rig.book("BTCUSDT", "60008")  # back down a little: never looser
    rig.book("BTCUSDT", "60006")
    await until(lambda: not rig.engine.exits.guards["BTCUSDT"].busy)
    assert rig.engine.counters.trail_moves == 1
    assert rig.engine.exits.guards["BTCUSDT"].stop == 600050
    entry = next(o for o in rig.journal.orders.values() if not o.reduce_only)
    assert entry.sl_ticks == 600050  # kept for a restart
    rig.book("BTCUSDT", "60004")  # through the trail: the bot closes at once
    assert rig.engine.portfolio.is_flat
    assert [t.reason for t in rig.feedback.closed] == ["trailing"]


async def test_time_exit_after_max_hold_of_market_time(rig: SimRig) -> None:
    rig.engine.submit(buy(10, max_hold_ns=4_500_000))
    for _ in range(4):
        rig.book("BTCUSDT", "60000")
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 10
    rig.book("BTCUSDT", "60000")
    assert rig.engine.portfolio.is_flat
    assert [t.reason for t in rig.feedback.closed] == ["time"]
    assert rig.engine.counters.exits == 1


async def test_position_that_cannot_be_protected_is_closed(rig: SimRig) -> None:
    rig.adapter.faults.fail_protection = 3
    rig.engine.submit(buy(10, sl_ticks=599000))
    await until(lambda: rig.engine.portfolio.is_flat)
    assert rig.engine.counters.protection_failures == 1
    assert len(rig.journal.actions("protect-error")) == 3
    assert rig.journal.actions("protect-failed")
    assert [t.reason for t in rig.feedback.closed] == ["unprotected"]
    assert rig.venue_qty("BTCUSDT") == 0


async def test_protection_succeeds_after_a_retry(rig: SimRig) -> None:
    rig.adapter.faults.fail_protection = 1
    rig.engine.submit(buy(10, sl_ticks=599000))
    await until(lambda: rig.engine.counters.protections == 1)
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 10
    assert rig.engine.counters.protection_failures == 0


async def test_exit_refused_by_the_venue_is_retried_later(rig: SimRig) -> None:
    rig.engine.submit(buy(10, max_hold_ns=1_000_000))
    rig.adapter.faults.refuse_submits = 5  # the exit is rate limited past its attempts
    rig.book("BTCUSDT", "60000")
    await until(lambda: rig.engine.counters.rejects == 1)
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 10
    guard = rig.engine.exits.guards["BTCUSDT"]
    assert guard.retry_reason == "time"
    rig.adapter.faults.refuse_submits = 0
    rig.book("BTCUSDT", "60000")  # before exit_retry_s of market time: waits
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 10
    rig.sim.clock.advance_ns(600_000_000)
    rig.book("BTCUSDT", "60000")
    assert rig.engine.portfolio.is_flat
    assert [t.reason for t in rig.feedback.closed] == ["time"]


async def test_short_position_trails_downwards(rig: SimRig) -> None:
    rig.engine.submit(OrderIntent(spec=BTC, side=Side.SELL, qty_steps=10, strategy="s2",
                                  reason="enter", trail_distance_ticks=40))
    rig.book("BTCUSDT", "59990")
    await until(lambda: rig.engine.counters.trail_moves == 1)
    assert rig.engine.exits.guards["BTCUSDT"].stop == 599940
    rig.book("BTCUSDT", "59995")  # the ask at 59995.0 is through the trail at 59994.0
    assert rig.engine.portfolio.is_flat
    trip = rig.feedback.closed[0]
    assert (trip.direction, trip.reason, trip.strategy) == (-1, "trailing", "s2")
