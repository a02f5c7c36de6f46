"""Replay market events through the per-symbol feature engines (the bot's market-data path).

This is what ``bitunix-bot run`` does until the trading loop exists: the bundled capture (or
any capture) goes event by event through the same :class:`FeatureEngine` calls the live
feed makes, and a summary of what the features saw comes back. No orders are sent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bitunix.data import MarketEvent, TradeEvent
from bitunix.features import BOOK_LEVELS, FEATURE_NAMES, BookArrays, FeatureEngine, feed_event

_BLOCK_ROWS = 4096  # valid vectors folded into the ranges at a time


@dataclass
class FeatureRange:
    """Running min / max / sum of one feature over the valid vectors."""

    low: float = math.inf
    high: float = -math.inf
    total: float = 0.0

    def add(self, value: float) -> None:
        """Fold in one value."""
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        self.total += value


@dataclass
class ReplaySummary:
    """What a replay saw, per run."""

    trades: int = 0
    books: int = 0
    valid_vectors: int = 0
    rejected: int = 0
    first_ts_ns: int = 0
    last_ts_ns: int = 0
    wall_s: float = 0.0
    ranges: dict[str, FeatureRange] = field(
        default_factory=lambda: {name: FeatureRange() for name in FEATURE_NAMES})
    last_vwap: dict[str, float] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return self.trades + self.books

    @property
    def market_seconds(self) -> float:
        return (self.last_ts_ns - self.first_ts_ns) / 1e9

    def fold(self, vectors: npt.NDArray[np.float32]) -> None:
        """Fold a block of valid feature vectors (one row each) into the ranges."""
        if not len(vectors):
            return
        lows, highs = vectors.min(axis=0).tolist(), vectors.max(axis=0).tolist()
        totals = vectors.sum(axis=0, dtype=np.float64).tolist()
        for name, low, high, total in zip(FEATURE_NAMES, lows, highs, totals, strict=True):
            r = self.ranges[name]
            r.low, r.high, r.total = min(r.low, low), max(r.high, high), r.total + total


def replay_features(
    events: Iterable[MarketEvent],
    engine_for: Callable[[str], FeatureEngine],
    *,
    limit: int | None = None,
    on_vector: Callable[[str, int, npt.NDArray[np.float32]], None] | None = None,
    book_levels: int = BOOK_LEVELS,
) -> ReplaySummary:
    """Feed ``events`` to one engine per symbol (made by ``engine_for``) and summarise.

    ``on_vector(symbol, ts_ns, vector)`` is called with each valid feature vector (after
    every trade and book); the vector is the engine's own buffer, valid only during the call.
    Books are read ``book_levels`` deep into one reused :class:`BookArrays`; the valid
    vectors are copied into a block that is folded into the ranges every 4096 rows, so the
    loop does per event only what the live path does: feed, write, one row copy.
    """
    summary = ReplaySummary()
    engines: dict[str, FeatureEngine] = {}
    book = BookArrays(book_levels)
    block = np.empty((_BLOCK_ROWS, len(FEATURE_NAMES)), dtype=np.float32)
    rows = trades = books = rejected = 0
    first_ts_ns = last_ts_ns = 0
    remaining = -1 if limit is None else max(limit, 0)
    started = time.perf_counter()
    for event in events:
        if remaining == 0:
            break
        remaining -= 1
        symbol = event.symbol
        engine = engines.get(symbol)
        if engine is None:
            engine = engines[symbol] = engine_for(symbol)
        last_ts_ns = event.ts_ns
        if not first_ts_ns:
            first_ts_ns = last_ts_ns
        if isinstance(event, TradeEvent):
            trades += 1
        else:
            books += 1
        if not feed_event(engine, event, book):
            rejected += 1
        if engine.write():
            block[rows] = engine.vector
            rows += 1
            if rows == _BLOCK_ROWS:
                summary.fold(block)
                summary.valid_vectors += rows
                rows = 0
            if on_vector is not None:
                on_vector(symbol, last_ts_ns, engine.vector)
    summary.fold(block[:rows])
    summary.valid_vectors += rows
    summary.wall_s = time.perf_counter() - started
    summary.trades, summary.books, summary.rejected = trades, books, rejected
    summary.first_ts_ns, summary.last_ts_ns = first_ts_ns, last_ts_ns
    summary.last_vwap = {symbol: e.vwap for symbol, e in engines.items()}
    return summary
