"""The report's performance figures, from the sampled equity curve and the round trips.

Definitions follow empyrical and quantstats, so a user can check them with either:

* returns are the simple returns of the equity curve sampled every ``sampling_interval_s``;
* ``annualization_factor`` is the number of such intervals in a 365-day year (crypto
  trades every day);
* ``sharpe`` = mean / sample std (ddof=1) x sqrt(factor), risk-free rate zero;
* ``sortino`` = mean x factor / (sqrt(mean(min(r, 0)^2)) x sqrt(factor));
* ``max_drawdown`` is a positive fraction: the largest fall from a running peak;
* ``calmar`` = annualised return (compounded over len(returns) / factor years) /
  ``max_drawdown``.

A figure that is not defined (a flat curve has no Sharpe ratio, no losing trade no profit
factor) is None, written as JSON ``null``: never a made-up 0 or a float infinity.
Money in (fees, funding, PnL) is exact Decimal; the ratios are floats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import msgspec
import numpy as np
import numpy.typing as npt

__all__ = ["SECONDS_PER_YEAR", "PerformanceFigures", "TradeFigures", "performance",
           "trade_figures"]

SECONDS_PER_YEAR = 365 * 24 * 3600
_ZERO = Decimal(0)


class PerformanceFigures(msgspec.Struct, frozen=True, kw_only=True):
    """What the equity curve says."""

    total_return: float
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    calmar: float | None
    annual_return: float | None
    volatility: float | None
    periods: int
    sampling_interval_s: float
    annualization_factor: float


class TradeFigures(msgspec.Struct, frozen=True, kw_only=True):
    """What the round trips say (net of fees and funding)."""

    trades: int
    win_rate: float | None
    profit_factor: float | None
    avg_trade: Decimal | None
    gross_profit: Decimal
    gross_loss: Decimal


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def performance(equity: Sequence[float] | npt.NDArray[np.float64],
                sampling_interval_s: float) -> PerformanceFigures:
    """The curve's figures; ``equity`` holds one value per interval, the first being the
    starting equity (so ``len(equity) - 1`` returns)."""
    if not (math.isfinite(sampling_interval_s) and sampling_interval_s > 0):
        raise ValueError(f"sampling interval must be > 0 s (was {sampling_interval_s!r})")
    curve = np.asarray(equity, dtype=np.float64)
    factor = SECONDS_PER_YEAR / sampling_interval_s
    if curve.size == 0 or curve[0] <= 0:
        raise ValueError("an equity curve starts with a positive equity")
    returns = curve[1:] / curve[:-1] - 1.0
    total_return = float(curve[-1] / curve[0] - 1.0)
    peak = np.maximum.accumulate(curve)
    max_drawdown = float(np.max(1.0 - curve / peak))
    n = returns.size
    sharpe = sortino = calmar = annual = vol = None
    if n >= 2:
        mean = float(np.mean(returns))
        std = float(np.std(returns, ddof=1))
        vol = std * math.sqrt(factor)
        if std > 0:
            sharpe = _finite(mean / std * math.sqrt(factor))
        downside = math.sqrt(float(np.mean(np.square(np.minimum(returns, 0.0)))))
        if downside > 0:
            sortino = _finite(mean * factor / (downside * math.sqrt(factor)))
    if n >= 1:
        years = n / factor
        growth = float(curve[-1] / curve[0])
        # A loss of everything has no compounded rate; empyrical says -1 there too. A gain
        # compounded over a tiny fraction of a year overflows: no figure, not infinity.
        try:
            annual = -1.0 if growth <= 0 else _finite(growth ** (1.0 / years) - 1.0)
        except OverflowError:
            annual = None
        if annual is not None and max_drawdown > 0:
            calmar = _finite(annual / max_drawdown)
    return PerformanceFigures(
        total_return=total_return, sharpe=sharpe, sortino=sortino, max_drawdown=max_drawdown,
        calmar=calmar, annual_return=annual, volatility=vol, periods=n,
        sampling_interval_s=sampling_interval_s, annualization_factor=factor)


def trade_figures(net_pnl: Sequence[Decimal]) -> TradeFigures:
    """Win rate, profit factor and average of the round trips' net PnL."""
    wins = [p for p in net_pnl if p > 0]
    losses = [p for p in net_pnl if p < 0]
    gross_profit = sum(wins, _ZERO)
    gross_loss = -sum(losses, _ZERO)
    n = len(net_pnl)
    return TradeFigures(
        trades=n,
        win_rate=len(wins) / n if n else None,
        profit_factor=float(gross_profit / gross_loss) if gross_loss > 0 else None,
        avg_trade=sum(net_pnl, _ZERO) / n if n else None,
        gross_profit=gross_profit, gross_loss=gross_loss)
