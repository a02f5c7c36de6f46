"""The figures risk needs before it approves an order: a snapshot of what is at stake.

Exposure counts what is held and what is pending: an entry order not yet filled (even one
not acknowledged) is exposure at its limit price, or at the mark for a market order.
Reduce-only orders count as open orders but add no exposure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import msgspec

from bitunix.model import ContractSpec, Order, Position

__all__ = ["ExposureSnapshot", "SymbolExposure", "build_snapshot"]

_ZERO = Decimal(0)


class SymbolExposure(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One symbol: signed position size, its notional at ``mark_ticks``, and the open
    orders (count, and the notional of the unfilled part of the entries)."""

    symbol: str
    qty_steps: int = 0
    mark_ticks: int | None = None
    notional: Decimal = _ZERO
    open_orders: int = 0
    open_order_notional: Decimal = _ZERO


class ExposureSnapshot(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """Everything at once: per symbol, totals, the UTC-day PnL and equity."""

    ts_ns: int
    symbols: dict[str, SymbolExposure]
    total_notional: Decimal
    open_orders: int
    open_order_notional: Decimal
    day_pnl: Decimal
    day_start_equity: Decimal | None
    equity: Decimal | None

    def of(self, symbol: str) -> SymbolExposure:
        """The exposure of ``symbol`` (zero when nothing is held or pending)."""
        return self.symbols.get(symbol) or SymbolExposure(symbol=symbol)


def _units(units: int, spec: ContractSpec) -> Decimal:
    return Decimal(units).scaleb(-(spec.price_decimals + spec.qty_decimals))


def build_snapshot(
    ts_ns: int,
    positions: Mapping[str, Position],
    open_orders: Iterable[Order],
    marks: Mapping[str, int],
    *,
    day_pnl: Decimal,
    day_start_equity: Decimal | None,
    equity: Decimal | None,
) -> ExposureSnapshot:
    """The snapshot of ``positions`` and ``open_orders`` at ``marks`` (pure)."""
    qty: dict[str, int] = {}
    notional: dict[str, Decimal] = {}
    for symbol, pos in positions.items():
        if not pos.lots:
            continue
        qty[symbol] = pos.qty_steps
        mark = marks.get(symbol)
        units = abs(pos.entry_value) if mark is None else abs(pos.qty_steps) * mark
        notional[symbol] = _units(units, pos.spec)
    count: dict[str, int] = {}
    pending: dict[str, Decimal] = {}
    for order in open_orders:
        symbol = order.symbol
        count[symbol] = count.get(symbol, 0) + 1
        if order.reduce_only:
            continue
        price = order.price_ticks if order.price_ticks is not None else marks.get(symbol, 0)
        left = order.qty_steps - order.filled_steps
        pending[symbol] = pending.get(symbol, _ZERO) + _units(left * price, order.spec)
    symbols = {
        s: SymbolExposure(symbol=s, qty_steps=qty.get(s, 0), mark_ticks=marks.get(s),
                          notional=notional.get(s, _ZERO), open_orders=count.get(s, 0),
                          open_order_notional=pending.get(s, _ZERO))
        for s in sorted(set(qty) | set(count))
    }
    return ExposureSnapshot(
        ts_ns=ts_ns,
        symbols=symbols,
        total_notional=sum(notional.values(), _ZERO),
        open_orders=sum(count.values()),
        open_order_notional=sum(pending.values(), _ZERO),
        day_pnl=day_pnl,
        day_start_equity=day_start_equity,
        equity=equity,
    )
