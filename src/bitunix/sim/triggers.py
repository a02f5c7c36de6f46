"""When a TP/SL or trailing stop fires: pure functions of the trigger and one price."""

from __future__ import annotations

from decimal import Decimal

from bitunix.sim.errors import PARAMETER_ERROR, SimError
from bitunix.sim.state import LONG, SimTpSl

__all__ = ["fired_leg", "opt_decimal", "stop_type"]


def stop_type(value: str) -> str:
    """Normalise a stop type: LAST/Last/LAST_PRICE -> LAST_PRICE, MARK... -> MARK_PRICE."""
    v = value.upper()
    if v in ("LAST", "LAST_PRICE"):
        return "LAST_PRICE"
    if v in ("MARK", "MARK_PRICE"):
        return "MARK_PRICE"
    raise SimError(PARAMETER_ERROR, f"stop type {value!r}")


def opt_decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    raise SimError(PARAMETER_ERROR, f"not a decimal: {value!r}")


def fired_leg(tp: SimTpSl, stop_type: str, price: Decimal) -> str:
    """Which leg of ``tp`` fires at ``price`` ("tp", "sl" or "")."""
    long = tp.pos_side == LONG
    if tp.trail_rate is not None:
        if tp.sl_stop_type != stop_type:
            return ""
        if tp.trail_extreme is None or (price > tp.trail_extreme if long
                                        else price < tp.trail_extreme):
            tp.trail_extreme = price
            return ""
        retrace = (tp.trail_extreme - price if long else price - tp.trail_extreme)
        return "sl" if retrace >= tp.trail_extreme * tp.trail_rate else ""
    if tp.tp_price is not None and tp.tp_stop_type == stop_type and (
            price >= tp.tp_price if long else price <= tp.tp_price):
        return "tp"
    if tp.sl_price is not None and tp.sl_stop_type == stop_type and (
            price <= tp.sl_price if long else price >= tp.sl_price):
        return "sl"
    return ""
