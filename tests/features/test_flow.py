"""TickImbalance and TradeFlowImbalance against the oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitunix.features import (
    TickImbalance,
    TradeFlowImbalance,
    flow_imbalance_batch,
    tick_ratio_batch,
)
from tests.features.oracle import FlowOracle, TickOracle
from tests.features.strategies import capacities, trades, windows_ns

tick_prices = st.lists(
    st.one_of(st.sampled_from([100.0, 100.5, 101.0, math.nan, -1.0]),
              st.floats(min_value=99, max_value=102)),
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(tick_prices, st.integers(min_value=1, max_value=20))
def test_tick_ratio_matches_oracle_and_batch(prices: list[float], n: int) -> None:
    native, oracle = TickImbalance(n), TickOracle(n)
    batch = tick_ratio_batch(np.array(prices, dtype=np.float64), n)
    for i, price in enumerate(prices):
        assert native.add(price) == oracle.add(price)
        assert native.ratio == oracle.ratio  # integer sums: exact
        assert batch[i] == native.ratio
        assert native.count == len(oracle.signs)
    assert native.rejected == sum(1 for p in prices if not (math.isfinite(p) and p > 0))


def test_tick_rule_details() -> None:
    t = TickImbalance(3)
    assert (t.ratio, t.count) == (0.0, 0)
    t.add(100.0)  # seeds only
    t.add(100.0)  # zero tick before any move: not counted
    assert t.count == 0
    t.add(101.0)
    t.add(101.0)  # repeats +1
    t.add(100.0)
    assert (t.count, t.ratio) == (3, pytest.approx(1 / 3))
    t.add(99.0)  # window of 3 drops the oldest +1
    assert t.ratio == pytest.approx(-1 / 3)
    t.reset()
    assert (t.count, t.ratio, t.rejected, t.n) == (0, 0.0, 0, 3)
    with pytest.raises(ValueError, match="n must be"):
        TickImbalance(0)


@settings(max_examples=200, deadline=None)
@given(trades, windows_ns, capacities)
def test_flow_imbalance_matches_oracle_and_batch(
    sequence: list[tuple[int, float, float, bool]], window_ns: int, cap: int
) -> None:
    native, oracle = TradeFlowImbalance(window_ns, cap), FlowOracle(window_ns, cap)
    ts = np.cumsum([g for g, *_ in sequence], dtype=np.int64)
    qty = np.array([q for _, _, q, _ in sequence], dtype=np.float64)
    side = np.array([b for *_, b in sequence], dtype=bool)
    batch = flow_imbalance_batch(ts, qty, side, window_ns, cap)
    for i in range(len(sequence)):
        assert native.add(qty[i], bool(side[i]), int(ts[i])) == oracle.add(
            qty[i], bool(side[i]), int(ts[i]))
        assert native.imbalance == pytest.approx(oracle.imbalance, abs=1e-12)
        assert batch[i] == native.imbalance
        assert native.count == len(oracle.samples)


def test_flow_window_and_rejections() -> None:
    f = TradeFlowImbalance(10, 100)
    assert f.imbalance == 0.0
    f.add(3.0, True, 0)
    f.add(1.0, False, 5)
    assert (f.imbalance, f.buy_volume, f.sell_volume) == (0.5, 3.0, 1.0)
    for bad in (0.0, -1.0, math.nan, math.inf):
        assert not f.add(bad, True, 6)
    assert not f.add(1.0, True, 4)  # out of order
    assert f.rejected == 5
    f.advance(10)  # ts 0 leaves the window
    assert (f.imbalance, f.count) == (-1.0, 1)
    f.advance(100)
    assert (f.imbalance, f.count, f.buy_volume) == (0.0, 0, 0.0)
    f.reset()
    assert (f.rejected, f.window_ns, f.max_samples) == (0, 10, 100)
    with pytest.raises(ValueError, match="window_ns must be"):
        TradeFlowImbalance(0, 10)
