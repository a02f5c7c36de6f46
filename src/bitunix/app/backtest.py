"""A backtest: market data through the live strategy, risk and execution code, in process.

What runs is what ``bitunix-bot run`` runs, wired the same way: each event goes into the
simulator's matching engine (:class:`~bitunix.sim.venue.InProcessVenue`), then, as a
decoded push, through :class:`MarketPipeline` (features, strategies, model), the
:class:`Trader` (risk, sizing, the intent) and the :class:`ExecutionEngine` (the order
state machine, exits, reconciliation), which talks to the venue through the same
``Venue`` protocol as the live adapter. Only the venue and the clock differ:

* the clock is market time: a :class:`ManualClock` set from each event, and the execution
  engine's timers run on a :class:`MarketTimeLoop` that keeps that time;
* the venue is :class:`LatentVenue` around the in-process adapter: every request reaches
  the engine ``latency_ms`` (plus seeded jitter) of market time after it was sent, and
  executes against the book as it is then.

Deterministic: the same files, configuration and seed give the same orders, fills and
report (nothing reads the wall clock or an unseeded random source). The wall time and the
rate are reported apart, in ``speed``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bitunix.adapters.inprocess import InProcessVenueAdapter, contract_spec
from bitunix.app.hooks import TradingHooks
from bitunix.app.pipeline import MarketPipeline
from bitunix.app.trader import StrategyFeedback, Trader
from bitunix.backtest.journal import BacktestJournal
from bitunix.backtest.vloop import MarketTimeLoop
from bitunix.config import BotConfig, Mode
from bitunix.core.clock import ManualClock
from bitunix.core.errors import BitunixError, ConfigError
from bitunix.core.latency import LatencyProbe
from bitunix.data.books import DerivedBooks
from bitunix.execution import VenueListener, VenueOrder, VenuePosition
from bitunix.execution.client_ids import ClientIdFactory
from bitunix.execution.engine import ExecutionEngine
from bitunix.features import FEATURE_NAMES, FeatureEngine
from bitunix.model import Balance, ContractSpec, Fill, Order, OrderReport, Verdict
from bitunix.model.market import BookEvent, MarketEvent, TradeEvent
from bitunix.model.records import RoundTrip
from bitunix.risk.gate import RiskGate
from bitunix.sim.contracts import SimContract, bundled_contracts
from bitunix.sim.state import FeeSchedule
from bitunix.sim.venue import InProcessVenue
from bitunix.strategy import SignalStack
from bitunix.wire.public import Book, DepthBook15, Level, TradeItem, TradePush

__all__ = ["BacktestResult", "BacktestRun", "LatentVenue", "market_events", "run_backtest"]

_NS = 1_000_000_000
_MS = 1_000_000
#: Events read ahead to find the symbols of a run that names none.
_SNIFF = 10_000
#: The longest a trade push gathers trades (market time): the venue pushes trades in arrays.
_PUSH_NS = 100 * _MS
#: Price and size strings remembered as on the grid, per symbol, at most.
_CHECKED_MAX = 200_000
#: How often the risk gate polls the account (the daily loss limit), as live.
_RISK_POLL_S = 1.0


class LatentVenue:
    """A ``Venue`` whose requests reach ``inner`` ``latency_s`` (+ up to ``jitter_s``,
    drawn from ``rng``) of market time after they are sent. Reads are delayed the same
    way: the answer is the venue's state when the request arrives."""

    def __init__(self, inner: InProcessVenueAdapter, loop: asyncio.AbstractEventLoop, *,
                 latency_s: float, jitter_s: float, rng: random.Random) -> None:
        self.inner = inner
        self._loop = loop
        self._latency_s = latency_s
        self._jitter_s = jitter_s
        self._rng = rng
        #: Off while the run starts: the fresh venue is read before the first event.
        self.latency_on = True

    def _delay(self) -> float:
        if not self.latency_on:
            return 0.0
        jitter = self._jitter_s
        return self._latency_s + (self._rng.uniform(0.0, jitter) if jitter else 0.0)

    @property
    def name(self) -> str:
        """The inner venue's name."""
        return self.inner.name

    def bind(self, listener: VenueListener) -> None:
        """Bind the inner venue."""
        self.inner.bind(listener)

    def submit(self, order: Order) -> None:
        """Send ``order``: it reaches the venue after the latency."""
        delay = self._delay()
        if delay <= 0:
            self.inner.submit(order)
        else:
            self._loop.call_later(delay, self.inner.submit, order)

    def cancel(self, order: Order) -> None:
        """Send the cancel: it reaches the venue after the latency."""
        delay = self._delay()
        if delay <= 0:
            self.inner.cancel(order)
        else:
            self._loop.call_later(delay, self.inner.cancel, order)

    async def _arrive(self) -> None:
        delay = self._delay()
        if delay > 0:
            await asyncio.sleep(delay)

    async def query_order(self, order: Order) -> OrderReport | None:
        """The order's state when the query arrives."""
        await self._arrive()
        return await self.inner.query_order(order)

    async def open_orders(self, symbols: Sequence[str]) -> list[VenueOrder]:
        """The open orders when the read arrives."""
        await self._arrive()
        return await self.inner.open_orders(symbols)

    async def positions(self, symbols: Sequence[str]) -> list[VenuePosition]:
        """The positions when the read arrives."""
        await self._arrive()
        return await self.inner.positions(symbols)

    async def balance(self) -> Balance:
        """The balance when the read arrives."""
        await self._arrive()
        return await self.inner.balance()

    async def fills(self, order: Order) -> list[Fill]:
        """The order's fills when the read arrives."""
        await self._arrive()
        return await self.inner.fills(order)

    async def set_protection(self, spec: ContractSpec, *, tp_ticks: int | None,
                             sl_ticks: int | None) -> None:
        """Place the position's TP/SL when the request arrives."""
        await self._arrive()
        await self.inner.set_protection(spec, tp_ticks=tp_ticks, sl_ticks=sl_ticks)

    async def cancel_all(self, symbols: Sequence[str]) -> None:
        """Cancel everything when the request arrives."""
        await self._arrive()
        await self.inner.cancel_all(symbols)

    async def close_position(self, spec: ContractSpec) -> bool:
        """Flash-close the position when the request arrives."""
        await self._arrive()
        return await self.inner.close_position(spec)

    async def close(self) -> None:
        """Close the inner venue."""
        await self.inner.close()


def market_events(files: Sequence[Path | tuple[Path, str | None]], *,
                  symbol: str | None = None,
                  reader: Callable[..., Iterator[MarketEvent]] | None = None,
                  ) -> Iterator[MarketEvent]:
    """The events of ``files`` in time order (a stable merge: a tie keeps the files'
    order), each read lazily by ``bitunix.data.files.iter_market_file``. An entry may be
    ``(path, symbol)``: the symbol of a file that names none (a trade CSV), else only that
    symbol's events."""
    if reader is None:
        from bitunix.data.files import iter_market_file
        reader = iter_market_file
    streams = []
    for entry in files:
        path, own = entry if isinstance(entry, tuple) else (entry, None)
        streams.append(reader(path, symbol=own or symbol))
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=_ts)


def _ts(event: MarketEvent) -> int:
    return event.ts_ns


@dataclass
class BacktestResult:
    """What a backtest did: the exact records and the sampled curves (the report is built
    from these by :mod:`bitunix.backtest.report`)."""

    symbols: list[str]
    contracts: dict[str, ContractSpec]
    balance: Decimal
    sampling_interval_s: float
    #: ``(timestamp_ns, equity)``, one row per interval from the first event.
    equity: list[tuple[int, Decimal]] = field(default_factory=list)
    #: Per symbol ``(timestamp_ns, last trade price)`` at the same instants (for plots).
    prices: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    #: ``(timestamp_ns, open notional)`` at the same instants (the exposure).
    notional: list[tuple[int, Decimal]] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    trips: list[RoundTrip] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    denials: dict[str, int] = field(default_factory=dict)
    derived_books: dict[str, int] = field(default_factory=dict)
    ignored_symbols: dict[str, int] = field(default_factory=dict)
    trades: int = 0
    books: int = 0
    signals: int = 0
    first_ns: int = 0
    last_ns: int = 0
    fees: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    final_equity: Decimal = Decimal(0)
    open_positions: dict[str, str] = field(default_factory=dict)
    model: str = ""
    model_source: str = ""
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def events(self) -> int:
        """Trades and books replayed (derived books included)."""
        return self.trades + self.books


class BacktestRun:
    """One replay (see the module docs); ``await run()`` returns the result."""

    def __init__(self, config: BotConfig, events: Iterator[MarketEvent], first: MarketEvent,
                 symbols: list[str], contracts: dict[str, SimContract], *, seed: int,
                 progress: Callable[[int], None] | None,
                 on_event: Callable[[BacktestRun, MarketEvent], None] | None = None) -> None:
        bt = config.backtest
        self.config = config
        self.progress = progress
        self.on_event = on_event
        self.symbols = symbols
        self.specs = {s: contract_spec(c) for s, c in contracts.items()}
        self.books = DerivedBooks(
            itertools.chain((first,), events), {s: c.tick for s, c in contracts.items()},
            interval_ns=max(1, int(bt.derived_book_ms * _MS)),
            steps={s: c.step for s, c in contracts.items()})
        self.sim = InProcessVenue(
            lambda: iter(()), balance=bt.balance, fees=FeeSchedule(bt.maker_fee, bt.taker_fee),
            funding_rate_pct=bt.funding_rate_pct, funding_interval_h=bt.funding_interval_h,
            slippage_ticks=bt.slippage_ticks, contracts=contracts, start_ns=first.ts_ns)
        for symbol in symbols:
            self.sim.engine.change_leverage(self.sim.uid, symbol, bt.leverage)
        # The replay applies each event itself: the venue's own buffer of applied events
        # (for its step()/events() iteration) would keep every event of the run.
        self.sim.playback.on_event = None
        # One clock for everything: the venue's, which each event moves forward.
        self.clock: ManualClock = self.sim.clock
        self.loop = loop = MarketTimeLoop(self.clock)
        clock = self.clock
        self.adapter = InProcessVenueAdapter(self.sim, self.specs)
        self.venue = LatentVenue(self.adapter, loop, latency_s=bt.latency_ms / 1000,
                                 jitter_s=bt.latency_jitter_ms / 1000,
                                 rng=random.Random(seed))  # nosec B311  # seeded latency jitter of a backtest, not a secret
        self.stack = SignalStack.build(symbols, FEATURE_NAMES, config.signal)
        self.journal = BacktestJournal(StrategyFeedback(self.stack.by_symbol))
        self.gate = RiskGate(config.risk, on_transition=self._on_transition)
        self.probe = LatencyProbe()
        self.engine = ExecutionEngine(
            self.venue, self.journal, clock=clock,
            ids=ClientIdFactory("bt", first.ts_ns // _MS), settings=config.execution,
            feedback=self.journal, symbols=symbols, loop=loop)
        self.trader = Trader(
            mode=Mode.PAPER, contracts=self.specs, gate=self.gate, engine=self.engine,
            journal=self.journal, feedback=self.journal, config=config.trader, clock=clock,
            probe=self.probe, model_name=lambda: self.stack.predictor.name,
            paper_equity=bt.balance)
        engines = {s: FeatureEngine(tick_size=float(c.tick)) for s, c in contracts.items()}
        self.pipeline = MarketPipeline(
            engines, self.stack.on_tick, self.trader.on_signal,
            monotonic=lambda: clock.now_ns() / _NS,
            hooks=TradingHooks(self.gate, self.engine, self.probe, self.specs))
        self.result = BacktestResult(
            symbols=symbols, contracts=self.specs, balance=bt.balance,
            sampling_interval_s=bt.sampling_interval_s, first_ns=first.ts_ns,
            prices={s: [] for s in symbols})
        self._grid = {s: (c.price_decimals, c.qty_decimals) for s, c in self.specs.items()}
        self._checked: dict[str, tuple[set[str], set[str]]] = {
            s: (set(), set()) for s in self.specs}
        self._interval_ns = max(1, round(bt.sampling_interval_s * _NS))
        self._next_sample_ns = first.ts_ns
        self._last_price: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the replay -------------------------------------------------------------------------

    async def run(self) -> BacktestResult:
        """Reconcile, replay every event, flatten, and collect."""
        started = time.perf_counter()
        engine, loop, result = self.engine, self.loop, self.result
        self.venue.latency_on = False
        report = await engine.reconcile()
        self.venue.latency_on = True
        if report.drift or not engine.ready:
            raise BitunixError("backtest: the fresh venue did not reconcile")
        self.trader.enabled = True
        poll_ns = next_poll = int(_RISK_POLL_S * _NS)
        next_poll += result.first_ns
        apply = self.sim.playback.apply
        sync = self.adapter.sync
        pipeline = self.pipeline
        traded = set(self.symbols)
        ignored = result.ignored_symbols
        progress, on_event = self.progress, self.on_event
        count = 0
        last_ns = result.first_ns
        # Trades reach the strategies as the venue pushes them: in arrays, one push per
        # symbol per ``_PUSH_NS`` at most, and always before the next book. The matching
        # engine still sees every trade on its own, at its own time.
        batch: list[TradeItem] = []
        batch_symbol = ""
        batch_start = batch_last = 0
        next_sample = self._next_sample_ns
        errors = pipeline.stats.errors
        checked = self._checked
        for event in self.books:
            ts = event.ts_ns
            symbol = event.symbol
            if symbol not in traded:
                ignored[symbol] = ignored.get(symbol, 0) + 1
                continue
            if type(event) is TradeEvent:
                is_trade = True
                seen = checked[symbol]
                if (event.price not in seen[0] or event.qty not in seen[1]) and (
                        not self._on_grid(event, is_trade)):
                    raise self._off_grid(event)
            else:
                is_trade = False
                if not self._on_grid(event, is_trade):
                    raise self._off_grid(event)
            if batch and (not is_trade or symbol != batch_symbol
                          or ts - batch_start >= _PUSH_NS):
                self._push_trades(batch_symbol, batch_last, batch)
                batch = []
                if errors:
                    raise self._failed(ts)
            if loop.has_due_before(ts):
                await loop.advance_to(ts)
            last_ns = max(last_ns, ts)
            if ts >= next_sample:
                while ts >= next_sample:
                    self._sample(next_sample)
                    next_sample = self._next_sample_ns
            if ts >= next_poll:
                # The live bot polls every second; nothing changes between events, so here
                # the poll rides on the first event of each second (no timers in a gap).
                self._poll_risk()
                next_poll = ts - (ts - result.first_ns) % poll_ns + poll_ns
            apply(event)
            sync()
            if loop.has_due():
                await loop.run_due()
            if type(event) is TradeEvent:
                if not batch:
                    batch_symbol, batch_start = symbol, ts
                batch_last = ts
                batch.append(TradeItem(p=float(event.price), v=float(event.qty),
                                       s="buy" if event.is_buy else "sell"))
            else:
                assert isinstance(event, BookEvent)
                result.books += 1
                pipeline.on_depth(DepthBook15(
                    symbol=symbol, ts=ts // _MS,
                    data=Book(b=[Level(float(p), float(q)) for p, q in event.bids],
                              a=[Level(float(p), float(q)) for p, q in event.asks])))
                if errors:
                    raise self._failed(ts)
            if on_event is not None:
                on_event(self, event)
            count += 1
            if progress is not None and not count & 0xFFFF:
                progress(count)
        if batch:
            self._push_trades(batch_symbol, batch_last, batch)
            if errors:
                raise self._failed(batch_last)
        result.last_ns = last_ns
        await self._finish()
        result.wall_s = time.perf_counter() - started
        return result

    def _on_grid(self, event: MarketEvent, is_trade: bool) -> bool:
        """Are the event's prices and sizes on the contract's tick and step? Data from a
        venue with a finer grid cannot trade here: every fill would be off the books'
        grid. Market data repeats a few thousand strings: each is checked once."""
        symbol = event.symbol
        price_dp, qty_dp = self._grid[symbol]
        prices, qtys = self._checked[symbol]
        if len(prices) + len(qtys) > _CHECKED_MAX:
            prices.clear()
            qtys.clear()
        if is_trade:
            assert isinstance(event, TradeEvent)
            pairs: Iterable[tuple[str, str]] = ((event.price, event.qty),)
        else:
            assert isinstance(event, BookEvent)
            pairs = itertools.chain(event.bids, event.asks)
        for price, qty in pairs:
            if price not in prices:
                if _too_fine(price, price_dp):
                    return False
                prices.add(price)
            if qty not in qtys:
                if _too_fine(qty, qty_dp):
                    return False
                qtys.add(qty)
        return True

    def _off_grid(self, event: MarketEvent) -> BitunixError:
        spec = self.specs[event.symbol]
        what = (f"trade {event.price} x {event.qty}" if isinstance(event, TradeEvent)
                else "book")
        import datetime as dt

        when = dt.datetime.fromtimestamp(event.ts_ns / _NS, tz=dt.UTC).isoformat()
        return ConfigError(
            f"{event.symbol} {what} at {when} is finer than the contract's tick "
            f"{spec.tick_size} / step {spec.qty_step}: data from a venue with a finer grid "
            "cannot be traded against this contract")

    def _failed(self, ts_ns: int) -> BitunixError:
        return BitunixError(f"backtest: the market path failed at {ts_ns} ns: "
                            f"{self.pipeline.stats.errors[0]}")

    def _push_trades(self, symbol: str, ts_ns: int, trades: list[TradeItem]) -> None:
        """One trade push of ``symbol`` (its last trade at ``ts_ns``) to the strategies."""
        self.result.trades += len(trades)
        self._last_price[symbol] = trades[-1].p
        self.pipeline.on_trade(TradePush(symbol=symbol, ts=ts_ns // _MS, data=trades))

    async def _finish(self) -> None:
        """The data ended: no new entries; flatten (as ``run.flatten_on_exit`` says), let
        what is in flight land, and collect."""
        self.trader.enabled = False
        engine, result = self.engine, self.result
        if self.config.run.flatten_on_exit and engine.ready:
            report = await engine.flatten(timeout_s=30.0)
            if not report.flat:
                result.errors.append(f"flatten at the end left {report.remaining} open "
                                     f"({'; '.join(report.errors) or 'no error reported'})")
        for task in list(self._tasks):
            await task
        await engine.close()
        # The curve's last row is the first boundary at or after the end of everything.
        end_ns = max(self.clock.now_ns(), result.last_ns)
        while self._next_sample_ns < end_ns:
            self._sample(self._next_sample_ns)
        self._sample(self._next_sample_ns)
        result.errors.extend(engine.errors)
        self._collect()

    def _sample(self, ts_ns: int) -> None:
        result = self.result
        sim = self.sim
        result.equity.append((ts_ns, sim.equity()))
        markets = sim.engine.markets
        notional = Decimal(0)
        for pos in sim.account.positions.values():
            mark = markets[pos.symbol].mark
            if mark is not None and pos.qty:
                notional += abs(pos.qty) * mark
        result.notional.append((ts_ns, notional))
        for symbol, series in result.prices.items():
            series.append((ts_ns, self._last_price.get(symbol, float("nan"))))
        self._next_sample_ns = ts_ns + self._interval_ns

    def _collect(self) -> None:
        result, journal, engine = self.result, self.journal, self.engine
        result.orders = list(journal.orders.values())
        result.fills = list(journal.fills)
        result.trips = list(journal.trips)
        result.outcomes = dict(sorted(journal.outcomes.items()))
        result.denials = self.gate.denials.as_dict()
        result.derived_books = dict(sorted(self.books.books.items()))
        result.signals = self.trader.signals
        pf = engine.portfolio
        result.fees, result.funding = pf.fees(), pf.funding()
        result.realized = pf.net_realized()
        result.final_equity = self.sim.equity()
        result.open_positions = {p.symbol: str(p.qty) for p in
                                 self.sim.account.positions.values() if p.qty}
        status = self.stack.model_status()
        result.model, result.model_source = status.model, status.source
        # Against an exact in-process venue the local books never need correcting: a
        # correction or an impossible order transition is a failed run, not a detail.
        drift = engine.counters.drift_corrections
        if drift:
            result.errors.append(f"the local books needed {drift} corrections from the venue")
        impossible = engine.fsm.counts[Verdict.IMPOSSIBLE]
        if impossible:
            result.errors.append(f"{impossible} impossible order transitions")

    # -- risk -------------------------------------------------------------------------------

    def _poll_risk(self) -> None:
        now = self.clock.now_ns()
        self.gate.poll(now)
        if self.engine.ready:
            self.gate.check_account(self.engine.snapshot(), now)

    def _on_transition(self, transition: Any) -> None:
        if transition.active and transition.flatten and self.trader.enabled:
            task = self.loop.create_task(self._flatten())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flatten(self) -> None:
        report = await self.engine.flatten(timeout_s=30.0)
        if not report.flat:
            self.result.errors.append(f"daily-loss flatten left {report.remaining} open")


def _too_fine(text: str, decimals: int) -> bool:
    """Has the decimal ``text`` more than ``decimals`` decimals (trailing zeros aside)?"""
    dot = text.find(".")
    return (dot >= 0 and len(text) - dot - 1 > decimals
            and len(text.rstrip("0")) - dot - 1 > decimals)


def _pick_symbols(events: Iterator[MarketEvent], wanted: Sequence[str] | None,
                  contracts: Mapping[str, SimContract]
                  ) -> tuple[MarketEvent, Iterator[MarketEvent], list[str]]:
    """The first event, the stream (with what was read ahead put back), the symbols."""
    head = list(itertools.islice(events, _SNIFF))
    if not head:
        raise ConfigError("the market data holds no event")
    stream = itertools.chain(head[1:], events)
    symbols = list(dict.fromkeys(wanted)) if wanted else sorted({e.symbol for e in head})
    unknown = [s for s in symbols if s not in contracts]
    if unknown:
        raise ConfigError(f"no contract is known for {', '.join(unknown)} (the simulator "
                          "lists the 428 USDT-M contracts of its bundled capture)")
    return head[0], stream, symbols


def run_backtest(events: Iterable[MarketEvent], config: BotConfig, *, seed: int = 0,
                 symbols: Sequence[str] | None = None,
                 progress: Callable[[int], None] | None = None,
                 on_event: Callable[[BacktestRun, MarketEvent], None] | None = None,
                 ) -> BacktestResult:
    """Replay ``events`` (time-ordered) through the live trading path; see the module docs.

    ``symbols``: the traded symbols (default: those of the data's first 10,000 events);
    other symbols' events are skipped and counted. ``progress(events_done)`` is called
    every 65,536 events. ``on_event(run, event)`` runs after each event has reached the
    venue (and, for a book, the strategies; trades reach them in pushes: see
    :meth:`BacktestRun.run`); for tests and studies, it may submit through ``run.engine``.
    """
    known = bundled_contracts()
    first, stream, traded = _pick_symbols(iter(events), symbols, known)
    contracts = {s: known[s] for s in traded}
    run = BacktestRun(config, stream, first, traded, contracts, seed=seed, progress=progress,
                      on_event=on_event)
    try:
        return run.loop.run_until_complete(run.run())
    finally:
        run.loop.close()
