"""Bases shared by the wire Structs: camelCase bodies and the attached TP/SL fields."""

from __future__ import annotations

from decimal import Decimal

import msgspec

__all__ = ["CamelStruct", "TpSlFields"]


class CamelStruct(msgspec.Struct, frozen=True, gc=False, rename="camel", kw_only=True):
    """A JSON object whose keys are the camelCase of the field names."""


class TpSlFields(CamelStruct, frozen=True, kw_only=True):
    """The take-profit / stop-loss fields attached to orders and TP/SL orders."""

    tp_price: Decimal | None = None
    tp_stop_type: str | None = None
    tp_order_type: str | None = None
    tp_order_price: Decimal | None = None
    sl_price: Decimal | None = None
    sl_stop_type: str | None = None
    sl_order_type: str | None = None
    sl_order_price: Decimal | None = None
