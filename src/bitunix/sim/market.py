"""Market data of the simulator: replaying events into the engine, paced or stepped.

Events are the venue-neutral :class:`bitunix.data.TradeEvent` / :class:`BookEvent`; sources
are the bundled real capture (``bitunix.data.iter_capture``, the default), a recording of
Bitunix pushes (:func:`bitunix.data.recording.iter_recording_events`) or the seeded synthetic
generator (:mod:`bitunix.sim.synthetic`). Candles for the kline endpoints and channels are
aggregated here from what was replayed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bitunix.core.clock import ManualClock
from bitunix.data import BookEvent, MarketEvent, TradeEvent
from bitunix.sim.contracts import SimContract
from bitunix.sim.engine import MatchingEngine, SimLevel

EventSource = Callable[[], Iterable[MarketEvent]]

#: Interval names of the REST kline endpoint and the WS kline channels, in seconds.
REST_INTERVALS: dict[str, int] = {
    "1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200,
    "4h": 14400, "6h": 21600, "8h": 28800, "12h": 43200, "1d": 86400, "3d": 259200,
    "1w": 604800, "1M": 2592000,
}
WS_INTERVALS: dict[str, int] = {
    "1min": 60, "3min": 180, "5min": 300, "15min": 900, "30min": 1800, "60min": 3600,
    "2h": 7200, "4h": 14400, "6h": 21600, "8h": 28800, "12h": 43200, "1day": 86400,
    "3day": 259200, "1week": 604800, "1month": 2592000,
}


def to_levels(pairs: Iterable[tuple[str, str]]) -> list[SimLevel]:
    """Exact ``[price, qty]`` levels from decimal strings."""
    return [[Decimal(p), Decimal(q)] for p, q in pairs]


def source_for(data: str | Path | None, *, symbol: str | None = None,
               contracts: Mapping[str, SimContract] | None = None,
               derived_book_ms: float = 300.0) -> EventSource:
    """An event source: ``None`` = the bundled capture; ``synthetic[:seed]`` = the generator;
    otherwise any market-data file :func:`bitunix.data.files.iter_market_file` reads (a
    capture, a recording, Parquet, a trade CSV, a directory of recorder parts). Given the
    ``contracts``, a symbol whose data has no book gets one derived from its trades
    every ``derived_book_ms`` (:class:`~bitunix.data.books.DerivedBooks`): without a book
    nothing can fill a market order, and the bot decides on books."""
    from bitunix.data import iter_capture
    from bitunix.data.books import DerivedBooks
    from bitunix.data.files import iter_market_file

    if data is None:
        return lambda: iter_capture(symbol=symbol)
    text = str(data)
    if text.startswith("synthetic"):
        from bitunix.sim.synthetic import SyntheticMarket

        seed = int(text.partition(":")[2] or 0)
        return lambda: SyntheticMarket(seed=seed, symbol=symbol or "BTCUSDT").events()
    path = Path(text)
    if contracts is None:
        return lambda: iter_market_file(path, symbol=symbol)
    interval_ns = max(1, int(derived_book_ms * 1_000_000))
    ticks = {s: c.tick for s, c in contracts.items()}
    steps = {s: c.step for s, c in contracts.items()}
    return lambda: iter(DerivedBooks(iter_market_file(path, symbol=symbol), ticks,
                                     interval_ns=interval_ns, steps=steps))


@dataclass(slots=True)
class Candle:
    """One OHLC candle with base and quote volume."""

    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    base_volume: Decimal
    quote_volume: Decimal


class Candles:
    """Candles of one price series: one-minute candles are kept as prices arrive, longer
    intervals are folded from them when asked for (replay pays for one interval only)."""

    BASE_S = 60

    def __init__(self, keep: int = 43_200) -> None:
        self.minutes: deque[Candle] = deque(maxlen=keep)

    def add(self, ts_ms: int, price: Decimal, qty: Decimal = Decimal(0)) -> None:
        """Fold one price (and traded qty) at ``ts_ms`` into the current minute."""
        open_ms = ts_ms - ts_ms % (self.BASE_S * 1000)
        minutes = self.minutes
        last = minutes[-1] if minutes else None
        if last is None or open_ms > last.open_ms:
            minutes.append(Candle(open_ms, price, price, price, price, qty, qty * price))
            return
        if price > last.high:
            last.high = price
        elif price < last.low:
            last.low = price
        last.close = price
        if qty:
            last.base_volume += qty
            last.quote_volume += qty * price

    def series(self, interval_s: int) -> list[Candle]:
        """Candles of ``interval_s`` (a multiple of 60 s), oldest first."""
        if interval_s == self.BASE_S:
            return list(self.minutes)
        span_ms = interval_s * 1000
        out: list[Candle] = []
        for m in self.minutes:
            open_ms = m.open_ms - m.open_ms % span_ms
            last = out[-1] if out else None
            if last is None or open_ms > last.open_ms:
                out.append(Candle(open_ms, m.open, m.high, m.low, m.close, m.base_volume,
                                  m.quote_volume))
                continue
            last.high = max(last.high, m.high)
            last.low = min(last.low, m.low)
            last.close = m.close
            last.base_volume += m.base_volume
            last.quote_volume += m.quote_volume
        return out

    def current(self, interval_s: int) -> Candle | None:
        """The newest (still forming) candle of ``interval_s``."""
        if not self.minutes:
            return None
        newest = self.minutes[-1]
        span_ms = interval_s * 1000
        start = newest.open_ms - newest.open_ms % span_ms
        recent: list[Candle] = []
        for m in reversed(self.minutes):
            if m.open_ms < start:
                break
            recent.append(m)
        return Candle(start, recent[-1].open, max(m.high for m in recent),
                      min(m.low for m in recent), newest.close,
                      sum((m.base_volume for m in recent), Decimal(0)),
                      sum((m.quote_volume for m in recent), Decimal(0)))


class Playback:
    """Feeds market events into a :class:`MatchingEngine`, stepped or paced.

    ``speed`` is the replay rate relative to the recorded time (1 = real time, 10 = ten
    times faster); :meth:`step` applies one event at once, regardless of speed. With a
    :class:`ManualClock` the clock follows the events' timestamps (backtests); otherwise
    the engine keeps its own (live) clock. ``loop`` restarts the source when it ends; every
    pass keeps market time (see :meth:`run`). ``candles`` False keeps no candles (nothing
    serves klines from an in-process backtest venue): an event then costs the engine's
    share only, its strings going to the engine unconverted.
    """

    #: Events applied back to back at most before the replay yields to the event loop.
    YIELD_EVERY = 64
    #: The shortest pass of a looped source, in market time: a source whose events share
    #: one timestamp must still not be replayed in a busy loop.
    MIN_PASS_NS = 1_000_000_000

    def __init__(self, engine: MatchingEngine, source: EventSource, *, speed: float = 1.0,
                 loop: bool = False, clock: ManualClock | None = None,
                 on_event: Callable[[MarketEvent], None] | None = None,
                 candles: bool = True) -> None:
        self.engine = engine
        self.source = source
        self.speed = speed
        self.loop = loop
        self.clock = clock
        self.on_event = on_event
        self.applied = 0
        #: Passes of the source started so far (1 until a looped source restarts).
        self.passes = 1
        self.candles = candles
        self.trades = {s: Candles() for s in engine.contracts}
        self.marks = {s: Candles() for s in engine.contracts}
        self._it: Iterator[MarketEvent] = iter(source())

    def next_event(self) -> MarketEvent | None:
        """The source's next event, not yet applied (None: the source ended)."""
        return self._next()

    def _next(self) -> MarketEvent | None:
        event = next(self._it, None)
        if event is None and self.loop:
            self._it = iter(self.source())
            event = next(self._it, None)
            if event is not None:
                self.passes += 1
        return event

    def apply(self, event: MarketEvent) -> None:
        """Apply one event to the engine (and the candles), then notify ``on_event``."""
        symbol = event.symbol
        engine = self.engine
        if symbol not in engine.contracts:
            return
        clock = self.clock
        if clock is not None and event.ts_ns > clock.now_ns():
            clock.set_ns(event.ts_ns)
        # type() first: isinstance of a msgspec Struct costs four times more here.
        if type(event) is TradeEvent or (type(event) is not BookEvent
                                         and isinstance(event, TradeEvent)):
            engine.on_trade_text(symbol, event.price, event.qty, event.is_buy)
            if self.candles:
                price = engine.markets[symbol].last
                assert price is not None
                self.trades[symbol].add(engine.clock.now_ns() // 1_000_000, price,
                                        engine.decimals(event.qty))
        else:
            assert isinstance(event, BookEvent)
            engine.on_book_text(symbol, event.bids, event.asks)
            if self.candles:
                mark = engine.markets[symbol].mark
                if mark is not None:
                    self.marks[symbol].add(engine.clock.now_ns() // 1_000_000, mark)
        self.applied += 1
        if self.on_event is not None:
            self.on_event(event)

    def step(self, n: int = 1) -> int:
        """Apply up to ``n`` events now; return how many were applied."""
        done = 0
        while done < n:
            event = self._next()
            if event is None:
                break
            self.apply(event)
            done += 1
        return done

    async def run(self, *, now: Callable[[], float] | None = None,
                  sleep: Callable[[float], Awaitable[object]] | None = None) -> None:
        """Replay at ``speed`` until the source ends (forever with ``loop``).

        Each event is due at ``start + market_time / speed``. Market time runs on across
        passes of a looped source: a new pass starts one mean event gap after the last
        event of the previous one (at least :attr:`MIN_PASS_NS` after its first), so the
        second pass is paced like the first instead of replayed as fast as the CPU goes.
        ``now`` and ``sleep`` default to the event loop's clock and ``asyncio.sleep``.
        """
        clock = now or asyncio.get_running_loop().time
        pause = sleep or asyncio.sleep
        start = clock()
        pass_no = 0
        pass_start_ns = 0          # market time at which the current pass starts
        first_ts = last_ts = 0     # source timestamps of the current pass
        count = 0                  # events of the current pass
        unyielded = 0
        while True:
            event = self._next()
            if event is None:
                return
            if self.passes != pass_no:
                if pass_no:
                    pass_start_ns += _pass_length_ns(last_ts - first_ts, count,
                                                     self.MIN_PASS_NS)
                pass_no, first_ts, last_ts, count = self.passes, event.ts_ns, event.ts_ns, 0
            last_ts = max(last_ts, event.ts_ns)
            count += 1
            market_ns = pass_start_ns + max(0, event.ts_ns - first_ts)
            delay = start + market_ns / 1e9 / self.speed - clock()
            if delay > 0:
                await pause(delay)
                unyielded = 0
            elif unyielded >= self.YIELD_EVERY:
                # Behind schedule (fast replay, bursts): let sockets and REST calls run.
                await pause(0)
                unyielded = 0
            self.apply(event)
            unyielded += 1


def _pass_length_ns(span_ns: int, events: int, min_pass_ns: int) -> int:
    """Market time one pass of a looped source takes: its span plus one mean gap, so the
    seam between passes looks like any other gap, and never less than ``min_pass_ns``."""
    mean_gap = span_ns // (events - 1) if events > 1 else 0
    return max(span_ns + mean_gap, min_pass_ns)


def book_event(symbol: str, ts_ns: int, bids: list[SimLevel], asks: list[SimLevel]) -> BookEvent:
    """A :class:`BookEvent` from exact levels (used by generators and tests)."""
    return BookEvent(ts_ns=ts_ns, symbol=symbol, bids=[(str(p), str(q)) for p, q in bids],
                     asks=[(str(p), str(q)) for p, q in asks])
