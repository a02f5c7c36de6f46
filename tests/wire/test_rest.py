"""REST bodies: real captures, object-vs-list answers, lenient numbers, error envelopes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bitunix.wire import ResponseDecoder, WireError
from bitunix.wire import rest as r

DATA = Path(__file__).parent / "data"


def _body(data: Any, code: int = 0, msg: str = "Success") -> bytes:
    return json.dumps({"code": code, "msg": msg, "data": data}).encode()


def test_real_pending_positions_capture() -> None:
    env = ResponseDecoder(list[r.PendingPosition]).decode(
        (DATA / "rest_get_pending_positions_sooth_2025-07-25.json").read_bytes())
    assert env.code == 0
    assert env.msg == "result.success"
    assert env.data is not None
    btc, ena = env.data
    assert (btc.position_id, btc.side, btc.leverage) == ("6230511510852749846", "SELL", 100)
    assert btc.qty == Decimal("0.001")
    assert btc.avg_open_price == Decimal("115828.7")
    assert btc.ctime == 1753461683000  # a string on the wire
    assert btc.margin_coin is None
    assert ena.funding == Decimal("-2.811519648105")
    assert ena.realized_pnl == ena.fee + ena.funding  # type: ignore[operator]


def test_real_error_bodies_keep_their_code() -> None:
    cases = json.loads((DATA / "rest_error_bodies_arbitrage-observatory_2026-09-23.json")
                       .read_text())
    dec = ResponseDecoder(r.RestDepth)
    for case in cases:
        env = dec.decode(json.dumps(case["body"]).encode())
        assert env.code == case["body"]["code"]
        assert env.data is None
        assert env.msg == case["body"]["msg"]


def test_trading_pair_spec_example() -> None:
    row = {"symbol": "BTCUSDT", "base": "BTC", "quote": "USDT", "minTradeVolume": "0.0001",
           "minBuyPriceOffset": "-0.95", "maxSellPriceOffset": "100",
           "maxLimitOrderVolume": "100000", "maxMarketOrderVolume": "50000", "basePrecision": 4,
           "quotePrecision": 1, "minLeverage": 1, "maxLeverage": 125, "defaultLeverage": 20,
           "defaultMarginMode": 1, "priceProtectScope": "0.02", "symbolStatus": "OPEN",
           "isApiSupported": True, "maxFundingRate": "0.3", "minFundingRate": "-0.3"}
    env = ResponseDecoder(list[r.TradingPair]).decode(_body([row, {**row, "symbol": "ETHUSDT",
                                                                   "defaultMarginMode": "CROSS"}]))
    assert env.data is not None
    tp = env.data[0]
    assert (tp.base_precision, tp.quote_precision, tp.max_leverage) == (4, 1, 125)
    assert tp.min_trade_volume == Decimal("0.0001")
    assert tp.price_protect_scope == Decimal("0.02")
    assert env.data[1].default_margin_mode == "CROSS"


def test_depth_strings_or_numbers() -> None:
    dec = ResponseDecoder(r.RestDepth)
    a = dec.decode(_body({"asks": [["86699.7", "0.7095"]], "bids": [["86699.6", "2.274"]]}))
    b = dec.decode(_body({"asks": [[86699.7, 0.7095]], "bids": [[86699.6, 2.274]]}))
    assert a == b
    assert a.data is not None
    assert a.data.asks[0].px == 86699.7


def test_kline_rows_and_inverted_volumes() -> None:
    row = {"open": "76445", "high": "76480.7", "low": "76389", "close": "76389",
           "quoteVol": "31.5403", "baseVol": "2410748.64904", "time": "1789482120000"}
    env = ResponseDecoder(list[r.Kline]).decode(_body([row]))
    assert env.data is not None
    k = env.data[0]
    assert k.time == 1789482120000
    assert k.volume_base == 31.5403
    assert k.volume_quote == 2410748.64904


def test_funding_rate_array_or_object() -> None:
    row = {"symbol": "BTCUSDT", "markPrice": "60000", "lastPrice": "60001", "indexPrice": None,
           "fundingRate": "0.0005", "fundingInterval": 8, "nextFundingTime": "1770710400000",
           "maxFundingRate": "0.3", "minFundingRate": "-0.3"}
    dec = ResponseDecoder(r.FundingRate | list[r.FundingRate])
    as_obj, as_list = dec.decode(_body(row)), dec.decode(_body([row]))
    assert isinstance(as_list.data, list)
    assert as_obj.data == as_list.data[0]
    assert isinstance(as_obj.data, r.FundingRate)
    assert as_obj.data.funding_rate == Decimal("0.0005")
    assert as_obj.data.next_funding_time == 1770710400000


def test_account_object_and_array() -> None:
    acc = {"marginCoin": "USDT", "available": "1000", "frozen": "0", "margin": "10",
           "transfer": "1000", "positionMode": "HEDGE", "crossUnrealizedPNL": "2",
           "isolationUnrealizedPNL": "0", "bonus": "0"}
    dec = ResponseDecoder(r.Account | list[r.Account])
    obj = dec.decode(_body(acc)).data
    assert isinstance(obj, r.Account)
    assert obj.cross_unrealized_pnl == Decimal(2)
    assert dec.decode(_body([acc])).data == [obj]


def test_orders_page_with_quirks() -> None:
    order = {"orderId": "11", "symbol": "BTCUSDT", "qty": "0.01", "tradeQty": "0",
             "positionMode": "HEDGE", "marginMode": "CROSS", "leverage": 20, "price": "market",
             "side": "SELL", "type": "MARKET", "effect": None, "clientId": None,
             "reduceOnly": True, "status": "NEW_", "fee": "0", "realizedPNL": "0",
             "tpPrice": "", "ctime": 1, "mtime": "2", "source": "api"}
    env = ResponseDecoder(r.OrderList).decode(_body({"orderList": [order], "total": "1"}))
    assert env.data is not None
    assert env.data.total == 1
    o = env.data.order_list[0]
    assert o.limit_price is None
    assert o.kind == "MARKET"
    assert o.tp_price is None
    assert o.mtime == 2
    limit = ResponseDecoder(r.Order).decode(_body({**order, "price": "60000.5",
                                                  "orderType": "LIMIT"})).data
    assert limit is not None
    assert limit.limit_price == Decimal("60000.5")
    assert limit.kind == "LIMIT"


def test_batch_and_cancel_results() -> None:
    data = {"successList": [{"id": "1", "clientId": "a"}, {"orderId": "2", "clientId": "b"}],
            "failureList": [{"clientId": "c", "errorMsg": "Order status error",
                             "errorCode": 10013},
                            {"orderId": "4", "errorMsg": "x", "errorCode": "30042"}]}
    env = ResponseDecoder(r.BatchResult).decode(_body(data))
    assert env.data is not None
    assert [a.venue_order_id for a in env.data.success_list] == ["1", "2"]
    assert [f.error_code for f in env.data.failure_list] == [10013, "30042"]


def test_fills_tpsl_tiers_history() -> None:
    fill = {"tradeId": "12345", "orderId": "123", "symbol": "BTCUSDT", "qty": "0.0005",
            "positionMode": "HEDGE", "marginMode": "ISOLATION", "leverage": 20,
            "price": "91077.2", "side": "BUY", "orderType": "MARKET", "effect": None,
            "clientId": None, "reduceOnly": True, "fee": "0.019126212",
            "realizedPNL": "-0.15985", "ctime": "1745335541000", "roleType": "MAKER"}
    tl = ResponseDecoder(r.TradeList).decode(_body({"tradeList": [fill], "total": 1})).data
    assert tl is not None
    assert tl.trade_list[0].price == Decimal("91077.2")
    assert tl.trade_list[0].role_type == "MAKER"
    tpsl = [{"id": "123", "positionId": "12345678", "symbol": "BTCUSDT", "base": "BTC",
             "quote": "USDT", "tpPrice": "70000", "tpStopType": "LAST_PRICE",
             "slPrice": "50000", "slStopType": "LAST_PRICE", "tpOrderType": "MARKET",
             "tpOrderPrice": "", "slOrderType": "MARKET", "slOrderPrice": "", "tpQty": "0.01",
             "slQty": "0.01"}]
    pend = ResponseDecoder(list[r.TpslOrder]).decode(_body(tpsl)).data
    assert pend is not None
    assert pend[0].tp_order_price is None
    assert pend[0].sl_qty == Decimal("0.01")
    tiers = [{"symbol": "BTCUSDT", "level": 1, "startValue": "0", "endValue": "50000",
              "leverage": 125, "maintenanceMarginRate": "0.004"}]
    t = ResponseDecoder(list[r.PositionTier]).decode(_body(tiers)).data
    assert t is not None
    assert t[0].maintenance_margin_rate == Decimal("0.004")
    hist = {"positionList": [{"positionId": "9", "symbol": "BTCUSDT", "side": "LONG",
                              "maxQty": "1", "entryPrice": "1", "closePrice": "2",
                              "leverage": "10", "ctime": "1", "mtime": "2"}], "total": "1"}
    h = ResponseDecoder(r.HistoryPositionList).decode(_body(hist)).data
    assert h is not None
    assert h.position_list[0].leverage == 10
    fr = ResponseDecoder(list[r.FundingRateHistoryRow]).decode(_body(
        [{"fundingRate": "-0.00001191", "fundingTime": "1772449200000", "markPrice": "66286.6"}]))
    assert fr.data is not None
    assert fr.data[0].funding_rate == Decimal("-0.00001191")


def test_null_and_empty_data() -> None:
    env = ResponseDecoder(r.PositionIdAck).decode(_body(""))
    assert env.code == 0
    assert env.data is None
    assert ResponseDecoder(list[r.PendingPosition]).decode(_body(None)).data is None


@pytest.mark.parametrize(
    "raw",
    [b"<html>502</html>", b'{"msg":"no code"}', b'{"code":0,"data":{"orderList":"x"}}'],
)
def test_malformed_bodies_raise(raw: bytes) -> None:
    with pytest.raises(WireError) as info:
        ResponseDecoder(r.OrderList, name="get_pending_orders").decode(raw)
    assert info.value.kind == "get_pending_orders"


def test_error_code_with_unexpected_data_shape_still_reports_the_code() -> None:
    env = ResponseDecoder(r.OrderList).decode(b'{"code":10006,"message":"slow down","data":[1]}')
    assert (env.code, env.msg, env.data) == (10006, "slow down", None)


def test_slow_path_keeps_json_number_money_exact() -> None:
    # The spec's TP/SL pending example carries "" fields, which take the slow path; a
    # quantity sent as a JSON number must not be rounded through float there.
    raw = (b'{"code":0,"data":[{"id":"123","positionId":"1","symbol":"BTCUSDT",'
           b'"tpPrice":"70000","tpOrderPrice":"","slOrderPrice":"",'
           b'"tpQty":1234567.1234567891}]}')
    env = ResponseDecoder(list[r.TpslOrder]).decode(raw)
    assert env.data is not None
    assert env.data[0].tp_qty == Decimal("1234567.1234567891")
    assert env.data[0].tp_order_price is None
    acct = ResponseDecoder(r.Account).decode(
        b'{"code":0,"data":{"marginCoin":"USDT","available":9007199254740993.5,"bonus":""}}')
    assert acct.data is not None
    assert acct.data.available == Decimal("9007199254740993.5")


def test_deeply_nested_body_raises_wire_error() -> None:
    nested = b'{"a":' * 3000 + b"1" + b"}" * 3000
    for raw in (b'{"code":0,"data":' + nested + b"}", b'{"code":0,"data":[' + nested + b"]}"):
        with pytest.raises(WireError):
            ResponseDecoder(r.OrderList).decode(raw)


def test_funding_rate_is_offered_as_a_fraction_too() -> None:
    # The current rate comes in percent (spec 4.1); the history and the formulas use
    # fractions. The fraction is exact.
    fr = msgspec.convert({"symbol": "BTCUSDT", "fundingRate": "0.0005"}, r.FundingRate)
    assert fr.funding_rate == Decimal("0.0005")
    assert fr.funding_rate_fraction == Decimal("0.000005")
    assert str(fr.funding_rate_fraction) == "0.000005"
    row = msgspec.convert({"fundingRate": "-0.00001191", "fundingTime": "1"},
                          r.FundingRateHistoryRow, strict=False)
    assert row.funding_rate_fraction == Decimal("-0.00001191")
