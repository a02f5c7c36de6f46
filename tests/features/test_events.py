"""feed_event: venue-neutral events into a FeatureEngine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from bitunix.data import BookEvent, TradeEvent
from bitunix.features import BOOK_LEVELS, FEATURE_NAMES, EventFeeder, FeatureEngine, feed_event


def test_feed_event_reports_acceptance() -> None:
    fe = FeatureEngine(tick_size=0.1)
    assert feed_event(fe, TradeEvent(1, "X", "100.5", "1", True))
    assert not feed_event(fe, TradeEvent(2, "X", "-1", "1", True))
    assert feed_event(fe, BookEvent(3, "X", [("100.4", "1")], [("100.6", "1")]))
    assert not feed_event(fe, BookEvent(4, "X", [("100.7", "1")], [("100.6", "1")]))  # crossed
    assert not feed_event(fe, BookEvent(5, "X", [], [("100.6", "1")]))
    assert (fe.last_price, fe.mid, fe.trades_rejected, fe.books_rejected) == (100.5, 100.5, 1, 2)


def test_book_levels_parse_the_exact_strings_into_the_feeders_buffers() -> None:
    fe, feeder = FeatureEngine(tick_size=0.1, depth_levels=2), EventFeeder(2)
    event = BookEvent(1, "X", [("100.5", "2"), ("100.4", "3"), ("bad", "1")], [("100.6", "0.25")])
    assert feed_event(fe, event, feeder)  # the third bid is past the buffers: never read
    assert (feeder.book.n_bids, feeder.book.n_asks, feeder.book.capacity) == (2, 1, 2)
    assert fe.mid == (100.5 + 100.6) / 2
    with pytest.raises(ValueError, match="bad"):
        feed_event(fe, event, EventFeeder(3))
    assert BOOK_LEVELS == EventFeeder().book.capacity == 15


def test_trades_parse_strings_or_floats_and_any_event_shape() -> None:
    @dataclass
    class Trade:  # not a struct: its fields are read by getattr
        ts_ns: int
        symbol: str
        price: float
        qty: str
        is_buy: bool

    fe, feeder = FeatureEngine(tick_size=0.1), EventFeeder()
    assert feeder.feed(fe, Trade(1, "X", 100.25, "2", True))
    assert feeder.feed(fe, TradeEvent(2, "X", "100.75", "2", False))
    assert feeder.feed(fe, Trade(3, "X", 101.0, "1e-3", True))  # switching types back
    assert fe.last_price == 101.0
    assert fe.vwap == pytest.approx((100.25 * 2 + 100.75 * 2 + 101.0 * 1e-3) / 4.001, rel=1e-12)
    with pytest.raises(ValueError, match="x1"):
        feeder.feed(fe, TradeEvent(4, "X", "x1", "1", True))
    with pytest.raises(TypeError):
        feeder.feed(fe, TradeEvent(5, "X", "1", None, True))  # type: ignore[arg-type]


def test_feed_event_refuses_what_is_not_a_market_event() -> None:
    with pytest.raises(TypeError, match="not a market event: str"):
        feed_event(FeatureEngine(tick_size=0.1), "book")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="FeatureEngine"):
        EventFeeder().feed(None, TradeEvent(1, "X", "1", "1", True))  # type: ignore[arg-type]


def _ranges() -> np.ndarray:
    ranges = np.zeros((3, len(FEATURE_NAMES)))
    ranges[0], ranges[1] = np.inf, -np.inf
    return ranges


def test_replay_checks_its_arguments_and_lets_errors_through() -> None:
    feeder, events = EventFeeder(), [TradeEvent(1, "X", "1", "1", True)]

    def engine(_symbol: str) -> FeatureEngine:
        return FeatureEngine(tick_size=0.1, min_samples=1)

    with pytest.raises(ValueError, match="ranges must be 3 x 8"):
        feeder.replay(events, engine, {}, -1, np.zeros((2, 8)))
    with pytest.raises(TypeError):
        feeder.replay(events, lambda _s: "not an engine", {}, -1, _ranges())
    with pytest.raises(TypeError):
        feeder.replay(events, engine, {"X": "not an engine"}, -1, _ranges())
    valid_soon = [BookEvent(1, "X", [("9.9", "1")], [("10.1", "1")]),
                  TradeEvent(2, "X", "10.0", "1", True), TradeEvent(3, "X", "10.1", "1", True)]
    with pytest.raises(ZeroDivisionError):
        feeder.replay(valid_soon, engine, {}, -1, _ranges(), lambda *_: 1 / 0)


def test_replay_counts_and_folds_what_it_fed() -> None:
    events = [BookEvent(1, "X", [("9.9", "1")], [("10.1", "1")]),
              TradeEvent(2, "X", "10.0", "1", True), TradeEvent(3, "X", "10.1", "1", False),
              TradeEvent(4, "X", "-1", "1", False), TradeEvent(5, "Y", "7", "1", False)]
    engines: dict[str, FeatureEngine] = {}
    ranges = _ranges()
    counts = EventFeeder().replay(events, lambda _s: FeatureEngine(tick_size=0.1, min_samples=2),
                                  engines, 4, ranges)
    assert counts == (3, 1, 2, 1, 1, 4)  # trades, books, valid, rejected, first, last ts
    assert set(engines) == {"X"}          # the limit stopped before Y
    spread = FEATURE_NAMES.index("spread_ticks")
    assert ranges[:, spread].tolist() == pytest.approx([2.0, 2.0, 4.0])
