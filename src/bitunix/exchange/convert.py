"""Conversions from wire messages to the domain types of ``bitunix.model``, and back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from bitunix.model.contract import ContractSpec
from bitunix.model.enums import (
    MarginMode,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    SymbolStatus,
    TimeInForce,
)
from bitunix.model.events import BalanceUpdate, OrderUpdate, PositionUpdate
from bitunix.wire.private import BalanceData, OrderData, PositionData
from bitunix.wire.rest import Order, TradingPair

__all__ = [
    "balance_update",
    "contract_from_pair",
    "decimal_str",
    "iso_to_ns",
    "order_update",
    "order_update_from_rest",
    "position_side_of",
    "position_update",
]

E = TypeVar("E", bound=StrEnum)
_ZERO = Decimal(0)


def decimal_str(value: Decimal | int | str) -> str:
    """A decimal as the venue wants it: plain notation, never an exponent (spec 6.2)."""
    if isinstance(value, str):
        value = Decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"not a finite decimal: {value!r}")
    text = format(value, "f")
    return "0" if text in ("-0", "0") else text


def contract_from_pair(pair: TradingPair) -> ContractSpec:
    """A :class:`ContractSpec` from one ``trading_pairs`` row."""
    try:
        status = SymbolStatus(pair.symbol_status)
    except ValueError:
        status = SymbolStatus.STOP
    return ContractSpec(
        symbol=pair.symbol,
        base=pair.base,
        quote=pair.quote,
        price_decimals=pair.quote_precision,
        qty_decimals=pair.base_precision,
        min_qty=pair.min_trade_volume,
        max_limit_qty=pair.max_limit_order_volume,
        max_market_qty=pair.max_market_order_volume,
        min_leverage=pair.min_leverage or 1,
        max_leverage=pair.max_leverage or 125,
        default_leverage=pair.default_leverage,
        price_protect_scope=pair.price_protect_scope,
        status=status,
        api_supported=pair.is_api_supported,
    )


def position_side_of(side: str, reduce_only: bool | None = None) -> PositionSide:
    """Position side from what the venue sends.

    Positions send ``LONG``/``SHORT`` or, live, ``BUY``/``SELL``. For an order or fill,
    pass ``reduce_only``: ``side`` is then the real action, so a reduce-only SELL closes a
    LONG (spec 6.1).
    """
    if reduce_only is None:
        return PositionSide(side)
    action = Side(side)
    if reduce_only:
        return PositionSide.SHORT if action is Side.BUY else PositionSide.LONG
    return PositionSide.LONG if action is Side.BUY else PositionSide.SHORT


def iso_to_ns(text: str | None, default_ns: int) -> int:
    """Nanoseconds since the epoch of an ISO-8601 UTC time with up to 9 fractional digits
    (``"2025-04-26T17:06:13.155255000Z"``, spec 1.3); ``default_ns`` when absent or
    unreadable."""
    if not text:
        return default_ns
    body = text.strip().removesuffix("Z").removesuffix("+00:00")
    whole, _, frac = body.partition(".")
    try:
        seconds = datetime.fromisoformat(whole + "+00:00").timestamp()
    except ValueError:
        return default_ns
    digits = frac[:9]
    if not digits.isdigit() and digits:
        return default_ns
    return int(seconds) * 1_000_000_000 + int(digits.ljust(9, "0") or 0)


def _opt(cls: type[E], value: str | None) -> E | None:
    if not value:
        return None
    try:
        return cls(value)
    except ValueError:
        return None


def _req(cls: type[E], value: str | None, what: str) -> E:
    if value is None:
        raise ValueError(f"{what} is missing")
    try:
        return cls(value)
    except ValueError:
        valid = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown {what} {value!r}; expected one of {valid}") from None


def order_update(d: OrderData, ts_ms: int) -> OrderUpdate:
    """An :class:`OrderUpdate` from one ``order`` push item (``ts_ms`` = envelope ``ts``)."""
    ts = ts_ms * 1_000_000
    kind = _opt(OrderType, d.type) or (OrderType.LIMIT if d.price else OrderType.MARKET)
    avg = d.average_price if d.average_price else None
    return OrderUpdate(
        event=d.event,
        ts_event_ns=iso_to_ns(d.mtime or d.ctime, ts),
        order_id=d.order_id,
        client_id=d.client_id or None,
        symbol=d.symbol,
        side=_req(Side, d.side, "side"),
        order_type=kind,
        status=_req(OrderStatus, d.order_status, "orderStatus"),
        qty=d.qty,
        price=d.price if kind is OrderType.LIMIT else None,
        filled_qty=d.deal_amount or _ZERO,
        avg_price=avg,
        fee=d.fee or _ZERO,
        reduce_only=d.reduction_only,
        # "effect" has carried LONG/SHORT live (spec 5.5): not a time in force, dropped.
        time_in_force=_opt(TimeInForce, d.effect),
        leverage=d.leverage,
        margin_mode=_opt(MarginMode, d.position_type),
        position_mode=_opt(PositionMode, d.position_mode),
    )


def order_update_from_rest(o: Order) -> OrderUpdate:
    """An :class:`OrderUpdate` (event ``SNAPSHOT``) from a REST order, for reconciliation."""
    kind = _opt(OrderType, o.kind) or (OrderType.LIMIT if o.limit_price else OrderType.MARKET)
    return OrderUpdate(
        event="SNAPSHOT",
        ts_event_ns=(o.mtime or o.ctime or 0) * 1_000_000,
        order_id=o.order_id,
        client_id=o.client_id or None,
        symbol=o.symbol,
        side=_req(Side, o.side, "side"),
        order_type=kind,
        status=_req(OrderStatus, o.status, "status"),
        qty=o.qty,
        price=o.limit_price,
        filled_qty=o.trade_qty or _ZERO,
        fee=o.fee or _ZERO,
        reduce_only=bool(o.reduce_only),
        time_in_force=_opt(TimeInForce, o.effect),
        leverage=o.leverage,
        margin_mode=_opt(MarginMode, o.margin_mode),
        position_mode=_opt(PositionMode, o.position_mode),
    )


def position_update(d: PositionData, ts_ms: int) -> PositionUpdate:
    """A :class:`PositionUpdate` from one ``position`` push item."""
    return PositionUpdate(
        event=d.event,
        ts_event_ns=iso_to_ns(d.mtime or d.ctime, ts_ms * 1_000_000),
        position_id=d.position_id,
        symbol=d.symbol,
        side=_req(PositionSide, d.side, "side"),
        qty=d.qty,
        entry_value=d.entry_value,
        leverage=d.leverage,
        margin=d.margin,
        margin_mode=_opt(MarginMode, d.margin_mode),
        position_mode=_opt(PositionMode, d.position_mode),
        realized_pnl=d.realized_pnl,
        unrealized_pnl=d.unrealized_pnl,
        fee=d.fee,
        funding=d.funding,
    )


def balance_update(d: BalanceData, ts_ms: int) -> BalanceUpdate:
    """A :class:`BalanceUpdate` from one ``balance`` push item."""
    return BalanceUpdate(
        ts_event_ns=ts_ms * 1_000_000,
        coin=d.coin,
        available=d.available or _ZERO,
        frozen=d.frozen or _ZERO,
        margin=d.margin or _ZERO,
        bonus=d.exp_money or _ZERO,
    )
