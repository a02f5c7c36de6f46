"""Request bodies: validated, plain decimal strings, effect only for LIMIT orders."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.exchange.requests import InvalidRequestError, OrderRequest, TpslRequest, encode_body
from bitunix.model.enums import OrderType, Side, StopType, TimeInForce, TradeSide


def test_order_request_validation() -> None:
    with pytest.raises(InvalidRequestError, match="needs a price"):
        OrderRequest(symbol="X", side=Side.BUY, qty=Decimal(1)).body()
    with pytest.raises(InvalidRequestError, match="qty must be > 0"):
        OrderRequest(symbol="X", side=Side.BUY, qty=Decimal(0), price=Decimal(1)).body()
    with pytest.raises(InvalidRequestError, match="price must be > 0"):
        OrderRequest(symbol="X", side=Side.BUY, qty=Decimal(1), price=Decimal(-1)).body()
    with pytest.raises(InvalidRequestError, match="needs a positionId"):
        OrderRequest(symbol="X", side=Side.BUY, qty=Decimal(1), order_type=OrderType.MARKET,
                     trade_side=TradeSide.CLOSE).body()
    with pytest.raises(InvalidRequestError, match="tpOrderPrice"):
        OrderRequest(symbol="X", side=Side.BUY, qty=Decimal(1), price=Decimal(1),
                     tp_price=Decimal(2), tp_order_type=OrderType.LIMIT).body()
    with pytest.raises(InvalidRequestError, match="tpPrice or slPrice"):
        TpslRequest(symbol="X", position_id="1", tp_qty=Decimal(1)).body()
    with pytest.raises(InvalidRequestError, match="tpQty or slQty"):
        TpslRequest(symbol="X", position_id="1", tp_price=Decimal(1)).body()
    close = OrderRequest(symbol="X", side=Side.BUY, qty=Decimal("1E-7"),
                         order_type=OrderType.MARKET, trade_side=TradeSide.CLOSE,
                         position_id="42", reduce_only=True)
    assert close.body() == {"symbol": "X", "side": "BUY", "tradeSide": "CLOSE",
                            "positionId": "42", "orderType": "MARKET", "qty": "0.0000001",
                            "clientId": close.client_id, "reduceOnly": True}


def test_limit_body_with_attached_tpsl_and_compact_encoding() -> None:
    order = OrderRequest(symbol="BTCUSDT", side=Side.SELL, qty=Decimal("0.010"),
                         price=Decimal("60000.5"), effect=TimeInForce.POST_ONLY,
                         client_id="c-1", tp_price=Decimal("55000"),
                         tp_stop_type=StopType.MARK_PRICE, tp_order_type=OrderType.LIMIT,
                         tp_order_price=Decimal("54990"))
    body = order.body()
    assert encode_body(body) == (
        '{"symbol":"BTCUSDT","side":"SELL","orderType":"LIMIT","qty":"0.010",'
        '"price":"60000.5","effect":"POST_ONLY","clientId":"c-1","reduceOnly":false,'
        '"tpPrice":"55000","tpStopType":"MARK_PRICE","tpOrderType":"LIMIT",'
        '"tpOrderPrice":"54990"}')
    assert "symbol" not in order.body(with_symbol=False)
    assert encode_body({"note": "café"}) == '{"note":"café"}'
