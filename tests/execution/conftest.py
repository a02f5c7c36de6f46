"""Test doubles and fixtures of the execution tests: an in-memory journal, a recording
strategy, a scripted venue, and an engine on the in-process simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal

import pytest

from bitunix.adapters.inprocess import InProcessVenueAdapter
from bitunix.execution import (
    ClientIdFactory,
    ExecutionEngine,
    ExecutionSettings,
    VenueListener,
    VenueOrder,
    VenuePosition,
)
from bitunix.model import (
    Balance,
    ContractSpec,
    Fill,
    Order,
    OrderIntent,
    OrderReport,
    OrderType,
    Position,
    Side,
)
from bitunix.model.records import AuditEntry, Decision, RoundTrip
from bitunix.sim.venue import InProcessVenue

D = Decimal
START_NS = 1_723_161_255_000_000_000  # 2024-08-08T23:54:15Z
BTC = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                   qty_decimals=4, min_qty=D("0.0001"), max_limit_qty=D("1000"),
                   max_market_qty=D("500"))
ETH = ContractSpec(symbol="ETHUSDT", base="ETH", quote="USDT", price_decimals=2,
                   qty_decimals=3, min_qty=D("0.003"), max_limit_qty=D("1000000"),
                   max_market_qty=D("50000"))

#: Short timings so that the failure paths run in milliseconds.
FAST = ExecutionSettings(
    ack_timeout_s=0.05, max_submit_attempts=3, retry_backoff_s=0.005, retry_backoff_max_s=0.02,
    entry_timeout_s=0.15, silence_s=0.1, silence_max_s=0.4, fill_grace_s=0.02,
    sweep_interval_s=0.005, reconcile_interval_s=0.0, drift_grace_s=0.02, protect_attempts=3,
    trail_debounce_s=0.01, exit_retry_s=0.5)


class MemoryJournal:
    """A Journal that keeps what it was given (the latest order and position states)."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.order_writes = 0
        self.fills: dict[str, Fill] = {}
        self.positions: dict[str, Position] = {}
        self.audit: list[AuditEntry] = []
        self.decisions: list[Decision] = []

    def record_order(self, order: Order) -> None:
        self.orders[order.client_id] = order
        self.order_writes += 1

    def record_fill(self, fill: Fill) -> None:
        assert fill.trade_id not in self.fills, f"fill {fill.trade_id} journaled twice"
        self.fills[fill.trade_id] = fill

    def record_position(self, position: Position) -> None:
        self.positions[position.symbol] = position

    def record_audit(self, entry: AuditEntry) -> None:
        self.audit.append(entry)

    def record_decision(self, decision: Decision) -> None:
        self.decisions.append(decision)

    def actions(self, action: str) -> list[AuditEntry]:
        return [a for a in self.audit if a.action == action]


class Feedback:
    """A TradeFeedback that records every callback."""

    def __init__(self) -> None:
        self.filled: list[tuple[str, str, float]] = []
        self.rejected: list[tuple[str, str, str]] = []
        self.closed: list[RoundTrip] = []

    def on_entry_filled(self, symbol: str, strategy: str, ts_ns: int, price: float) -> None:
        self.filled.append((symbol, strategy, price))

    def on_entry_rejected(self, symbol: str, strategy: str, ts_ns: int, reason: str) -> None:
        self.rejected.append((symbol, strategy, reason))

    def on_position_closed(self, trip: RoundTrip) -> None:
        self.closed.append(trip)


class ScriptedVenue:
    """A venue whose every answer the test decides: submits and cancels are recorded and
    answered by ``on_submit`` / ``on_cancel`` (default: nothing, like a lost answer)."""

    def __init__(self) -> None:
        self.listener: VenueListener | None = None
        self.submitted: list[Order] = []
        self.cancelled: list[Order] = []
        self.on_submit: Callable[[Order], None] = lambda order: None
        self.on_cancel: Callable[[Order], None] = lambda order: None
        self.reports: dict[str, OrderReport | None] = {}
        self.query_errors = 0
        self.queries: list[str] = []
        self.venue_fills: dict[str, list[Fill]] = {}
        self.fill_reads: list[str] = []
        self.venue_open: list[VenueOrder] = []
        self.venue_positions: list[VenuePosition] = []
        self.venue_balance = Balance(ts_event_ns=0, coin="USDT", available=D("1000"))
        self.protections: list[tuple[str, int | None, int | None]] = []
        self.protection_errors = 0
        self.cancel_all_calls: list[list[str]] = []
        self.position_closes: list[str] = []
        self.on_close_position: Callable[[ContractSpec], bool] = lambda spec: True

    @property
    def name(self) -> str:
        return "scripted"

    def bind(self, listener: VenueListener) -> None:
        self.listener = listener

    def submit(self, order: Order) -> None:
        self.submitted.append(order)
        self.on_submit(order)

    def cancel(self, order: Order) -> None:
        self.cancelled.append(order)
        self.on_cancel(order)

    async def query_order(self, order: Order) -> OrderReport | None:
        self.queries.append(order.client_id)
        if self.query_errors:
            self.query_errors -= 1
            raise OSError("connection reset")
        return self.reports.get(order.client_id)

    async def open_orders(self, symbols: Sequence[str]) -> list[VenueOrder]:
        return list(self.venue_open)

    async def positions(self, symbols: Sequence[str]) -> list[VenuePosition]:
        return list(self.venue_positions)

    async def balance(self) -> Balance:
        return self.venue_balance

    async def fills(self, order: Order) -> list[Fill]:
        self.fill_reads.append(order.client_id)
        return list(self.venue_fills.get(order.client_id, ()))

    async def set_protection(self, spec: ContractSpec, *, tp_ticks: int | None,
                             sl_ticks: int | None) -> None:
        if self.protection_errors:
            self.protection_errors -= 1
            raise OSError("protection refused")
        self.protections.append((spec.symbol, tp_ticks, sl_ticks))

    async def cancel_all(self, symbols: Sequence[str]) -> None:
        self.cancel_all_calls.append(list(symbols))

    async def close_position(self, spec: ContractSpec) -> bool:
        self.position_closes.append(spec.symbol)
        return self.on_close_position(spec)

    async def close(self) -> None:
        pass


def fill_of(order: Order, trade_id: str, qty_steps: int, price_ticks: int, *,
            fee: str = "0.01", ts_ns: int = START_NS) -> Fill:
    """A fill of ``order``."""
    return Fill(trade_id=trade_id, client_id=order.client_id,
                venue_order_id=order.venue_id or "v-" + order.client_id, spec=order.spec,
                side=order.side, qty_steps=qty_steps, price_ticks=price_ticks, fee=D(fee),
                ts_ns=ts_ns, reduce_only=order.reduce_only)


def buy(qty_steps: int = 10, *, spec: ContractSpec = BTC, **kw: object) -> OrderIntent:
    """A MARKET buy entry."""
    return OrderIntent(spec=spec, side=Side.BUY, qty_steps=qty_steps, strategy="s1",
                       reason="enter", **kw)  # type: ignore[arg-type]


def limit(side: Side, qty_steps: int, price_ticks: int, *, spec: ContractSpec = BTC,
          **kw: object) -> OrderIntent:
    """A LIMIT GTC entry."""
    return OrderIntent(spec=spec, side=side, qty_steps=qty_steps, order_type=OrderType.LIMIT,
                       price_ticks=price_ticks, strategy="s1", reason="enter",
                       **kw)  # type: ignore[arg-type]


async def until(predicate: Callable[[], bool], timeout_s: float = 3.0) -> None:
    """Wait (bounded) until ``predicate()`` holds; fail the test otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.002)


def set_book(sim: InProcessVenue, symbol: str, mid: str, *, qty: str = "5",
             levels: int = 5) -> None:
    """A fresh book around ``mid`` on the engine (best ask = mid, best bid = mid - tick)."""
    tick = sim.engine.contracts[symbol].tick
    m = D(mid)
    bids = [[m - tick * (i + 1), D(qty)] for i in range(levels)]
    asks = [[m + tick * i, D(qty)] for i in range(levels)]
    sim.engine.on_book(symbol, bids, asks)


class SimRig:
    """An engine on the in-process simulator, with its journal and feedback."""

    def __init__(self, *, balance: str = "100000", settings: ExecutionSettings = FAST,
                 journal: MemoryJournal | None = None, epoch_ms: int = 1_000,
                 sim: InProcessVenue | None = None,
                 adapter: InProcessVenueAdapter | None = None) -> None:
        self.sim = sim or InProcessVenue(lambda: iter(()), balance=D(balance),
                                         start_ns=START_NS)
        if sim is None:
            set_book(self.sim, "BTCUSDT", "60000")
            set_book(self.sim, "ETHUSDT", "3000")
        self.adapter = adapter or InProcessVenueAdapter(self.sim)
        self.journal = journal or MemoryJournal()
        self.feedback = Feedback()
        self.engine = ExecutionEngine(
            self.adapter, self.journal, clock=self.sim.clock,
            ids=ClientIdFactory("bx", epoch_ms), settings=settings, feedback=self.feedback,
            symbols=["BTCUSDT", "ETHUSDT"])
        self.start_wallet = self.sim.account.wallet

    def book(self, symbol: str, mid: str, **kw: object) -> None:
        """Move the market of ``symbol`` and deliver what it caused."""
        self.sim.clock.advance_ns(1_000_000)
        set_book(self.sim, symbol, mid, **kw)  # type: ignore[arg-type]
        self.adapter.sync()
        spec = self.adapter.contracts[symbol]
        self.engine.on_price(symbol, spec.price_to_ticks(D(mid)), self.sim.clock.now_ns())

    def trade(self, symbol: str, price: str, qty: str = "1", is_buy: bool = True) -> None:
        """A public trade at ``price`` (fires last-price triggers) and its consequences."""
        self.sim.clock.advance_ns(1_000_000)
        self.sim.engine.on_trade(symbol, D(price), D(qty), is_buy)
        self.adapter.sync()
        spec = self.adapter.contracts[symbol]
        self.engine.on_price(symbol, spec.price_to_ticks(D(price)), self.sim.clock.now_ns())

    def venue_qty(self, symbol: str) -> int:
        spec = self.adapter.contracts[symbol]
        for pos in self.sim.account.positions.values():
            if pos.symbol == symbol:
                return (1 if pos.side == "LONG" else -1) * spec.qty_to_steps(pos.qty)
        return 0


@pytest.fixture
async def rig() -> AsyncIterator[SimRig]:
    r = SimRig()
    await r.engine.reconcile()
    yield r
    await r.engine.close()
