"""Labels: target before stop within the horizon, after fees; never read the future."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitunix.core.errors import ConfigError
from bitunix.ml.labels import UNDEFINED, LabelConfig, label_reversions

NS = 1_000_000_000
CFG = LabelConfig(horizon_s=10.0, stop_std=1.5, fee_bps=1.0)


def label_one(path: list[tuple[float, float]], *, price: float, end_s: float | None = None) -> int:
    """One sample at t=0 (vwap 100, std 1) over a path of (seconds, price) trades."""
    t = np.array([int(s * NS) for s, _ in path], dtype=np.int64)
    p = np.array([x for _, x in path], dtype=np.float64)
    out = label_reversions(
        np.array([0], dtype=np.int64),
        np.array([price]),
        np.array([100.0]),
        np.array([1.0]),
        trade_ts_ns=t,
        trade_price=p,
        config=CFG,
        end_ns=None if end_s is None else int(end_s * NS),
    )
    return int(out[0])


def test_short_reaching_vwap_before_the_stop_is_positive() -> None:
    # price 102 above vwap 100: short, target 100, stop 103.5
    assert label_one([(1, 101.0), (2, 99.9), (3, 104.0), (20, 100.0)], price=102.0) == 1


def test_stop_first_is_negative() -> None:
    assert label_one([(1, 103.5), (2, 99.0), (20, 100.0)], price=102.0) == 0


def test_long_mirrors() -> None:
    assert label_one([(1, 99.0), (2, 100.0), (20, 100.0)], price=98.0) == 1
    assert label_one([(1, 96.5), (2, 100.0), (20, 100.0)], price=98.0) == 0


def test_target_after_the_horizon_is_negative() -> None:
    assert label_one([(1, 101.5), (10.5, 100.0), (20, 100.0)], price=102.0) == 0


def test_trade_at_the_sample_time_is_not_used() -> None:
    # only trades strictly after t count: the one at t=0 is the sample's own price
    assert label_one([(0, 99.0), (5, 101.0), (20, 101.0)], price=102.0) == 0


def test_gain_that_does_not_pay_fees_is_negative() -> None:
    # 102.01 vs vwap 102: 1 bp gain < 2 bp round-trip fee
    t = np.array([1 * NS, 20 * NS], dtype=np.int64)
    out = label_reversions(
        np.array([0], dtype=np.int64),
        np.array([102.01]),
        np.array([102.0]),
        np.array([1.0]),
        trade_ts_ns=t,
        trade_price=np.array([101.0, 101.0]),
        config=CFG,
    )
    assert out.tolist() == [0]


def test_unresolved_sample_whose_horizon_outruns_the_data_is_undefined() -> None:
    assert label_one([(1, 101.5), (5, 101.0)], price=102.0) == UNDEFINED
    # resolved before the data end: defined even though the horizon is incomplete
    assert label_one([(1, 99.0), (5, 101.0)], price=102.0) == 1


def test_invalid_inputs() -> None:
    one = np.array([0], dtype=np.int64)
    with pytest.raises(ValueError, match="differ in length"):
        label_reversions(
            one, np.array([1.0, 2.0]), np.array([1.0]), np.array([1.0]),
            trade_ts_ns=one, trade_price=np.array([1.0]),
        )
    with pytest.raises(ValueError, match="sorted"):
        label_reversions(
            one, np.array([1.0]), np.array([1.0]), np.array([1.0]),
            trade_ts_ns=np.array([2, 1], dtype=np.int64), trade_price=np.array([1.0, 1.0]),
        )
    with pytest.raises(ValueError, match="trade arrays"):
        label_reversions(
            one, np.array([1.0]), np.array([1.0]), np.array([1.0]),
            trade_ts_ns=one, trade_price=np.array([1.0, 1.0]),
        )
    with pytest.raises(ConfigError):
        LabelConfig(horizon_s=0.0)
    with pytest.raises(ConfigError):
        LabelConfig(fee_bps=-1.0)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    cut_s=st.floats(20.0, 80.0),
)
def test_future_data_cannot_change_past_labels(seed: int, cut_s: float) -> None:
    """Replace every trade after ``cut`` with a different random path: labels of samples
    whose horizon ends by ``cut`` stay the same."""
    rng = np.random.default_rng(seed)
    n_trades = 400
    trade_ts = np.sort(rng.integers(0, 100 * NS, n_trades)).astype(np.int64)
    trade_px = 100.0 + np.cumsum(rng.normal(0, 0.3, n_trades))
    sample_ts = np.sort(rng.integers(0, 90 * NS, 60)).astype(np.int64)
    idx = np.searchsorted(trade_ts, sample_ts, side="right") - 1
    price = trade_px[np.maximum(idx, 0)]
    vwap = price + rng.normal(0, 1.0, 60)
    std = np.abs(rng.normal(0.8, 0.2, 60)) + 0.05
    cfg = LabelConfig(horizon_s=10.0, fee_bps=0.0)
    end = 100 * NS
    before = label_reversions(
        sample_ts, price, vwap, std, trade_ts_ns=trade_ts, trade_price=trade_px, config=cfg,
        end_ns=end,
    )
    cut = int(cut_s * NS)
    future = trade_ts > cut
    altered = trade_px.copy()
    altered[future] = 100.0 + rng.normal(0, 5.0, int(future.sum()))
    after = label_reversions(
        sample_ts, price, vwap, std, trade_ts_ns=trade_ts, trade_price=altered, config=cfg,
        end_ns=end,
    )
    past = sample_ts + 10 * NS <= cut
    assert np.array_equal(before[past], after[past])
