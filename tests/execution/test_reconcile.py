"""Reconciliation and restart: the local view is corrected to the venue's, every drift
counted and audited, and a restarted bot picks up its orders and positions."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from bitunix.core.clock import ManualClock
from bitunix.execution import (
    ClientIdFactory,
    ExecutionEngine,
    ExecutionSettings,
    VenueOrder,
    VenuePosition,
)
from bitunix.model import OrderAccepted, OrderReport, OrderStatus, Side
from bitunix.sim import SimOrderRequest

from .conftest import (
    BTC,
    FAST,
    START_NS,
    MemoryJournal,
    ScriptedVenue,
    SimRig,
    buy,
    limit,
    until,
)


def _restart(old: SimRig, journal: MemoryJournal, **kw: object) -> SimRig:
    """A new bot on the same venue, restored from ``journal`` (what the store kept)."""
    new = SimRig(sim=old.sim, journal=journal, epoch_ms=2_000, **kw)  # type: ignore[arg-type]
    new.engine.restore(journal.orders.values(), journal.positions.values(),
                       journal.fills.values())
    return new


def _copy(journal: MemoryJournal) -> MemoryJournal:
    out = MemoryJournal()
    out.orders = dict(journal.orders)
    out.fills = dict(journal.fills)
    out.positions = dict(journal.positions)
    return out


async def test_restart_with_an_open_position_and_open_orders(rig: SimRig) -> None:
    entry = rig.engine.submit(buy(20, sl_ticks=597000, tp_ticks=602000))
    resting = rig.engine.submit(limit(Side.BUY, 5, 598000))
    await until(lambda: rig.engine.counters.protections == 1)
    await rig.engine.close()

    bot = _restart(rig, _copy(rig.journal))
    assert not bot.engine.ready
    assert bot.engine.portfolio.qty_steps("BTCUSDT") == 20
    report = await bot.engine.reconcile()
    assert bot.engine.ready
    assert report.drift == 0
    assert [o.client_id for o in bot.engine.open_orders()] == [resting.client_id]
    assert "BTCUSDT" in bot.engine.exits.guards
    await until(lambda: bot.engine.counters.protections == 1)  # attached again
    # the restored order fills on the new bot; a new order gets an id of the new instance
    bot.trade("BTCUSDT", "59790.0", qty="1", is_buy=False)
    assert bot.engine.order(resting.client_id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert bot.engine.portfolio.qty_steps("BTCUSDT") == 25 == bot.venue_qty("BTCUSDT")
    fresh = bot.engine.submit(buy(1))
    assert fresh.client_id != entry.client_id
    assert ClientIdFactory.epoch_of(fresh.client_id, "bx") == 2_000
    assert bot.engine.portfolio.trips.strategy_of("BTCUSDT") == "s1"
    await bot.engine.close()


async def test_restart_after_losing_the_last_writes_adopts_the_open_order(rig: SimRig) -> None:
    rig.engine.submit(buy(10))
    kept = _copy(rig.journal)  # the store's state before the crash
    lost = rig.engine.submit(limit(Side.BUY, 5, 598000))
    await rig.engine.close()

    bot = _restart(rig, kept)
    report = await bot.engine.reconcile()
    assert report.adopted == 1
    assert bot.engine.counters.adopted_orders == 1
    assert bot.engine.order(lost.client_id).status is OrderStatus.NEW  # type: ignore[union-attr]
    assert bot.journal.actions("drift")
    bot.trade("BTCUSDT", "59790.0", qty="1", is_buy=False)
    assert bot.engine.portfolio.qty_steps("BTCUSDT") == 15 == bot.venue_qty("BTCUSDT")
    await bot.engine.close()


async def test_restart_that_lost_a_fill_adopts_the_venue_size(rig: SimRig) -> None:
    rig.engine.submit(buy(10))
    kept = _copy(rig.journal)
    rig.engine.submit(buy(7))  # filled at the venue, never stored
    await rig.engine.close()

    bot = _restart(rig, kept)
    report = await bot.engine.reconcile()
    assert report.positions_corrected == 1
    assert bot.engine.portfolio.qty_steps("BTCUSDT") == 17 == bot.venue_qty("BTCUSDT")
    drift = bot.journal.actions("drift")[-1]
    assert drift.detail["local_steps"] == "10"
    assert drift.detail["venue_steps"] == "17"
    assert drift.detail["synthetic_trade_id"].startswith("drift:BTCUSDT:")
    assert bot.engine.counters.drift_corrections == 1
    await bot.engine.close()


async def test_position_changed_behind_the_bots_back_is_found_and_corrected(
        rig: SimRig) -> None:
    rig.engine.submit(buy(10))
    faults = rig.adapter.faults
    faults.drop_fills = faults.drop_positions = 1
    rig.sim.place_order(SimOrderRequest(symbol="BTCUSDT", side="SELL", order_type="MARKET",
                                        qty=Decimal("0.0004"), client_id="manual-1"))
    rig.adapter.sync()
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 10
    assert rig.venue_qty("BTCUSDT") == 6
    report = await rig.engine.reconcile()
    assert report.positions_corrected == 1
    assert report.drift == 1
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 6
    assert rig.engine.counters.drift_corrections == 1
    # found again: nothing more to correct
    assert (await rig.engine.reconcile()).drift == 0


async def test_venue_position_push_that_disagrees_triggers_reconciliation(
        rig: SimRig) -> None:
    rig.engine.submit(buy(10))
    rig.adapter.faults.drop_fills = 1
    rig.sim.place_order(SimOrderRequest(symbol="BTCUSDT", side="BUY", order_type="MARKET",
                                        qty=Decimal("0.0003"), client_id="manual-2"))
    rig.adapter.sync()  # the position push (13) arrives, its fill does not
    await until(lambda: rig.engine.portfolio.qty_steps("BTCUSDT") == 13)
    assert rig.engine.counters.drift_corrections == 1


async def test_order_the_state_machine_refuses_is_replaced_by_the_venue_state(
        rig: SimRig) -> None:
    order = rig.engine.submit(limit(Side.BUY, 5, 598000))
    kept = _copy(rig.journal)
    kept.orders[order.client_id] = msgspec.structs.replace(
        kept.orders[order.client_id], status=OrderStatus.CANCELED)  # the store is wrong
    await rig.engine.close()
    bot = _restart(rig, kept)
    report = await bot.engine.reconcile()
    assert report.orders_corrected == 1
    assert bot.engine.order(order.client_id).status is OrderStatus.NEW  # type: ignore[union-attr]
    assert bot.engine.counters.drift_corrections == 1
    await bot.engine.close()


async def test_foreign_orders_are_left_alone_and_recorded_once(rig: SimRig) -> None:
    rig.sim.place_order(SimOrderRequest(symbol="BTCUSDT", side="BUY", order_type="LIMIT",
                                        qty=Decimal("0.0005"), price=Decimal("59000")))
    rig.adapter.sync()
    first = await rig.engine.reconcile()
    second = await rig.engine.reconcile()
    assert (first.foreign, second.foreign) == (1, 0)
    assert rig.engine.counters.foreign_orders == 1
    assert len(rig.sim.account.open_orders) == 1
    assert rig.engine.open_orders() == []
    assert rig.journal.actions("foreign")[0].reason == "open order not placed by this bot"


async def test_order_filled_while_unobserved_is_completed_by_reconciliation(
        rig: SimRig) -> None:
    order = rig.engine.submit(limit(Side.BUY, 5, 598000))
    faults = rig.adapter.faults
    faults.drop_fills = faults.drop_reports = faults.drop_positions = 1
    rig.trade("BTCUSDT", "59790.0", qty="1", is_buy=False)
    assert rig.engine.order(order.client_id).status is OrderStatus.NEW  # type: ignore[union-attr]
    report = await rig.engine.reconcile()
    assert report.orders_corrected == 1
    assert report.fills_fetched == 1
    assert report.drift == 0  # late news, not a drift
    assert rig.engine.order(order.client_id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 5


async def test_local_open_order_the_venue_does_not_know_is_closed_as_a_drift() -> None:
    venue = ScriptedVenue()
    venue.on_submit = lambda o: engine.on_order_event(o.client_id, OrderAccepted(venue_id="v1"))
    journal = MemoryJournal()
    clock = ManualClock(START_NS)
    engine = ExecutionEngine(venue, journal, clock=clock, ids=ClientIdFactory("bx", 1),
                             settings=FAST, symbols=["BTCUSDT"])
    await engine.reconcile()
    order = engine.submit(limit(Side.BUY, 5, 598000))
    clock.advance_ns(1)
    report = await engine.reconcile()
    assert engine.order(order.client_id).status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert report.drift == 1
    assert journal.actions("drift")[0].reason == "open order unknown to the venue"
    await engine.close()


async def test_venue_order_report_for_a_known_order_is_applied() -> None:
    venue = ScriptedVenue()
    journal = MemoryJournal()
    clock = ManualClock(START_NS)
    engine = ExecutionEngine(venue, journal, clock=clock, ids=ClientIdFactory("bx", 1),
                             settings=FAST, symbols=["BTCUSDT"])
    await engine.reconcile()
    order = engine.submit(limit(Side.BUY, 5, 598000))
    venue.venue_open = [VenueOrder(
        client_id=order.client_id, spec=BTC, side=Side.BUY, qty_steps=5, price_ticks=598000,
        reduce_only=False,
        report=OrderReport(status=OrderStatus.NEW, filled_steps=0, ts_ns=START_NS,
                           venue_id="v7"))]
    report = await engine.reconcile()
    assert report.orders_corrected == 1
    assert report.drift == 0
    assert engine.order(order.client_id).venue_id == "v7"  # type: ignore[union-attr]
    await engine.close()


async def test_failed_background_reconciliation_is_retried() -> None:
    venue = ScriptedVenue()
    calls = 0
    original = venue.open_orders

    async def flaky(symbols: object) -> list[VenueOrder]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("network down")
        return await original(symbols)  # type: ignore[arg-type]

    venue.open_orders = flaky  # type: ignore[method-assign]
    engine = ExecutionEngine(venue, MemoryJournal(), clock=ManualClock(START_NS),
                             ids=ClientIdFactory("bx", 1), settings=FAST)
    await engine.reconcile()
    engine.on_stream(True)
    await until(lambda: engine.counters.reconciles == 2)
    assert engine.counters.reconcile_failures == 1
    venue.open_orders = flaky  # type: ignore[method-assign]
    calls = 1
    with pytest.raises(OSError, match="network down"):
        await engine.reconcile()
    await engine.close()


async def test_periodic_reconciliation_runs_on_a_timer() -> None:
    venue = ScriptedVenue()
    settings = msgspec.structs.replace(FAST, reconcile_interval_s=0.02)
    engine = ExecutionEngine(venue, MemoryJournal(), clock=ManualClock(START_NS),
                             ids=ClientIdFactory("bx", 1), settings=settings)
    await engine.reconcile()
    await until(lambda: engine.counters.reconciles >= 3)
    await engine.close()
    assert isinstance(settings, ExecutionSettings)


async def test_venue_position_without_local_one_is_adopted_at_its_entry_price() -> None:
    venue = ScriptedVenue()
    venue.venue_positions = [VenuePosition(spec=BTC, qty_steps=-8,
                                           entry_price=Decimal("61000.05"))]
    journal = MemoryJournal()
    engine = ExecutionEngine(venue, journal, clock=ManualClock(START_NS),
                             ids=ClientIdFactory("bx", 1), settings=FAST)
    report = await engine.reconcile()
    assert report.positions_corrected == 1
    pos = engine.position("BTCUSDT")
    assert pos is not None
    assert pos.lots == ((-8, 610000),)  # the venue's entry price on the tick grid
    venue.venue_positions = []
    engine.on_price("BTCUSDT", 600000, START_NS)
    await engine.reconcile()
    assert engine.portfolio.is_flat
    assert engine.portfolio.positions["BTCUSDT"].realized_value == 8 * 10000
    assert engine.counters.drift_corrections == 2
    await engine.close()
