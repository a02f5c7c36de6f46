"""Risk settings: sizing, limits, circuit breakers and per-symbol overrides.

One typed object (:class:`RiskConfig`), validated when it is built (directly or by
``msgspec.convert`` from the ``[risk]`` table of the config file): a bad value raises
:class:`~bitunix.core.errors.ConfigError` naming the key (``risk.limits.max_daily_loss_pct``)
and the value, so nothing is checked again per signal.

Shares of equity are in percent (``_pct``), Kelly values are fractions, durations are in
seconds (``_s``). ``docs/risk.md`` gives every default and why it was chosen.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import msgspec

from bitunix.core.checks import check_flag, check_number
from bitunix.core.errors import ConfigError

__all__ = [
    "BreakerConfig",
    "ErrorRateBreakerConfig",
    "ImbalanceBreakerConfig",
    "LimitsConfig",
    "RiskConfig",
    "SizingConfig",
    "StalenessBreakerConfig",
    "SymbolRiskConfig",
    "VolatilityBreakerConfig",
    "VolumeBreakerConfig",
]


class SizingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How a signal becomes a quantity (``docs/risk.md``, "Sizing").

    ``notional = equity x base_size_pct/100 x conviction`` where
    ``conviction = min(kelly_multiplier x kelly, max_kelly_fraction) / max_kelly_fraction``
    and ``kelly = p - (1 - p) / b``; then capped so that the loss at the stop is at most
    ``max_risk_pct`` of equity.
    """

    section: ClassVar[str] = "risk.sizing"

    #: Notional of a full-conviction entry, in percent of equity. 5% of 10,000 USDT is
    #: 500 USDT (0.008 BTC at 62,000): a real order, 80 of BTCUSDT's 0.0001 steps, fine
    #: enough for Kelly to scale it. The earlier bot's 0.2% (20 USDT, 3 steps) left no
    #: room for Kelly and rounded to nothing once multiplied by its other factors.
    base_size_pct: float = 5.0
    #: Fraction of the full Kelly bet taken (0.5: half-Kelly, the earlier bot's intent).
    #: Half-Kelly keeps 3/4 of the growth rate and halves the damage of an overstated
    #: probability, which a six-minute model and rule confidences of 1.0 certainly give.
    kelly_multiplier: float = 0.5
    #: The fractional Kelly at which an entry earns the full base size; above it the size
    #: is capped. 0.25 (full Kelly 0.5): a model probability of 0.75 at payoff 1 is a full
    #: position, 0.65 at payoff 1 three fifths of one.
    max_kelly_fraction: float = 0.25
    #: At most this percent of equity lost if the stop is hit (before fees and slippage).
    #: 0.5% (50 USDT on 10,000): never binds on the few-bps stops of the bundled data, and
    #: keeps a wide stop from turning the base size into a large loss.
    max_risk_pct: float = 0.5

    def __post_init__(self) -> None:
        s = self.section
        check_number(f"{s}.base_size_pct", self.base_size_pct, 0, 100, lo_open=True)
        check_number(f"{s}.kelly_multiplier", self.kelly_multiplier, 0, 1, lo_open=True)
        check_number(f"{s}.max_kelly_fraction", self.max_kelly_fraction, 0, 1, lo_open=True)
        check_number(f"{s}.max_risk_pct", self.max_risk_pct, 0, 100, lo_open=True)


class LimitsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Account limits that stop entries (``docs/risk.md``, "Limits").

    Exposure is notional at the mark of open positions plus what open entry orders may
    still fill, plus the entry being checked.
    """

    section: ClassVar[str] = "risk.limits"

    #: Entries stop for the rest of the UTC day once the day's loss (realised + change in
    #: unrealised - fees - funding) reaches this percent of the day's starting equity.
    #: 5%: the earlier bot's value, about ten full stops at ``max_risk_pct``.
    max_daily_loss_pct: float = 5.0
    #: When the daily loss limit trips, also ask for every position to be closed. On by
    #: default: a stop that leaves the losing positions open is the looser choice.
    flatten_on_daily_loss: bool = True
    #: Exposure of one symbol, in percent of equity. 10%: the earlier bot's per-symbol
    #: exposure (0.1); two full-size entries at the default base size.
    max_symbol_exposure_pct: float = 10.0
    #: Exposure of every symbol together, in percent of equity (20%: two symbols at their
    #: limit).
    max_total_exposure_pct: float = 20.0
    #: Total exposure / equity may never exceed this (nor one symbol's the contract's
    #: maximum leverage). 3x: a ceiling behind the exposure limits, binding only when they
    #: are raised above 300%.
    max_leverage: float = 3.0
    #: Open orders (pending, resting or partly filled, entries and exits) beyond which no
    #: entry is sent. 4: entries are market orders that live milliseconds; more than a few
    #: open means the venue is not answering.
    max_open_orders: int = 4

    def __post_init__(self) -> None:
        s = self.section
        check_number(f"{s}.max_daily_loss_pct", self.max_daily_loss_pct, 0, 100, lo_open=True)
        check_flag(f"{s}.flatten_on_daily_loss", self.flatten_on_daily_loss)
        check_number(f"{s}.max_symbol_exposure_pct", self.max_symbol_exposure_pct, 0, 12_500,
                lo_open=True)
        check_number(f"{s}.max_total_exposure_pct", self.max_total_exposure_pct, 0, 12_500,
                lo_open=True)
        check_number(f"{s}.max_leverage", self.max_leverage, 0, 125, lo_open=True)
        check_number(f"{s}.max_open_orders", self.max_open_orders, 1, 10_000, integer=True)


class VolatilityBreakerConfig(msgspec.Struct, frozen=True, kw_only=True,
                              forbid_unknown_fields=True):
    """Trips when a symbol's realised volatility (bps over the reading's window, e.g. the
    feature engine's ``realized_vol_bps`` over 60 s) exceeds ``max_bps``."""

    section: ClassVar[str] = "risk.breaker.volatility"

    enabled: bool = True
    #: 30 bps in 60 s is about four times BTC's ordinary one-minute volatility (7-8 bps at
    #: 55% a year) and 2.7 times the highest reading of the bundled capture (11 bps).
    max_bps: float = 30.0
    #: Cool-down after the last abnormal reading (the earlier bot's 5 minutes).
    recovery_s: float = 300.0

    def __post_init__(self) -> None:
        s = self.section
        check_flag(f"{s}.enabled", self.enabled)
        check_number(f"{s}.max_bps", self.max_bps, 0, lo_open=True)
        check_number(f"{s}.recovery_s", self.recovery_s, 0)


class ImbalanceBreakerConfig(msgspec.Struct, frozen=True, kw_only=True,
                             forbid_unknown_fields=True):
    """Trips when ``|depth imbalance|`` stays above ``max_abs`` for ``min_duration_s``."""

    section: ClassVar[str] = "risk.breaker.imbalance"

    enabled: bool = True
    #: The earlier bot's 0.8.
    max_abs: float = 0.8
    #: The five-level imbalance of the bundled BTCUSDT capture is above 0.8 in 19% of
    #: books, in flickers: a one-book trip with a 5-minute cool-down would block trading
    #: most of the time (the earlier bot's stuck breaker). Above 0.8 for 5 s never happens
    #: in that capture (3 s: once).
    min_duration_s: float = 5.0
    recovery_s: float = 300.0

    def __post_init__(self) -> None:
        s = self.section
        check_flag(f"{s}.enabled", self.enabled)
        check_number(f"{s}.max_abs", self.max_abs, 0, 1, lo_open=True)
        check_number(f"{s}.min_duration_s", self.min_duration_s, 0)
        check_number(f"{s}.recovery_s", self.recovery_s, 0)


class VolumeBreakerConfig(msgspec.Struct, frozen=True, kw_only=True,
                          forbid_unknown_fields=True):
    """Trips when a symbol's traded volume within one ``interval_s`` exceeds
    ``max_multiple`` times its normal: the EWMA of past intervals' volumes."""

    section: ClassVar[str] = "risk.breaker.volume"

    enabled: bool = True
    #: The earlier bot's "5x normal".
    max_multiple: float = 5.0
    #: 10 s intervals: with 1 s ones, 5x the normal happens in 6% of the bundled
    #: capture's seconds; with 10 s ones once (381 BTC in 10 s against a normal of 39).
    interval_s: float = 10.0
    #: EWMA span in intervals (alpha = 2 / (span + 1)): 30 x 10 s, a five-minute normal.
    ewma_intervals: int = 30
    #: Closed intervals needed before the breaker judges (the first, partial, interval is
    #: never counted): one minute.
    warmup_intervals: int = 6
    recovery_s: float = 300.0

    def __post_init__(self) -> None:
        s = self.section
        check_flag(f"{s}.enabled", self.enabled)
        check_number(f"{s}.max_multiple", self.max_multiple, 1, lo_open=True)
        check_number(f"{s}.interval_s", self.interval_s, 0.001, 86_400)
        check_number(f"{s}.ewma_intervals", self.ewma_intervals, 1, 100_000, integer=True)
        check_number(f"{s}.warmup_intervals", self.warmup_intervals, 1, 100_000, integer=True)
        check_number(f"{s}.recovery_s", self.recovery_s, 0)


class ErrorRateBreakerConfig(msgspec.Struct, frozen=True, kw_only=True,
                             forbid_unknown_fields=True):
    """Trips (for every symbol) when failed requests / requests over the last
    ``window_s`` exceeds ``max_rate``, once at least ``min_requests`` were made."""

    section: ClassVar[str] = "risk.breaker.error_rate"

    enabled: bool = True
    #: The earlier bot's 20%.
    max_rate: float = 0.2
    window_s: float = 60.0
    #: Two failures out of three requests is no evidence; ten requests are.
    min_requests: int = 10
    recovery_s: float = 300.0

    def __post_init__(self) -> None:
        s = self.section
        check_flag(f"{s}.enabled", self.enabled)
        check_number(f"{s}.max_rate", self.max_rate, 0, 1)
        check_number(f"{s}.window_s", self.window_s, 0.01, 86_400)
        check_number(f"{s}.min_requests", self.min_requests, 1, 1_000_000, integer=True)
        check_number(f"{s}.recovery_s", self.recovery_s, 0)


class StalenessBreakerConfig(msgspec.Struct, frozen=True, kw_only=True,
                             forbid_unknown_fields=True):
    """Trips (for every symbol) when no market data arrived for ``max_silence_s``."""

    section: ClassVar[str] = "risk.breaker.staleness"

    enabled: bool = True
    #: BTCUSDT pushes books several times a second; 5 s of nothing is a dead feed (the
    #: WebSocket client's own stale check reconnects after the same 5 s).
    max_silence_s: float = 5.0
    #: 30 s after data resumes: the feature windows (30 s VWAP) are whole again.
    recovery_s: float = 30.0

    def __post_init__(self) -> None:
        s = self.section
        check_flag(f"{s}.enabled", self.enabled)
        check_number(f"{s}.max_silence_s", self.max_silence_s, 0, lo_open=True)
        check_number(f"{s}.recovery_s", self.recovery_s, 0)


class BreakerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The circuit breakers; each trips and recovers on its own (``docs/risk.md``)."""

    volatility: VolatilityBreakerConfig = msgspec.field(
        default_factory=VolatilityBreakerConfig)
    imbalance: ImbalanceBreakerConfig = msgspec.field(default_factory=ImbalanceBreakerConfig)
    volume: VolumeBreakerConfig = msgspec.field(default_factory=VolumeBreakerConfig)
    error_rate: ErrorRateBreakerConfig = msgspec.field(default_factory=ErrorRateBreakerConfig)
    staleness: StalenessBreakerConfig = msgspec.field(default_factory=StalenessBreakerConfig)


class SymbolRiskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Overrides for one symbol (``[risk.symbols.BTCUSDT]``); None keeps the default.

    ``max_order_qty`` caps one entry in base coin (below the contract's own maximum);
    ``max_leverage`` caps the symbol's exposure / equity (below the contract's maximum,
    e.g. the leverage set on the account for it). Validated by :class:`RiskConfig`, which
    knows the symbol's name.
    """

    base_size_pct: float | None = None
    max_order_qty: Decimal | None = None
    max_exposure_pct: float | None = None
    max_leverage: float | None = None


class RiskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every risk setting: ``sizing``, ``limits``, ``breaker`` and per-symbol overrides."""

    sizing: SizingConfig = msgspec.field(default_factory=SizingConfig)
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    breaker: BreakerConfig = msgspec.field(default_factory=BreakerConfig)
    symbols: dict[str, SymbolRiskConfig] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        for symbol, o in self.symbols.items():
            s = f"risk.symbols.{symbol}"
            if not symbol or not symbol.isalnum():
                raise ConfigError(f"risk.symbols: {symbol!r} is not a symbol name")
            if o.base_size_pct is not None:
                check_number(f"{s}.base_size_pct", o.base_size_pct, 0, 100, lo_open=True)
            if o.max_exposure_pct is not None:
                check_number(f"{s}.max_exposure_pct", o.max_exposure_pct, 0, 12_500, lo_open=True)
            if o.max_leverage is not None:
                check_number(f"{s}.max_leverage", o.max_leverage, 0, 125, lo_open=True)
            q = o.max_order_qty
            if q is not None and not (isinstance(q, Decimal) and q.is_finite() and q > 0):
                raise ConfigError(f"{s}.max_order_qty must be a decimal > 0, was {q!r}")

    def for_symbol(self, symbol: str) -> SymbolRiskConfig:
        """The overrides of ``symbol`` (all None when it has none)."""
        return self.symbols.get(symbol) or _NO_OVERRIDES


_NO_OVERRIDES = SymbolRiskConfig()
