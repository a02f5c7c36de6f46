"""Account limits on entries: daily loss, open orders, exposure and leverage.

Pure functions of an :class:`~bitunix.risk.snapshot.ExposureSnapshot` and the limits;
each returns :data:`~bitunix.risk.verdict.APPROVED` (or the headroom left) or a
:class:`~bitunix.risk.verdict.Denial`. The latching of the daily loss for the rest of the
UTC day is the gate's (``bitunix.risk.gate``).
"""

from __future__ import annotations

from decimal import Decimal

from bitunix.risk.params import SymbolRisk
from bitunix.risk.snapshot import ExposureSnapshot
from bitunix.risk.verdict import APPROVED, Approved, Denial, Reason

__all__ = ["Headroom", "check_daily_loss", "check_exposure", "check_open_orders"]

#: The notional an entry may still add (quote coin) and the limit that allows the least.
Headroom = tuple[float, Reason]

_HUNDRED = Decimal(100)
# Enum member lookups cost ~0.1 us each on Python 3.11: bind the hot ones once.
_EXPOSURE_SYMBOL = Reason.EXPOSURE_SYMBOL
_EXPOSURE_TOTAL = Reason.EXPOSURE_TOTAL
_LEVERAGE_SYMBOL = Reason.LEVERAGE_SYMBOL
_LEVERAGE_TOTAL = Reason.LEVERAGE_TOTAL


def check_daily_loss(exposure: ExposureSnapshot, max_loss_pct: Decimal) -> Approved | Denial:
    """Refuse once the UTC day's loss (realised + change in unrealised - fees - funding)
    reaches ``max_loss_pct`` percent of the day's starting equity, or when the day
    started without equity. Exact (Decimal)."""
    start = exposure.day_start_equity
    pnl = exposure.day_pnl
    if start <= 0:
        return Denial(Reason.NO_EQUITY, {"day_start_equity": str(start)})
    if -pnl * _HUNDRED >= start * max_loss_pct:
        return Denial(Reason.DAILY_LOSS, {
            "day_pnl": str(pnl), "day_start_equity": str(start),
            "loss_pct": float(-pnl * _HUNDRED / start), "max_pct": float(max_loss_pct),
            "utc_day": exposure.utc_day})
    return APPROVED


def check_open_orders(open_orders: int, max_open_orders: int) -> Approved | Denial:
    """Refuse while ``open_orders`` has reached ``max_open_orders``."""
    if open_orders >= max_open_orders:
        return Denial(Reason.OPEN_ORDERS, {"open_orders": open_orders, "max": max_open_orders})
    return APPROVED


def check_exposure(exposure: ExposureSnapshot, p: SymbolRisk, equity: float,
                   total_exposure_ratio: float, total_leverage: float) -> Headroom | Denial:
    """The notional one more entry in ``p``'s symbol may add, or the denial of the first
    limit already reached.

    Used notional counts open positions and open entry orders (``symbol_notional`` +
    ``symbol_pending``, ``total_notional`` + ``total_pending``). Each limit is ``equity``
    times its ratio: exposure of the symbol (``p.symbol_exposure_ratio``) and in total,
    leverage of the symbol (``p.max_leverage``: the contract's or the override) and of the
    account. The ratios are expected shrunk by the safety margin. A NaN anywhere refuses:
    every test is written to fail closed.
    """
    symbol = p.spec.symbol
    used = exposure.symbol_notional.get(symbol, 0.0) + exposure.symbol_pending.get(symbol, 0.0)
    total = exposure.total_notional + exposure.total_pending
    room = equity * p.symbol_exposure_ratio - used
    if not room > 0.0:
        return _full(Reason.EXPOSURE_SYMBOL, used, equity * p.symbol_exposure_ratio)
    reason = _EXPOSURE_SYMBOL
    other = equity * total_exposure_ratio - total
    if not other > 0.0:
        return _full(Reason.EXPOSURE_TOTAL, total, equity * total_exposure_ratio)
    if other < room:
        room, reason = other, _EXPOSURE_TOTAL
    other = equity * p.max_leverage - used
    if not other > 0.0:
        return _full(Reason.LEVERAGE_SYMBOL, used, equity * p.max_leverage)
    if other < room:
        room, reason = other, _LEVERAGE_SYMBOL
    other = equity * total_leverage - total
    if not other > 0.0:
        return _full(Reason.LEVERAGE_TOTAL, total, equity * total_leverage)
    if other < room:
        room, reason = other, _LEVERAGE_TOTAL
    return room, reason


def _full(reason: Reason, used: float, limit: float) -> Denial:
    return Denial(reason, {"used": used, "limit": limit})
