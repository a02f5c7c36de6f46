"""RiskConfig: defaults, conversion from the config file's table, and bad values refused with
the key and the value named."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from bitunix.core.errors import ConfigError
from bitunix.risk import (
    ErrorRateBreakerConfig,
    ImbalanceBreakerConfig,
    LimitsConfig,
    RiskConfig,
    SizingConfig,
    StalenessBreakerConfig,
    SymbolRiskConfig,
    VolatilityBreakerConfig,
    VolumeBreakerConfig,
)


def test_defaults_are_the_documented_ones() -> None:
    c = RiskConfig()
    assert (c.sizing.base_size_pct, c.sizing.kelly_multiplier, c.sizing.max_kelly_fraction,
            c.sizing.max_risk_pct) == (5.0, 0.5, 0.25, 0.5)
    assert (c.limits.max_daily_loss_pct, c.limits.flatten_on_daily_loss,
            c.limits.max_symbol_exposure_pct, c.limits.max_total_exposure_pct,
            c.limits.max_leverage, c.limits.max_open_orders) == (5.0, True, 10.0, 20.0, 3.0, 4)
    b = c.breaker
    assert (b.volatility.max_bps, b.imbalance.max_abs, b.imbalance.min_duration_s,
            b.volume.max_multiple, b.volume.interval_s, b.error_rate.max_rate,
            b.error_rate.min_requests, b.staleness.max_silence_s) == (
        30.0, 0.8, 5.0, 5.0, 10.0, 0.2, 10, 5.0)
    assert [x.recovery_s for x in (b.volatility, b.imbalance, b.volume, b.error_rate,
                                   b.staleness)] == [300.0, 300.0, 300.0, 300.0, 30.0]


def test_converts_from_a_config_table() -> None:
    table = {
        "sizing": {"base_size_pct": 2.5},
        "limits": {"max_daily_loss_pct": 3, "flatten_on_daily_loss": False},
        "breaker": {"volume": {"max_multiple": 8.0}, "staleness": {"enabled": False}},
        "symbols": {"BTCUSDT": {"max_order_qty": "0.05", "max_leverage": 5}},
    }
    c = msgspec.convert(table, RiskConfig)
    assert c.sizing.base_size_pct == 2.5
    assert c.sizing.kelly_multiplier == 0.5
    assert c.limits.max_daily_loss_pct == 3
    assert not c.limits.flatten_on_daily_loss
    assert c.breaker.volume.max_multiple == 8.0
    assert not c.breaker.staleness.enabled
    assert c.for_symbol("BTCUSDT").max_order_qty == Decimal("0.05")
    assert c.for_symbol("ETHUSDT") == SymbolRiskConfig()


@pytest.mark.parametrize("table", [
    {"sizing": {"base_size": 1.0}},
    {"limits": {"max_daily_loss": 5}},
    {"breaker": {"volume": {"multiple": 5}}},
    {"symbols": {"BTCUSDT": {"leverage": 5}}},
    {"kelly": 0.5},
])
def test_unknown_keys_are_refused(table: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert(table, RiskConfig)


BAD: list[tuple[type[Any], str, object, str]] = [
    (SizingConfig, "base_size_pct", 0.0, "risk.sizing.base_size_pct"),
    (SizingConfig, "base_size_pct", 101.0, "risk.sizing.base_size_pct"),
    (SizingConfig, "kelly_multiplier", math.nan, "risk.sizing.kelly_multiplier"),
    (SizingConfig, "kelly_multiplier", 1.5, "risk.sizing.kelly_multiplier"),
    (SizingConfig, "max_kelly_fraction", 0, "risk.sizing.max_kelly_fraction"),
    (SizingConfig, "max_risk_pct", -1.0, "risk.sizing.max_risk_pct"),
    (LimitsConfig, "max_daily_loss_pct", -5.0, "risk.limits.max_daily_loss_pct"),
    (LimitsConfig, "max_daily_loss_pct", math.inf, "risk.limits.max_daily_loss_pct"),
    (LimitsConfig, "max_daily_loss_pct", "5", "risk.limits.max_daily_loss_pct"),
    (LimitsConfig, "flatten_on_daily_loss", 1, "risk.limits.flatten_on_daily_loss"),
    (LimitsConfig, "max_symbol_exposure_pct", 0.0, "risk.limits.max_symbol_exposure_pct"),
    (LimitsConfig, "max_total_exposure_pct", -1, "risk.limits.max_total_exposure_pct"),
    (LimitsConfig, "max_leverage", 200, "risk.limits.max_leverage"),
    (LimitsConfig, "max_open_orders", 0, "risk.limits.max_open_orders"),
    (LimitsConfig, "max_open_orders", 2.5, "risk.limits.max_open_orders"),
    (LimitsConfig, "max_open_orders", True, "risk.limits.max_open_orders"),
    (VolatilityBreakerConfig, "max_bps", 0.0, "risk.breaker.volatility.max_bps"),
    (VolatilityBreakerConfig, "recovery_s", -1.0, "risk.breaker.volatility.recovery_s"),
    (VolatilityBreakerConfig, "enabled", "yes", "risk.breaker.volatility.enabled"),
    (ImbalanceBreakerConfig, "max_abs", 1.2, "risk.breaker.imbalance.max_abs"),
    (ImbalanceBreakerConfig, "min_duration_s", -0.5, "risk.breaker.imbalance.min_duration_s"),
    (VolumeBreakerConfig, "max_multiple", 1.0, "risk.breaker.volume.max_multiple"),
    (VolumeBreakerConfig, "interval_s", 0.0, "risk.breaker.volume.interval_s"),
    (VolumeBreakerConfig, "ewma_intervals", 0, "risk.breaker.volume.ewma_intervals"),
    (VolumeBreakerConfig, "warmup_intervals", 0, "risk.breaker.volume.warmup_intervals"),
    (ErrorRateBreakerConfig, "max_rate", 1.5, "risk.breaker.error_rate.max_rate"),
    (ErrorRateBreakerConfig, "window_s", 0.0, "risk.breaker.error_rate.window_s"),
    (ErrorRateBreakerConfig, "min_requests", 0, "risk.breaker.error_rate.min_requests"),
    (StalenessBreakerConfig, "max_silence_s", 0.0, "risk.breaker.staleness.max_silence_s"),
]


@pytest.mark.parametrize(("cls", "field", "value", "key"), BAD)
def test_bad_values_name_the_key_and_the_value(cls: type[Any], field: str, value: object,
                                               key: str) -> None:
    with pytest.raises(ConfigError) as err:
        cls(**{field: value})
    message = str(err.value)
    assert message.startswith(f"{key} must be ")
    assert message.endswith(f"was {value!r}")


def test_bad_value_from_a_table_names_the_key() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"risk\.limits\.max_daily_loss_pct.*-2"):
        msgspec.convert({"limits": {"max_daily_loss_pct": -2}}, RiskConfig)


@pytest.mark.parametrize(("override", "key"), [
    ({"base_size_pct": 0.0}, "risk.symbols.BTCUSDT.base_size_pct"),
    ({"max_exposure_pct": -3.0}, "risk.symbols.BTCUSDT.max_exposure_pct"),
    ({"max_leverage": 0.0}, "risk.symbols.BTCUSDT.max_leverage"),
    ({"max_order_qty": Decimal("0")}, "risk.symbols.BTCUSDT.max_order_qty"),
    ({"max_order_qty": Decimal("NaN")}, "risk.symbols.BTCUSDT.max_order_qty"),
])
def test_bad_symbol_overrides_name_the_symbol(override: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key} must be"):
        RiskConfig(symbols={"BTCUSDT": SymbolRiskConfig(**override)})


def test_symbol_names_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"risk\.symbols: 'BTC USDT' is not a symbol name"):
        RiskConfig(symbols={"BTC USDT": SymbolRiskConfig()})
