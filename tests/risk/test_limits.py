"""Account limits: daily loss (exact, every PnL part), open orders, exposure per symbol and in
total with pending entries, leverage; NaN fails closed."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from bitunix.risk import (
    APPROVED,
    Denial,
    Reason,
    RiskConfig,
    SymbolRisk,
    check_daily_loss,
    check_exposure,
    check_open_orders,
)
from tests.risk.conftest import BTC, snapshot

FIVE = Decimal(5)


def test_day_pnl_counts_realised_unrealised_change_fees_and_funding() -> None:
    snap = snapshot(day_realized_pnl=Decimal("-300"), day_fees=Decimal("40.5"),
                    day_funding=Decimal("-0.5"), unrealized_pnl=Decimal("-250"),
                    day_start_unrealized_pnl=Decimal("-90"))
    assert snap.day_pnl == Decimal("-300") - Decimal("40.5") + Decimal("0.5") - 250 + 90


@pytest.mark.parametrize(("realized", "fees", "funding", "unrealized", "denied"), [
    ("-499.99", "0", "0", "0", False),
    ("-500", "0", "0", "0", True),                 # exactly 5% of 10,000
    ("-400", "60", "40", "0", True),               # fees and funding make it 5%
    ("-400", "60", "39.99", "0", False),
    ("0", "0", "0", "-500", True),                 # unrealised counts
    ("600", "0", "0", "-1100", True),              # a winning day that turned
    ("-100", "0", "-0.01", "-400", False),         # funding received helps
])
def test_daily_loss_limit_is_exact(realized: str, fees: str, funding: str, unrealized: str,
                                   denied: bool) -> None:
    snap = snapshot(day_realized_pnl=Decimal(realized), day_fees=Decimal(fees),
                    day_funding=Decimal(funding), unrealized_pnl=Decimal(unrealized))
    verdict = check_daily_loss(snap, FIVE)
    if not denied:
        assert verdict is APPROVED
        return
    assert isinstance(verdict, Denial)
    assert verdict.reason is Reason.DAILY_LOSS
    assert verdict.values["day_start_equity"] == "10000"
    assert verdict.values["loss_pct"] >= 5.0
    assert verdict.values["utc_day"] == 20_000


def test_daily_loss_base_is_the_day_start_not_the_current_equity() -> None:
    # Down 500 from a day start of 10,000 (5%) although 500 is more than 5% of today's 9,500.
    snap = snapshot("9500", day_start_equity=Decimal("10000"), unrealized_pnl=Decimal("-499"))
    assert check_daily_loss(snap, FIVE) is APPROVED
    # Yesterday's unrealised loss carried into the day is not today's loss.
    snap = snapshot(unrealized_pnl=Decimal("-800"), day_start_unrealized_pnl=Decimal("-700"))
    assert check_daily_loss(snap, FIVE) is APPROVED


def test_a_day_without_equity_is_refused() -> None:
    verdict = check_daily_loss(snapshot(day_start_equity=Decimal(0)), FIVE)
    assert isinstance(verdict, Denial)
    assert verdict.reason is Reason.NO_EQUITY


def test_open_orders() -> None:
    assert check_open_orders(3, 4) is APPROVED
    verdict = check_open_orders(4, 4)
    assert isinstance(verdict, Denial)
    assert (verdict.reason, verdict.values) == (Reason.OPEN_ORDERS, {"open_orders": 4, "max": 4})


RATIOS = {"symbol_exposure_ratio": 0.10, "total_exposure_ratio": 0.20, "symbol_leverage": 125.0,
          "total_leverage": 3.0}


def _room(snap_kw: dict[str, object], **ratios: float) -> tuple[float, Reason] | Denial:
    """``check_exposure`` on 10,000 USDT of equity with these ratios (unshrunk here, so the
    figures are round)."""
    r = {**RATIOS, **ratios}
    p = SymbolRisk(BTC, RiskConfig())
    p.symbol_exposure_ratio = r["symbol_exposure_ratio"]
    p.max_leverage = r["symbol_leverage"]
    return check_exposure(snapshot(**snap_kw), p, 10_000.0, r["total_exposure_ratio"],
                          r["total_leverage"])


def test_exposure_headroom_counts_positions_and_pending_entries() -> None:
    room = _room({"symbol_notional": {"BTCUSDT": 300.0}, "symbol_pending": {"BTCUSDT": 200.0},
                  "total_notional": 300.0, "total_pending": 200.0})
    assert room == (500.0, Reason.EXPOSURE_SYMBOL)           # 1,000 - 300 - 200
    # Another symbol's exposure eats the total.
    room = _room({"symbol_notional": {"BTCUSDT": 300.0}, "total_notional": 1_800.0})
    assert room == (200.0, Reason.EXPOSURE_TOTAL)
    # Symbols never seen have no exposure.
    assert _room({}) == (1_000.0, Reason.EXPOSURE_SYMBOL)


@pytest.mark.parametrize(("snap_kw", "ratios", "reason"), [
    ({"symbol_notional": {"BTCUSDT": 1_000.0}}, {}, Reason.EXPOSURE_SYMBOL),
    ({"symbol_pending": {"BTCUSDT": 1_000.0}}, {}, Reason.EXPOSURE_SYMBOL),
    ({"total_notional": 1_500.0, "total_pending": 500.0}, {}, Reason.EXPOSURE_TOTAL),
    ({"symbol_notional": {"BTCUSDT": 500.0}}, {"symbol_leverage": 0.05},
     Reason.LEVERAGE_SYMBOL),
    ({"total_notional": 1_000.0}, {"total_exposure_ratio": 50.0, "total_leverage": 0.1},
     Reason.LEVERAGE_TOTAL),
    ({"symbol_notional": {"BTCUSDT": math.nan}}, {}, Reason.EXPOSURE_SYMBOL),
    ({"total_pending": math.nan}, {}, Reason.EXPOSURE_TOTAL),
])
def test_a_full_limit_refuses(snap_kw: dict[str, object], ratios: dict[str, float],
                              reason: Reason) -> None:
    verdict = _room(snap_kw, **ratios)
    assert isinstance(verdict, Denial)
    assert verdict.reason is reason
    assert set(verdict.values) == {"used", "limit"}


def test_leverage_binds_when_the_exposure_limits_are_loose() -> None:
    room = _room({"total_notional": 25_000.0},
                 symbol_exposure_ratio=100.0, total_exposure_ratio=100.0)
    assert room == (5_000.0, Reason.LEVERAGE_TOTAL)           # 3 x 10,000 - 25,000
    room = _room({"symbol_notional": {"BTCUSDT": 15_000.0}, "total_notional": 15_000.0},
                 symbol_exposure_ratio=100.0, total_exposure_ratio=100.0, symbol_leverage=2.0)
    assert room == (5_000.0, Reason.LEVERAGE_SYMBOL)
