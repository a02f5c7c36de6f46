"""The figures risk needs before it approves an entry: :class:`bitunix.risk.ExposureSnapshot`
built from the books and the open orders.

Exposure counts what is held and what is pending: an entry order not yet filled (even one
not acknowledged) is exposure at its limit price, or at the mark for a market order.
Reduce-only orders count as open orders but add no exposure. Notional is float USDT (risk
decides limits in floats with a safety margin); money summed and audited stays Decimal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from bitunix.model import ContractSpec, Order, Position
from bitunix.risk import ExposureSnapshot, utc_day

__all__ = ["DayFigures", "build_snapshot"]

_ZERO = Decimal(0)

#: ``(gross realised, fees, funding, unrealised now, unrealised at the day's start)`` of the
#: UTC day so far (see :meth:`bitunix.execution.portfolio.Portfolio.day_figures`).
DayFigures = tuple[Decimal, Decimal, Decimal, Decimal, Decimal]


def _float_units(units: int, spec: ContractSpec) -> float:
    return float(units) / float(10 ** (spec.price_decimals + spec.qty_decimals))


def build_snapshot(
    ts_ns: int,
    positions: Mapping[str, Position],
    open_orders: Iterable[Order],
    marks: Mapping[str, int],
    *,
    day: DayFigures,
    equity: Decimal,
    day_start_equity: Decimal,
) -> ExposureSnapshot:
    """The snapshot of ``positions`` and ``open_orders`` at ``marks`` (pure): a position
    without a mark counts at its entry prices, a market entry without one at zero."""
    notional: dict[str, float] = {}
    for symbol, pos in positions.items():
        if not pos.lots:
            continue
        mark = marks.get(symbol)
        units = abs(pos.entry_value) if mark is None else abs(pos.qty_steps) * mark
        notional[symbol] = _float_units(units, pos.spec)
    pending: dict[str, float] = {}
    count = 0
    for order in open_orders:
        count += 1
        if order.reduce_only:
            continue
        symbol = order.symbol
        price = order.price_ticks if order.price_ticks is not None else marks.get(symbol, 0)
        left = order.qty_steps - order.filled_steps
        pending[symbol] = pending.get(symbol, 0.0) + _float_units(left * price, order.spec)
    realized, fees, funding, unrealized, start_unrealized = day
    return ExposureSnapshot(
        equity=equity,
        day_start_equity=day_start_equity,
        utc_day=utc_day(ts_ns),
        day_realized_pnl=realized,
        day_fees=fees,
        day_funding=funding,
        unrealized_pnl=unrealized,
        day_start_unrealized_pnl=start_unrealized,
        symbol_notional=notional,
        symbol_pending=pending,
        total_notional=sum(notional.values()),
        total_pending=sum(pending.values()),
        open_orders=count,
    )
