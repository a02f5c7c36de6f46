"""The pure half of the live adapter: answers read into verdicts, bodies, conversions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitunix.adapters.bitunix_convert import (
    Answer,
    CancelBody,
    CancelEntry,
    PlaceLimitBody,
    PlaceMarketBody,
    fill_from_trade,
    position_from_push,
    position_from_rest,
    read_answer,
    report_from_push,
    report_from_rest,
    steps_str,
    venue_order_from_rest,
)
from bitunix.exchange.fasthttp import (
    ConnectionLostError,
    HttpResponse,
    NotSentError,
    ResponseTimeoutError,
)
from bitunix.execution import SubmitError
from bitunix.model import ContractSpec, OrderStatus, OrderType, Side, TimeInForce, format_ticks
from bitunix.wire.decoding import ResponseDecoder
from bitunix.wire.private import OrderData, PositionData
from bitunix.wire.rest import Order as RestOrder
from bitunix.wire.rest import OrderAck, PendingPosition, TradeFill

D = Decimal
BTC = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                   qty_decimals=4, min_qty=D("0.0001"))
ACK = ResponseDecoder[OrderAck](OrderAck, "place_order")


def response(body: bytes | str, status: int = 200, **headers: str) -> HttpResponse:
    raw = body.encode() if isinstance(body, str) else body
    return HttpResponse(status, {k.replace("_", "-"): v for k, v in headers.items()}, raw,
                        1, 2)


@pytest.mark.parametrize(("result", "executed", "ok"), [
    (NotSentError("no connection"), False, False),
    (ConnectionLostError("closed", written=True), None, False),
    (ResponseTimeoutError("late", written=True), None, False),
    (response('{"code":0,"data":{}}', 503), None, False),
    (response("<html>bad gateway</html>", 502), None, False),
    (response("", 429, retry_after="1.5"), False, False),
    (response('{"code":10006,"msg":"Request too frequently","data":null}'), False, False),
    (response('{"code":10005,"msg":"Too many","data":null}'), False, False),
    (response('{"code":10001,"msg":"Network Error","data":null}'), None, False),
    (response("not json at all"), None, False),
    (response('{"code":0,"data":{"orderId":"1"}}', 404), None, False),
])
def test_answers_without_a_verdict(result: Any, executed: bool | None, ok: bool) -> None:
    verdict, good = read_answer(result, ACK, "place_order")
    assert isinstance(verdict, SubmitError)
    assert verdict.executed is executed
    assert verdict.reason.startswith("place_order: ")
    assert good is ok


def test_retry_after_is_the_hint_when_it_is_a_number() -> None:
    verdict, _ = read_answer(response("", 429, retry_after="1.5"), ACK, "x")
    assert isinstance(verdict, SubmitError)
    assert verdict.retry_after_s == 1.5
    for bad in ("soon", "nan", "-3", "inf"):
        verdict, _ = read_answer(response("", 429, retry_after=bad), ACK, "x")
        assert isinstance(verdict, SubmitError)
        assert verdict.retry_after_s == 0.0


def test_verdicts() -> None:
    verdict, ok = read_answer(response('{"code":0,"msg":"Success","data":{"orderId":"7",'
                                       '"clientId":"c"}}'), ACK, "place_order")
    assert verdict == Answer(0, "Success", OrderAck(order_id="7", client_id="c"))
    assert ok
    verdict, ok = read_answer(response('{"code":20003,"msg":"Insufficient balance",'
                                       '"data":null}'), ACK, "place_order")
    assert verdict == Answer(20003, "Insufficient balance", None)
    assert ok  # a refusal is an answer: the venue is well


def test_bodies_are_minimal_and_exact() -> None:
    enc = msgspec.json.encode
    market = PlaceMarketBody(symbol="BTCUSDT", side=Side.SELL, orderType=OrderType.MARKET,
                             qty=steps_str(15, 4), clientId="bx1-2", reduceOnly=True)
    assert enc(market) == (b'{"symbol":"BTCUSDT","side":"SELL","orderType":"MARKET",'
                           b'"qty":"0.0015","clientId":"bx1-2","reduceOnly":true}')
    limit = PlaceLimitBody(symbol="BTCUSDT", side=Side.BUY, orderType=OrderType.LIMIT,
                           qty=steps_str(10, 4), price=steps_str(600005, 1),
                           effect=TimeInForce.IOC, clientId="c", reduceOnly=False)
    assert enc(limit) == (b'{"symbol":"BTCUSDT","side":"BUY","orderType":"LIMIT",'
                          b'"qty":"0.0010","price":"60000.5","effect":"IOC","clientId":"c",'
                          b'"reduceOnly":false}')
    cancel = CancelBody(symbol="BTCUSDT", orderList=[CancelEntry(clientId="c")])
    assert enc(cancel) == b'{"symbol":"BTCUSDT","orderList":[{"clientId":"c"}]}'


@given(st.integers(min_value=1, max_value=10**20), st.integers(min_value=0, max_value=18))
def test_steps_str_is_format_ticks(steps: int, decimals: int) -> None:
    assert steps_str(steps, decimals) == format_ticks(steps, decimals)


def test_reports_from_pushes_and_rows() -> None:
    push = msgspec.json.decode(
        b'{"event":"UPDATE","orderId":"11","clientId":"c","symbol":"BTCUSDT","side":"Buy",'
        b'"type":"Limit","qty":"0.0100","price":"60000","orderStatus":"PART_FILLED",'
        b'"mtime":"2025-04-26T17:06:13.155255000Z","fee":"-0.036","averagePrice":"60000.5",'
        b'"dealAmount":"0.0010"}', type=OrderData)
    report = report_from_push(push, 1, BTC)
    assert (report.status, report.filled_steps, report.venue_id, report.avg_price,
            report.fee) == (OrderStatus.PART_FILLED, 10, "11", D("60000.5"), D("0.036"))
    assert report.ts_ns == 1_745_687_173_155_255_000
    row = msgspec.json.decode(
        b'{"orderId":"11","symbol":"BTCUSDT","qty":"0.01","tradeQty":"0.002","side":"BUY",'
        b'"status":"NEW_","price":"60000","orderType":"LIMIT","clientId":"c","fee":"0.07",'
        b'"reduceOnly":true,"mtime":1745687173000}', type=RestOrder)
    report = report_from_rest(row, BTC)
    assert (report.status, report.filled_steps, report.fee, report.ts_ns) == (
        OrderStatus.NEW, 20, D("0.07"), 1_745_687_173_000_000_000)
    listed = venue_order_from_rest(row, BTC)
    assert (listed.client_id, listed.side, listed.qty_steps, listed.price_ticks,
            listed.reduce_only) == ("c", Side.BUY, 100, 600000, True)
    market = msgspec.structs.replace(row, price="market", order_type="MARKET", client_id="")
    listed = venue_order_from_rest(market, BTC)
    assert (listed.client_id, listed.price_ticks) == (None, None)
    off_grid = msgspec.structs.replace(push, deal_amount=D("0.00001"))
    with pytest.raises(ValueError, match="decimals"):
        report_from_push(off_grid, 1, BTC)


def test_fills_and_positions() -> None:
    trade = msgspec.json.decode(
        b'{"tradeId":"t","orderId":"1","symbol":"BTCUSDT","qty":"0.0005","price":"91077.2",'
        b'"side":"BUY","fee":"0.019126212","clientId":null,"reduceOnly":true,'
        b'"ctime":"1745335541000","roleType":"MAKER"}', type=TradeFill, strict=False)
    fill = fill_from_trade(trade, BTC)
    assert (fill.client_id, fill.qty_steps, fill.price_ticks, fill.fee, fill.maker,
            fill.reduce_only, fill.ts_ns) == ("", 5, 910772, D("0.019126212"), True, True,
                                               1_745_335_541_000_000_000)
    pending = msgspec.json.decode(
        b'{"positionId":"6","symbol":"BTCUSDT","qty":"0.001","entryValue":"115.8287",'
        b'"side":"SELL","funding":"0","unrealizedPNL":"0.0174"}', type=PendingPosition,
        strict=False)
    position = position_from_rest(pending, BTC)
    assert (position.qty_steps, position.position_id, position.entry_price) == (
        -10, "6", D("115828.7"))
    push = msgspec.json.decode(
        b'{"event":"CLOSE","positionId":"6","symbol":"BTCUSDT","side":"LONG","qty":"0",'
        b'"funding":"-0.5","ctime":"2025-04-26T17:06:13.155255000Z"}', type=PositionData)
    position, funding, ts = position_from_push(push, 5, BTC)
    assert (position.qty_steps, position.entry_price, funding) == (0, None, D("-0.5"))
    assert ts == 1_745_687_173_155_255_000
