"""Pure domain value types: enums, exact tick arithmetic, contracts, market events, orders,
fills, positions and the order state machine.

No I/O and no wire formats here; ``bitunix.exchange`` converts the venue's messages into
these types. Money is integer ticks/steps of a :class:`ContractSpec` (Decimal at the edges).
"""

from bitunix.model.contract import ContractError, ContractSpec
from bitunix.model.enums import (
    KlineType,
    MarginMode,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    StopType,
    SymbolStatus,
    TimeInForce,
    TpslStatus,
    TradeSide,
)
from bitunix.model.events import Balance, BalanceUpdate, OrderUpdate, PositionUpdate
from bitunix.model.fills import Fill
from bitunix.model.market import BookEvent, MarketEvent, TradeEvent
from bitunix.model.order_fsm import (
    OrderAccepted,
    OrderEvent,
    OrderRejected,
    OrderReport,
    OrderStateMachine,
    Verdict,
)
from bitunix.model.orders import Order, OrderIntent
from bitunix.model.position import Position, apply_fill, apply_funding
from bitunix.model.ticks import (
    PrecisionError,
    decimal_to_ticks,
    float_to_ticks,
    format_ticks,
    parse_ticks,
    ticks_to_decimal,
)

__all__ = [
    "Balance",
    "BalanceUpdate",
    "BookEvent",
    "ContractError",
    "ContractSpec",
    "Fill",
    "KlineType",
    "MarginMode",
    "MarketEvent",
    "Order",
    "OrderAccepted",
    "OrderEvent",
    "OrderIntent",
    "OrderRejected",
    "OrderReport",
    "OrderStateMachine",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "Position",
    "PositionMode",
    "PositionSide",
    "PositionUpdate",
    "PrecisionError",
    "Side",
    "StopType",
    "SymbolStatus",
    "TimeInForce",
    "TpslStatus",
    "TradeEvent",
    "TradeSide",
    "Verdict",
    "apply_fill",
    "apply_funding",
    "decimal_to_ticks",
    "float_to_ticks",
    "format_ticks",
    "parse_ticks",
    "ticks_to_decimal",
]
