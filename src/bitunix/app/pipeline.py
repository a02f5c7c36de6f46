"""The market-data path of the bot: decoded pushes -> feature engines -> strategies.

:class:`MarketPipeline` is a :class:`~bitunix.exchange.WsHandler`: the WebSocket client
calls it synchronously from its frame callback, so a push goes from bytes to a decision
without a task or queue hop. One :class:`FeatureEngine` per symbol;
the decision (``SignalStack.on_tick``) runs after every book update, as the earlier bot
did, once the engine has written its vector.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bitunix.exchange import WsHandler
from bitunix.features import BookArrays, FeatureEngine
from bitunix.strategy import FeatureSource, Signal
from bitunix.wire.public import DepthPush, TradePush

_NS_PER_MS = 1_000_000

Decide = Callable[[str, int, FeatureSource, bool], list[Signal]]


class MarketHooks:
    """What the trading side wants from the market path besides the decisions (all no-ops
    here; the run overrides them). Called synchronously from the frame callback."""

    def on_push(self) -> None:
        """A depth push is about to be evaluated (the start of "tick -> order bytes")."""

    def on_trades(self, symbol: str, last_price: float, volume: float, ts_ns: int) -> None:
        """A trade push was fed: its last price and total volume."""

    def on_book(self, symbol: str, engine: FeatureEngine, ts_ns: int) -> None:
        """A book was fed and its features written (before the strategies run)."""

    def on_push_done(self) -> None:
        """The depth push and everything it caused have been handled."""


@dataclass
class PipelineStats:
    """Counters of one pipeline, for the run summary and metrics."""

    trade_pushes: int = 0
    trades: int = 0
    book_pushes: int = 0
    trades_rejected: int = 0
    books_rejected: int = 0
    evaluations: int = 0
    valid_evaluations: int = 0
    signals: int = 0
    unknown_symbol: int = 0
    errors: list[str] = field(default_factory=list)
    last_push_monotonic: float = 0.0
    last_trade_monotonic: float = 0.0


class MarketPipeline(WsHandler):
    """Feeds trade and depth pushes to each symbol's engine, then ``decide``.

    ``decide(symbol, ts_ns, engine, valid)`` returns the signals of that evaluation
    (``SignalStack.on_tick`` has this shape); each goes to ``on_signal``. Depth pushes are
    copied into reused buffers (``book_levels`` deep): no allocation per book.
    """

    def __init__(
        self,
        engines: Mapping[str, FeatureEngine],
        decide: Decide,
        on_signal: Callable[[Signal], None],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        book_levels: int = 15,
        hooks: MarketHooks | None = None,
    ) -> None:
        self.engines = dict(engines)
        self.decide = decide
        self.on_signal = on_signal
        self.hooks = hooks or MarketHooks()
        self.stats = PipelineStats()
        self._monotonic = monotonic
        self._book = BookArrays(book_levels)

    def on_trade(self, msg: TradePush) -> None:
        """Feed every trade of the push (the earlier bot used only the first)."""
        engine = self.engines.get(msg.symbol)
        self.stats.trade_pushes += 1
        self.stats.last_push_monotonic = self._monotonic()
        if engine is None:
            self.stats.unknown_symbol += 1
            return
        self.stats.last_trade_monotonic = self.stats.last_push_monotonic
        ts_ns = msg.ts * _NS_PER_MS
        volume = 0.0
        last = 0.0
        for trade in msg.data:
            self.stats.trades += 1
            if engine.on_trade(trade.p, trade.v, ts_ns, trade.is_buy):
                volume += trade.v
                last = trade.p
            else:
                self.stats.trades_rejected += 1
        if volume:
            self.hooks.on_trades(msg.symbol, last, volume, ts_ns)

    def on_depth(self, msg: DepthPush) -> None:
        """Replace the symbol's book, write its features and run its strategies."""
        engine = self.engines.get(msg.symbol)
        self.stats.book_pushes += 1
        self.stats.last_push_monotonic = self._monotonic()
        if engine is None:
            self.stats.unknown_symbol += 1
            return
        hooks = self.hooks
        hooks.on_push()
        ts_ns = msg.ts * _NS_PER_MS
        if not self._book.feed(engine, msg.data, ts_ns):
            self.stats.books_rejected += 1
            hooks.on_push_done()
            return
        valid = engine.write()
        hooks.on_book(msg.symbol, engine, ts_ns)
        self.stats.evaluations += 1
        self.stats.valid_evaluations += valid
        for signal in self.decide(msg.symbol, ts_ns, engine, valid):
            self.stats.signals += 1
            self.on_signal(signal)
        hooks.on_push_done()

    def on_error(self, error: str) -> None:
        """Keep the client's error reports for the summary (the client also logs them)."""
        self.stats.errors.append(error)
