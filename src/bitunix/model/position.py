"""A position built from fills, exactly: integer lots, PnL in exact units, fees and funding.

The position of one symbol in one-way mode: a signed quantity (+ long, - short) made of
first-in-first-out lots ``(signed steps, price ticks)``. Closing consumes the oldest lots,
so realised PnL is an integer count of ``tick_size x qty_step`` (``value`` units) and never
rounds; it is converted to Decimal only for display. Over a whole round trip FIFO and the
venue's average-cost method give the same PnL; within a partially closed position they
split it differently, which is why reconciliation compares quantities, not entry values.

Everything here is pure: :func:`apply_fill` and :func:`apply_funding` return a new
:class:`Position`.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bitunix.model.contract import ContractSpec
from bitunix.model.fills import Fill
from bitunix.model.ticks import ticks_to_decimal

__all__ = ["Lot", "Position", "apply_fill", "apply_funding"]

_ZERO = Decimal(0)

#: ``(signed qty steps, price ticks)`` of one opening fill still open.
Lot = tuple[int, int]


class Position(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """The bot's position in one contract (see the module docs).

    ``realized_value`` is gross price PnL of what was closed, in value units
    (``tick_size x qty_step``); ``fees`` and ``funding`` are what was paid (positive) or
    received (negative), in the quote coin. ``closed_trades`` counts round trips: the
    times the position went back to flat (or flipped through it).
    """

    spec: ContractSpec
    lots: tuple[Lot, ...] = ()
    realized_value: int = 0
    fees: Decimal = _ZERO
    funding: Decimal = _ZERO
    closed_trades: int = 0
    fills: int = 0
    updated_ns: int = 0

    @property
    def symbol(self) -> str:
        """The contract's symbol."""
        return self.spec.symbol

    @property
    def qty_steps(self) -> int:
        """Signed size: + long, - short, 0 flat."""
        return sum(q for q, _ in self.lots)

    @property
    def is_flat(self) -> bool:
        """True when nothing is open."""
        return not self.lots

    @property
    def qty(self) -> Decimal:
        """Signed size in base coin."""
        return ticks_to_decimal(self.qty_steps, self.spec.qty_decimals)

    @property
    def entry_value(self) -> int:
        """Signed cost of the open lots in value units (``sum(qty x price)``)."""
        return sum(q * p for q, p in self.lots)

    @property
    def avg_entry_price(self) -> Decimal | None:
        """Average entry price of the open lots (None when flat)."""
        steps = self.qty_steps
        if not steps:
            return None
        return self._value(self.entry_value) / ticks_to_decimal(steps, self.spec.qty_decimals)

    @property
    def realized_pnl(self) -> Decimal:
        """Gross realised PnL (before fees and funding)."""
        return self._value(self.realized_value)

    @property
    def net_realized_pnl(self) -> Decimal:
        """Realised PnL after fees and funding."""
        return self.realized_pnl - self.fees - self.funding

    def unrealized_value(self, mark_ticks: int) -> int:
        """PnL of the open lots at ``mark_ticks``, in value units."""
        return sum(q * (mark_ticks - p) for q, p in self.lots)

    def unrealized_pnl(self, mark_ticks: int) -> Decimal:
        """PnL of the open lots at ``mark_ticks``."""
        return self._value(self.unrealized_value(mark_ticks))

    def notional(self, mark_ticks: int) -> Decimal:
        """Absolute exposure at ``mark_ticks`` in the quote coin."""
        return self._value(abs(self.qty_steps) * mark_ticks)

    def _value(self, units: int) -> Decimal:
        return ticks_to_decimal(units, self.spec.price_decimals + self.spec.qty_decimals)


def apply_fill(pos: Position, fill: Fill) -> Position:
    """``pos`` after ``fill``: add a lot, or close lots first-in-first-out (and open the
    rest the other way when the fill flips the position)."""
    if fill.spec.symbol != pos.spec.symbol:
        raise ValueError(f"fill for {fill.spec.symbol} applied to a {pos.spec.symbol} position")
    remaining = fill.signed_steps
    price = fill.price_ticks
    lots = list(pos.lots)
    realized = pos.realized_value
    closed = pos.closed_trades
    while remaining and lots and (lots[0][0] > 0) != (remaining > 0):
        lot_qty, lot_price = lots[0]
        take = min(abs(lot_qty), abs(remaining))
        sign = 1 if lot_qty > 0 else -1
        realized += sign * take * (price - lot_price)
        if take == abs(lot_qty):
            lots.pop(0)
        else:
            lots[0] = (lot_qty - sign * take, lot_price)
        remaining += sign * take
        if not lots:
            closed += 1
    if remaining:
        lots.append((remaining, price))
    return Position(
        spec=pos.spec,
        lots=tuple(lots),
        realized_value=realized,
        fees=pos.fees + fill.fee,
        funding=pos.funding,
        closed_trades=closed,
        fills=pos.fills + 1,
        updated_ns=max(pos.updated_ns, fill.ts_ns),
    )


def apply_funding(pos: Position, paid: Decimal, ts_ns: int) -> Position:
    """``pos`` after a funding settlement: ``paid`` positive = paid, negative = received."""
    return msgspec.structs.replace(
        pos, funding=pos.funding + paid, updated_ns=max(pos.updated_ns, ts_ns)
    )

