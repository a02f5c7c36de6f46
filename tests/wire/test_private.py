"""Private pushes decode money into exact Decimals; object or list ``data``."""

from __future__ import annotations

from decimal import Decimal

from bitunix.wire import BalancePush, OrderPush, PositionPush, TpslPush, decode

BALANCE = (b'{"ch":"balance","ts":1732178884994,"data":{"coin":"USDT","available":"1000.5",'
           b'"frozen":"100.25","isolationFrozen":"20.75","crossFrozen":"79.5","margin":"200.5",'
           b'"isolationMargin":"50.75","crossMargin":"149.75","expMoney":"0"}}')
POSITION = (b'{"ch":"position","ts":1745687173155,"data":{"event":"OPEN","positionId":"12345",'
            b'"symbol":"BTCUSDT","marginMode":"ISOLATION","positionMode":"HEDGE","side":"LONG",'
            b'"leverage":"20","margin":"500.25","ctime":"2025-04-26T17:06:13.155255000Z",'
            b'"qty":"0.5","entryValue":"20000.5","realizedPNL":"0","unrealizedPNL":"0",'
            b'"funding":"0","fee":"-12.0003"}}')
ORDER = (b'{"ch":"order","ts":1745687173160,"data":{"event":"CREATE","orderId":"11111",'
         b'"clientId":"ovir-000123","symbol":"BTCUSDT","positionType":"CROSS","positionMode":"HEDGE",'
         b'"side":"BUY","effect":"GTC","type":"LIMIT","qty":"0.001","reductionOnly":false,'
         b'"price":"60000","ctime":"2025-04-26T17:06:13.155255000Z",'
         b'"mtime":"2025-04-26T17:06:13.155255000Z","leverage":"20","orderStatus":"NEW","fee":"0",'
         b'"averagePrice":"0","dealAmount":"0"}}')
TPSL = (b'{"ch":"tpsl","ts":1745687173170,"data":{"event":"CREATE","positionId":"12345",'
        b'"orderId":"67890","symbol":"BTCUSDT","leverage":"20","side":"SELL","positionMode":"HEDGE",'
        b'"status":"NEW","ctime":"2025-04-26T17:06:13.155255000Z","type":"POSITION_TPSL",'
        b'"tpStopType":"MARK_PRICE","tpPrice":"65000","tpOrderType":"MARKET",'
        b'"slStopType":"MARK_PRICE","slPrice":"58000","slOrderType":"MARKET"}}')


def test_balance() -> None:
    msg = decode(BALANCE)
    assert isinstance(msg, BalancePush)
    (b,) = msg.items
    assert b.coin == "USDT"
    assert b.available == Decimal("1000.5")
    assert b.frozen == b.isolation_frozen + b.cross_frozen  # type: ignore[operator]
    assert b.exp_money == Decimal(0)


def test_position() -> None:
    msg = decode(POSITION)
    assert isinstance(msg, PositionPush)
    (p,) = msg.items
    assert (p.event, p.position_id, p.side, p.leverage) == ("OPEN", "12345", "LONG", 20)
    assert p.qty == Decimal("0.5")
    assert p.entry_value == Decimal("20000.5")
    assert p.fee == Decimal("-12.0003")
    assert p.realized_pnl == Decimal(0)
    assert p.ctime == "2025-04-26T17:06:13.155255000Z"


def test_order() -> None:
    msg = decode(ORDER)
    assert isinstance(msg, OrderPush)
    (o,) = msg.items
    assert (o.order_id, o.client_id, o.position_type, o.type) == ("11111", "ovir-000123",
                                                                  "CROSS", "LIMIT")
    assert o.price == Decimal("60000")
    assert o.qty == Decimal("0.001")
    assert o.reduction_only is False
    assert o.leverage == 20
    assert o.deal_amount == Decimal(0)
    assert o.sl_price is None


def test_order_live_quirks_pass_through_the_wire_unchanged() -> None:
    raw = (ORDER.replace(b'"side":"BUY"', b'"side":"Buy"').replace(b'"type":"LIMIT"',
                                                                  b'"type":"Limit"')
           .replace(b'"orderStatus":"NEW"', b'"orderStatus":"NEW_"')
           .replace(b'"effect":"GTC"', b'"effect":"LONG"'))
    (o,) = decode(raw).items
    assert (o.side, o.type, o.order_status, o.effect) == ("Buy", "Limit", "NEW_", "LONG")


def test_tpsl() -> None:
    msg = decode(TPSL)
    assert isinstance(msg, TpslPush)
    (t,) = msg.items
    assert (t.status, t.type, t.tp_stop_type) == ("NEW", "POSITION_TPSL", "MARK_PRICE")
    assert t.tp_price == Decimal("65000")
    assert t.sl_price == Decimal("58000")
    assert t.tp_qty is None


def test_data_as_a_list_is_accepted() -> None:
    raw = ORDER.replace(b'"data":{', b'"data":[{')[:-1] + b"]}"
    msg = decode(raw)
    assert isinstance(msg.data, list)
    assert msg.items == decode(ORDER).items
    raw2 = BALANCE.replace(b'"data":{', b'"data":[{')[:-1] + b"]}"
    assert decode(raw2).items == decode(BALANCE).items


def test_numbers_decode_exactly() -> None:
    raw = ORDER.replace(b'"qty":"0.001"', b'"qty":0.001').replace(b'"price":"60000"',
                                                                b'"price":60000.10')
    (o,) = decode(raw).items
    assert o.qty == Decimal("0.001")
    assert o.price == Decimal("60000.10")


def test_empty_strings_become_absent() -> None:
    raw = TPSL.replace(b'"slPrice":"58000"', b'"slPrice":""').replace(
        b'"tpStopType":"MARK_PRICE"', b'"tpStopType":"","tpOrderPrice":""')
    (t,) = decode(raw).items
    assert t.sl_price is None
    assert t.tp_order_price is None
    assert t.tp_stop_type is None
    assert t.tp_price == Decimal("65000")
