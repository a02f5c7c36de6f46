"""Properties of OVIR-X over arbitrary feature sequences (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from bitunix.features import FEATURE_NAMES
from bitunix.strategy import OvirxStrategy, SignalKind
from tests.strategy.crafted import NS, FixedGate, frame

values = st.one_of(
    st.floats(-6.0, 6.0), st.just(math.nan), st.just(math.inf), st.just(-math.inf)
)
ticks = st.lists(
    st.tuples(
        values,  # z
        st.floats(-1.0, 1.0) | st.just(math.nan),  # tick ratio
        st.floats(-1.0, 1.0) | st.just(math.nan),  # depth imbalance
        st.floats(59_000.0, 61_000.0) | st.just(math.nan),  # price
        st.booleans(),  # valid
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(seq=ticks, p=st.floats(0.0, 1.0))
def test_alternates_never_enters_on_bad_data_and_gates_every_entry(
    seq: list[tuple[float, float, float, float, bool]], p: float
) -> None:
    gate = FixedGate(p)
    s = OvirxStrategy("BTCUSDT", FEATURE_NAMES, gate=gate)
    expect = SignalKind.ENTER
    for i, (z, tick, depth, price, valid) in enumerate(seq):
        f = frame(z=z, tick=tick, depth=depth, vwap=60_000.0, std=40.0, price=price)
        sig = s.on_tick((i + 1) * NS, f, valid)
        if sig is None:
            continue
        assert sig.kind is expect
        assert math.isfinite(sig.price)
        if sig.kind is SignalKind.ENTER:
            assert valid
            assert all(math.isfinite(x) for x in (z, tick, depth))
            assert p >= 0.65
            assert 2.0 <= abs(z) <= 5.0
        expect = SignalKind.EXIT if expect is SignalKind.ENTER else SignalKind.ENTER
    assert s.counters.entries - s.counters.exits in (0, 1)
    assert s.in_position == (s.counters.entries > s.counters.exits)
