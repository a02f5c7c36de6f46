"""RollingVWAP against the pure-Python oracle, its edge cases and its long-run precision."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitunix.features import RollingVWAP, vwap_batch
from tests.features.oracle import VWAPOracle
from tests.features.strategies import capacities, trades, windows_ns


def _close_std(got: float, want: float, scale: float) -> bool:
    # std = sqrt(var): rounding of order eps * scale^2 in var shows as ~1e-8 * scale in std
    # when the true std is near zero.
    return abs(got - want) <= 1e-7 * scale


@settings(max_examples=300, deadline=None)
@given(trades, windows_ns, capacities)
def test_matches_oracle_after_every_update(
    sequence: list[tuple[int, float, float, bool]], window_ns: int, cap: int
) -> None:
    native, oracle = RollingVWAP(window_ns, cap), VWAPOracle(window_ns, cap)
    ts, scale = 0, 1.0
    for gap, price, qty, _ in sequence:
        ts += gap
        assert native.add(price, qty, ts) == oracle.add(price, qty, ts)
        assert native.count == len(oracle.samples)
        # The documented bound: errors are relative to the largest price the window has held
        # since its last re-summation (here: any price seen), not to the VWAP itself.
        scale = max(scale, price)
        assert native.vwap == pytest.approx(oracle.vwap, rel=1e-12, abs=1e-13 * scale)
        assert native.volume == pytest.approx(math.fsum(s[2] for s in oracle.samples), rel=1e-12)
        assert _close_std(native.std, oracle.std, scale)


@settings(max_examples=100, deadline=None)
@given(trades, windows_ns, capacities)
def test_batch_and_add_many_agree_with_incremental(
    sequence: list[tuple[int, float, float, bool]], window_ns: int, cap: int
) -> None:
    ts = np.cumsum([g for g, *_ in sequence], dtype=np.int64)
    px = np.array([p for _, p, _, _ in sequence], dtype=np.float64)
    qty = np.array([q for _, _, q, _ in sequence], dtype=np.float64)
    vwap, std = vwap_batch(ts, px, qty, window_ns, cap)
    incremental = RollingVWAP(window_ns, cap)
    for i in range(len(sequence)):
        incremental.add(px[i], qty[i], int(ts[i]))
        # One C reader serves both paths: bit-identical, not merely within 1e-12.
        assert vwap[i] == incremental.vwap
        assert std[i] == incremental.std
    bulk = RollingVWAP(window_ns, cap)
    assert bulk.add_many(ts, px, qty) == len(sequence)
    assert (bulk.vwap, bulk.std, bulk.count) == (incremental.vwap, incremental.std,
                                                 incremental.count)


def test_empty_and_single_sample() -> None:
    v = RollingVWAP(1_000, 10)
    assert (v.vwap, v.std, v.count, v.volume, v.rejected) == (0.0, 0.0, 0, 0.0, 0)
    assert v.add(101.5, 2.0, 7)
    assert (v.vwap, v.std, v.count, v.volume) == (101.5, 0.0, 1, 2.0)


def test_eviction_exactly_at_the_window_edge() -> None:
    v = RollingVWAP(10, 100)
    v.add(100.0, 1.0, 0)
    v.add(200.0, 1.0, 9)  # 0 > 9 - 10: still inside
    assert v.count == 2
    v.add(300.0, 1.0, 10)  # 0 <= 10 - 10: evicted
    assert v.count == 2
    assert v.vwap == 250.0
    assert v.std == 50.0
    v.advance(19)  # 9 <= 19 - 10: evicted; 10 stays
    assert (v.count, v.vwap) == (1, 300.0)
    v.advance(20)
    assert (v.count, v.vwap, v.std, v.volume) == (0, 0.0, 0.0, 0.0)


def test_eviction_by_count() -> None:
    v = RollingVWAP(10**18, 3)
    for i, price in enumerate([1.0, 2.0, 3.0, 4.0]):
        v.add(price, 1.0, i)
    assert (v.count, v.vwap) == (3, 3.0)


@pytest.mark.parametrize(
    ("price", "qty"),
    [(math.nan, 1.0), (math.inf, 1.0), (-1.0, 1.0), (0.0, 1.0),
     (100.0, math.nan), (100.0, -math.inf), (100.0, -2.0), (100.0, 0.0)],
)
def test_bad_input_is_rejected_and_counted(price: float, qty: float) -> None:
    v = RollingVWAP(1_000, 10)
    v.add(100.0, 1.0, 1)
    v.add(102.0, 3.0, 2)
    before = (v.vwap, v.std, v.count, v.volume)
    assert not v.add(price, qty, 3)
    assert (v.vwap, v.std, v.count, v.volume) == before
    assert v.rejected == 1


def test_out_of_order_timestamp_is_rejected_equal_is_accepted() -> None:
    v = RollingVWAP(1_000, 10)
    assert v.add(100.0, 1.0, 50)
    assert v.add(101.0, 1.0, 50)
    assert not v.add(102.0, 1.0, 49)
    assert (v.count, v.rejected, v.vwap) == (2, 1, 100.5)
    v.advance(10)  # going back in time evicts nothing
    assert v.count == 2


def test_reset_and_repr() -> None:
    v = RollingVWAP(1_000, 10)
    v.add(100.0, 1.0, 5)
    v.add(-1.0, 1.0, 6)
    v.reset()
    assert (v.count, v.vwap, v.rejected) == (0, 0.0, 0)
    assert v.add(100.0, 1.0, 1)  # timestamps start over after a reset
    assert "RollingVWAP(window_ns=1000, max_samples=10" in repr(v)
    assert (v.window_ns, v.max_samples) == (1_000, 10)


@pytest.mark.parametrize(("window_ns", "cap"), [(0, 10), (-5, 10), (10, 0), (10, -1), (10, 2**32)])
def test_constructor_rejects_bad_arguments(window_ns: int, cap: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        RollingVWAP(window_ns, cap)


def test_array_length_mismatch() -> None:
    a = np.zeros(3, dtype=np.float64)
    with pytest.raises(ValueError, match="differ in length"):
        vwap_batch(np.zeros(2, dtype=np.int64), a, a, 10, 10)
    assert RollingVWAP(10, 10).add_many(np.zeros(0, dtype=np.int64), a[:0], a[:0]) == 0


@given(st.floats(min_value=1.0, max_value=1e5), st.integers(min_value=2, max_value=50))
def test_flat_prices_have_exactly_zero_std(price: float, n: int) -> None:
    v = RollingVWAP(10**12, 1_000)
    for i in range(n):
        v.add(price, 0.1 + i, i)
    assert v.std == 0.0
    assert v.vwap == pytest.approx(price, rel=1e-15)


def test_no_drift_after_1e8_updates() -> None:
    """10^8 updates through the incremental kernel end where an exact recompute does."""
    rng = np.random.default_rng(7)
    window_ns, cap, chunk = 50_000_000, 600, 1_000_000
    v = RollingVWAP(window_ns, cap)
    price0, ts0 = 60_000.0, 0
    for _ in range(100):
        steps = rng.standard_t(3, chunk) * 0.5
        px = price0 + np.cumsum(steps)
        px = np.where(px > 1.0, px, 1.0)
        qty = rng.lognormal(-3.0, 1.5, chunk)
        ts = ts0 + np.cumsum(rng.integers(0, 200_000, chunk), dtype=np.int64)
        assert v.add_many(ts, px, qty) == chunk
        price0, ts0 = float(px[-1]), int(ts[-1])
    # The final window, recomputed exactly from the last chunk's samples.
    inside = ts > ts[-1] - window_ns
    p, q = px[inside][-cap:], qty[inside][-cap:]
    assert v.count == len(p)
    exact_vwap = math.fsum(p * q) / math.fsum(q)
    exact_std = math.sqrt(math.fsum(q * (p - exact_vwap) ** 2) / math.fsum(q))
    assert v.vwap == pytest.approx(exact_vwap, rel=1e-13)
    assert v.std == pytest.approx(exact_std, rel=1e-9)
