"""Pure domain value types: enums, exact tick arithmetic and contract specifications.

No I/O and no wire formats here; ``bitunix.exchange`` converts the venue's messages into
these types.
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
from bitunix.model.events import BalanceUpdate, OrderUpdate, PositionUpdate
from bitunix.model.ticks import (
    PrecisionError,
    decimal_to_ticks,
    format_ticks,
    parse_ticks,
    ticks_to_decimal,
)

__all__ = [
    "BalanceUpdate",
    "ContractError",
    "ContractSpec",
    "KlineType",
    "MarginMode",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "PositionMode",
    "PositionSide",
    "PositionUpdate",
    "PrecisionError",
    "Side",
    "StopType",
    "SymbolStatus",
    "TimeInForce",
    "TpslStatus",
    "TradeSide",
    "decimal_to_ticks",
    "format_ticks",
    "parse_ticks",
    "ticks_to_decimal",
]
