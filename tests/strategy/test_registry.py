"""Strategies by name, several per symbol, in configured order."""

from __future__ import annotations

import msgspec
import pytest

from bitunix.core.errors import ConfigError
from bitunix.features import FEATURE_NAMES
from bitunix.strategy import (
    STRATEGY_KINDS,
    MeanReversionConfig,
    MeanReversionStrategy,
    OvirxStrategy,
    SignalKind,
    StrategySpec,
    SymbolStrategies,
    build_strategy,
)
from tests.strategy.crafted import NS, FixedGate, frame


def test_kinds_are_registered_by_name() -> None:
    assert set(STRATEGY_KINDS) == {"ovirx", "mean_reversion"}


def test_build_by_name_with_params_from_config() -> None:
    spec = msgspec.convert(
        {
            "kind": "ovirx",
            "name": "ovirx-fast",
            "params": {"entry_z": 2.5, "exits": {"stop_std": 2}},
        },
        type=StrategySpec,
    )
    s = build_strategy("ETHUSDT", FEATURE_NAMES, spec)
    assert isinstance(s, OvirxStrategy)
    assert s.name == "ovirx-fast"
    assert s.symbol == "ETHUSDT"
    assert s.config.entry_z == 2.5
    assert s.config.exits.stop_std == 2.0


def test_unknown_kind_and_unknown_param_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown strategy kind 'nope'"):
        build_strategy("BTCUSDT", FEATURE_NAMES, StrategySpec(kind="nope"))
    with pytest.raises(ConfigError, match="entry_zz"):
        build_strategy(
            "BTCUSDT", FEATURE_NAMES, StrategySpec(kind="ovirx", params={"entry_zz": 1.0})
        )
    with pytest.raises(ConfigError):
        build_strategy(
            "BTCUSDT", FEATURE_NAMES, StrategySpec(kind="mean_reversion", params={"entry_z": -1})
        )


def test_symbol_strategies_run_in_order_and_share_the_gate() -> None:
    gate = FixedGate(0.9)
    specs = [StrategySpec(kind="mean_reversion"), StrategySpec(kind="ovirx")]
    group = SymbolStrategies.from_specs("BTCUSDT", FEATURE_NAMES, specs, gate=gate)
    assert [s.name for s in group.strategies] == ["mean_reversion", "ovirx"]
    # |z| = 3 without confirmation: only the model-free strategy enters
    out = group.on_tick(1 * NS, frame(z=3.0, tick=0.5, depth=0.5), True)
    assert [(sig.strategy, sig.kind) for sig in out] == [("mean_reversion", SignalKind.ENTER)]
    assert gate.calls == 0
    out = group.on_tick(2 * NS, frame(z=3.0, tick=-0.5, depth=-0.5), True)
    assert [sig.strategy for sig in out] == ["ovirx"]
    assert gate.calls == 1
    assert group.on_tick(3 * NS, frame(z=1.0), True) == []


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="two strategies"):
        SymbolStrategies.from_specs(
            "BTCUSDT", FEATURE_NAMES, [StrategySpec(kind="ovirx"), StrategySpec(kind="ovirx")]
        )


def test_mean_reversion_never_trades_nan_and_respects_entry_z() -> None:
    s = MeanReversionStrategy("BTCUSDT", FEATURE_NAMES, MeanReversionConfig(entry_z=2.5))
    assert s.on_tick(1 * NS, frame(z=float("nan")), True) is None
    assert s.on_tick(1 * NS, frame(z=2.4), True) is None
    sig = s.on_tick(1 * NS, frame(z=-2.6), True)
    assert sig is not None
    assert sig.probability == 1.0
    assert sig.score_source == "rules"
