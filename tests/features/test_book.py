"""Order-book features: depth imbalance, microprice, spread."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bitunix.features import (
    depth_imbalance,
    depth_imbalance_batch,
    microprice,
    simd_impl,
    spread_ticks,
)
from tests.features import oracle

level_qty = st.floats(min_value=0.0, max_value=1e4, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=40).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.float64, (7, n), elements=level_qty),
            hnp.arrays(np.float64, (7, n), elements=level_qty),
            st.none() | hnp.arrays(np.float64, n, elements=st.floats(0.0, 2.0)),
        )
    )
)
def test_depth_imbalance_scalar_batch_and_oracle_agree(
    books: tuple[np.ndarray, np.ndarray, np.ndarray | None],
) -> None:
    bids, asks, weights = books
    batch = depth_imbalance_batch(bids, asks, weights)
    for row in range(bids.shape[0]):
        want = oracle.depth_imbalance(list(bids[row]), list(asks[row]),
                                      None if weights is None else list(weights))
        got = depth_imbalance(bids[row], asks[row], weights=weights)
        assert got == pytest.approx(want, abs=1e-12)
        # The batch may reassociate sums into SIMD lanes: equal to 1e-12, not bit for bit.
        assert batch[row] == pytest.approx(got, abs=1e-12)
        assert -1.0 <= got <= 1.0


def test_depth_imbalance_levels_and_errors() -> None:
    bids = np.array([3.0, 1.0, 100.0])
    asks = np.array([1.0, 1.0, 0.0])
    assert depth_imbalance(bids, asks, levels=1) == 0.5
    assert depth_imbalance(bids, asks, levels=2) == pytest.approx(2 / 6)
    assert depth_imbalance(bids, asks, levels=10) == pytest.approx(102 / 106)
    assert depth_imbalance(np.zeros(2), np.zeros(2)) == 0.0
    assert depth_imbalance(bids[:0], asks[:0]) == 0.0
    with pytest.raises(ValueError, match="levels must be"):
        depth_imbalance(bids, asks, levels=0)
    with pytest.raises(ValueError, match="weights has 1 entries"):
        depth_imbalance(bids, asks, weights=np.ones(1))
    with pytest.raises(ValueError, match="same shape"):
        depth_imbalance_batch(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="weights has 2 entries"):
        depth_imbalance_batch(np.ones((2, 3)), np.ones((2, 3)), np.ones(2))
    assert depth_imbalance_batch(np.ones((0, 3)), np.ones((0, 3))).shape == (0,)


def test_microprice_and_spread() -> None:
    # More bid quantity pushes the microprice toward the ask.
    assert microprice(100.0, 3.0, 101.0, 1.0) == pytest.approx(100.75)
    assert microprice(100.0, 0.0, 101.0, 0.0) == 100.5
    assert spread_ticks(100.0, 100.3, 0.1) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="tick_size"):
        spread_ticks(1.0, 2.0, 0.0)


def test_simd_impl_is_one_line_for_the_banner() -> None:
    # What it must say on which CPU is checked against the binary in test_portability.
    assert simd_impl().startswith("scalar tick path; ")
    assert "\n" not in simd_impl()
