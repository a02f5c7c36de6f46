"""The simulator under hostile clients: every bad request gets the venue's envelope with a
documented code, never HTTP 500, never a traceback in the log, never a half-done effect."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from bitunix.sim.errors import MESSAGES
from bitunix.sim.server import SimServer

from .conftest import KEY, Client, stepped_server

P = "/api/v1/futures"
D = Decimal

#: Values a hostile client puts in a numeric field (as JSON values).
HOSTILE_NUMBERS: list[Any] = [
    "1e24", 10**24, 1e24, "1e28", "1e999999", "-1e999999", "1e-999999", "9" * 5000, 10**400,
    1e308, "-1", -1, "0", "-0", 0, "NaN", "sNaN", "Infinity", "-Infinity", "abc", "", " 1 ",
    "0x10", "1_0", "\u0661\u0662", "\u00b2", None, True, False, [], ["1"], {}, {"v": "1"},
    "0.00000000000000000000000000000001", "123456789012345678901234567890.123",
]


@dataclass
class Venue:
    """A stepped server with a position, a resting order and two TP/SLs to aim at."""

    server: SimServer
    client: Client
    position_id: str
    order_id: str
    tpsl_id: str


@pytest.fixture
async def venue(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Venue]:
    caplog.set_level(logging.DEBUG)
    async with stepped_server() as server, aiohttp.ClientSession() as session:
        server.advance(10)
        client = Client(session, server.rest_url)
        await client.ok("POST", f"{P}/trade/place_order", {
            "symbol": "BTCUSDT", "side": "BUY", "orderType": "MARKET", "qty": "0.5"})
        (pos,) = await client.ok("GET", f"{P}/position/get_pending_positions")
        order = await client.ok("POST", f"{P}/trade/place_order", {
            "symbol": "BTCUSDT", "side": "BUY", "orderType": "LIMIT", "qty": "0.1",
            "price": "59000"})
        tpsl = await client.ok("POST", f"{P}/tpsl/place_order", {
            "symbol": "BTCUSDT", "positionId": pos["positionId"], "tpPrice": "62000",
            "tpQty": "0.1"})
        await client.ok("POST", f"{P}/tpsl/position/place_order", {
            "symbol": "BTCUSDT", "positionId": pos["positionId"], "slPrice": "55000"})
        yield Venue(server, client, pos["positionId"], order["orderId"], tpsl["orderId"])
        # every timer and socket task is still alive and stops cleanly
    logged = [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert logged == []


def body_of(v: Venue, endpoint: str) -> dict[str, Any]:
    """A valid body of ``endpoint`` aimed at the fixture's objects."""
    pid = v.position_id
    return {
        "trade/place_order": {"symbol": "BTCUSDT", "side": "BUY", "orderType": "LIMIT",
                              "qty": "0.01", "price": "59500", "tpPrice": "61000",
                              "tpOrderType": "LIMIT", "tpOrderPrice": "61000",
                              "slPrice": "58000", "slOrderType": "LIMIT",
                              "slOrderPrice": "58000"},
        "trade/modify_order": {"orderId": v.order_id, "qty": "0.2", "price": "58900"},
        "tpsl/place_order": {"symbol": "BTCUSDT", "positionId": pid, "tpPrice": "63000",
                             "tpQty": "0.1", "tpOrderType": "LIMIT", "tpOrderPrice": "63000",
                             "slPrice": "57000", "slQty": "0.1", "slOrderType": "LIMIT",
                             "slOrderPrice": "57000"},
        "tpsl/modify_order": {"orderId": v.tpsl_id, "tpPrice": "64000", "tpQty": "0.1",
                              "tpOrderPrice": "64000", "slPrice": "56000", "slQty": "0.1",
                              "slOrderPrice": "56000"},
        "tpsl/position/place_order": {"symbol": "BTCUSDT", "positionId": pid,
                                      "tpPrice": "65000", "slPrice": "54000"},
        "tpsl/position/modify_order": {"symbol": "BTCUSDT", "positionId": pid,
                                       "tpPrice": "66000", "slPrice": "53000"},
        "account/change_leverage": {"symbol": "BTCUSDT", "leverage": 10, "marginCoin": "USDT"},
        "account/adjust_position_margin": {"symbol": "BTCUSDT", "amount": "1",
                                           "marginCoin": "USDT"},
        "trade/batch_order": {"symbol": "BTCUSDT", "orderList": [
            {"side": "BUY", "orderType": "LIMIT", "qty": "0.01", "price": "59100"}]},
    }[endpoint]


def check_envelope(answer: Any) -> int:
    """The answer is ``{code, msg, data}`` with a documented code; return the code."""
    assert isinstance(answer, dict)
    assert set(answer) == {"code", "msg", "data"}
    assert isinstance(answer["code"], int)
    assert isinstance(answer["msg"], str)
    if answer["code"] != 0:
        assert answer["data"] is None
        assert answer["code"] in MESSAGES
    return int(answer["code"])


NUMERIC_FIELDS = [
    ("trade/place_order", f) for f in ("qty", "price", "tpPrice", "tpOrderPrice", "slPrice",
                                       "slOrderPrice")
] + [("trade/modify_order", f) for f in ("qty", "price")] + [
    ("tpsl/place_order", f) for f in ("tpPrice", "tpQty", "tpOrderPrice", "slPrice", "slQty",
                                      "slOrderPrice")
] + [("tpsl/modify_order", f) for f in ("tpPrice", "tpQty", "tpOrderPrice", "slPrice",
                                        "slQty", "slOrderPrice")] + [
    ("tpsl/position/place_order", "tpPrice"), ("tpsl/position/place_order", "slPrice"),
    ("tpsl/position/modify_order", "tpPrice"), ("tpsl/position/modify_order", "slPrice"),
    ("account/change_leverage", "leverage"), ("account/adjust_position_margin", "amount"),
]


@pytest.mark.parametrize(("endpoint", "field"), NUMERIC_FIELDS)
async def test_hostile_numbers_in_every_numeric_field(venue: Venue, endpoint: str,
                                                      field: str) -> None:
    acct = venue.server.engine.accounts[KEY]
    for value in HOSTILE_NUMBERS:
        answer = await venue.client.post(f"{P}/{endpoint}",
                                         {**body_of(venue, endpoint), field: value})
        code = check_envelope(answer)
        if code == 0:
            # accepted: a legal number on the grid (" 1 " as a leverage) or an optional
            # field left out (null, "")
            assert value not in ("NaN", "abc", [], {}), (field, value, answer)
        assert acct.available() + acct.frozen() + acct.position_margin() == acct.wallet


@pytest.mark.parametrize("field", ["qty", "price"])
@pytest.mark.parametrize("value", ["1e24", 10**24, "1e999999", "123456789012345678901234567890"])
async def test_a_huge_qty_or_price_is_refused_with_the_venues_code(venue: Venue, field: str,
                                                                   value: Any) -> None:
    """Was HTTP 500 (``decimal.InvalidOperation`` in the step check)."""
    body = {**body_of(venue, "trade/place_order"), field: value}
    for side in ("BUY", "SELL"):
        answer = await venue.client.post(f"{P}/trade/place_order", {**body, "side": side})
        assert check_envelope(answer) in (30013, 30014, 10002), answer


async def test_a_batch_answers_each_item_and_keeps_only_what_it_reports_placed(
        venue: Venue) -> None:
    """A batch is answered item by item (the venue's successList/failureList): an item that
    fails never undoes, nor is undone by, another. The first order used to be left live
    behind an HTTP 500 caused by the second."""
    acct = venue.server.engine.accounts[KEY]
    before = set(acct.open_orders)
    good = {"side": "BUY", "orderType": "LIMIT", "qty": "0.01", "price": "59100",
            "clientId": "ok-1"}
    answer = await venue.client.post(f"{P}/trade/batch_order", {"symbol": "BTCUSDT", "orderList": [
        good, {**good, "qty": "1e24", "clientId": "huge"},
        {**good, "price": "1e999999", "clientId": "far"}, {**good, "qty": [], "clientId": "x"},
        "not an object"]})
    assert check_envelope(answer) == 0
    data = answer["data"]
    assert [r["clientId"] for r in data["successList"]] == ["ok-1"]
    assert [(r["clientId"], r["errorCode"]) for r in data["failureList"]] == [
        ("huge", 30013), ("far", 30014), ("x", 10002), ("", 10002)]
    placed = set(acct.open_orders) - before
    assert [acct.orders[o].client_id for o in placed] == ["ok-1"]


async def test_wrong_json_types_get_10002(venue: Venue) -> None:
    client = venue.client
    cases: list[tuple[str, dict[str, Any]]] = [
        ("trade/place_order", {"symbol": ["BTCUSDT"], "side": "BUY", "orderType": "MARKET",
                               "qty": "0.01"}),
        ("trade/place_order", {"symbol": {"a": 1}, "side": "BUY", "orderType": "MARKET",
                               "qty": "0.01"}),
        ("trade/place_order", {"symbol": "BTCUSDT", "side": ["BUY"], "orderType": "MARKET",
                               "qty": "0.01"}),
        ("trade/place_order", {"symbol": "BTCUSDT", "side": "BUY", "orderType": "MARKET",
                               "qty": "0.01", "reduceOnly": "yes"}),
        ("trade/batch_order", {"symbol": "BTCUSDT", "orderList": {"side": "BUY"}}),
        ("trade/batch_order", {"symbol": "BTCUSDT", "orderList": "x"}),
        ("trade/cancel_orders", {"symbol": "BTCUSDT", "orderList": [1, None, []]}),
        ("trade/cancel_orders", {"symbol": "BTCUSDT", "orderList": 5}),
        ("account/change_leverage", {"symbol": "BTCUSDT", "leverage": "ten"}),
        ("account/change_leverage", {"symbol": "BTCUSDT", "leverage": 1.5}),
        ("account/change_margin_mode", {"symbol": "BTCUSDT", "marginMode": 7}),
        ("account/change_position_mode", {"positionMode": None}),
        ("trade/flash_close_position", {"positionId": {"id": 1}}),
    ]
    for endpoint, body in cases:
        answer = await client.post(f"{P}/{endpoint}", body)
        code = check_envelope(answer)
        assert code != 0 or endpoint == "trade/cancel_orders", (endpoint, body, answer)
        if endpoint == "trade/cancel_orders" and code == 0:
            assert answer["data"]["successList"] == []


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/"), ("GET", "/nope"), ("POST", "/api/v1/futures/market/tickers"),
    ("GET", "/api/v1/futures/trade/place_order"), ("PUT", "/api/v1/futures/trade/place_order"),
    ("DELETE", "/api/v1/futures/account"), ("PATCH", "/api/v1/futures/tpsl/place_order"),
    ("OPTIONS", "/api/v1/futures/account"), ("GET", "/api/v1/futures/../../etc/passwd"),
    ("GET", "/api/v1/futures/account/"), ("GET", "/API/V1/FUTURES/ACCOUNT"),
    ("GET", "/%ff%fe"), ("GET", "/api/v1/futures/market/tickers/"),
])
async def test_unknown_paths_and_wrong_methods_answer_404_envelopes(
        venue: Venue, method: str, path: str) -> None:
    async with venue.client.session.request(method, venue.server.rest_url + path) as r:
        assert r.status == 200
        answer = await r.json()
    assert (answer["code"], answer["msg"], answer["data"]) == (404, "Not Found", None)


@pytest.mark.parametrize("headers", [
    {}, {"api-key": ""}, {"api-key": "nope"}, {"api-key": KEY},
    {"api-key": KEY, "nonce": "n", "timestamp": "abc", "sign": "x"},
    {"api-key": KEY, "nonce": "n", "timestamp": "-5", "sign": "x"},
    {"api-key": KEY, "nonce": "n", "timestamp": "1" * 400, "sign": "x"},
    {"api-key": KEY, "nonce": "n", "timestamp": "\u00b2", "sign": "x"},
    {"api-key": KEY, "nonce": "", "timestamp": "1", "sign": "x"},
    {"api-key": KEY, "nonce": "n" * 5000, "timestamp": "1", "sign": "s" * 5000},
    {"api-key": KEY + "\u00e9", "nonce": "n", "timestamp": "1", "sign": "x"},
    {"api-key": KEY, "nonce": "\u00e9\u00e9", "timestamp": "1", "sign": "\u00e9"},
])
async def test_missing_or_garbage_auth_headers_answer_10003_or_10007(
        venue: Venue, headers: dict[str, str]) -> None:
    raw = {k: v.encode("utf-8").decode("latin-1") for k, v in headers.items()}
    async with venue.client.session.post(venue.server.rest_url + f"{P}/trade/place_order",
                                         data=b"{}", headers=raw) as r:
        assert r.status == 200
        answer = await r.json()
    assert check_envelope(answer) in (10003, 10007)


@pytest.mark.parametrize("query", [
    {"limit": "abc"}, {"limit": "-5"}, {"limit": "9" * 5000}, {"skip": "1e3"},
    {"skip": "99999999999999999999999"}, {"startTime": "x"}, {"endTime": "-1"},
    {"symbol": "\u00e9\u00e9"}, {"orderId": "' OR 1=1"}, {"status": "[]"},
])
async def test_hostile_query_parameters_of_signed_gets(venue: Venue,
                                                       query: dict[str, str]) -> None:
    for path in ("trade/get_history_orders", "trade/get_pending_orders",
                 "trade/get_history_trades", "position/get_history_positions",
                 "tpsl/get_history_orders", "tpsl/get_pending_orders"):
        check_envelope(await venue.client.get(f"{P}/{path}", query))


@pytest.mark.parametrize("query", [
    {"symbols": ",,,"}, {"symbols": "x" * 5000}, {"symbol": "BTCUSDT", "limit": "-1"},
    {"symbol": "BTCUSDT", "interval": "1m", "limit": "abc"},
    {"symbol": "BTCUSDT", "interval": "1m", "endTime": "9" * 5000},
    {"symbol": "BTCUSDT", "interval": "nope"}, {"symbol": "\u0000"},
])
async def test_hostile_query_parameters_of_public_gets(venue: Venue,
                                                       query: dict[str, str]) -> None:
    for path in ("market/tickers", "market/trading_pairs", "market/depth", "market/kline",
                 "market/funding_rate", "market/get_funding_rate_history",
                 "position/get_position_tiers"):
        check_envelope(await venue.client.get(f"{P}/{path}", query, signed=False))


async def test_hostile_websocket_frames_leave_the_server_serving(venue: Venue) -> None:
    """Junk frames are ignored or refused; no traceback, and the push timer survives."""
    server = venue.server
    frames: list[Any] = [
        "not json", "[]", "1", "null", '"op"', '{"op": ["ping"]}', '{"op": "subscribe"}',
        '{"op": "subscribe", "args": {"ch": "trade"}}',
        '{"op": "subscribe", "args": [1, null, [], "x", {"ch": {"a": 1}, "symbol": [1]}]}',
        '{"op": "subscribe", "args": [{"ch": "tickers", "symbol": "NOPEUSDT"}, '
        '{"ch": "ticker", "symbol": "ETHUSDT"}, {"ch": "price", "symbol": "NOPE"}, '
        '{"ch": "market_kline_1min", "symbol": "ETHUSDT"}, {"ch": "depth_book5"}]}',
        '{"op": "unsubscribe", "args": [null, {"ch": 5}]}',
        '{"op": "ping", "ping": ' + "9" * 4000 + "}",
        '{"op": "login", "args": [{"apiKey": [], "timestamp": "\\u00b2", "sign": {}}]}',
        '{"op": "login", "args": "x"}',
        '{"op": "' + "x" * 10_000 + '"}',
    ]
    async with aiohttp.ClientSession() as session:
        for url in (server.public_ws_url, server.private_ws_url):
            async with session.ws_connect(url) as ws:
                await ws.receive(timeout=2)  # connect
                for i, frame in enumerate(frames):
                    await ws.send_str(frame)
                    if i % 4 == 3:
                        await asyncio.sleep(1.05)  # below 5 messages a second
                server.publish()
                await ws.send_str(json.dumps({"op": "ping", "ping": 1}))
                while True:  # the socket still answers
                    msg = await ws.receive(timeout=2)
                    assert msg.type == aiohttp.WSMsgType.TEXT
                    if json.loads(msg.data).get("pong") == 1:
                        break


async def test_no_market_data_means_no_ticker_and_no_orders(venue: Venue) -> None:
    """ETHUSDT is listed but the replay has no data for it: it used to get a ticker of
    empty strings, a MARKET order SYSTEM_CANCELED and a LIMIT order resting outside any
    band. The venue lists only what trades: no ticker, orders refused with 20012."""
    client = venue.client
    tickers = (await client.get(f"{P}/market/tickers", signed=False))["data"]
    assert [r["symbol"] for r in tickers] == ["BTCUSDT"]
    eth = (await client.get(f"{P}/market/tickers", {"symbols": "ETHUSDT"}, signed=False))
    assert eth == {"code": 0, "msg": "Success", "data": []}
    acct = venue.server.engine.accounts[KEY]
    orders_before = dict(acct.orders)
    for body in ({"orderType": "MARKET"}, {"orderType": "LIMIT", "price": "3000"}):
        answer = await client.post(f"{P}/trade/place_order", {
            "symbol": "ETHUSDT", "side": "BUY", "qty": "0.01", **body})
        assert (answer["code"], answer["data"]) == (20012, None)
    assert acct.orders == orders_before
    async with aiohttp.ClientSession() as session, \
            session.ws_connect(venue.server.public_ws_url) as ws:
        await ws.receive(timeout=2)
        await ws.send_json({"op": "subscribe", "args": [
            {"ch": "ticker", "symbol": "ETHUSDT"}, {"ch": "price", "symbol": "ETHUSDT"},
            {"ch": "tickers", "symbol": "ETHUSDT"}, {"ch": "ticker", "symbol": "BTCUSDT"}]})
        await asyncio.sleep(0.05)
        venue.server.publish()
        first = json.loads((await ws.receive(timeout=2)).data)
        assert (first["ch"], first["symbol"]) == ("ticker", "BTCUSDT")  # nothing for ETH
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=0.2)
