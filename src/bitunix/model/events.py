"""Venue-neutral events about our own orders, positions and balances.

Built by ``bitunix.exchange.convert`` from the private WebSocket pushes (and by anything
else that speaks for an exchange, such as the simulator). Money is exact ``Decimal``;
``ts_event_ns`` is the venue's business time (its ``mtime``/``ctime``), nanoseconds since
the epoch.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bitunix.model.enums import (
    MarginMode,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    TimeInForce,
)

__all__ = ["Balance", "BalanceUpdate", "OrderUpdate", "PositionUpdate"]

_ZERO = Decimal(0)


class OrderUpdate(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """State of one order after a venue event (``CREATE``/``UPDATE``/``CLOSE``).

    ``side`` is the real action (a reduce-only SELL closes a long, spec 6.1).
    """

    event: str
    ts_event_ns: int
    order_id: str
    client_id: str | None
    symbol: str
    side: Side
    order_type: OrderType
    status: OrderStatus
    qty: Decimal
    price: Decimal | None
    filled_qty: Decimal = _ZERO
    avg_price: Decimal | None = None
    fee: Decimal = _ZERO
    reduce_only: bool = False
    time_in_force: TimeInForce | None = None
    leverage: int | None = None
    margin_mode: MarginMode | None = None
    position_mode: PositionMode | None = None

    @property
    def remaining_qty(self) -> Decimal:
        """Quantity still open (zero once terminal)."""
        return _ZERO if self.status.is_terminal else self.qty - self.filled_qty


class PositionUpdate(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """State of one position after a venue event (``OPEN``/``UPDATE``/``CLOSE``)."""

    event: str
    ts_event_ns: int
    position_id: str
    symbol: str
    side: PositionSide
    qty: Decimal
    entry_value: Decimal | None = None
    leverage: int | None = None
    margin: Decimal | None = None
    margin_mode: MarginMode | None = None
    position_mode: PositionMode | None = None
    realized_pnl: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    fee: Decimal | None = None
    funding: Decimal | None = None

    @property
    def avg_price(self) -> Decimal | None:
        """Average entry price, ``entry_value / qty`` (the push carries no price, spec 5.5)."""
        if self.entry_value is None or not self.qty:
            return None
        return self.entry_value / self.qty

    @property
    def is_closed(self) -> bool:
        """True for the ``CLOSE`` event or a zero quantity."""
        return self.event == "CLOSE" or self.qty == 0


class Balance(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """Balance of one margin coin as the venue reports it (push or REST)."""

    ts_event_ns: int
    coin: str
    available: Decimal
    frozen: Decimal = _ZERO
    margin: Decimal = _ZERO
    bonus: Decimal = _ZERO


#: The name this type had before the execution layer; kept for the converters.
BalanceUpdate = Balance
