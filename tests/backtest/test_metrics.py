"""The report's figures: the curve's against empyrical (an independent implementation of
the same definitions), the undefined ones as None, and the round trips' in exact Decimal."""

from __future__ import annotations

import math
from decimal import Decimal

import empyrical  # type: ignore[import-untyped]
import numpy as np
import pytest

from bitunix.backtest.metrics import SECONDS_PER_YEAR, performance, trade_figures

D = Decimal
REL = 1e-6


def _curve(seed: int, n: int, drift: float, vol: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    returns = rng.normal(drift, vol, n)
    return 10_000.0 * np.concatenate(([1.0], np.cumprod(1.0 + returns)))


CURVES = [
    pytest.param(1, 500, 0.0002, 0.004, 60.0, id="minute-up"),
    pytest.param(2, 300, -0.0003, 0.01, 3600.0, id="hour-down"),
    pytest.param(3, 50, 0.0, 0.02, 86_400.0, id="day-flat-drift"),
    pytest.param(4, 2_000, 0.00001, 0.0005, 1.0, id="second"),
    pytest.param(5, 3, 0.001, 0.01, 10.0, id="three-returns"),
]


@pytest.mark.parametrize(("seed", "n", "drift", "vol", "interval"), CURVES)
def test_figures_agree_with_empyrical(seed: int, n: int, drift: float, vol: float,
                                      interval: float) -> None:
    curve = _curve(seed, n, drift, vol)
    returns = curve[1:] / curve[:-1] - 1.0
    factor = SECONDS_PER_YEAR / interval
    perf = performance(curve, interval)
    assert perf.periods == n
    assert perf.sampling_interval_s == interval
    assert perf.annualization_factor == factor
    expected = {
        "total_return": empyrical.cum_returns_final(returns),
        "sharpe": empyrical.sharpe_ratio(returns, annualization=factor),
        "sortino": empyrical.sortino_ratio(returns, annualization=factor),
        "max_drawdown": -empyrical.max_drawdown(returns),
        "calmar": empyrical.calmar_ratio(returns, annualization=factor),
        "annual_return": empyrical.annual_return(returns, annualization=factor),
        "volatility": empyrical.annual_volatility(returns, annualization=factor),
    }
    for name, want in expected.items():
        got = getattr(perf, name)
        assert got is not None, name
        assert math.isfinite(want), name
        assert got == pytest.approx(float(want), rel=REL), name
    assert perf.max_drawdown > 0


def test_max_drawdown_is_a_positive_fraction_from_the_running_peak() -> None:
    # 100 -> 120 (peak) -> 90 (25% below it) -> 130 -> 117 (10% below 130)
    perf = performance([100.0, 120.0, 90.0, 130.0, 117.0], 86_400.0)
    assert perf.max_drawdown == pytest.approx(0.25, rel=1e-12)
    assert perf.total_return == pytest.approx(0.17, rel=1e-12)


def test_a_rising_curve_has_no_drawdown_and_no_calmar() -> None:
    perf = performance([100.0, 101.0, 103.0, 104.0], 86_400.0)
    assert perf.max_drawdown == 0.0
    assert perf.calmar is None  # return / 0 is not a number
    assert perf.sortino is None  # no downside
    assert perf.sharpe is not None
    assert perf.sharpe > 0
    assert perf.annual_return is not None
    assert perf.annual_return > 0


def test_a_flat_curve_has_no_ratios() -> None:
    perf = performance([500.0] * 20, 60.0)
    assert perf.total_return == 0.0
    assert perf.max_drawdown == 0.0
    assert perf.sharpe is None
    assert perf.sortino is None
    assert perf.calmar is None
    assert perf.volatility == 0.0
    assert perf.annual_return == 0.0
    assert perf.periods == 19


def test_one_point_curve_has_no_returns() -> None:
    perf = performance([1000.0], 60.0)
    assert perf.periods == 0
    assert perf.total_return == 0.0
    assert perf.max_drawdown == 0.0
    assert (perf.sharpe, perf.sortino, perf.calmar, perf.annual_return, perf.volatility) == (
        None, None, None, None, None)


def test_one_return_has_no_std_but_an_annual_return() -> None:
    perf = performance([1000.0, 990.0], 86_400.0)
    assert perf.periods == 1
    assert perf.sharpe is None
    assert perf.sortino is None
    assert perf.volatility is None
    assert perf.annual_return == pytest.approx(0.99 ** 365 - 1.0, rel=1e-9)
    assert perf.max_drawdown == pytest.approx(0.01, rel=1e-12)
    assert perf.annual_return is not None
    assert perf.calmar == pytest.approx(perf.annual_return / 0.01, rel=1e-12)


def test_a_curve_that_loses_everything() -> None:
    perf = performance([1000.0, 800.0, 300.0, 0.0], 60.0)
    assert perf.total_return == -1.0
    assert perf.max_drawdown == 1.0
    assert perf.annual_return == -1.0  # no compounded rate; empyrical says -1 too
    returns = np.array([-0.2, -0.625, -1.0])
    assert empyrical.annual_return(returns, annualization=SECONDS_PER_YEAR / 60) == -1.0
    assert perf.calmar == -1.0
    assert perf.sharpe is not None
    assert perf.sharpe < 0
    assert perf.sharpe == pytest.approx(
        empyrical.sharpe_ratio(returns, annualization=SECONDS_PER_YEAR / 60), rel=REL)


def test_an_annual_return_past_the_float_range_is_none_without_a_warning() -> None:
    """A short profitable run: +1% over six minutes sampled every 10 s compounds to
    1.01 ** 90,000 a year, past the float range. The figure is None (not infinity), and
    computing it must not emit numpy's overflow RuntimeWarning (an error under this suite's
    warning filter, a stray line on the CLI's stderr)."""
    curve = list(np.linspace(10_000.0, 10_100.0, 36))
    perf = performance(curve, 10.0)
    assert perf.annual_return is None
    assert perf.calmar is None
    assert perf.total_return == pytest.approx(0.01, rel=1e-12)


@pytest.mark.parametrize("interval", [0.0, -1.0, math.nan, math.inf, -math.inf])
def test_bad_interval_raises(interval: float) -> None:
    with pytest.raises(ValueError, match="sampling interval must be > 0 s"):
        performance([1.0, 2.0], interval)


@pytest.mark.parametrize("curve", [[], [0.0, 1.0], [-5.0, 1.0]])
def test_a_curve_must_start_positive(curve: list[float]) -> None:
    with pytest.raises(ValueError, match="starts with a positive equity"):
        performance(curve, 60.0)


def test_trade_figures_exact() -> None:
    pnl = [D("10.5"), D("-3.25"), D("0"), D("2.000001"), D("-1.75")]
    figures = trade_figures(pnl)
    assert figures.trades == 5
    assert figures.win_rate == 2 / 5  # a zero trade is not a win
    assert figures.gross_profit == D("12.500001")
    assert figures.gross_loss == D("5.00")
    assert figures.profit_factor == pytest.approx(12.500001 / 5.0, rel=1e-15)
    assert figures.avg_trade == D("1.5000002")
    assert isinstance(figures.avg_trade, Decimal)


def test_avg_trade_stays_exact_where_floats_are_not() -> None:
    figures = trade_figures([D("0.1"), D("0.2")])
    assert figures.avg_trade == D("0.15")
    assert figures.gross_profit == D("0.3")  # 0.1 + 0.2 as floats is 0.30000000000000004


def test_no_losing_trade_has_no_profit_factor() -> None:
    figures = trade_figures([D("1"), D("2")])
    assert figures.profit_factor is None
    assert figures.win_rate == 1.0
    assert figures.gross_loss == 0


def test_only_losing_trades_have_a_zero_profit_factor() -> None:
    figures = trade_figures([D("-1"), D("-2")])
    assert figures.profit_factor == 0.0
    assert figures.win_rate == 0.0
    assert figures.avg_trade == D("-1.5")


def test_no_trades() -> None:
    figures = trade_figures([])
    assert figures.trades == 0
    assert figures.win_rate is None
    assert figures.profit_factor is None
    assert figures.avg_trade is None
    assert figures.gross_profit == 0
    assert figures.gross_loss == 0
