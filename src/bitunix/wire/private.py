"""Private WebSocket pushes (spec 5.5): balance, position, order, tpsl.

Everything about money decodes into exact ``Decimal`` (string or number on the wire).
``data`` is a single object live, but the docs type it as a list, so both are accepted
and :attr:`items` always gives a list. Times ``ctime``/``mtime`` stay ISO-8601 strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import msgspec

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


class _Data(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    pass


class BalanceData(_Data, frozen=True):
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


class PositionData(_Data, frozen=True):
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


class OrderData(_Data, frozen=True):
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
    tp_stop_type: str | None = None
    tp_price: Decimal | None = None
    tp_order_type: str | None = None
    tp_order_price: Decimal | None = None
    sl_stop_type: str | None = None
    sl_price: Decimal | None = None
    sl_order_type: str | None = None
    sl_order_price: Decimal | None = None


class TpslData(_Data, frozen=True):
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
    tp_stop_type: str | None = None
    tp_price: Decimal | None = None
    tp_order_type: str | None = None
    tp_order_price: Decimal | None = None
    sl_stop_type: str | None = None
    sl_price: Decimal | None = None
    sl_order_type: str | None = None
    sl_order_price: Decimal | None = None


class _PrivatePush(msgspec.Struct, frozen=True, gc=False, tag_field="ch"):
    channel: ClassVar[str] = ""


class BalancePush(_PrivatePush, frozen=True, tag="balance"):
    """``balance`` push."""

    ts: int
    data: BalanceData | list[BalanceData]

    @property
    def items(self) -> list[BalanceData]:
        """``data`` as a list (an object becomes a list of one)."""
        return self.data if isinstance(self.data, list) else [self.data]


class PositionPush(_PrivatePush, frozen=True, tag="position"):
    """``position`` push."""

    ts: int
    data: PositionData | list[PositionData]

    @property
    def items(self) -> list[PositionData]:
        """``data`` as a list (an object becomes a list of one)."""
        return self.data if isinstance(self.data, list) else [self.data]


class OrderPush(_PrivatePush, frozen=True, tag="order"):
    """``order`` push."""

    ts: int
    data: OrderData | list[OrderData]

    @property
    def items(self) -> list[OrderData]:
        """``data`` as a list (an object becomes a list of one)."""
        return self.data if isinstance(self.data, list) else [self.data]


class TpslPush(_PrivatePush, frozen=True, tag="tpsl"):
    """``tpsl`` push."""

    ts: int
    data: TpslData | list[TpslData]

    @property
    def items(self) -> list[TpslData]:
        """``data`` as a list (an object becomes a list of one)."""
        return self.data if isinstance(self.data, list) else [self.data]


PRIVATE_PUSH_TYPES: tuple[type[_PrivatePush], ...] = (
    BalancePush,
    PositionPush,
    OrderPush,
    TpslPush,
)

for _cls in PRIVATE_PUSH_TYPES:
    _cls.channel = str(_cls.__struct_config__.tag)
