"""OVIR-X and mean reversion on the real FeatureEngine over the bundled captures, gated by
the shipped model: the invariants every entry must keep. Execution is stood in for by
answering every entry with a fill and, ``hold_s`` later, a round trip."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from bitunix.data import TradeEvent, bundled_capture, iter_capture
from bitunix.features import FEATURE_NAMES, FeatureEngine
from bitunix.ml.registry import ModelRegistry, load_predictor
from bitunix.model.records import RoundTrip
from bitunix.strategy import Direction, Signal, SignalKind, StrategySpec, SymbolStrategies

MODELS = Path(__file__).resolve().parents[2] / "models"


def replay(symbol: str, tick: float, specs: list[StrategySpec]) -> tuple[list[Signal], object]:
    predictor, loaded = load_predictor(ModelRegistry(MODELS), FEATURE_NAMES)
    assert loaded is not None
    group = SymbolStrategies.from_specs(symbol, FEATURE_NAMES, specs, gate=predictor)
    fe = FeatureEngine(tick_size=tick)
    out: list[Signal] = []
    held: dict[str, tuple[Signal, int]] = {}  # strategy -> (entry, close at ns)
    hold_ns = 20 * 1_000_000_000
    for ev in iter_capture(bundled_capture(symbol)):
        for name, (entry, close_ns) in list(held.items()):
            if ev.ts_ns >= close_ns:
                del held[name]
                group.on_position_closed(RoundTrip(
                    symbol=symbol, strategy=name, direction=int(entry.direction),
                    qty=Decimal(1), entry_price=Decimal(1), exit_price=Decimal(1),
                    entry_ns=entry.ts_ns, exit_ns=ev.ts_ns, reason="time",
                    gross_pnl=Decimal(0), fees=Decimal(0), funding=Decimal(0)))
        if isinstance(ev, TradeEvent):
            fe.on_trade(float(ev.price), float(ev.qty), ev.ts_ns, ev.is_buy)
            continue
        b = np.array(ev.bids, dtype=np.float64)
        a = np.array(ev.asks, dtype=np.float64)
        fe.on_book(b[:, 0].copy(), b[:, 1].copy(), a[:, 0].copy(), a[:, 1].copy(), ev.ts_ns)
        for sig in group.on_tick(ev.ts_ns, fe, fe.write()):
            out.append(sig)
            group.on_entry_filled(sig.strategy, sig.ts_ns, sig.price)
            held[sig.strategy] = (sig, sig.ts_ns + hold_ns)
    return out, predictor


@pytest.mark.parametrize(("symbol", "tick"), [("BTCUSDT", 0.1), ("ETHUSDT", 0.01)])
def test_signals_keep_their_invariants_on_real_data(symbol: str, tick: float) -> None:
    specs = [
        StrategySpec(kind="mean_reversion"),
        StrategySpec(kind="ovirx"),
        StrategySpec(kind="ovirx", name="ovirx-low", params={"prob_threshold": 0.3}),
    ]
    signals, predictor = replay(symbol, tick, specs)
    by_name: dict[str, list[Signal]] = {}
    for s in signals:
        by_name.setdefault(s.strategy, []).append(s)
    assert len(by_name.get("mean_reversion", [])) >= 2  # it trades on both captures
    for name, sigs in by_name.items():
        assert all(s.kind is SignalKind.ENTER for s in sigs), name
        for a, b in itertools.pairwise(sigs):
            assert b.ts_ns >= a.ts_ns + 20 * 1_000_000_000, name  # one trade at a time
        for enter in sigs:
            d = int(enter.direction)
            # fade: the target lies back toward VWAP, the stop beyond the entry
            assert d * (enter.target - enter.price) > 0
            assert d * (enter.price - enter.stop) > 0
            assert enter.trail_distance > 0
            assert enter.max_hold_ns > 0
            if name.startswith("ovirx"):
                assert enter.probability >= (0.3 if name == "ovirx-low" else 0.65)
            assert enter.direction in (Direction.LONG, Direction.SHORT)
    assert predictor.stats.invalid_inputs == 0  # type: ignore[attr-defined]
