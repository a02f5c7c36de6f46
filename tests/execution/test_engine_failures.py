"""Failures of the background reads: counted, retried, and surfaced when they are bugs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bitunix.core.clock import ManualClock
from bitunix.core.errors import BitunixError
from bitunix.execution import ClientIdFactory, ExecutionEngine
from bitunix.model import Order, OrderAccepted, OrderReport, OrderStatus, Side

from .conftest import (
    FAST,
    START_NS,
    MemoryJournal,
    ScriptedVenue,
    buy,
    fill_of,
    limit,
    until,
)


@pytest.fixture
async def parts() -> AsyncIterator[tuple[ExecutionEngine, ScriptedVenue, MemoryJournal]]:
    venue = ScriptedVenue()
    journal = MemoryJournal()
    engine = ExecutionEngine(venue, journal, clock=ManualClock(START_NS),
                             ids=ClientIdFactory("bx", 1), settings=FAST, symbols=["BTCUSDT"])
    await engine.reconcile()
    yield engine, venue, journal
    await engine.close()


def _accepting(engine: ExecutionEngine, venue: ScriptedVenue) -> None:
    venue.on_submit = lambda o: engine.on_order_event(o.client_id, OrderAccepted(venue_id="v"))


async def test_failed_confirmations_are_counted_and_tried_again(
        parts: tuple[ExecutionEngine, ScriptedVenue, MemoryJournal]) -> None:
    engine, venue, _ = parts
    _accepting(engine, venue)
    order = engine.submit(limit(Side.BUY, 5, 590000))
    venue.query_errors = 1
    venue.reports[order.client_id] = OrderReport(status=OrderStatus.CANCELED, filled_steps=0,
                                                 ts_ns=START_NS)
    await until(lambda: engine.order(order.client_id).status is OrderStatus.CANCELED)  # type: ignore[union-attr]
    assert engine.counters.lookup_failures == 1
    assert engine.counters.confirmations == 1


async def test_failed_fill_reads_are_retried(
        parts: tuple[ExecutionEngine, ScriptedVenue, MemoryJournal]) -> None:
    engine, venue, _ = parts
    _accepting(engine, venue)
    order = engine.submit(buy(10))
    calls = 0
    original = venue.fills

    async def flaky(o: Order) -> list[object]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("reset")
        return await original(o)  # type: ignore[return-value]

    venue.fills = flaky  # type: ignore[method-assign, assignment]
    venue.venue_fills[order.client_id] = [fill_of(engine.order(order.client_id), "t1", 10,  # type: ignore[arg-type]
                                                  600000)]
    engine.on_order_event(order.client_id, OrderReport(status=OrderStatus.FILLED,
                                                       filled_steps=10, ts_ns=START_NS))
    await until(lambda: engine.portfolio.qty_steps("BTCUSDT") == 10)
    assert calls == 2
    assert engine.counters.lookup_failures == 1
    assert engine.open_orders() == []


async def test_fills_of_an_order_without_venue_id_are_read_after_a_lookup(
        parts: tuple[ExecutionEngine, ScriptedVenue, MemoryJournal]) -> None:
    engine, venue, _ = parts
    order = engine.submit(buy(10))
    engine.on_order_event(order.client_id, OrderReport(status=OrderStatus.FILLED,
                                                       filled_steps=10, ts_ns=START_NS))
    venue.reports[order.client_id] = OrderReport(status=OrderStatus.FILLED, filled_steps=10,
                                                 ts_ns=START_NS, venue_id="v5")
    venue.venue_fills[order.client_id] = [fill_of(order, "t1", 10, 600000)]
    await until(lambda: engine.portfolio.qty_steps("BTCUSDT") == 10)
    assert engine.order(order.client_id).venue_id == "v5"  # type: ignore[union-attr]


async def test_a_bug_in_a_venue_read_is_surfaced_not_retried(
        parts: tuple[ExecutionEngine, ScriptedVenue, MemoryJournal]) -> None:
    engine, venue, _ = parts

    async def broken(order: Order) -> OrderReport | None:
        raise TypeError("adapter bug")

    venue.query_order = broken  # type: ignore[method-assign]
    engine.submit(buy(10))
    await until(lambda: engine.counters.task_errors == 1)
    assert "adapter bug" in engine.errors[0]
    assert engine.summary()["errors"] == engine.errors


async def test_a_cancel_the_adapter_refuses_at_once_is_recorded(
        parts: tuple[ExecutionEngine, ScriptedVenue, MemoryJournal]) -> None:
    engine, venue, _ = parts
    _accepting(engine, venue)

    def refuse(order: Order) -> None:
        raise BitunixError("no connection")

    venue.on_cancel = refuse
    order = engine.submit(limit(Side.BUY, 5, 590000))
    assert engine.cancel(order.client_id, "test")
    assert engine.errors == [f"cancel {order.client_id}: no connection"]
    assert not engine.cancel("unknown")


async def test_restored_order_with_missing_fills_has_them_fetched() -> None:
    venue = ScriptedVenue()
    journal = MemoryJournal()
    done = Order.from_intent(buy(10), "bx1-1", START_NS)
    import msgspec

    done = msgspec.structs.replace(done, status=OrderStatus.FILLED, filled_steps=10,
                                   venue_id="v1")
    venue.venue_fills["bx1-1"] = [fill_of(done, "t1", 10, 600000)]
    engine = ExecutionEngine(venue, journal, clock=ManualClock(START_NS),
                             ids=ClientIdFactory("bx", 2), settings=FAST)
    engine.restore([done], [], [])
    await until(lambda: engine.portfolio.qty_steps("BTCUSDT") == 10)
    assert venue.fill_reads == ["bx1-1"]
    await engine.close()
