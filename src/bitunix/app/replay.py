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

from bitunix.data import MarketEvent
from bitunix.features import BOOK_LEVELS, FEATURE_NAMES, EventFeeder, FeatureEngine


@dataclass
class FeatureRange:
    """Min / max / sum of one feature over the valid vectors."""

    low: float = math.inf
    high: float = -math.inf
    total: float = 0.0


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
    on_vector: Callable[[str, int, npt.NDArray[np.float32]], None] | None = None,
    book_levels: int = BOOK_LEVELS,
) -> ReplaySummary:
    """Feed ``events`` to one engine per symbol (made by ``engine_for``) and summarise.

    ``on_vector(symbol, ts_ns, vector)`` is called with each valid feature vector (after
    every trade and book); the vector is the engine's own buffer, valid only during the call.
    The loop runs in C (:meth:`EventFeeder.replay`): per event it does what the live path
    does (parse, feed, write) and folds the vector into the ranges, creating no object;
    books are read ``book_levels`` deep.
    """
    engines: dict[str, FeatureEngine] = {}
    ranges = np.zeros((3, len(FEATURE_NAMES)), dtype=np.float64)
    ranges[0], ranges[1] = math.inf, -math.inf
    started = time.perf_counter()
    trades, books, valid, rejected, first_ts_ns, last_ts_ns = EventFeeder(book_levels).replay(
        events, engine_for, engines, -1 if limit is None else max(limit, 0), ranges, on_vector)
    wall_s = time.perf_counter() - started
    return ReplaySummary(
        trades=trades, books=books, valid_vectors=valid, rejected=rejected,
        first_ts_ns=first_ts_ns, last_ts_ns=last_ts_ns, wall_s=wall_s,
        ranges={name: FeatureRange(low, high, total) for name, low, high, total
                in zip(FEATURE_NAMES, *ranges.tolist(), strict=True)},
        last_vwap={symbol: e.vwap for symbol, e in engines.items()},
    )
