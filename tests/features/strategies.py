"""Shared strategies for the native kernel tests."""

from __future__ import annotations

from hypothesis import strategies as st

prices = st.floats(min_value=0.01, max_value=200_000.0, allow_nan=False, allow_infinity=False)
qtys = st.floats(min_value=1e-6, max_value=1_000.0, allow_nan=False, allow_infinity=False)
gaps_ns = st.integers(min_value=0, max_value=5_000)
windows_ns = st.integers(min_value=1, max_value=20_000)
capacities = st.integers(min_value=1, max_value=64)
trades = st.lists(st.tuples(gaps_ns, prices, qtys, st.booleans()), max_size=300)
