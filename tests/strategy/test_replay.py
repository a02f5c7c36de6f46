"""OVIR-X and mean reversion on the real FeatureEngine over the bundled captures, gated by
the shipped model: the invariants every run must keep."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bitunix.data import TradeEvent, bundled_capture, iter_capture
from bitunix.features import FEATURE_NAMES, FeatureEngine
from bitunix.ml.registry import ModelRegistry, load_predictor
from bitunix.strategy import Direction, Signal, SignalKind, StrategySpec, SymbolStrategies

MODELS = Path(__file__).resolve().parents[2] / "models"


def replay(symbol: str, tick: float, specs: list[StrategySpec]) -> tuple[list[Signal], object]:
    predictor, loaded = load_predictor(ModelRegistry(MODELS), FEATURE_NAMES)
    assert loaded is not None
    group = SymbolStrategies.from_specs(symbol, FEATURE_NAMES, specs, gate=predictor)
    fe = FeatureEngine(tick_size=tick)
    out: list[Signal] = []
    for ev in iter_capture(bundled_capture(symbol)):
        if isinstance(ev, TradeEvent):
            fe.on_trade(float(ev.price), float(ev.qty), ev.ts_ns, ev.is_buy)
            continue
        b = np.array(ev.bids, dtype=np.float64)
        a = np.array(ev.asks, dtype=np.float64)
        fe.on_book(b[:, 0].copy(), b[:, 1].copy(), a[:, 0].copy(), a[:, 1].copy(), ev.ts_ns)
        out.extend(group.on_tick(ev.ts_ns, fe, fe.write()))
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
        kinds = [s.kind for s in sigs]
        # enter, exit, enter, exit ... (the last position may still be open)
        assert kinds[::2] == [SignalKind.ENTER] * len(kinds[::2]), name
        assert kinds[1::2] == [SignalKind.EXIT] * len(kinds[1::2]), name
        for enter, exit_ in zip(sigs[::2], sigs[1::2], strict=False):
            assert exit_.ts_ns > enter.ts_ns
            assert exit_.direction is enter.direction
            assert exit_.exit_reason is not None
            d = int(enter.direction)
            # fade: the target lies back toward VWAP, the stop beyond the entry
            assert d * (enter.target - enter.price) > 0
            assert d * (enter.price - enter.stop) > 0
            assert math.isfinite(exit_.pnl_bps)
            if name.startswith("ovirx"):
                assert enter.probability >= (0.3 if name == "ovirx-low" else 0.65)
            assert enter.direction in (Direction.LONG, Direction.SHORT)
    assert predictor.stats.invalid_inputs == 0  # type: ignore[attr-defined]
