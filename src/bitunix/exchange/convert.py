"""Conversions from wire messages to the domain types of ``bitunix.model``, and back."""

from __future__ import annotations

from decimal import Decimal

from bitunix.model.contract import ContractSpec
from bitunix.model.enums import PositionSide, Side, SymbolStatus
from bitunix.wire.rest import TradingPair

__all__ = ["contract_from_pair", "decimal_str", "position_side_of"]


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
