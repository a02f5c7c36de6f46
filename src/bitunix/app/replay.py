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

from bitunix.data import MarketEvent, TradeEvent
from bitunix.features import FEATURE_NAMES, FeatureEngine, feed_event


@dataclass
class FeatureRange:
    """Running min / max / mean of one feature over the valid vectors."""

    low: float = math.inf
    high: float = -math.inf
    total: float = 0.0

    def add(self, value: float) -> None:
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


def replay_features(
    events: Iterable[MarketEvent],
    engine_for: Callable[[str], FeatureEngine],
    *,
    limit: int | None = None,
    on_vector: Callable[[str, int, np.ndarray], None] | None = None,
) -> ReplaySummary:
    """Feed ``events`` to one engine per symbol (made by ``engine_for``) and summarise.

    ``on_vector(symbol, ts_ns, vector)`` is called with each valid feature vector (after
    every trade and book); the vector is the engine's own buffer, valid only during the call.
    """
    summary = ReplaySummary()
    engines: dict[str, FeatureEngine] = {}
    started = time.perf_counter()
    for event in events:
        if limit is not None and summary.events >= limit:
            break
        engine = engines.get(event.symbol)
        if engine is None:
            engine = engines[event.symbol] = engine_for(event.symbol)
        if not summary.first_ts_ns:
            summary.first_ts_ns = event.ts_ns
        summary.last_ts_ns = event.ts_ns
        if isinstance(event, TradeEvent):
            summary.trades += 1
        else:
            summary.books += 1
        summary.rejected += not feed_event(engine, event)
        if engine.write():
            summary.valid_vectors += 1
            for name, value in zip(FEATURE_NAMES, engine.vector.tolist(), strict=True):
                summary.ranges[name].add(value)
            if on_vector is not None:
                on_vector(event.symbol, event.ts_ns, engine.vector)
    summary.wall_s = time.perf_counter() - started
    summary.last_vwap = {symbol: e.vwap for symbol, e in engines.items()}
    return summary
