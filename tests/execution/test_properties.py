"""Properties: any interleaving of reports and fills (reordered, duplicated) keeps the
position equal to the sum of the distinct fills; any sequence of orders with dropped pushes
ends, after reconciliation, with local state equal to the venue's and no fill lost."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitunix.core.clock import ManualClock
from bitunix.execution import ClientIdFactory, ExecutionEngine
from bitunix.model import (
    Fill,
    OrderAccepted,
    OrderIntent,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
)

from .conftest import BTC, FAST, START_NS, MemoryJournal, ScriptedVenue, SimRig

_order_plans = st.lists(
    st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 30),
              st.lists(st.integers(1, 10), max_size=5), st.booleans()),
    min_size=1, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_order_plans, st.randoms(use_true_random=False))
def test_any_interleaving_keeps_position_equal_to_the_distinct_fills(
        plans: list[tuple[Side, int, list[int], bool]], rnd: object) -> None:
    loop = asyncio.new_event_loop()
    try:
        venue = ScriptedVenue()
        journal = MemoryJournal()
        engine = ExecutionEngine(venue, journal, clock=ManualClock(START_NS),
                                 ids=ClientIdFactory("bx", 1), settings=FAST, loop=loop)
        loop.run_until_complete(engine.reconcile())
        events: list[tuple[str, object]] = []
        expected = 0
        finals: dict[str, tuple[OrderStatus, int]] = {}
        for n, (side, qty, chunks, cancel_rest) in enumerate(plans):
            order = engine.submit(OrderIntent(spec=BTC, side=side, qty_steps=qty,
                                              order_type=OrderType.LIMIT, price_ticks=600000))
            cid = order.client_id
            events.append(("event", (cid, OrderAccepted(venue_id=f"v{n}"))))
            filled = 0
            for k, wanted in enumerate(chunks):
                chunk = min(wanted, qty - filled)
                if chunk <= 0:
                    break
                filled += chunk
                events.append(("fill", Fill(
                    trade_id=f"{n}-{k}", client_id=cid, venue_order_id=f"v{n}", spec=BTC,
                    side=side, qty_steps=chunk, price_ticks=600000 + k, fee=Decimal("0.01"),
                    ts_ns=START_NS + k)))
                status = OrderStatus.FILLED if filled == qty else OrderStatus.PART_FILLED
                events.append(("event", (cid, OrderReport(status=status, filled_steps=filled,
                                                          ts_ns=START_NS + k,
                                                          venue_id=f"v{n}"))))
            if filled < qty:
                final = (OrderStatus.PART_FILLED_CANCELED if filled else OrderStatus.CANCELED)
                if cancel_rest:
                    events.append(("event", (cid, OrderReport(
                        status=OrderStatus.CANCELED, filled_steps=filled, ts_ns=START_NS + 99,
                        venue_id=f"v{n}"))))
                    finals[cid] = (final, filled)
                else:
                    finals[cid] = (OrderStatus.PART_FILLED if filled else OrderStatus.NEW,
                                   filled)
            else:
                finals[cid] = (OrderStatus.FILLED, filled)
            expected += side.sign * filled
        rng = rnd  # a seeded random.Random from hypothesis
        duplicated = [e for e in events if rng.random() < 0.3]  # type: ignore[attr-defined]
        stream = events + duplicated
        rng.shuffle(stream)  # type: ignore[attr-defined]
        for kind, payload in stream:
            if kind == "fill":
                engine.on_fill(payload)  # type: ignore[arg-type]
            else:
                cid, event = payload  # type: ignore[misc]
                engine.on_order_event(cid, event)
        assert engine.portfolio.qty_steps("BTCUSDT") == expected
        assert len(journal.fills) == sum(1 for k, _ in events if k == "fill")
        for cid, (status, filled) in finals.items():
            order = engine.order(cid)
            assert order is not None
            assert (order.status, order.filled_steps) == (status, filled)
            assert engine.booked_steps(cid) == filled
        loop.run_until_complete(engine.close())
    finally:
        loop.close()


_ops = st.lists(st.tuples(
    st.sampled_from(["market", "limit", "trade", "close"]),
    st.sampled_from(["BTCUSDT", "ETHUSDT"]),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(1, 6),
    st.sampled_from(["", "drop_fills", "drop_reports", "drop_positions", "lose_submits",
                     "refuse_submits"])), min_size=1, max_size=25)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ops)
def test_after_reconciliation_local_state_equals_the_venue(
        ops: list[tuple[str, str, Side, int, str]]) -> None:
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(_drive(ops))
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def _drive(ops: list[tuple[str, str, Side, int, str]]) -> None:
    rig = SimRig()
    engine = rig.engine
    await engine.reconcile()
    mids = {"BTCUSDT": 600000, "ETHUSDT": 300000}
    for kind, symbol, side, size, fault in ops:
        spec = rig.adapter.contracts[symbol]
        if fault:
            setattr(rig.adapter.faults, fault, getattr(rig.adapter.faults, fault) + 1)
        qty = spec.min_order_steps * size
        if kind == "market":
            engine.submit(OrderIntent(spec=spec, side=side, qty_steps=qty))
        elif kind == "limit":
            price = mids[symbol] - side.sign * size
            engine.submit(OrderIntent(spec=spec, side=side, qty_steps=qty,
                                      order_type=OrderType.LIMIT, price_ticks=price))
        elif kind == "trade":
            price = spec.format_price(mids[symbol] - side.sign * 7)
            rig.trade(symbol, price, qty="3", is_buy=side is Side.BUY)
        elif engine.portfolio.qty_steps(symbol):
            engine.exits.close_position(symbol, "test", rig.sim.clock.now_ns())
        await asyncio.sleep(0)
    faults = rig.adapter.faults
    faults.refuse_submits = faults.lose_submits = 0
    await engine.cancel_all()
    await engine.reconcile()
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert engine.portfolio.qty_steps(symbol) == rig.venue_qty(symbol)
    assert set(rig.journal.fills) == {f.trade_id for f in rig.sim.account.fills}
    assert engine.counters.drift_corrections == 0
    assert engine.counters.task_errors == 0
    await engine.close()

