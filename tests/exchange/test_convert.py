"""Wire-to-domain conversions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.exchange.convert import (
    balance_update,
    contract_from_pair,
    decimal_str,
    iso_to_ns,
    order_update,
    order_update_from_rest,
    position_side_of,
    position_update,
)
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
from bitunix.wire import BalancePush, OrderPush, PositionPush, decode
from bitunix.wire.rest import Order, TradingPair

ORDER = (b'{"ch":"order","ts":1745687173160,"data":{"event":"UPDATE","orderId":"11111",'
         b'"clientId":"ovir-000123","symbol":"BTCUSDT","positionType":"CROSS",'
         b'"positionMode":"HEDGE","side":"Buy","effect":"LONG","type":"Limit","qty":"0.003",'
         b'"reductionOnly":false,"price":"60000","ctime":"2025-04-26T17:06:13.155255000Z",'
         b'"mtime":"2025-04-26T17:06:14.000000123Z","leverage":"20","orderStatus":"PART_FILLED",'
         b'"fee":"0.012","averagePrice":"60000","dealAmount":"0.001"}}')


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("1E-7"), "0.0000001"), (Decimal("1E+5"), "100000"), (Decimal("-0"), "0"),
     (Decimal("0.00"), "0.00"), (12, "12"), ("60000.10", "60000.10"), (Decimal("-1.5"), "-1.5")],
)
def test_decimal_str_never_uses_exponents(value: Decimal | int | str, text: str) -> None:
    assert decimal_str(value) == text


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), 1.5, True])
def test_decimal_str_rejects_non_decimals(bad: object) -> None:
    with pytest.raises(ValueError, match="not a finite decimal"):
        decimal_str(bad)  # type: ignore[arg-type]


def test_contract_from_pair_defaults_and_unknown_status() -> None:
    pair = TradingPair(symbol="NEWUSDT", base_precision=0, quote_precision=5,
                       min_trade_volume=Decimal("53"), symbol_status="LISTING_SOON",
                       quote="USDT", base="NEW")
    spec = contract_from_pair(pair)
    assert spec.status is SymbolStatus.STOP
    assert not spec.is_tradable
    assert (spec.min_leverage, spec.max_leverage) == (1, 125)
    assert spec.tick_size == Decimal("0.00001")


@pytest.mark.parametrize(
    ("side", "reduce_only", "expected"),
    [("LONG", None, PositionSide.LONG), ("BUY", None, PositionSide.LONG),
     ("SELL", None, PositionSide.SHORT), ("BUY", False, PositionSide.LONG),
     ("Sell", True, PositionSide.LONG), ("SELL", False, PositionSide.SHORT),
     ("buy", True, PositionSide.SHORT)],
)
def test_position_side_mapping(side: str, reduce_only: bool | None,
                               expected: PositionSide) -> None:
    assert position_side_of(side, reduce_only) is expected


@pytest.mark.parametrize(
    ("text", "ns"),
    [("2025-04-26T17:06:13.155255000Z", 1745687173_155255000),
     ("2025-06-01T18:44:52Z", 1748803492_000000000),
     ("2025-06-01T18:44:52.5Z", 1748803492_500000000),
     ("2025-06-01T18:44:52.123456789123Z", 1748803492_123456789),
     ("2025-06-01T18:44:52+00:00", 1748803492_000000000),
     (None, 7), ("", 7), ("yesterday", 7), ("2025-06-01T18:44:52.x1Z", 7)],
)
def test_iso_to_ns(text: str | None, ns: int) -> None:
    assert iso_to_ns(text, 7) == ns


def test_order_push_to_update_normalises_the_live_quirks() -> None:
    msg = decode(ORDER)
    assert isinstance(msg, OrderPush)
    u = order_update(msg.items[0], msg.ts)
    assert (u.side, u.order_type, u.status) == (Side.BUY, OrderType.LIMIT,
                                                OrderStatus.PART_FILLED)
    assert u.time_in_force is None  # "effect":"LONG" is not a time in force
    assert (u.margin_mode, u.position_mode, u.leverage) == (MarginMode.CROSS, PositionMode.HEDGE,
                                                           20)
    assert u.ts_event_ns == 1745687174_000000123
    assert (u.qty, u.filled_qty, u.remaining_qty) == (Decimal("0.003"), Decimal("0.001"),
                                                      Decimal("0.002"))
    assert u.avg_price == Decimal(60000)
    assert u.fee == Decimal("0.012")
    market = decode(ORDER.replace(b'"type":"Limit"', b'"type":"Market"')
                    .replace(b'"orderStatus":"PART_FILLED"', b'"orderStatus":"NEW_"')
                    .replace(b'"averagePrice":"60000"', b'"averagePrice":"0"')
                    .replace(b'"mtime":"2025-04-26T17:06:14.000000123Z",', b''))
    m = order_update(market.items[0], market.ts)
    assert (m.order_type, m.price, m.status, m.avg_price) == (OrderType.MARKET, None,
                                                              OrderStatus.NEW, None)
    assert m.ts_event_ns == 1745687173_155255000


def test_order_update_rejects_an_unknown_status() -> None:
    msg = decode(ORDER.replace(b'"orderStatus":"PART_FILLED"', b'"orderStatus":"WEIRD"'))
    with pytest.raises(ValueError, match="unknown orderStatus 'WEIRD'; expected one of INIT"):
        order_update(msg.items[0], msg.ts)


def test_rest_order_snapshot() -> None:
    o = Order(order_id="5", symbol="BTCUSDT", qty=Decimal("1"), side="SELL", status="NEW_",
              trade_qty=Decimal("0.25"), price="60000.5", type="LIMIT", effect="POST_ONLY",
              client_id="", reduce_only=True, mtime=1700000000000)
    u = order_update_from_rest(o)
    assert (u.event, u.status, u.order_type, u.time_in_force) == (
        "SNAPSHOT", OrderStatus.NEW, OrderType.LIMIT, TimeInForce.POST_ONLY)
    assert (u.price, u.filled_qty, u.client_id, u.reduce_only) == (Decimal("60000.5"),
                                                                   Decimal("0.25"), None, True)
    assert u.ts_event_ns == 1700000000000 * 1_000_000
    mkt = order_update_from_rest(Order(order_id="6", symbol="X", qty=Decimal(1), side="BUY",
                                       status="FILLED", price="market"))
    assert (mkt.order_type, mkt.price) == (OrderType.MARKET, None)
    with pytest.raises(ValueError, match="status is missing"):
        order_update_from_rest(Order(order_id="7", symbol="X", qty=Decimal(1), side="BUY"))


def test_position_and_balance_updates() -> None:
    pos = decode(b'{"ch":"position","ts":1745687173155,"data":{"event":"OPEN",'
                 b'"positionId":"12345","symbol":"BTCUSDT","marginMode":"ISOLATION",'
                 b'"positionMode":"HEDGE","side":"LONG","leverage":"20","margin":"500.25",'
                 b'"ctime":"2025-04-26T17:06:13.155255000Z","qty":"0.5","entryValue":"20000.5",'
                 b'"realizedPNL":"0","unrealizedPNL":"0","funding":"0","fee":"-12.0003"}}')
    assert isinstance(pos, PositionPush)
    p = position_update(pos.items[0], pos.ts)
    assert (p.side, p.margin_mode, p.avg_price) == (PositionSide.LONG, MarginMode.ISOLATION,
                                                    Decimal("40001"))
    assert p.fee == Decimal("-12.0003")
    assert p.ts_event_ns == 1745687173_155255000
    bal = decode(b'{"ch":"balance","ts":1732178884994,"data":{"coin":"USDT","available":"1000.5",'
                 b'"frozen":"100.25","margin":"200.5","expMoney":"1"}}')
    assert isinstance(bal, BalancePush)
    b = balance_update(bal.items[0], bal.ts)
    assert (b.available, b.frozen, b.margin, b.bonus) == (Decimal("1000.5"), Decimal("100.25"),
                                                          Decimal("200.5"), Decimal(1))
    assert b.ts_event_ns == 1732178884994 * 1_000_000

