"""Typed request bodies of the trading endpoints, serialised in one place (spec 4.4, 4.5).

Quantities and prices go out as plain decimal strings, booleans as JSON booleans,
``leverage`` as a JSON int. The body is encoded once, compactly; that exact string is
both signed and sent.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import msgspec

from bitunix.core.errors import BitunixError
from bitunix.exchange.convert import decimal_str
from bitunix.model.enums import OrderType, Side, StopType, TimeInForce, TradeSide

__all__ = ["InvalidRequestError", "OrderRequest", "TpslRequest", "encode_body", "new_client_id"]

_ENCODER = msgspec.json.Encoder()


class InvalidRequestError(BitunixError, ValueError):
    """A request the client refuses to send because the venue would reject it."""


def encode_body(obj: dict[str, Any]) -> str:
    """Compact JSON (no spaces), keys in insertion order, non-ASCII kept as UTF-8."""
    return _ENCODER.encode(obj).decode("utf-8")


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Decimal):
        out[key] = decimal_str(value)
    elif isinstance(value, Side | TradeSide | OrderType | TimeInForce | StopType):
        out[key] = value.value
    else:
        out[key] = value


class _TpSl(msgspec.Struct, frozen=True, kw_only=True):
    tp_price: Decimal | None = None
    tp_stop_type: StopType | None = None
    tp_order_type: OrderType | None = None
    tp_order_price: Decimal | None = None
    sl_price: Decimal | None = None
    sl_stop_type: StopType | None = None
    sl_order_type: OrderType | None = None
    sl_order_price: Decimal | None = None

    def _tpsl_fields(self, out: dict[str, Any]) -> None:
        for prefix in ("tp", "sl"):
            order_type = getattr(self, f"{prefix}_order_type")
            if order_type is OrderType.LIMIT and getattr(self, f"{prefix}_order_price") is None:
                raise InvalidRequestError(f"{prefix}OrderType LIMIT needs {prefix}OrderPrice")
            _put(out, f"{prefix}Price", getattr(self, f"{prefix}_price"))
            _put(out, f"{prefix}StopType", getattr(self, f"{prefix}_stop_type"))
            _put(out, f"{prefix}OrderType", order_type)
            _put(out, f"{prefix}OrderPrice", getattr(self, f"{prefix}_order_price"))


def new_client_id(prefix: str = "bx") -> str:
    """A fresh clientId: ``prefix-`` + 24 random hex characters (``[A-Za-z0-9-]``, at
    most 36 characters with a prefix of up to 11, spec 4.4)."""
    return f"{prefix}-{secrets.token_hex(12)}"


class OrderRequest(_TpSl, frozen=True, kw_only=True):
    """One order for ``place_order`` / ``batch_order``.

    The request carries its ``client_id`` from the moment it is built (a fresh one, see
    :func:`new_client_id`, unless you give one): it is the order's identity at the venue.
    Sending the same request again (a retry after an error, a restart that re-sends what
    it stored) never places a second order; build a new request for a new order.
    ``client_id=None`` is refused by ``place_order``; ``BitunixREST.prepare_order`` gives
    such a request an id with the configured prefix.

    In hedge mode ``side`` names the position direction when closing (close long =
    ``BUY`` + ``CLOSE`` + ``position_id``, spec 6.1).
    """

    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType = OrderType.LIMIT
    price: Decimal | None = None
    trade_side: TradeSide | None = None
    position_id: str | None = None
    effect: TimeInForce | None = None
    client_id: str | None = msgspec.field(default_factory=new_client_id)
    reduce_only: bool = False

    def body(self, *, with_symbol: bool = True) -> dict[str, Any]:
        """The JSON object to send, validated; raises :class:`InvalidRequestError`."""
        if self.qty <= 0:
            raise InvalidRequestError(f"{self.symbol}: qty must be > 0, was {self.qty}")
        if self.order_type is OrderType.LIMIT and self.price is None:
            raise InvalidRequestError(f"{self.symbol}: a LIMIT order needs a price")
        if self.price is not None and self.price <= 0:
            raise InvalidRequestError(f"{self.symbol}: price must be > 0, was {self.price}")
        if self.trade_side is TradeSide.CLOSE and not self.position_id:
            raise InvalidRequestError(f"{self.symbol}: tradeSide CLOSE needs a positionId")
        out: dict[str, Any] = {}
        if with_symbol:
            out["symbol"] = self.symbol
        _put(out, "side", self.side)
        _put(out, "tradeSide", self.trade_side)
        _put(out, "positionId", self.position_id)
        _put(out, "orderType", self.order_type)
        _put(out, "qty", self.qty)
        if self.order_type is OrderType.LIMIT:
            _put(out, "price", self.price)
            # effect is not sent for MARKET orders (spec 4.4).
            _put(out, "effect", self.effect or TimeInForce.GTC)
        _put(out, "clientId", self.client_id)
        out["reduceOnly"] = self.reduce_only
        self._tpsl_fields(out)
        return out


class TpslRequest(_TpSl, frozen=True, kw_only=True):
    """A TP/SL order on a position (``tpsl/place_order``); at least one price is required."""

    symbol: str
    position_id: str
    tp_qty: Decimal | None = None
    sl_qty: Decimal | None = None

    def body(self) -> dict[str, Any]:
        """The JSON object to send, validated."""
        if self.tp_price is None and self.sl_price is None:
            raise InvalidRequestError(f"{self.symbol}: a TP/SL order needs tpPrice or slPrice")
        if self.tp_qty is None and self.sl_qty is None:
            raise InvalidRequestError(f"{self.symbol}: a TP/SL order needs tpQty or slQty")
        out: dict[str, Any] = {"symbol": self.symbol, "positionId": self.position_id}
        self._tpsl_fields(out)
        _put(out, "tpQty", self.tp_qty)
        _put(out, "slQty", self.sl_qty)
        return out
