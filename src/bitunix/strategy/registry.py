"""Strategies by name, and the set of strategies that runs for one symbol.

Configuration names strategies (``[[strategies]] kind = "ovirx"``); this module maps the
name to the class and its typed config, builds them per symbol, and runs them in the
configured order (deterministic, unlike the earlier bot's random map order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import msgspec

from bitunix.core.errors import ConfigError
from bitunix.model.records import RoundTrip
from bitunix.strategy.base import FeatureSource, Signal, Strategy
from bitunix.strategy.config import MeanReversionConfig, OvirxConfig
from bitunix.strategy.meanrev import MeanReversionStrategy
from bitunix.strategy.ovirx import Gate, OvirxStrategy
from bitunix.strategy.reversion import Learner, OutcomeSink

_C = TypeVar("_C", bound=msgspec.Struct)


class StrategySpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One configured strategy: its kind, an optional instance name and its parameters."""

    kind: str
    name: str | None = None
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class StrategyHooks(msgspec.Struct, frozen=True, kw_only=True):
    """What a strategy is wired to: ``gate`` (the model, for the kinds it gates),
    ``outcome_sink`` (the model monitor) and ``learner`` (online learning)."""

    gate: Gate | None = None
    outcome_sink: OutcomeSink | None = None
    learner: Learner | None = None


Builder = Callable[[str, Sequence[str], StrategySpec, StrategyHooks], Strategy]


def _build_ovirx(
    symbol: str, names: Sequence[str], spec: StrategySpec, hooks: StrategyHooks
) -> Strategy:
    cfg = convert_params(spec, OvirxConfig)
    return OvirxStrategy(symbol, names, cfg, gate=hooks.gate, name=spec.name,
                         outcome_sink=hooks.outcome_sink, learner=hooks.learner)


def _build_mean_reversion(
    symbol: str, names: Sequence[str], spec: StrategySpec, hooks: StrategyHooks
) -> Strategy:
    # No learner: its entries are not the model's decisions, so their outcomes would
    # teach the model about a rule it never applied.
    cfg = convert_params(spec, MeanReversionConfig)
    return MeanReversionStrategy(symbol, names, cfg, name=spec.name,
                                 outcome_sink=hooks.outcome_sink)


STRATEGY_KINDS: dict[str, Builder] = {
    OvirxStrategy.kind: _build_ovirx,
    MeanReversionStrategy.kind: _build_mean_reversion,
}


#: The typed parameters of each kind (``[[signal.strategies]] params``).
STRATEGY_CONFIGS: dict[str, type[msgspec.Struct]] = {
    OvirxStrategy.kind: OvirxConfig,
    MeanReversionStrategy.kind: MeanReversionConfig,
}


def check_spec(spec: StrategySpec) -> None:
    """Raise ConfigError now for an unknown kind or bad parameters (at config load, not at
    the first tick)."""
    config_type = STRATEGY_CONFIGS.get(spec.kind)
    if config_type is None:
        raise ConfigError(
            f"unknown strategy kind {spec.kind!r}; known: {sorted(STRATEGY_CONFIGS)}"
        )
    convert_params(spec, config_type)


def convert_params(spec: StrategySpec, config_type: type[_C]) -> _C:
    """``spec.params`` as ``config_type``; a bad or unknown parameter is a ConfigError."""
    try:
        return msgspec.convert(spec.params, type=config_type)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"strategy {spec.name or spec.kind!r}: {exc}") from exc


def build_strategy(
    symbol: str,
    feature_names: Sequence[str],
    spec: StrategySpec,
    *,
    gate: Gate | None = None,
    outcome_sink: OutcomeSink | None = None,
    learner: Learner | None = None,
) -> Strategy:
    """Build the strategy ``spec.kind`` for ``symbol``; unknown kinds are a ConfigError.
    ``learner`` (online learning) goes to the model-gated kinds (OVIR-X) only."""
    builder = STRATEGY_KINDS.get(spec.kind)
    if builder is None:
        raise ConfigError(
            f"unknown strategy kind {spec.kind!r}; known: {sorted(STRATEGY_KINDS)}"
        )
    hooks = StrategyHooks(gate=gate, outcome_sink=outcome_sink, learner=learner)
    return builder(symbol, feature_names, spec, hooks)


class SymbolStrategies:
    """The strategies configured for one symbol, evaluated in order on each tick."""

    __slots__ = ("_by_name", "strategies", "symbol")

    def __init__(self, symbol: str, strategies: Iterable[Strategy]) -> None:
        self.symbol = symbol
        self.strategies: tuple[Strategy, ...] = tuple(strategies)
        self._by_name: dict[str, Strategy] = {}
        for s in self.strategies:
            if s.name in self._by_name:
                raise ConfigError(f"{symbol}: two strategies are named {s.name!r}")
            self._by_name[s.name] = s

    @classmethod
    def from_specs(
        cls,
        symbol: str,
        feature_names: Sequence[str],
        specs: Sequence[StrategySpec],
        *,
        gate: Gate | None = None,
        outcome_sink: OutcomeSink | None = None,
        learner: Learner | None = None,
    ) -> SymbolStrategies:
        """Build every spec for ``symbol``; OVIR-X instances share ``gate`` and
        ``learner``."""
        return cls(
            symbol,
            (build_strategy(symbol, feature_names, s, gate=gate, outcome_sink=outcome_sink,
                            learner=learner)
             for s in specs),
        )

    def on_tick(self, ts_ns: int, src: FeatureSource, valid: bool) -> list[Signal]:
        """Run every strategy; return the signals (usually an empty list)."""
        out: list[Signal] = []
        for s in self.strategies:
            sig = s.on_tick(ts_ns, src, valid)
            if sig is not None:
                out.append(sig)
        return out

    def get(self, name: str) -> Strategy | None:
        """The strategy named ``name`` (None if there is none: feedback for a trade this
        run did not open, e.g. one restored after a restart)."""
        return self._by_name.get(name)

    def on_entry_filled(self, strategy: str, ts_ns: int, price: float) -> None:
        """Tell ``strategy`` its entry filled."""
        s = self._by_name.get(strategy)
        if s is not None:
            s.on_entry_filled(ts_ns, price)

    def on_entry_rejected(self, strategy: str, ts_ns: int, reason: str) -> None:
        """Tell ``strategy`` its entry never filled."""
        s = self._by_name.get(strategy)
        if s is not None:
            s.on_entry_rejected(ts_ns, reason)

    def on_position_closed(self, trip: RoundTrip) -> None:
        """Tell the strategy that opened ``trip`` that it is over."""
        s = self._by_name.get(trip.strategy)
        if s is not None:
            s.on_position_closed(trip)
