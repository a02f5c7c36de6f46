"""Replaying events through the FeatureEngine into samples."""

from __future__ import annotations

import numpy as np
import pytest

from bitunix.core.errors import ConfigError
from bitunix.data import BookEvent, TradeEvent
from bitunix.ml.dataset import FeatureParams, build_samples
from bitunix.ml.errors import TrainingError

NS = 1_000_000_000


def events(n_trades: int = 60) -> list[TradeEvent | BookEvent]:
    out: list[TradeEvent | BookEvent] = []
    price = 100.0
    for i in range(n_trades):
        price += 0.1 if (i // 5) % 2 == 0 else -0.1
        out.append(TradeEvent(i * NS // 10, "X", f"{price:.1f}", "1", i % 2 == 0))
    last = out[-1].ts_ns
    # a jump far above VWAP, then a book: one strong deviation
    out.append(TradeEvent(last + 1, "X", "103.0", "1", True))
    out.append(BookEvent(last + 2, "X", [("102.9", "5")], [("103.1", "1")]))
    out.append(BookEvent(last + 3, "X", [], [("103.1", "1")]))  # one-sided: skipped
    return out


def test_samples_taken_after_valid_books_with_a_deviation() -> None:
    s = build_samples(events(), FeatureParams(tick_size=0.1), min_abs_z=1.0)
    assert len(s) == 1
    assert s.features.shape == (1, 8)
    assert s.price[0] == 103.0
    assert s.features[0, 0] > 1.0  # vwap_z
    assert s.vwap[0] < 103.0
    assert s.std[0] > 0.0
    assert len(s.trade_ts_ns) == 61
    assert s.end_ns == events()[-1].ts_ns
    assert np.all(np.diff(s.trade_ts_ns) >= 0)


def test_threshold_filters_samples() -> None:
    assert len(build_samples(events(), FeatureParams(tick_size=0.1), min_abs_z=100.0)) == 0


def test_engine_overrides_are_validated() -> None:
    with pytest.raises(ConfigError, match="no_such"):
        build_samples([], FeatureParams(overrides={"no_such": 1}))
    s = build_samples(events(), FeatureParams(tick_size=0.1, overrides={"tick_n": 10}))
    assert len(s) == 1


@pytest.mark.parametrize(("index", "bad", "what"), [
    (3, TradeEvent(3 * NS // 10, "X", "nan", "1", True), "price 'nan'"),
    (3, TradeEvent(3 * NS // 10, "X", "-100", "1", True), "price '-100'"),
    (3, TradeEvent(3 * NS // 10, "X", "100", "-1", True), "quantity '-1'"),
    (3, TradeEvent(0, "X", "100", "1", True), "goes back in time"),
    (3, BookEvent(3 * NS // 10, "X", [("NaN", "1")], [("101", "1")]), "price 'NaN'"),
])
def test_insane_training_rows_are_refused_by_event(index: int, bad: TradeEvent | BookEvent,
                                                   what: str) -> None:
    rows = events()
    rows[index] = bad
    where = rf"training event {index} \(X at ts_ns \d+\): .*{what}"
    with pytest.raises(TrainingError, match=where):
        build_samples(rows, FeatureParams(tick_size=0.1))


@pytest.mark.parametrize("tick", [0.0, -0.1, float("nan")])
def test_a_bad_tick_size_is_a_config_error(tick: float) -> None:
    with pytest.raises(ConfigError, match="tick_size"):
        build_samples(events(), FeatureParams(tick_size=tick))
