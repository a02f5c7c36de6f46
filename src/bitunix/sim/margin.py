"""Margin of the simulated exchange: what an order freezes, when a position is liquidated.

Pure functions of the state; the engine applies their answers. Isolated positions are
backed by their own margin, cross positions also by the account's free balance (every
cross position is priced with all of it, a simplification documented in
``docs/simulator.md``).
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

from bitunix.sim.errors import INSUFFICIENT_BALANCE, SimError
from bitunix.sim.state import (
    BUY,
    LONG,
    QUANTUM,
    ZERO,
    MarketState,
    SimAccount,
    SimOrder,
    SimPosition,
    opposite,
)

__all__ = [
    "below_maintenance",
    "insurance_shortfall",
    "liquidation_price",
    "order_margin",
    "reference_price",
    "reserve",
]


def reference_price(order: SimOrder, mkt: MarketState) -> Decimal | None:
    """The price an order's margin and fee are reckoned at: its limit, else the best
    opposite level, else the mark."""
    if order.price is not None:
        return order.price
    best = mkt.best_ask() if order.side == BUY else mkt.best_bid()
    return best if best is not None else mkt.mark


def order_margin(order: SimOrder, qty: Decimal, mkt: MarketState) -> Decimal:
    """Initial margin of ``qty`` of ``order`` at its leverage (rounded up to the quantum)."""
    ref = reference_price(order, mkt)
    if ref is None:
        return ZERO
    return (qty * ref / order.leverage).quantize(QUANTUM, ROUND_UP)


def reserve(acct: SimAccount, order: SimOrder, mkt: MarketState, taker_rate: Decimal) -> None:
    """Freeze the initial margin of the part of ``order`` that can open a position (and
    check the taker fee fits); 20003 when the account cannot afford it.

    In one-way mode the part that nets an opposite position opens nothing, so closing
    with a plain order never needs free balance beyond its fee."""
    opening = order.qty
    if acct.position_mode == "ONE_WAY":
        other = acct.positions.get((order.symbol, opposite(order.pos_side)))
        if other is not None:
            opening = max(ZERO, opening - other.qty)
    need = order_margin(order, opening, mkt)
    ref = reference_price(order, mkt) or ZERO
    fee = order.qty * ref * taker_rate
    if need + fee > acct.available():
        raise SimError(INSUFFICIENT_BALANCE, f"needs {need + fee}, available "
                       f"{acct.available()}")
    order.frozen = need


def liquidation_price(pos: SimPosition, mmr: Decimal, available: Decimal) -> Decimal:
    """Mark price at which the equity of ``pos`` meets maintenance margin (0 = none);
    ``available`` is the account's free balance (backs cross positions only)."""
    backing = pos.margin
    if pos.margin_mode == "CROSS":
        backing += max(available, ZERO)
    if not pos.qty:
        return ZERO
    if pos.side == LONG:
        price = (pos.entry_value - backing) / (pos.qty * (1 - mmr))
    else:
        price = (pos.entry_value + backing) / (pos.qty * (1 + mmr))
    return max(price, ZERO)


def below_maintenance(pos: SimPosition, mark: Decimal, mmr: Decimal,
                      acct: SimAccount) -> bool:
    """Whether ``pos`` is to be liquidated at ``mark``: its equity (margin plus unrealized
    PnL, plus the free balance when cross) at or below ``qty x mark x mmr``."""
    equity = pos.margin + pos.unrealized(mark)
    if pos.margin_mode == "CROSS":
        equity += max(acct.available(), ZERO)
    return equity <= pos.qty * mark * mmr


def insurance_shortfall(margin_mode: str, margin: Decimal, wallet_before: Decimal,
                        wallet_after: Decimal) -> Decimal:
    """What the insurance fund pays after a liquidation (> 0) or nothing: the loss beyond
    the position's margin when isolated, the negative wallet when cross."""
    if margin_mode == "ISOLATION":
        return (wallet_before - wallet_after) - margin
    return -wallet_after
