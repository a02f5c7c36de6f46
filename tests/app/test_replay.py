"""The replay path: events through one FeatureEngine per symbol."""

from __future__ import annotations

import numpy as np
import pytest

from bitunix.app.replay import replay_features
from bitunix.data import BookEvent, TradeEvent, iter_capture
from bitunix.features import FEATURE_NAMES, FeatureEngine


def _engine(_symbol: str) -> FeatureEngine:
    return FeatureEngine(tick_size=0.1, min_samples=2)


def test_engines_per_symbol_and_rejections_counted() -> None:
    events = [
        BookEvent(1, "AAA", [("9.9", "1")], [("10.1", "1")]),
        TradeEvent(2, "AAA", "10.0", "1", True),
        TradeEvent(3, "BBB", "500", "2", False),
        TradeEvent(4, "AAA", "10.1", "1", False),
        TradeEvent(5, "AAA", "-1", "1", False),               # rejected
        BookEvent(6, "BBB", [("501", "1")], [("500", "1")]),  # crossed: rejected
    ]
    seen: list[tuple[str, int, list[float]]] = []
    summary = replay_features(events, _engine,
                              on_vector=lambda s, ts, v: seen.append((s, ts, v.tolist())))
    assert (summary.trades, summary.books, summary.rejected) == (4, 2, 2)
    assert summary.last_vwap == {"AAA": 10.05, "BBB": 500.0}
    # Valid only once AAA has a book, two trades and std > 0.
    assert [(s, ts) for s, ts, _ in seen] == [("AAA", 4), ("AAA", 5)]
    assert summary.valid_vectors == 2
    assert summary.first_ts_ns == 1
    assert summary.market_seconds == 5e-9
    assert summary.ranges["spread_ticks"].high == np.float32(2.0)


def test_limit_and_real_capture() -> None:
    summary = replay_features(iter_capture(), _engine, limit=2_000)
    assert summary.events == 2_000
    assert summary.rejected == 0
    assert summary.valid_vectors > 1_500
    assert set(summary.ranges) == set(FEATURE_NAMES)
    for r in summary.ranges.values():
        assert np.isfinite([r.low, r.high, r.total]).all()


def test_ranges_match_every_valid_vector() -> None:
    vectors: list[list[float]] = []
    summary = replay_features(iter_capture(), _engine, limit=9_000,
                              on_vector=lambda _s, _ts, v: vectors.append(v.tolist()))
    seen = np.array(vectors, dtype=np.float32)
    assert summary.valid_vectors == len(seen) > 8_000
    for i, name in enumerate(FEATURE_NAMES):
        r = summary.ranges[name]
        assert (r.low, r.high) == (seen[:, i].min(), seen[:, i].max())
        assert r.total == pytest.approx(seen[:, i].sum(dtype=np.float64), rel=1e-9, abs=1e-6)


def test_limit_zero_or_negative_replays_nothing() -> None:
    events = [TradeEvent(1, "AAA", "10.0", "1", True)]
    assert replay_features(events, _engine, limit=0).events == 0
    assert replay_features(events, _engine, limit=-3).events == 0
    assert replay_features(events, _engine, limit=None).events == 1
