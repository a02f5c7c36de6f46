"""The order manager's share of the hot path: ``ExecutionEngine.submit`` against the bare
minimum it must do (build the order, remember it).

* "execution/order_baseline": ``Order.from_intent`` + a dict insert (the floor);
* "execution/submit_pending": ``submit`` to a venue that answers later (register, journal
  enqueue, audit entry, client id, ``venue.submit``);
* "execution/submit_ack_fill": ``submit`` to a venue that acknowledges, fills and reports
  synchronously (the in-process shape: state machine, fill booking, position, round trip);
* "execution/on_price_idle" / "execution/on_price_trailing": the per-tick exits check for a
  symbol without / with a trailing position, against a dict lookup.

    PYTHONPATH=src python -m pytest bench/test_bench_execution.py --benchmark-only
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal

import pytest

from bench.conftest import RATIOS
from bitunix.core.clock import ManualClock
from bitunix.execution import ClientIdFactory, ExecutionEngine, ExecutionSettings, VenueListener
from bitunix.model import (
    Balance,
    ContractSpec,
    Fill,
    Order,
    OrderAccepted,
    OrderIntent,
    OrderReport,
    OrderStatus,
    Side,
)
from bitunix.model.records import AuditEntry, Decision

RATIOS.extend([
    ("submit (venue answers later) / order baseline", "execution/submit_pending",
     "execution/order_baseline"),
    ("submit + ack + fill / order baseline", "execution/submit_ack_fill",
     "execution/order_baseline"),
    ("on_price idle / dict lookup", "execution/on_price_idle", "execution/dict_lookup"),
    ("on_price trailing / dict lookup", "execution/on_price_trailing", "execution/dict_lookup"),
])

D = Decimal
BTC = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                   qty_decimals=4, min_qty=D("0.0001"))


class NullJournal:
    def record_order(self, order: Order) -> None:
        pass

    def record_fill(self, fill: Fill) -> None:
        pass

    def record_position(self, position: object) -> None:
        pass

    def record_audit(self, entry: AuditEntry) -> None:
        pass

    def record_decision(self, decision: Decision) -> None:
        pass


class QuietVenue:
    """Answers later (never, here): what a live venue looks like to ``submit``."""

    name = "quiet"

    def __init__(self) -> None:
        self.listener: VenueListener | None = None
        self.fill_now = False
        self._trades = itertools.count()

    def bind(self, listener: VenueListener) -> None:
        self.listener = listener

    def submit(self, order: Order) -> None:
        if not self.fill_now or self.listener is None:
            return
        cid = order.client_id
        self.listener.on_order_event(cid, OrderAccepted(venue_id=cid))
        self.listener.on_fill(Fill(trade_id=str(next(self._trades)), client_id=cid,
                                   venue_order_id=cid, spec=order.spec, side=order.side,
                                   qty_steps=order.qty_steps, price_ticks=600000,
                                   fee=D("0.036"), ts_ns=1))
        self.listener.on_order_event(cid, OrderReport(status=OrderStatus.FILLED,
                                                      filled_steps=order.qty_steps, ts_ns=1))

    def cancel(self, order: Order) -> None:
        pass

    async def query_order(self, order: Order) -> OrderReport | None:
        return None

    async def open_orders(self, symbols: Sequence[str]) -> list[object]:
        return []

    async def positions(self, symbols: Sequence[str]) -> list[object]:
        return []

    async def balance(self) -> Balance:
        return Balance(ts_event_ns=0, coin="USDT", available=D(0))

    async def fills(self, order: Order) -> list[Fill]:
        return []

    async def set_protection(self, spec: ContractSpec, *, tp_ticks: int | None,
                             sl_ticks: int | None) -> None:
        pass

    async def cancel_all(self, symbols: Sequence[str]) -> None:
        pass

    async def close_position(self, spec: ContractSpec) -> bool:
        return False

    async def close(self) -> None:
        pass


@pytest.fixture
def engine() -> Iterator[tuple[ExecutionEngine, QuietVenue]]:
    loop = asyncio.new_event_loop()
    venue = QuietVenue()
    eng = ExecutionEngine(venue, NullJournal(), clock=ManualClock(1),  # type: ignore[arg-type]
                          ids=ClientIdFactory("bx", 1_700_000_000_000),
                          settings=ExecutionSettings(keep_terminal=1000), loop=loop)
    eng.ready = True
    yield eng, venue
    loop.run_until_complete(eng.close())
    loop.close()


def _alternating() -> Callable[[], OrderIntent]:
    buy = OrderIntent(spec=BTC, side=Side.BUY, qty_steps=10, strategy="s", reason="enter")
    sell = OrderIntent(spec=BTC, side=Side.SELL, qty_steps=10, strategy="s", reason="enter")
    cycle = itertools.cycle((buy, sell))
    return cycle.__next__


@pytest.mark.benchmark(group="execution")
def test_order_baseline(benchmark: object, record: Callable[..., None]) -> None:
    nxt = _alternating()
    held: dict[str, Order] = {}
    seq = itertools.count()

    def run() -> None:
        cid = str(next(seq))
        held[cid] = Order.from_intent(nxt(), cid, 1)
        if len(held) > 1000:
            held.clear()

    benchmark(run)  # type: ignore[operator]
    record("execution/order_baseline", benchmark)


@pytest.mark.benchmark(group="execution")
def test_submit_pending(benchmark: object, record: Callable[..., None],
                        engine: tuple[ExecutionEngine, QuietVenue]) -> None:
    eng, _ = engine
    nxt = _alternating()

    def run() -> None:
        eng.submit(nxt())
        if len(eng._track) > 1000:  # keep memory flat: the answers never come here
            eng._track.clear()
            eng._orders.clear()

    benchmark(run)  # type: ignore[operator]
    record("execution/submit_pending", benchmark)


@pytest.mark.benchmark(group="execution")
def test_submit_ack_fill(benchmark: object, record: Callable[..., None],
                         engine: tuple[ExecutionEngine, QuietVenue]) -> None:
    eng, venue = engine
    venue.fill_now = True
    nxt = _alternating()
    benchmark(lambda: eng.submit(nxt()))  # type: ignore[operator]
    assert eng.counters.fills == eng.counters.orders
    assert abs(eng.portfolio.qty_steps("BTCUSDT")) <= 10
    record("execution/submit_ack_fill", benchmark)


@pytest.mark.benchmark(group="execution")
def test_dict_lookup(benchmark: object, record: Callable[..., None]) -> None:
    marks: dict[str, int] = {}
    guards: dict[str, object] = {}

    def run() -> None:
        marks["BTCUSDT"] = 600000
        guards.get("BTCUSDT")

    benchmark(run)  # type: ignore[operator]
    record("execution/dict_lookup", benchmark)


@pytest.mark.benchmark(group="execution")
def test_on_price_idle(benchmark: object, record: Callable[..., None],
                       engine: tuple[ExecutionEngine, QuietVenue]) -> None:
    eng, _ = engine
    benchmark(lambda: eng.on_price("BTCUSDT", 600000, 5))  # type: ignore[operator]
    record("execution/on_price_idle", benchmark)


@pytest.mark.benchmark(group="execution")
def test_on_price_trailing(benchmark: object, record: Callable[..., None],
                           engine: tuple[ExecutionEngine, QuietVenue]) -> None:
    eng, venue = engine
    venue.fill_now = True
    eng.submit(OrderIntent(spec=BTC, side=Side.BUY, qty_steps=10, strategy="s",
                           trail_distance_ticks=50, trail_arm_ticks=10**9))
    assert "BTCUSDT" in eng.exits.guards  # a guarded position whose trail never arms
    benchmark(lambda: eng.on_price("BTCUSDT", 600001, 5))  # type: ignore[operator]
    record("execution/on_price_trailing", benchmark)
