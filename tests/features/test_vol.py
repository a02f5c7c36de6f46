"""RealizedVolatility against the oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from bitunix.features import RealizedVolatility, realized_vol_batch
from tests.features.oracle import VolOracle
from tests.features.strategies import capacities, trades, windows_ns


@settings(max_examples=200, deadline=None)
@given(trades, windows_ns, capacities)
def test_matches_oracle_and_batch(
    sequence: list[tuple[int, float, float, bool]], window_ns: int, cap: int
) -> None:
    halflife = 1_000
    native, oracle = RealizedVolatility(window_ns, cap, halflife), VolOracle(window_ns, cap,
                                                                             halflife)
    ts = np.cumsum([g for g, *_ in sequence], dtype=np.int64)
    px = np.array([p for _, p, _, _ in sequence], dtype=np.float64)
    batch = realized_vol_batch(ts, px, window_ns, cap, halflife)
    for i in range(len(sequence)):
        assert native.add(px[i], int(ts[i])) == oracle.add(px[i], int(ts[i]))
        assert native.realized == pytest.approx(oracle.realized, rel=1e-9, abs=1e-12)
        assert native.ewma == pytest.approx(oracle.ewma, rel=1e-9, abs=1e-12)
        assert batch[i] == native.realized
        assert native.count == len(oracle.returns)


def test_known_values_and_rejections() -> None:
    v = RealizedVolatility(10, 100, 5)
    assert (v.realized, v.ewma, v.count) == (0.0, 0.0, 0)
    v.add(100.0, 0)
    v.add(110.0, 5)
    r = math.log(1.1)
    assert v.realized == pytest.approx(abs(r))
    assert v.ewma == pytest.approx(abs(r))
    v.add(110.0, 10)  # zero return; ewma halves its squared sum over one half-life
    assert v.ewma == pytest.approx(math.sqrt(r * r / 2))
    for bad in (math.nan, 0.0, -5.0):
        assert not v.add(bad, 11)
    assert not v.add(120.0, 9)
    assert v.rejected == 4
    v.reset()
    assert (v.rejected, v.count, v.halflife_ns, v.window_ns, v.max_samples) == (0, 0, 5, 10, 100)
    with pytest.raises(ValueError, match="halflife_ns must be"):
        RealizedVolatility(10, 10, 0)
