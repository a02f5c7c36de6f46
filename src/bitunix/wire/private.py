"""Private WebSocket pushes (spec 5.5): balance, position, order, tpsl.

Everything about money decodes into exact ``Decimal`` (string or number on the wire).
``data`` is a single object live, but the docs type it as a list, so both are accepted
and :attr:`items` always gives a list. Times ``ctime``/``mtime`` stay ISO-8601 strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

from bitunix.wire._base import CamelStruct, TpSlFields

__all__ = [
    "PRIVATE_PUSH_TYPES",
    "BalanceData",
    "BalancePush",
    "OrderData",
    "OrderPush",
    "PositionData",
    "PositionPush",
    "TpslData",
    "TpslPush",
]


class BalanceData(CamelStruct, frozen=True, kw_only=True):
    """Balance of one coin; ``frozen`` = ``isolation_frozen + cross_frozen``."""

    coin: str
    available: Decimal | None = None
    frozen: Decimal | None = None
    isolation_frozen: Decimal | None = None
    cross_frozen: Decimal | None = None
    margin: Decimal | None = None
    isolation_margin: Decimal | None = None
    cross_margin: Decimal | None = None
    exp_money: Decimal | None = None


class PositionData(CamelStruct, frozen=True, kw_only=True):
    """Position event ``OPEN``/``UPDATE``/``CLOSE``; no average price (``entry_value/qty``)."""

    event: str
    position_id: str
    symbol: str
    side: str
    qty: Decimal
    margin_mode: str | None = None
    position_mode: str | None = None
    leverage: int | None = None
    margin: Decimal | None = None
    entry_value: Decimal | None = None
    realized_pnl: Decimal | None = msgspec.field(default=None, name="realizedPNL")
    unrealized_pnl: Decimal | None = msgspec.field(default=None, name="unrealizedPNL")
    funding: Decimal | None = None
    fee: Decimal | None = None
    ctime: str | None = None
    mtime: str | None = None


class OrderData(TpSlFields, frozen=True, kw_only=True):
    """Order event ``CREATE``/``UPDATE``/``CLOSE``; read ``order_status`` on ``CLOSE``.

    Live deviations (spec 5.5): ``side`` as ``Buy``, ``type`` as ``Limit``, ``effect``
    sometimes ``LONG``/``SHORT``; the margin mode is named ``positionType``.
    """

    event: str
    order_id: str
    symbol: str
    side: str
    qty: Decimal
    order_status: str
    client_id: str | None = None
    position_type: str | None = None
    position_mode: str | None = None
    effect: str | None = None
    type: str | None = None
    price: Decimal | None = None
    reduction_only: bool = False
    ctime: str | None = None
    mtime: str | None = None
    leverage: int | None = None
    fee: Decimal | None = None
    average_price: Decimal | None = None
    deal_amount: Decimal | None = None


class TpslData(TpSlFields, frozen=True, kw_only=True):
    """TP/SL event; ``status`` ``FILLED`` means the trigger fired (spec 5.5)."""

    event: str
    order_id: str
    symbol: str
    status: str
    position_id: str | None = None
    leverage: int | None = None
    side: str | None = None
    position_mode: str | None = None
    ctime: str | None = None
    type: str | None = None
    tp_qty: Decimal | None = None
    sl_qty: Decimal | None = None


D = TypeVar("D")


class _PrivatePush(msgspec.Struct, Generic[D], frozen=True, gc=False, tag_field="ch"):
    """Envelope of a private push; ``data`` is an object live, a list in the docs."""

    channel: ClassVar[str] = ""

    ts: int
    data: D | list[D]

    @property
    def items(self) -> list[D]:
        """``data`` as a list (an object becomes a list of one)."""
        return self.data if isinstance(self.data, list) else [self.data]


class BalancePush(_PrivatePush[BalanceData], frozen=True, tag="balance"):
    """``balance`` push."""


class PositionPush(_PrivatePush[PositionData], frozen=True, tag="position"):
    """``position`` push."""


class OrderPush(_PrivatePush[OrderData], frozen=True, tag="order"):
    """``order`` push."""


class TpslPush(_PrivatePush[TpslData], frozen=True, tag="tpsl"):
    """``tpsl`` push."""


PRIVATE_PUSH_TYPES: tuple[type[_PrivatePush[Any]], ...] = (
    BalancePush,
    PositionPush,
    OrderPush,
    TpslPush,
)

for _cls in PRIVATE_PUSH_TYPES:
    _cls.channel = str(_cls.__struct_config__.tag)
