"""REST response bodies (spec 4): the ``{code, msg, data}`` envelope and every ``data``.

Market data (tickers, depth, klines) decodes into ``float``; everything about orders,
positions, balances and contract rules into exact ``Decimal``. Field names follow the
wire through ``rename="camel"`` (the ``PNL`` fields are named explicitly). Where the live
API answers an object for a documented array of one (or the reverse), the field type is a
union of both and the client normalises it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Generic, TypeVar

import msgspec

from bitunix.wire._base import CamelStruct, TpSlFields
from bitunix.wire.public import Level

__all__ = [
    "Account",
    "BatchResult",
    "Envelope",
    "ErrorEnvelope",
    "FundingRate",
    "FundingRateHistoryRow",
    "HistoryPosition",
    "HistoryPositionList",
    "Kline",
    "LeverageMarginMode",
    "Order",
    "OrderAck",
    "OrderFailure",
    "OrderList",
    "PendingPosition",
    "PositionIdAck",
    "PositionModeAck",
    "PositionTier",
    "RestDepth",
    "RestTicker",
    "TpslAck",
    "TpslOrder",
    "TpslOrderList",
    "TradeFill",
    "TradeList",
    "TradingPair",
]

T = TypeVar("T")


class Envelope(msgspec.Struct, Generic[T], frozen=True, gc=False):
    """``{"code":0,"msg":"Success","data":...}``; never compare ``msg`` (spec 1.2)."""

    code: int
    data: T | None = None
    msg: str | None = None


class ErrorEnvelope(msgspec.Struct, frozen=True, gc=False):
    """The envelope without ``data``, to read the code of any answer."""

    code: int
    msg: str | None = None
    message: str | None = None


class TradingPair(CamelStruct, frozen=True, kw_only=True):
    """One ``trading_pairs`` row: step ``10**-base_precision``, tick ``10**-quote_precision``."""

    symbol: str
    base_precision: int
    quote_precision: int
    min_trade_volume: Decimal
    base: str = ""
    quote: str = ""
    min_buy_price_offset: Decimal | None = None
    max_sell_price_offset: Decimal | None = None
    max_limit_order_volume: Decimal | None = None
    max_market_order_volume: Decimal | None = None
    min_leverage: int | None = None
    max_leverage: int | None = None
    default_leverage: int | None = None
    default_margin_mode: str | int | None = None
    price_protect_scope: Decimal | None = None
    symbol_status: str = "OPEN"
    is_api_supported: bool = True
    max_funding_rate: Decimal | None = None
    min_funding_rate: Decimal | None = None


class RestTicker(CamelStruct, frozen=True, kw_only=True):
    """24 h ticker row. Volumes as named by the venue (likely inverted, spec 4.1)."""

    symbol: str
    mark_price: float | None = None
    last_price: float | None = None
    open: float | None = None
    last: float | None = None
    quote_vol: float | None = None
    base_vol: float | None = None
    high: float | None = None
    low: float | None = None


class RestDepth(CamelStruct, frozen=True, kw_only=True):
    """Depth answer: asks ascending, bids descending; no timestamp or sequence."""

    asks: list[Level] = msgspec.field(default_factory=list)
    bids: list[Level] = msgspec.field(default_factory=list)


class Kline(CamelStruct, frozen=True, kw_only=True):
    """One candle. Live rows come newest first and ``quoteVol``/``baseVol`` are swapped."""

    open: float
    high: float
    low: float
    close: float
    time: int
    quote_vol: float = 0.0
    base_vol: float = 0.0
    type: str | None = None

    @property
    def volume_base(self) -> float:
        """Base-coin volume: the live API puts it in ``quoteVol`` (spec 4.1, 8)."""
        return self.quote_vol

    @property
    def volume_quote(self) -> float:
        """Quote notional: the live API puts it in ``baseVol``."""
        return self.base_vol


class FundingRate(CamelStruct, frozen=True, kw_only=True):
    """Current funding; ``funding_rate`` is in **percent** per interval (spec 4.1)."""

    symbol: str
    funding_rate: Decimal
    mark_price: Decimal | None = None
    last_price: Decimal | None = None
    index_price: Decimal | None = None
    funding_interval: int | None = None
    next_funding_time: int | None = None
    max_funding_rate: Decimal | None = None
    min_funding_rate: Decimal | None = None

    @property
    def funding_rate_fraction(self) -> Decimal:
        """``funding_rate`` as a fraction, exact: ``"0.01"`` (percent) -> ``0.0001``."""
        return self.funding_rate.scaleb(-2)


class FundingRateHistoryRow(CamelStruct, frozen=True, kw_only=True):
    """Settled funding; here ``funding_rate`` is a **fraction** (spec 4.1)."""

    funding_rate: Decimal
    funding_time: int
    mark_price: Decimal | None = None

    @property
    def funding_rate_fraction(self) -> Decimal:
        """The same as ``funding_rate`` (already a fraction), named like
        :attr:`FundingRate.funding_rate_fraction` so both read the same way."""
        return self.funding_rate


class PositionTier(CamelStruct, frozen=True, kw_only=True):
    """Maintenance-margin tier by notional."""

    symbol: str
    level: int
    start_value: Decimal
    end_value: Decimal
    leverage: int
    maintenance_margin_rate: Decimal


class Account(CamelStruct, frozen=True, kw_only=True):
    """Futures account of one margin coin."""

    margin_coin: str
    available: Decimal
    frozen: Decimal = Decimal(0)
    margin: Decimal = Decimal(0)
    transfer: Decimal | None = None
    position_mode: str | None = None
    cross_unrealized_pnl: Decimal = msgspec.field(default=Decimal(0), name="crossUnrealizedPNL")
    isolation_unrealized_pnl: Decimal = msgspec.field(
        default=Decimal(0), name="isolationUnrealizedPNL"
    )
    bonus: Decimal | None = None


class LeverageMarginMode(CamelStruct, frozen=True, kw_only=True):
    """Leverage and margin mode of a symbol (also the change_leverage answer)."""

    symbol: str | None = None
    margin_coin: str | None = None
    leverage: int | None = None
    margin_mode: str | None = None


class PositionModeAck(CamelStruct, frozen=True, kw_only=True):
    """change_position_mode answer."""

    position_mode: str | None = None


class PendingPosition(CamelStruct, frozen=True, kw_only=True):
    """Open position. ``side`` is ``BUY``/``SELL`` live for LONG/SHORT (spec 4.3)."""

    position_id: str
    symbol: str
    qty: Decimal
    side: str
    entry_value: Decimal | None = None
    margin_coin: str | None = None
    margin_mode: str | None = None
    position_mode: str | None = None
    leverage: int | None = None
    fee: Decimal | None = None
    funding: Decimal | None = None
    realized_pnl: Decimal | None = msgspec.field(default=None, name="realizedPNL")
    unrealized_pnl: Decimal | None = msgspec.field(default=None, name="unrealizedPNL")
    margin: Decimal | None = None
    liq_price: Decimal | None = None
    margin_rate: Decimal | None = None
    avg_open_price: Decimal | None = None
    ctime: int | None = None
    mtime: int | None = None


class HistoryPosition(CamelStruct, frozen=True, kw_only=True):
    """Closed position."""

    position_id: str
    symbol: str
    side: str | None = None
    max_qty: Decimal | None = None
    qty: Decimal | None = None
    entry_price: Decimal | None = None
    close_price: Decimal | None = None
    liq_qty: Decimal | None = None
    margin_mode: str | None = None
    position_mode: str | None = None
    leverage: int | None = None
    fee: Decimal | None = None
    funding: Decimal | None = None
    realized_pnl: Decimal | None = msgspec.field(default=None, name="realizedPNL")
    liq_price: Decimal | None = None
    margin: Decimal | None = None
    margin_coin: str | None = None
    ctime: int | None = None
    mtime: int | None = None


class HistoryPositionList(CamelStruct, frozen=True, kw_only=True):
    """Page of closed positions."""

    position_list: list[HistoryPosition] = msgspec.field(default_factory=list)
    total: int = 0


class OrderAck(CamelStruct, frozen=True, kw_only=True):
    """Accepted order: ``orderId`` (batch rows may name it ``id``) and the echoed ``clientId``."""

    order_id: str | None = None
    id: str | None = None
    client_id: str | None = None

    @property
    def venue_order_id(self) -> str | None:
        """``orderId``, or ``id`` when only that is given."""
        return self.order_id or self.id


class OrderFailure(CamelStruct, frozen=True, kw_only=True):
    """A failed row of a batch or cancel answer; ``errorCode`` is an int or a string."""

    order_id: str | None = None
    client_id: str | None = None
    error_msg: str | None = None
    error_code: int | str | None = None


class BatchResult(CamelStruct, frozen=True, kw_only=True):
    """batch_order / cancel_orders / cancel_all_orders answer."""

    success_list: list[OrderAck] = msgspec.field(default_factory=list)
    failure_list: list[OrderFailure] = msgspec.field(default_factory=list)


class Order(TpSlFields, frozen=True, kw_only=True):
    """An order from pending/history/detail. ``price`` may be ``"market"`` (spec 4.4)."""

    order_id: str
    symbol: str
    qty: Decimal
    side: str
    status: str | None = None
    trade_qty: Decimal | None = None
    price: str | None = None
    order_type: str | None = None
    type: str | None = None
    effect: str | None = None
    client_id: str | None = None
    reduce_only: bool | None = None
    position_mode: str | None = None
    margin_mode: str | None = None
    leverage: int | None = None
    fee: Decimal | None = None
    realized_pnl: Decimal | None = msgspec.field(default=None, name="realizedPNL")
    ctime: int | None = None
    mtime: int | None = None
    source: str | None = None

    @property
    def kind(self) -> str | None:
        """``orderType``, or ``type`` as the doc examples name it."""
        return self.order_type or self.type

    @property
    def limit_price(self) -> Decimal | None:
        """The limit price, or None for a market order (``"market"`` or absent)."""
        if self.price is None or not self.price or self.price.lower() == "market":
            return None
        return Decimal(self.price)


class OrderList(CamelStruct, frozen=True, kw_only=True):
    """Page of orders."""

    order_list: list[Order] = msgspec.field(default_factory=list)
    total: int = 0


class TradeFill(CamelStruct, frozen=True, kw_only=True):
    """One fill from get_history_trades. Fee: positive = paid (spec 4.4)."""

    trade_id: str
    order_id: str
    symbol: str
    qty: Decimal
    price: Decimal
    side: str
    fee: Decimal | None = None
    realized_pnl: Decimal | None = msgspec.field(default=None, name="realizedPNL")
    position_mode: str | None = None
    margin_mode: str | None = None
    leverage: int | None = None
    order_type: str | None = None
    effect: str | None = None
    client_id: str | None = None
    reduce_only: bool | None = None
    role_type: str | None = None
    ctime: int | None = None


class TradeList(CamelStruct, frozen=True, kw_only=True):
    """Page of fills."""

    trade_list: list[TradeFill] = msgspec.field(default_factory=list)
    total: int = 0


class TpslOrder(TpSlFields, frozen=True, kw_only=True):
    """A TP/SL order (pending or history); note ``id``, not ``orderId``."""

    id: str
    symbol: str
    position_id: str | None = None
    base: str | None = None
    quote: str | None = None
    tp_qty: Decimal | None = None
    sl_qty: Decimal | None = None
    status: str | None = None
    ctime: int | None = None
    trigger_time: int | None = None


class TpslOrderList(CamelStruct, frozen=True, kw_only=True):
    """Page of TP/SL history."""

    order_list: list[TpslOrder] = msgspec.field(default_factory=list)
    total: int = 0


class TpslAck(CamelStruct, frozen=True, kw_only=True):
    """TP/SL place/modify/cancel answer."""

    order_id: str | None = None
    client_id: str | None = None


class PositionIdAck(CamelStruct, frozen=True, kw_only=True):
    """flash_close_position answer (newer doc)."""

    position_id: str | None = None
