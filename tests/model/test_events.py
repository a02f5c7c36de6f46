"""Order, position and balance events: derived values."""

from __future__ import annotations

from decimal import Decimal

from bitunix.model.enums import OrderStatus, OrderType, PositionSide, Side
from bitunix.model.events import BalanceUpdate, OrderUpdate, PositionUpdate


def _order(status: OrderStatus, filled: str) -> OrderUpdate:
    return OrderUpdate(event="UPDATE", ts_event_ns=1, order_id="1", client_id="c", symbol="X",
                       side=Side.BUY, order_type=OrderType.LIMIT, status=status,
                       qty=Decimal("1.0"), price=Decimal(5), filled_qty=Decimal(filled))


def test_remaining_qty() -> None:
    assert _order(OrderStatus.PART_FILLED, "0.4").remaining_qty == Decimal("0.6")
    assert _order(OrderStatus.PART_FILLED_CANCELED, "0.4").remaining_qty == 0


def test_position_average_price_and_close() -> None:
    p = PositionUpdate(event="OPEN", ts_event_ns=1, position_id="9", symbol="X",
                       side=PositionSide.LONG, qty=Decimal("0.5"),
                       entry_value=Decimal("20000.5"))
    assert p.avg_price == Decimal("40001")
    assert not p.is_closed
    flat = PositionUpdate(event="CLOSE", ts_event_ns=1, position_id="9", symbol="X",
                          side=PositionSide.LONG, qty=Decimal(0), entry_value=Decimal(0))
    assert flat.avg_price is None
    assert flat.is_closed


def test_balance_defaults() -> None:
    b = BalanceUpdate(ts_event_ns=1, coin="USDT", available=Decimal("3"))
    assert (b.frozen, b.margin, b.bonus) == (0, 0, 0)
