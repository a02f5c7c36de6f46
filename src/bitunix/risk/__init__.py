"""Risk: pure checks that approve and size an entry or say why not.

:class:`RiskGate` is the one call per entry signal (kill switch, circuit breakers, limits,
sizing); the pieces it runs are usable alone: :mod:`bitunix.risk.sizing` (Kelly-scaled
size on the contract's grid), :mod:`bitunix.risk.limits` (daily loss, open orders,
exposure, leverage) and :mod:`bitunix.risk.breaker`. Every check returns
:data:`APPROVED` (or :class:`Sized`) or a :class:`Denial` with a stable reason and the
numbers behind it. See ``docs/risk.md``.
"""

from bitunix.risk.breaker import CircuitBreaker, SymbolBreaker, TransitionSink, Trip
from bitunix.risk.config import (
    BreakerConfig,
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
from bitunix.risk.gate import DenialSink, RiskGate, RiskState
from bitunix.risk.limits import Headroom, check_daily_loss, check_exposure, check_open_orders
from bitunix.risk.params import SAFETY, SymbolRisk
from bitunix.risk.sizing import (
    check_signal,
    conviction,
    kelly_fraction,
    payoff_ratio,
    size_entry,
)
from bitunix.risk.snapshot import ExposureSnapshot, utc_day
from bitunix.risk.verdict import (
    APPROVED,
    Approved,
    Denial,
    DenialCounter,
    Reason,
    RiskTransition,
    Sized,
    Values,
)

__all__ = [
    "APPROVED",
    "SAFETY",
    "Approved",
    "BreakerConfig",
    "CircuitBreaker",
    "Denial",
    "DenialCounter",
    "DenialSink",
    "ErrorRateBreakerConfig",
    "ExposureSnapshot",
    "Headroom",
    "ImbalanceBreakerConfig",
    "LimitsConfig",
    "Reason",
    "RiskConfig",
    "RiskGate",
    "RiskState",
    "RiskTransition",
    "Sized",
    "SizingConfig",
    "StalenessBreakerConfig",
    "SymbolBreaker",
    "SymbolRisk",
    "SymbolRiskConfig",
    "TransitionSink",
    "Trip",
    "Values",
    "VolatilityBreakerConfig",
    "VolumeBreakerConfig",
    "check_daily_loss",
    "check_exposure",
    "check_open_orders",
    "check_signal",
    "conviction",
    "kelly_fraction",
    "payoff_ratio",
    "size_entry",
    "utc_day",
]
