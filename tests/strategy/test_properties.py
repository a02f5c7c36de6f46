"""Properties of OVIR-X over arbitrary feature sequences (hypothesis)."""

from __future__ import annotations

import math
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bitunix.features import FEATURE_NAMES
from bitunix.model.records import RoundTrip
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


# what execution answers after each entry: fill then close, refuse, or nothing yet
outcomes = st.sampled_from(["closed", "rejected", "silent"])


@settings(max_examples=150, deadline=None)
@example(seq=[(2.0, 0.0, -1.0, 59000.0, True)], p=1.0, answers=["closed"] * 60)
@given(seq=ticks, p=st.floats(0.0, 1.0), answers=st.lists(outcomes, min_size=60, max_size=60))
def test_one_trade_at_a_time_never_on_bad_data_and_gated(
    seq: list[tuple[float, float, float, float, bool]], p: float, answers: list[str]
) -> None:
    gate = FixedGate(p)
    s = OvirxStrategy("BTCUSDT", FEATURE_NAMES, gate=gate)
    open_trades = 0
    for i, (z, tick, depth, price, valid) in enumerate(seq):
        ts = (i + 1) * NS
        f = frame(z=z, tick=tick, depth=depth, vwap=60_000.0, std=40.0, price=price)
        sig = s.on_tick(ts, f, valid)
        if sig is None:
            continue
        assert open_trades == 0  # never a second entry while one is pending or held
        assert sig.kind is SignalKind.ENTER
        assert math.isfinite(sig.price)
        assert valid
        assert all(math.isfinite(x) for x in (z, tick, depth))
        assert p >= 0.65
        assert 2.0 <= abs(z) <= 5.0
        d = int(sig.direction)
        assert d * (sig.target - sig.price) > 0  # a fade: target back toward VWAP
        assert d * (sig.price - sig.stop) > 0
        open_trades = 1
        answer = answers[i]
        if answer == "closed":
            s.on_entry_filled(ts, sig.price)
            s.on_position_closed(RoundTrip(
                symbol="BTCUSDT", strategy=s.name, direction=d, qty=Decimal(1),
                entry_price=Decimal(1), exit_price=Decimal(1), entry_ns=ts, exit_ns=ts,
                reason="time", gross_pnl=Decimal(0), fees=Decimal(0), funding=Decimal(0)))
            open_trades = 0
        elif answer == "rejected":
            s.on_entry_rejected(ts, "test")
            open_trades = 0
        assert s.in_position == bool(open_trades)
