"""Whole sessions on the in-process simulator: PnL equals the wallet change exactly (fees
and funding included), flatten, and many symbols with bursts of orders and dropped pushes
without a lost or duplicated update."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from bitunix.execution import ExecutionEngine
from bitunix.execution.flatten import MAX_CLOSES_PER_SYMBOL
from bitunix.model import OrderIntent, OrderType, Side
from bitunix.sim.contracts import bundled_contracts
from bitunix.sim.venue import InProcessVenue

from .conftest import (
    BTC,
    ETH,
    START_NS,
    ScriptedVenue,
    SimRig,
    buy,
    limit,
    set_book,
    until,
)

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT", "LTCUSDT",
           "LINKUSDT"]


async def test_session_pnl_with_funding_equals_the_wallet_change(rig: SimRig) -> None:
    rig.engine.submit(buy(30))
    rig.engine.submit(OrderIntent(spec=ETH, side=Side.SELL, qty_steps=40, strategy="s2",
                                  reason="enter"))
    rig.book("BTCUSDT", "60050")
    rig.sim.engine.settle_funding()  # longs pay, shorts receive
    rig.adapter.sync()
    assert rig.engine.portfolio.funding() != 0
    rig.book("ETHUSDT", "2990")
    rig.sim.engine.settle_funding()
    rig.adapter.sync()
    report = await rig.engine.flatten(timeout_s=2.0)
    assert report.flat
    pf = rig.engine.portfolio
    assert pf.net_realized() == rig.sim.account.wallet - rig.start_wallet
    assert sum((t.net_pnl for t in rig.feedback.closed), Decimal(0)) == pf.net_realized()
    assert sum((t.funding for t in rig.feedback.closed), Decimal(0)) == pf.funding()
    assert {t.reason for t in rig.feedback.closed} == {"flatten"}
    assert rig.engine.portfolio.day_pnl() == pf.net_realized()


async def test_flatten_cancels_and_closes_everything(rig: SimRig) -> None:
    rig.engine.submit(buy(10))
    rig.engine.submit(OrderIntent(spec=ETH, side=Side.SELL, qty_steps=9, strategy="s2"))
    resting = rig.engine.submit(limit(Side.BUY, 5, 590000))
    report = await rig.engine.flatten(timeout_s=2.0)
    assert report.flat
    assert report.cancelled == 1
    assert report.closes == 2
    assert report.remaining == {}
    assert rig.sim.account.open_orders == {}
    assert rig.sim.account.positions == {}
    assert not rig.engine.order(resting.client_id).is_open  # type: ignore[union-attr]
    assert rig.journal.actions("flatten")[0].reason == "flat"


async def test_cancel_all_cancels_every_open_order(rig: SimRig) -> None:
    rig.engine.submit(limit(Side.BUY, 5, 590000))
    rig.engine.submit(limit(Side.SELL, 5, 610000))
    assert await rig.engine.cancel_all() == 2
    assert rig.engine.open_orders() == []
    assert rig.sim.account.open_orders == {}


async def test_flatten_reports_what_remains_when_the_venue_does_not_answer() -> None:
    from bitunix.core.clock import ManualClock
    from bitunix.execution import ClientIdFactory

    from .conftest import FAST, MemoryJournal, fill_of

    venue = ScriptedVenue()
    engine = ExecutionEngine(venue, MemoryJournal(), clock=ManualClock(START_NS),
                             ids=ClientIdFactory("bx", 1), settings=FAST, symbols=["BTCUSDT"])
    await engine.reconcile()
    order = engine.submit(buy(10))
    engine.on_fill(fill_of(order, "t1", 10, 600000))
    report = await engine.flatten(timeout_s=0.05)
    assert not report.flat
    assert report.remaining == {"BTCUSDT": "0.0010"}
    assert len(report.open_orders) == 2  # the entry and the close, never answered
    assert order.client_id in report.open_orders
    assert venue.cancel_all_calls == [["BTCUSDT"]]
    await engine.close()


async def test_flatten_sends_one_close_when_its_filled_report_comes_before_its_fills() -> None:
    from bitunix.core.clock import ManualClock
    from bitunix.execution import ClientIdFactory
    from bitunix.model import Order, OrderReport, OrderStatus

    from .conftest import FAST, MemoryJournal, fill_of

    venue = ScriptedVenue()
    engine = ExecutionEngine(venue, MemoryJournal(), clock=ManualClock(START_NS),
                             ids=ClientIdFactory("bx", 1), settings=FAST, symbols=["BTCUSDT"])
    await engine.reconcile()
    entry = engine.submit(buy(10))
    engine.on_fill(fill_of(entry, "t1", 10, 600000))
    loop = asyncio.get_running_loop()

    def close_filled_then_booked(order: Order) -> None:
        if not order.reduce_only:
            return
        # the venue says FILLED after 5 ms; the fill itself arrives 30 ms later
        loop.call_later(0.005, engine.on_order_event, order.client_id, OrderReport(
            status=OrderStatus.FILLED, filled_steps=order.qty_steps, ts_ns=START_NS + 1,
            venue_id="v-" + order.client_id))
        loop.call_later(0.03, engine.on_fill, fill_of(order, "t2", order.qty_steps, 600010))

    venue.on_submit = close_filled_then_booked
    report = await engine.flatten(timeout_s=1.0)
    assert report.flat
    assert report.closes == 1
    assert [o.reason for o in venue.submitted if o.reduce_only] == ["exit:flatten"]
    await engine.close()


def _scripted_engine() -> tuple[ScriptedVenue, ExecutionEngine]:
    from bitunix.core.clock import ManualClock
    from bitunix.execution import ClientIdFactory

    from .conftest import FAST, MemoryJournal

    venue = ScriptedVenue()
    engine = ExecutionEngine(venue, MemoryJournal(), clock=ManualClock(START_NS),
                             ids=ClientIdFactory("bx", 1), settings=FAST,
                             symbols=["ETHUSDT"])
    return venue, engine


async def test_flatten_flash_closes_a_remainder_below_the_minimum_order_size() -> None:
    from bitunix.model import Fill

    from .conftest import ETH, fill_of

    venue, engine = _scripted_engine()
    await engine.reconcile()
    entry = engine.submit(buy(2, spec=ETH))  # 0.002 ETH: below ETH's minimum of 0.003
    engine.on_fill(fill_of(entry, "t1", 2, 240000))
    loop = asyncio.get_running_loop()

    def venue_closes(spec: object) -> bool:
        # the venue's own close: a fill of an order the engine never sent, a bit later
        loop.call_later(0.02, engine.on_fill, Fill(
            trade_id="t2", client_id="", venue_order_id="v9", spec=ETH, side=Side.SELL,
            qty_steps=2, price_ticks=240010, fee=Decimal("0.01"), ts_ns=START_NS + 1))
        return True

    venue.on_close_position = venue_closes
    report = await engine.flatten(timeout_s=2.0)
    assert report.flat
    assert report.errors == []
    assert venue.position_closes == ["ETHUSDT"]  # once: not again while its fill was coming
    assert not [o for o in venue.submitted if o.reduce_only]  # no order (30017 for sure)
    assert [a.reason for a in engine.journal.actions("flash-close")] == [  # type: ignore[attr-defined]
        "below the minimum order size"]
    await engine.close()


async def test_flatten_reports_a_refused_flash_close_and_asks_a_few_times_at_most() -> None:
    from .conftest import ETH, fill_of

    venue, engine = _scripted_engine()
    await engine.reconcile()
    entry = engine.submit(buy(2, spec=ETH))
    engine.on_fill(fill_of(entry, "t1", 2, 240000))

    def refuse(spec: object) -> bool:
        raise OSError("connection reset")

    venue.on_close_position = refuse
    report = await engine.flatten(timeout_s=3.0)
    assert not report.flat
    assert report.remaining == {"ETHUSDT": "0.002"}
    assert venue.position_closes == ["ETHUSDT"] * MAX_CLOSES_PER_SYMBOL
    assert report.errors == ["flash close of ETHUSDT failed: connection reset"] * 5
    await engine.close()


async def test_flatten_stops_closing_a_symbol_after_closes_that_fill_nothing() -> None:
    from bitunix.model import Order, OrderRejected

    from .conftest import fill_of

    venue, engine = _scripted_engine()
    await engine.reconcile()
    entry = engine.submit(buy(10))
    engine.on_fill(fill_of(entry, "t1", 10, 600000))
    loop = asyncio.get_running_loop()

    def refuse_closes(order: Order) -> None:
        if order.reduce_only:
            loop.call_soon(engine.on_order_event, order.client_id, OrderRejected(
                reason="[30001] refused", ts_ns=START_NS + 1))

    venue.on_submit = refuse_closes
    report = await engine.flatten(timeout_s=1.0)
    assert not report.flat
    assert report.closes == MAX_CLOSES_PER_SYMBOL
    assert venue.position_closes == []  # a remainder above the minimum: orders only
    await engine.close()


async def test_flatten_survives_a_failing_cancel_all() -> None:
    from bitunix.core.clock import ManualClock
    from bitunix.execution import ClientIdFactory

    from .conftest import FAST, MemoryJournal

    venue = ScriptedVenue()

    async def broken(symbols: object) -> None:
        raise OSError("down")

    venue.cancel_all = broken  # type: ignore[method-assign]
    engine = ExecutionEngine(venue, MemoryJournal(), clock=ManualClock(START_NS),
                             ids=ClientIdFactory("bx", 1), settings=FAST, symbols=["BTCUSDT"])
    report = await engine.flatten(timeout_s=0.01)
    assert report.flat
    assert report.errors == ["cancel-all failed: down"]
    await engine.close()


def _many_symbol_venue() -> InProcessVenue:
    contracts = {s: c for s, c in bundled_contracts().items() if s in SYMBOLS}
    sim = InProcessVenue(lambda: iter(()), balance=Decimal("10000000"), start_ns=START_NS,
                         contracts=contracts)
    for symbol in SYMBOLS:
        set_book(sim, symbol, "100", qty="1000000", levels=10)
    return sim


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_many_symbols_bursts_and_dropped_pushes_lose_nothing(seed: int) -> None:
    rng = random.Random(seed)
    rig = SimRig(sim=_many_symbol_venue())
    rig.engine.symbols = list(SYMBOLS)
    await rig.engine.reconcile()
    specs = rig.adapter.contracts
    faults = rig.adapter.faults
    for _ in range(40):  # bursts: several orders in one callback, no await between
        for _ in range(rng.randint(1, 8)):
            symbol = rng.choice(SYMBOLS)
            spec = specs[symbol]
            qty = spec.min_order_steps * rng.randint(1, 5)
            side = rng.choice([Side.BUY, Side.SELL])
            roll = rng.random()
            if roll < 0.15:
                faults.drop_fills += 1
            elif roll < 0.25:
                faults.drop_reports += 1
            elif roll < 0.3:
                faults.lose_submits += 1
            if rng.random() < 0.3:
                tick_off = rng.randint(1, 5) * (-1 if side is Side.BUY else 1)
                price = spec.price_to_ticks(Decimal(100)) + tick_off
                rig.engine.submit(OrderIntent(spec=spec, side=side, qty_steps=qty,
                                              order_type=OrderType.LIMIT, price_ticks=price,
                                              strategy="burst", reason="enter"))
            else:
                rig.engine.submit(OrderIntent(spec=spec, side=side, qty_steps=qty,
                                              strategy="burst", reason="enter"))
        for symbol in rng.sample(SYMBOLS, 3):  # trades through the resting orders
            rig.trade(symbol, "100", qty="1000", is_buy=rng.random() < 0.5)
        await asyncio.sleep(0)
    await until(lambda: all(o.status.value != "INIT" for o in rig.engine.open_orders()))
    await rig.engine.cancel_all()
    await until(lambda: not rig.engine.open_orders())
    await rig.engine.reconcile()
    engine, acct = rig.engine, rig.sim.account
    for symbol in SYMBOLS:
        assert engine.portfolio.qty_steps(symbol) == rig.venue_qty(symbol), symbol
    venue_trades = {f.trade_id for f in acct.fills}
    assert set(rig.journal.fills) == venue_trades  # 0 lost fills, none twice
    assert engine.counters.fills == len(venue_trades)
    client_ids = [o.client_id for o in acct.orders.values()]
    assert len(client_ids) == len(set(client_ids))  # 0 duplicate orders
    assert engine.counters.drift_corrections == 0
    report = await engine.flatten(timeout_s=2.0)
    assert report.flat
    assert engine.portfolio.net_realized() == acct.wallet - rig.start_wallet
    assert engine.counters.task_errors == 0
    await engine.close()


def test_exposure_counts_positions_and_pending_entries() -> None:
    from bitunix.execution import build_snapshot
    from bitunix.model import Order, Position, apply_fill

    from .conftest import fill_of

    entry = Order.from_intent(buy(10), "a", 0)
    pos = apply_fill(Position(spec=BTC), fill_of(entry, "t", 10, 600000, fee="0"))
    pending = Order.from_intent(limit(Side.BUY, 4, 590000), "b", 0)
    market = Order.from_intent(OrderIntent(spec=ETH, side=Side.SELL, qty_steps=3), "c", 0)
    exit_order = Order.from_intent(buy(2, reduce_only=True), "d", 0)
    day = (Decimal(2), Decimal("0.5"), Decimal("0.1"), Decimal(-1), Decimal("0.5"))
    snap = build_snapshot(START_NS, {"BTCUSDT": pos, "XRPUSDT": Position(spec=BTC)},
                          [pending, market, exit_order], {"BTCUSDT": 601000, "ETHUSDT": 300000},
                          day=day, equity=Decimal("98.5"), day_start_equity=Decimal(100))
    assert snap.symbol_notional == {"BTCUSDT": pytest.approx(60.1)}
    assert snap.symbol_pending == {"BTCUSDT": pytest.approx(23.6), "ETHUSDT": pytest.approx(9)}
    assert snap.total_notional == pytest.approx(60.1)
    assert snap.total_pending == pytest.approx(32.6)  # the reduce-only one adds nothing
    assert snap.open_orders == 3
    assert snap.day_pnl == Decimal("-0.1")  # 2 - 0.5 - 0.1 + (-1 - 0.5)
    assert snap.utc_day == START_NS // 86_400_000_000_000
    no_mark = build_snapshot(START_NS, {"BTCUSDT": pos}, [], {}, day=day,
                             equity=Decimal(0), day_start_equity=Decimal(0))
    assert no_mark.symbol_notional["BTCUSDT"] == pytest.approx(60.0)  # at the entry price


async def test_engine_snapshot_reads_the_live_books(rig: SimRig) -> None:
    rig.engine.submit(buy(10))
    rig.engine.submit(limit(Side.BUY, 5, 590000))
    rig.book("BTCUSDT", "60100")
    snap = rig.engine.snapshot()
    assert snap.symbol_notional["BTCUSDT"] == pytest.approx(60.1)
    assert snap.symbol_pending["BTCUSDT"] == pytest.approx(29.5)
    assert snap.open_orders == 1
    assert snap.equity == rig.engine.portfolio.equity()
    assert snap.day_pnl == rig.engine.portfolio.day_pnl()
    assert snap.day_start_equity == rig.engine.portfolio.day_start_equity


async def test_snapshot_before_any_balance_has_no_equity() -> None:
    from bitunix.core.clock import ManualClock
    from bitunix.execution import ClientIdFactory

    from .conftest import FAST, MemoryJournal

    engine = ExecutionEngine(ScriptedVenue(), MemoryJournal(), clock=ManualClock(START_NS),
                             ids=ClientIdFactory("bx", 1), settings=FAST)
    snap = engine.snapshot()
    assert (snap.equity, snap.day_start_equity, snap.day_pnl) == (0, 0, 0)
    await engine.close()
