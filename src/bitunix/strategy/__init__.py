"""Trading decisions: the strategy protocol, OVIR-X, mean reversion, strategies by name.

``strategy`` reads features (``bitunix.features``) and asks ``bitunix.ml`` for
probabilities; it never talks to an exchange. See ``docs/signal.md``.
"""

from bitunix.strategy.base import (
    Direction,
    ExitReason,
    FeatureFrame,
    FeatureSource,
    Signal,
    SignalKind,
    Strategy,
)
from bitunix.strategy.config import MeanReversionConfig, OvirxConfig, ReversionConfig
from bitunix.strategy.exits import ExitConfig, ExitPlan, plan_exits
from bitunix.strategy.meanrev import MeanReversionStrategy
from bitunix.strategy.ovirx import Gate, OvirxStrategy
from bitunix.strategy.registry import (
    STRATEGY_KINDS,
    StrategySpec,
    SymbolStrategies,
    build_strategy,
)
from bitunix.strategy.stack import SignalConfig, SignalStack

__all__ = [
    "STRATEGY_KINDS",
    "Direction",
    "ExitConfig",
    "ExitPlan",
    "ExitReason",
    "FeatureFrame",
    "FeatureSource",
    "Gate",
    "MeanReversionConfig",
    "MeanReversionStrategy",
    "OvirxConfig",
    "OvirxStrategy",
    "ReversionConfig",
    "Signal",
    "SignalConfig",
    "SignalKind",
    "SignalStack",
    "Strategy",
    "StrategySpec",
    "SymbolStrategies",
    "build_strategy",
    "plan_exits",
]
