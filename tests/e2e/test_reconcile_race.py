"""Reconciliation while orders are in flight, against the live adapter.

Bitunix pushes no fills: the adapter reads them by REST after an order push, so a position
read can run ahead of the fills booked locally. An order sent while a reconciliation is
comparing positions (its fill in the venue's position, not yet in the books) must not be
taken for a drift and patched with a synthetic fill (which the real fill would then double,
and a second correction undo at another price)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

from bitunix.execution import VenuePosition
from bitunix.model import Order, OrderReport, OrderStatus
from bitunix.sim.engine import SimOrderRequest

from .conftest import KEY, Session, until


async def test_an_order_sent_during_reconciliation_is_not_a_drift() -> None:
    s = await Session.open(seed=3)
    try:
        first = s.entry("ETHUSDT")
        assert first is not None
        await s.settle()
        s.sim.faults.silent = True  # from here only REST tells
        # A trade the bot did not make: a real drift of +3 steps.
        s.sim.engine.place_order(KEY, SimOrderRequest(symbol="ETHUSDT", side="BUY",
                                                      order_type="MARKET", qty=Decimal("0.003")))
        late: list[Order] = []
        reads = 0
        real_positions, real_query = s.venue.positions, s.venue.query_order

        async def positions(symbols: Sequence[str]) -> list[VenuePosition]:
            nonlocal reads
            reads += 1
            return await real_positions(symbols)

        async def query(order: Order) -> OrderReport | None:
            state = await real_query(order)
            if reads == 1 and not late:  # re-reading the symbol's orders after a mismatch
                sent = s.entry("ETHUSDT")
                assert sent is not None
                late.append(sent)
                await until(lambda: s.engine.order(sent.client_id).status  # type: ignore[union-attr]
                            is OrderStatus.NEW, 3.0, lambda: "the late order not acknowledged")
            return state

        s.venue.positions = positions  # type: ignore[method-assign]
        s.venue.query_order = query  # type: ignore[method-assign]
        await s.engine.reconcile()
        s.venue.positions, s.venue.query_order = real_positions, real_query  # type: ignore[method-assign]
        assert late, "the order was not sent during the reconciliation"
        s.sim.faults.silent = False
        held = s.engine.order

        def settled() -> bool:
            order = held(late[0].client_id)
            return (order is not None and order.status is OrderStatus.FILLED
                    and s.engine.booked_steps(order.client_id) == order.qty_steps
                    and s.engine.portfolio.qty_steps("ETHUSDT") == s.venue_qty("ETHUSDT"))

        await until(settled, 10.0, lambda: "the late order or the position did not settle")
        # Only the foreign trade was adopted, once; the late order's own fill is booked.
        synthetic = [f for t, f in s.journal.fills.items() if t.startswith("drift:")]
        assert [f.signed_steps for f in synthetic] == [3]
        late_order = s.engine.order(late[0].client_id)
        assert late_order is not None
        assert late_order.status is OrderStatus.FILLED
        assert s.engine.booked_steps(late_order.client_id) == late_order.qty_steps
        assert s.engine.portfolio.qty_steps("ETHUSDT") == s.venue_qty("ETHUSDT")
    finally:
        await s.close()


async def test_a_check_put_off_does_not_outlive_the_engine() -> None:
    """A reconciliation put off for later (an order in flight) is dropped when the engine
    closes: nothing reads the venue after ``close``."""
    s = await Session.open(seed=3)
    try:
        first = s.entry("ETHUSDT")  # something of the symbol to re-read
        assert first is not None
        await s.settle()
        s.sim.faults.silent = True
        s.sim.engine.place_order(KEY, SimOrderRequest(symbol="ETHUSDT", side="BUY",
                                                      order_type="MARKET", qty=Decimal("0.003")))
        reads = 0
        real_positions, real_query = s.venue.positions, s.venue.query_order
        sent: list[Order] = []

        async def positions(symbols: Sequence[str]) -> list[VenuePosition]:
            nonlocal reads
            reads += 1
            return await real_positions(symbols)

        async def query(order: Order) -> OrderReport | None:
            if reads == 1 and not sent:
                late = s.entry("ETHUSDT")
                assert late is not None
                sent.append(late)
            return await real_query(order)

        s.venue.positions = positions  # type: ignore[method-assign]
        s.venue.query_order = query  # type: ignore[method-assign]
        await s.engine.reconcile()
        assert sent
        assert s.engine.counters.drift_corrections == 0  # put off
        await s.engine.close()
        calls = s.venue.rest.requests
        await asyncio.sleep(3 * s.engine.settings.backoff(2))
        assert s.venue.rest.requests == calls
    finally:
        await s.venue.close()
        await s.sim.stop()
