"""Positions and the wallet of the simulated exchange: how a fill changes them.

The wallet moves only through ledger entries (:func:`credit`), so ``wallet change ==
sum(ledger)`` exactly. In one-way mode a fill first nets the opposite position
(:func:`increase`); a reduction realizes ``value - entry value removed`` (long) or its
negative (short), with the entry value and margin removed pro rata on the quantum.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_UP, Decimal

from bitunix.sim.state import (
    LONG,
    QUANTUM,
    ZERO,
    LedgerEntry,
    SimAccount,
    SimOrder,
    SimPosition,
    opposite,
)

__all__ = ["credit", "increase", "opening_part", "reduce"]


def credit(acct: SimAccount, kind: str, amount: Decimal, ref: str, ts_ns: int) -> None:
    """Move ``amount`` into the wallet (negative: out of it) as a ``kind`` ledger entry."""
    acct.wallet += amount
    acct.ledger.append(LedgerEntry(ts_ns, kind, amount, ref))


def opening_part(acct: SimAccount, order: SimOrder, qty: Decimal) -> Decimal:
    """The part of a fill of ``qty`` of a non-closing ``order`` that opens or adds to its
    side (in one-way mode the rest nets the opposite position)."""
    if acct.position_mode == "ONE_WAY":
        other = acct.positions.get((order.symbol, opposite(order.pos_side)))
        if other is not None:
            return max(ZERO, qty - other.qty)
    return qty


def reduce(pos: SimPosition, qty: Decimal, price: Decimal) -> Decimal:
    """Remove ``qty`` from ``pos`` at ``price``; return the realized PnL (not credited)."""
    if qty >= pos.qty:
        removed, released = pos.entry_value, pos.margin
    else:
        removed = (pos.entry_value * qty / pos.qty).quantize(QUANTUM)
        released = (pos.margin * qty / pos.qty).quantize(QUANTUM)
    pos.qty -= qty
    pos.entry_value -= removed
    pos.margin -= released
    value = qty * price
    pos.closed_qty += qty
    pos.closed_value += value
    return value - removed if pos.side == LONG else removed - value


def increase(acct: SimAccount, order: SimOrder, qty: Decimal, price: Decimal, *,
             now_ns: int, new_position_id: Callable[[], str]
             ) -> tuple[SimPosition, str, Decimal, SimPosition | None]:
    """Add ``qty`` at ``price`` to the order's side; in one-way mode net the opposite side
    first. Returns ``(position touched, push event, realized PnL, emptied opposite
    position or None)``; the caller closes (removes, reports) the emptied one.
    ``new_position_id()`` names a position this opens (called only then)."""
    key = (order.symbol, order.pos_side)
    pnl = ZERO
    emptied: SimPosition | None = None
    if acct.position_mode == "ONE_WAY":
        other = acct.positions.get((order.symbol, opposite(order.pos_side)))
        if other is not None:
            reduce_q = min(qty, other.qty)
            pnl = reduce(other, reduce_q, price)
            other.realized_pnl += pnl
            qty -= reduce_q
            if qty == 0:
                return other, "UPDATE", pnl, None
            emptied = other
    pos = acct.positions.get(key)
    event = "UPDATE"
    if pos is None:
        pos = SimPosition(position_id=new_position_id(), uid=acct.uid, symbol=order.symbol,
                          side=order.pos_side, leverage=order.leverage,
                          margin_mode=order.margin_mode, position_mode=acct.position_mode,
                          ctime_ns=now_ns, mtime_ns=now_ns)
        acct.positions[key] = pos
        event = "OPEN"
    pos.qty += qty
    pos.entry_value += qty * price
    pos.opened_qty += qty
    pos.opened_value += qty * price
    pos.max_qty = max(pos.max_qty, pos.qty)
    pos.margin += (qty * price / pos.leverage).quantize(QUANTUM, ROUND_UP)
    return pos, event, pnl, emptied
