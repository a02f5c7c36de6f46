"""The ``[backtest]`` section: the venue model a backtest replays against.

Everything that makes a backtest optimistic or pessimistic is a key here, with a default
that errs on the side of cost: orders reach the venue ``latency_ms`` after the decision
(plus up to ``latency_jitter_ms``, drawn from the run's seed), pay the VIP 0 fees, cross
``slippage_ticks`` ticks beyond the book on every taker fill, and positions pay funding
every ``funding_interval_h`` hours at ``funding_rate_pct``.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bitunix.core.checks import check_number
from bitunix.core.errors import ConfigError

__all__ = ["BacktestSection"]


def _rate(name: str, value: Decimal, lo: Decimal, hi: Decimal) -> None:
    if not (value.is_finite() and lo <= value <= hi):
        raise ConfigError(f"key backtest.{name}: must be between {lo} and {hi} "
                          f"(was {str(value)!r})")


class BacktestSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``balance``: starting USDT; ``latency_ms`` / ``latency_jitter_ms``: decision to venue;
    ``maker_fee`` / ``taker_fee``: fractions of notional; ``funding_rate_pct`` every
    ``funding_interval_h``; ``slippage_ticks``: extra ticks paid by each taker fill;
    ``sampling_interval_s``: the equity curve's step (the report's returns);
    ``derived_book_ms``: with trade-only data, a book is derived from the trades this often
    (market time); ``leverage``: per symbol."""

    balance: Decimal = Decimal("10000")
    latency_ms: float = 20.0
    latency_jitter_ms: float = 0.0
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0006")
    funding_rate_pct: Decimal = Decimal("0.01")
    funding_interval_h: int = 8
    slippage_ticks: int = 0
    sampling_interval_s: float = 60.0
    derived_book_ms: float = 300.0
    leverage: int = 5

    def __post_init__(self) -> None:
        if not (self.balance.is_finite() and self.balance > 0):
            raise ConfigError(f"key backtest.balance: must be > 0 (was {str(self.balance)!r})")
        check_number("key backtest.latency_ms:", self.latency_ms, 0, 60_000)
        check_number("key backtest.latency_jitter_ms:", self.latency_jitter_ms, 0, 60_000)
        _rate("maker_fee", self.maker_fee, Decimal("-0.01"), Decimal("0.01"))
        _rate("taker_fee", self.taker_fee, Decimal(0), Decimal("0.01"))
        _rate("funding_rate_pct", self.funding_rate_pct, Decimal(-5), Decimal(5))
        check_number("key backtest.funding_interval_h:", self.funding_interval_h, 1, 24,
                     integer=True)
        check_number("key backtest.slippage_ticks:", self.slippage_ticks, 0, 10_000,
                     integer=True)
        check_number("key backtest.sampling_interval_s:", self.sampling_interval_s, 0.001,
                     31_536_000)
        check_number("key backtest.derived_book_ms:", self.derived_book_ms, 1, 3_600_000)
        check_number("key backtest.leverage:", self.leverage, 1, 125, integer=True)
