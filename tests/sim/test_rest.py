"""Conformance of every REST endpoint of the simulator to the spec (section 4)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitunix.sim.errors import MESSAGES, SimError
from bitunix.sim.rest import Params
from bitunix.sim.server import SimServer

from .conftest import KEY, Client, stepped_server

P = "/api/v1/futures"


def is_dec(text: Any) -> bool:
    return isinstance(text, str) and "e" not in text.lower() and Decimal(text).is_finite()


async def test_public_market_endpoints(client: Client) -> None:
    pairs = (await client.get(f"{P}/market/trading_pairs", signed=False))["data"]
    btc = next(r for r in pairs if r["symbol"] == "BTCUSDT")
    assert (btc["basePrecision"], btc["quotePrecision"], btc["minTradeVolume"]) == (4, 1, "0.0001")
    assert btc["symbolStatus"] == "OPEN"
    assert btc["isApiSupported"] is True
    one = await client.get(f"{P}/market/trading_pairs", {"symbols": "btcusdt"}, signed=False)
    assert [r["symbol"] for r in one["data"]] == ["BTCUSDT"]
    bad = await client.get(f"{P}/market/trading_pairs", {"symbols": "NOPE"}, signed=False)
    assert (bad["code"], bad["data"]) == (20015, None)

    tickers = (await client.get(f"{P}/market/tickers", signed=False))["data"]
    row = next(r for r in tickers if r["symbol"] == "BTCUSDT")
    assert set(row) == {"symbol", "markPrice", "lastPrice", "open", "last", "quoteVol",
                        "baseVol", "high", "low"}
    assert row["lastPrice"] == "60000"
    assert row["markPrice"] == "59999.95"

    depth = (await client.get(f"{P}/market/depth", {"symbol": "BTCUSDT", "limit": "1"},
                              signed=False))["data"]
    assert depth == {"asks": [["60000", "2"]], "bids": [["59999.9", "2"]]}
    full = (await client.get(f"{P}/market/depth", {"symbol": "BTCUSDT"}, signed=False))["data"]
    assert len(full["asks"]) == 5
    assert [Decimal(p) for p, _ in full["bids"]] == sorted(
        (Decimal(p) for p, _ in full["bids"]), reverse=True)
    wrong = await client.get(f"{P}/market/depth", {"symbol": "BTCUSDT", "limit": "20"},
                             signed=False)
    assert wrong["code"] == 10008
    assert "alternative value" in wrong["msg"]
    missing = await client.get(f"{P}/market/depth", signed=False)
    assert (missing["code"], missing["msg"]) == (1, "Network Error: symbol is required")

    funding = (await client.get(f"{P}/market/funding_rate", {"symbol": "BTCUSDT"},
                                signed=False))["data"]
    assert isinstance(funding, list)
    assert funding[0]["fundingRate"] == "0.01"
    assert funding[0]["fundingInterval"] == 8
    assert int(funding[0]["nextFundingTime"]) % (8 * 3600 * 1000) == 0
    batch = (await client.get(f"{P}/market/funding_rate/batch", signed=False))["data"]
    assert len(batch) == 428
    assert {"BTCUSDT", "ETHUSDT", "XRPUSDT"} <= {r["symbol"] for r in batch}
    hist = await client.get(f"{P}/market/get_funding_rate_history", {"symbol": "BTCUSDT"},
                            signed=False)
    assert hist == {"code": 0, "msg": "Success", "data": []}
    tiers = (await client.get(f"{P}/position/get_position_tiers", {"symbol": "BTCUSDT"},
                              signed=False))["data"]
    assert tiers[0]["maintenanceMarginRate"] == "0.004"


async def test_kline_newest_first_strings(client: Client, sim: SimServer) -> None:
    rows = (await client.get(f"{P}/market/kline", {"symbol": "BTCUSDT", "interval": "1m"},
                             signed=False))["data"]
    assert len(rows) == 1
    assert rows[0]["close"] == "60000"
    assert rows[0]["baseVol"] == "0.01"
    assert rows[0]["quoteVol"] == "600"
    assert isinstance(rows[0]["time"], str)
    mark = (await client.get(f"{P}/market/kline", {"symbol": "BTCUSDT", "interval": "1m",
                                                   "type": "MARK_PRICE"}, signed=False))["data"]
    assert mark[0]["close"] == "59999.95"
    bad = await client.get(f"{P}/market/kline", {"symbol": "BTCUSDT", "interval": "7m"},
                           signed=False)
    assert bad["code"] == 10008
    sim.quirks = True
    quirky = (await client.get(f"{P}/market/kline", {"symbol": "BTCUSDT", "interval": "1m"},
                               signed=False))
    assert quirky["msg"] == "result.success"
    assert quirky["data"][0]["quoteVol"] == "0.01"  # live: names inverted


async def test_unknown_path_and_auth_errors(client: Client) -> None:
    nf = await client.get(f"{P}/nothing/here")
    assert nf == {"code": 404, "msg": "Not Found", "data": None}
    assert (await client.post(f"{P}/market/tickers", {}))["code"] == 404  # GET only
    anon = await client.get(f"{P}/account", {"marginCoin": "USDT"}, signed=False)
    assert anon["code"] == 10003
    stale = await client.get(f"{P}/account", {"marginCoin": "USDT"},
                             ts_ms=int(time.time() * 1000) - 120_000)
    assert stale["code"] == 10007
    async with aiohttp.ClientSession() as session:
        other = Client(session, client.base, secret="wrong")
        assert (await other.get(f"{P}/account", {"marginCoin": "USDT"}))["code"] == 10007
    # the body is signed byte for byte: re-serialising with spaces breaks the signature
    body = '{"symbol":"BTCUSDT","leverage":5,"marginCoin":"USDT"}'
    headers = client.headers({}, body)
    spaced = '{"symbol": "BTCUSDT", "leverage": 5, "marginCoin": "USDT"}'
    async with client.session.post(client.base + f"{P}/account/change_leverage",
                                   data=spaced, headers=headers) as r:
        assert (await r.json())["code"] == 10007
    async with client.session.post(client.base + f"{P}/account/change_leverage",
                                   data="[1,2]", headers=client.headers({}, "[1,2]")) as r:
        assert (await r.json())["code"] == 10002
    async with client.session.post(client.base + f"{P}/account/change_leverage",
                                   data="{", headers=client.headers({}, "{")) as r:
        assert (await r.json())["code"] == 10002


async def test_account_endpoints(client: Client) -> None:
    acct = await client.ok("GET", f"{P}/account", {"marginCoin": "USDT"})
    assert acct["available"] == "100000"
    assert acct["positionMode"] == "ONE_WAY"
    assert set(acct) >= {"marginCoin", "available", "frozen", "margin", "transfer",
                         "crossUnrealizedPNL", "isolationUnrealizedPNL", "bonus"}
    bad_coin = await client.get(f"{P}/account", {"marginCoin": "BTC"})
    assert bad_coin["code"] == 10002
    lev = await client.ok("POST", f"{P}/account/change_leverage",
                          {"symbol": "BTCUSDT", "marginCoin": "USDT", "leverage": 12})
    assert lev == [{"symbol": "BTCUSDT", "marginCoin": "USDT", "leverage": 12}]
    too_high = await client.post(f"{P}/account/change_leverage",
                                 {"symbol": "BTCUSDT", "marginCoin": "USDT", "leverage": 500})
    assert too_high["code"] == 20005
    not_int = await client.post(f"{P}/account/change_leverage",
                                {"symbol": "BTCUSDT", "marginCoin": "USDT", "leverage": "x"})
    assert not_int["code"] == 10002
    mm = await client.ok("POST", f"{P}/account/change_margin_mode",
                         {"symbol": "BTCUSDT", "marginCoin": "USDT", "marginMode": "ISOLATION"})
    assert mm[0]["marginMode"] == "ISOLATION"
    got = await client.ok("GET", f"{P}/account/get_leverage_margin_mode",
                          {"symbol": "BTCUSDT", "marginCoin": "USDT"})
    assert got == {"symbol": "BTCUSDT", "marginCoin": "USDT", "leverage": 12,
                   "marginMode": "ISOLATION"}
    pm = await client.ok("POST", f"{P}/account/change_position_mode", {"positionMode": "HEDGE"})
    assert pm == [{"positionMode": "HEDGE"}]
    wrong_method = await client.post(f"{P}/account", {"marginCoin": "USDT"})
    assert wrong_method["code"] == 404


async def test_order_lifecycle_and_queries(client: Client) -> None:
    placed = await client.ok("POST", f"{P}/trade/place_order", {
        "symbol": "BTCUSDT", "side": "BUY", "orderType": "LIMIT", "qty": "0.01",
        "price": "59990", "effect": "GTC", "clientId": "c-1", "reduceOnly": False})
    assert placed["clientId"] == "c-1"
    assert placed["orderId"].isdigit()
    pending = await client.ok("GET", f"{P}/trade/get_pending_orders", {"symbol": "BTCUSDT"})
    assert pending["total"] == 1
    row = pending["orderList"][0]
    assert (row["status"], row["price"], row["qty"], row["tradeQty"]) == (
        "NEW", "59990", "0.01", "0")
    assert isinstance(row["leverage"], int)
    assert isinstance(row["ctime"], int)
    assert row["orderType"] == "LIMIT"
    assert row["reduceOnly"] is False
    detail = await client.ok("GET", f"{P}/trade/get_order_detail", {"clientId": "c-1"})
    assert detail["orderId"] == placed["orderId"]
    modified = await client.ok("POST", f"{P}/trade/modify_order",
                               {"orderId": placed["orderId"], "qty": "0.02", "price": "59980"})
    assert modified["orderId"] == placed["orderId"]
    dup = await client.post(f"{P}/trade/place_order", {
        "symbol": "BTCUSDT", "side": "BUY", "orderType": "LIMIT", "qty": "0.01",
        "price": "59990", "clientId": "c-1"})
    assert dup["code"] == 30042
    cancel = await client.ok("POST", f"{P}/trade/cancel_orders", {
        "symbol": "BTCUSDT", "orderList": [{"orderId": placed["orderId"]}, {"clientId": "zz"}]})
    assert cancel["successList"] == [{"orderId": placed["orderId"], "clientId": "c-1"}]
    assert cancel["failureList"][0]["errorCode"] == 20007
    history = await client.ok("GET", f"{P}/trade/get_history_orders", {"symbol": "BTCUSDT"})
    assert history["orderList"][0]["status"] == "CANCELED"
    assert history["orderList"][0]["qty"] == "0.02"
    cancelled = await client.ok("GET", f"{P}/trade/get_history_orders",
                                {"queryCanceled": "true", "type": "LIMIT"})
    assert cancelled["total"] == 1
    missing = await client.get(f"{P}/trade/get_order_detail", {"orderId": "123"})
    assert missing["code"] == 20007
    neither = await client.get(f"{P}/trade/get_order_detail")
    assert neither["code"] == 10002


@pytest.mark.parametrize(("body", "code"), [
    ({"qty": "0.00001"}, 10002),
    ({"qty": "0.00005"}, 10002),
    ({"qty": "0"}, 30016),
    ({"qty": "abc"}, 10002),
    ({"qty": "NaN"}, 10002),
    ({"qty": True}, 10002),
    ({"orderType": "LIMIT", "price": "60000.05"}, 10002),
    ({"orderType": "LIMIT", "price": "90000"}, 30014),
    ({"side": "SELL", "orderType": "LIMIT", "price": "30000"}, 30015),
    ({"qty": "2000"}, 30013),
    ({"side": "SELL", "reduceOnly": True}, 30018),
    ({"reduceOnly": "maybe"}, 10002),
    ({"symbol": "FOOUSDT"}, 20015),
    ({"symbol": "xrpusdt", "qty": "2.05"}, 10002),  # live XRPUSDT step 0.1
    ({"symbol": "XRPUSDT", "qty": "1.9"}, 30017),   # live XRPUSDT minimum 2
    ({"side": None}, 10002),
])
async def test_place_order_errors(client: Client, body: dict[str, Any], code: int) -> None:
    base = {"symbol": "BTCUSDT", "side": "BUY", "orderType": "MARKET", "qty": "0.01"}
    answer = await client.post(f"{P}/trade/place_order", {**base, **body})
    assert answer["code"] == code, answer
    assert answer["data"] is None


async def test_positions_fills_and_closing(client: Client) -> None:
    await client.ok("POST", f"{P}/trade/place_order", {
        "symbol": "BTCUSDT", "side": "BUY", "orderType": "MARKET", "qty": "0.5"})
    positions = await client.ok("GET", f"{P}/position/get_pending_positions",
                                {"symbol": "BTCUSDT"})
    (pos,) = positions
    assert (pos["side"], pos["qty"], pos["entryValue"]) == ("LONG", "0.5", "30000")
    assert pos["avgOpenPrice"] == "60000"
    assert pos["fee"] == "-18"
    assert is_dec(pos["liqPrice"])
    assert is_dec(pos["unrealizedPNL"])
    trades = await client.ok("GET", f"{P}/trade/get_history_trades", {"symbol": "BTCUSDT"})
    assert trades["total"] == 1
    assert trades["tradeList"][0]["fee"] == "18"
    assert trades["tradeList"][0]["roleType"] == "TAKER"
    flash = await client.ok("POST", f"{P}/trade/flash_close_position",
                            {"positionId": pos["positionId"]})
    assert flash == {"positionId": pos["positionId"]}
    assert await client.ok("GET", f"{P}/position/get_pending_positions") == []
    gone = await client.post(f"{P}/trade/flash_close_position", {"positionId": pos["positionId"]})
    assert gone["code"] == 30004
    hist = await client.ok("GET", f"{P}/position/get_history_positions", {"symbol": "BTCUSDT"})
    assert hist["total"] == 1
    closed = hist["positionList"][0]
    assert closed["positionId"] == pos["positionId"]
    assert (closed["maxQty"], closed["entryPrice"], closed["closePrice"]) == (
        "0.5", "60000", "59999.9")
    assert closed["realizedPNL"] == "-0.05"
    await client.ok("POST", f"{P}/trade/place_order", {
        "symbol": "BTCUSDT", "side": "SELL", "orderType": "MARKET", "qty": "0.1"})
    assert await client.ok("POST", f"{P}/trade/close_all_position", {"symbol": "BTCUSDT"}) == ""
    assert await client.ok("GET", f"{P}/position/get_pending_positions") == []


async def test_batch_and_cancel_all(client: Client) -> None:
    order = {"side": "BUY", "orderType": "LIMIT", "qty": "0.01", "price": "59000"}
    batch = await client.ok("POST", f"{P}/trade/batch_order", {
        "symbol": "BTCUSDT", "orderList": [{**order, "clientId": "b1"},
                                           {**order, "price": "59000.05", "clientId": "b2"}]})
    assert [r["clientId"] for r in batch["successList"]] == ["b1"]
    assert batch["failureList"][0]["clientId"] == "b2"
    assert batch["failureList"][0]["errorCode"] == 10002
    too_many = await client.post(f"{P}/trade/batch_order",
                                 {"symbol": "BTCUSDT", "orderList": [order] * 6})
    assert too_many["code"] == 20016
    empty = await client.post(f"{P}/trade/batch_order", {"symbol": "BTCUSDT", "orderList": []})
    assert empty["code"] == 10002
    done = await client.ok("POST", f"{P}/trade/cancel_all_orders", {"symbol": "BTCUSDT"})
    assert [r["clientId"] for r in done["successList"]] == ["b1"]
    bad_cancel = await client.post(f"{P}/trade/cancel_orders", {"symbol": "BTCUSDT"})
    assert bad_cancel["code"] == 10002


async def test_tpsl_endpoints(client: Client) -> None:
    await client.ok("POST", f"{P}/trade/place_order", {
        "symbol": "BTCUSDT", "side": "BUY", "orderType": "MARKET", "qty": "0.5"})
    (pos,) = await client.ok("GET", f"{P}/position/get_pending_positions")
    pid = pos["positionId"]
    placed = await client.ok("POST", f"{P}/tpsl/place_order", {
        "symbol": "BTCUSDT", "positionId": pid, "tpPrice": "62000", "tpStopType": "MARK_PRICE",
        "tpOrderType": "MARKET", "tpQty": "0.2"})
    assert placed["orderId"].isdigit()
    nothing = await client.post(f"{P}/tpsl/place_order", {"symbol": "BTCUSDT",
                                                          "positionId": pid})
    assert nothing["code"] == 30006
    too_big = await client.post(f"{P}/tpsl/place_order", {
        "symbol": "BTCUSDT", "positionId": pid, "slPrice": "58000", "slQty": "5"})
    assert too_big["code"] == 30038
    pos_tpsl = await client.ok("POST", f"{P}/tpsl/position/place_order", {
        "symbol": "BTCUSDT", "positionId": pid, "slPrice": "58000", "slStopType": "LAST_PRICE"})
    pending = await client.ok("GET", f"{P}/tpsl/get_pending_orders", {"symbol": "BTCUSDT"})
    assert {r["id"] for r in pending} == {placed["orderId"], pos_tpsl["orderId"]}
    row = next(r for r in pending if r["id"] == placed["orderId"])
    assert (row["tpPrice"], row["tpQty"], row["slPrice"], row["base"]) == (
        "62000", "0.2", "", "BTC")
    await client.ok("POST", f"{P}/tpsl/modify_order",
                    {"orderId": placed["orderId"], "tpPrice": "63000"})
    await client.ok("POST", f"{P}/tpsl/position/modify_order",
                    {"symbol": "BTCUSDT", "positionId": pid, "slPrice": "57000"})
    pending = await client.ok("GET", f"{P}/tpsl/get_pending_orders", {"positionId": pid})
    assert {r["tpPrice"] or r["slPrice"] for r in pending} == {"63000", "57000"}
    cancelled = await client.ok("POST", f"{P}/tpsl/cancel_order",
                                {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    assert cancelled == {"orderId": placed["orderId"]}
    again = await client.post(f"{P}/tpsl/cancel_order",
                              {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    assert again["code"] == 20007
    history = await client.ok("GET", f"{P}/tpsl/get_history_orders", {"symbol": "BTCUSDT"})
    assert history["total"] == 1
    assert history["orderList"][0]["status"] == "CANCELED"
    await client.ok("POST", f"{P}/tpsl/cancel_order",
                    {"symbol": "BTCUSDT", "orderId": pos_tpsl["orderId"]})
    none_left = await client.post(f"{P}/tpsl/position/modify_order",
                                  {"symbol": "BTCUSDT", "positionId": pid, "slPrice": "1"})
    assert none_left["code"] == 20007


async def test_adjust_margin_and_hedge_close(client: Client) -> None:
    await client.ok("POST", f"{P}/account/change_margin_mode",
                    {"symbol": "BTCUSDT", "marginCoin": "USDT", "marginMode": "ISOLATION"})
    await client.ok("POST", f"{P}/account/change_position_mode", {"positionMode": "HEDGE"})
    await client.ok("POST", f"{P}/trade/place_order", {
        "symbol": "BTCUSDT", "side": "BUY", "tradeSide": "OPEN", "orderType": "MARKET",
        "qty": "0.1"})
    (pos,) = await client.ok("GET", f"{P}/position/get_pending_positions")
    assert await client.ok("POST", f"{P}/account/adjust_position_margin", {
        "symbol": "BTCUSDT", "marginCoin": "USDT", "amount": "10", "side": "LONG"}) == ""
    (after,) = await client.ok("GET", f"{P}/position/get_pending_positions")
    assert Decimal(after["margin"]) == Decimal(pos["margin"]) + 10
    close = await client.ok("POST", f"{P}/trade/place_order", {
        "symbol": "BTCUSDT", "side": "BUY", "tradeSide": "CLOSE", "positionId": pos["positionId"],
        "orderType": "MARKET", "qty": "0.1", "reduceOnly": True})
    detail = await client.ok("GET", f"{P}/trade/get_order_detail", {"orderId": close["orderId"]})
    assert (detail["side"], detail["status"], detail["reduceOnly"]) == ("SELL", "FILLED", True)


async def test_quirks_shapes(client: Client, sim: SimServer) -> None:
    sim.quirks = True
    sim.engine.quirks = True
    await client.ok("POST", f"{P}/trade/place_order", {
        "symbol": "BTCUSDT", "side": "BUY", "orderType": "MARKET", "qty": "0.1"})
    await client.ok("POST", f"{P}/trade/place_order", {
        "symbol": "BTCUSDT", "side": "BUY", "orderType": "LIMIT", "qty": "0.1", "price": "59000"})
    (pos,) = await client.ok("GET", f"{P}/position/get_pending_positions")
    assert pos["side"] == "BUY"
    assert isinstance(pos["ctime"], str)
    pending = await client.ok("GET", f"{P}/trade/get_pending_orders")
    assert pending["orderList"][0]["status"] == "NEW_"
    funding = await client.ok("GET", f"{P}/market/funding_rate", {"symbol": "BTCUSDT"})
    assert isinstance(funding, dict)
    tp = await client.ok("POST", f"{P}/tpsl/place_order", {
        "symbol": "BTCUSDT", "positionId": pos["positionId"], "slPrice": "58000",
        "slQty": "0.1"})
    assert isinstance(tp, list)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
    | st.text(max_size=12) | st.sampled_from(["BTCUSDT", "BUY", "SELL", "LIMIT", "MARKET",
                                              "OPEN", "CLOSE", "0.01", "60000", "1e3", "-1"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6,
)
fields = st.sampled_from(["symbol", "side", "orderType", "qty", "price", "tradeSide",
                          "positionId", "effect", "clientId", "reduceOnly", "tpPrice",
                          "orderList", "orderId", "leverage", "marginMode", "amount"])


@settings(max_examples=300, deadline=None)
@given(body=st.dictionaries(fields, json_values, max_size=8),
       endpoint=st.sampled_from(["place_order", "batch_order", "cancel_orders", "modify_order",
                                 "change_leverage", "change_margin_mode", "adjust_margin",
                                 "tpsl_place", "tpsl_modify", "pending_orders",
                                 "history_trades"]))
def test_any_json_body_gets_a_documented_error_or_succeeds(body: dict[str, Any],
                                                           endpoint: str) -> None:
    server = stepped_server()
    server.advance(10)
    handler = getattr(server.api, endpoint)
    code = 0
    try:
        handler(Params(body), KEY)
    except SimError as exc:
        code = exc.code
    assert code == 0 or code in MESSAGES
    acct = server.engine.accounts[KEY]
    assert acct.available() + acct.frozen() + acct.position_margin() == acct.wallet


async def test_funding_settles_and_is_listed_in_percent_and_fraction() -> None:
    from bitunix.core.clock import ManualClock

    from .conftest import START_NS

    clock = ManualClock(START_NS)
    async with stepped_server(clock=clock) as sim, aiohttp.ClientSession() as s:
        sim.advance(3)
        client = Client(s, sim.rest_url)
        await client.ok("POST", f"{P}/trade/place_order", {
            "symbol": "BTCUSDT", "side": "SELL", "orderType": "MARKET", "qty": "1"})
        funding = (await client.ok("GET", f"{P}/market/funding_rate", {"symbol": "BTCUSDT"}))[0]
        clock.set_ns(int(funding["nextFundingTime"]) * 1_000_000)
        sim.advance(1)  # the next book event settles
        (pos,) = await client.ok("GET", f"{P}/position/get_pending_positions")
        assert pos["funding"] == "5.999995"  # a short receives 0.01 % of 59999.95
        rows = await client.ok("GET", f"{P}/market/get_funding_rate_history",
                               {"symbol": "BTCUSDT"})
        assert [(r["fundingRate"], r["markPrice"]) for r in rows] == [("0.0001", "59999.95")]
        assert rows[0]["fundingTime"] == funding["nextFundingTime"]
        after = (await client.ok("GET", f"{P}/market/funding_rate", {"symbol": "BTCUSDT"}))[0]
        assert int(after["nextFundingTime"]) - int(funding["nextFundingTime"]) == 8 * 3600_000


async def test_json_number_quantities_and_prices_are_checked_as_written(client: Client) -> None:
    """A JSON number with more digits than a float holds must be checked as sent: 0.5 plus
    1e-17 is off the 0.0001 step, though it parses to the float 0.5."""
    path = f"{P}/trade/place_order"
    for fields in ('"price":"59000","qty":0.50000000000000001',
                   '"price":59000.000000000000001,"qty":"0.5"'):
        body = '{"symbol":"BTCUSDT","side":"BUY","orderType":"LIMIT",' + fields + "}"
        async with client.session.post(client.base + path, data=body,
                                       headers=client.headers({}, body)) as r:
            answer = await r.json()
        assert answer["code"] == 10002, answer
    body = '{"symbol":"BTCUSDT","side":"BUY","orderType":"LIMIT","price":59000.0,"qty":0.5}'
    async with client.session.post(client.base + path, data=body,
                                   headers=client.headers({}, body)) as r:
        assert (await r.json())["code"] == 0


async def test_liq_price_is_on_the_tick_and_on_the_safe_side(client: Client,
                                                              sim: SimServer) -> None:
    """Live shows liqPrice on the contract's tick (4577398.8 for BTCUSDT). The simulator
    rounded every contract to 0.01 (off BTCUSDT's 0.1 grid; a 0.0001-tick coin's liq
    price lost its digits) and to nearest, which could show a long's liquidation below
    the mark that liquidates it. A long rounds up, a short down, to the tick."""
    from bitunix.sim.shapes import rest_position

    await client.ok("POST", f"{P}/account/change_margin_mode",
                    {"symbol": "BTCUSDT", "marginMode": "ISOLATION", "marginCoin": "USDT"})
    for side in ("BUY", "SELL"):
        await client.ok("POST", f"{P}/trade/place_order", {
            "symbol": "BTCUSDT", "side": side, "orderType": "MARKET", "qty": "0.3"})
        (row,) = await client.ok("GET", f"{P}/position/get_pending_positions",
                                 {"symbol": "BTCUSDT"})
        (pos,) = sim.engine.accounts[next(iter(sim.engine.accounts))].positions.values()
        exact = sim.engine.liquidation_price(pos)
        shown = Decimal(row["liqPrice"])
        assert exact % Decimal("0.1") != 0
        assert shown % Decimal("0.1") == 0
        assert (shown >= exact) if pos.side == "LONG" else (shown <= exact)
        assert abs(shown - exact) < Decimal("0.1")
        await client.ok("POST", f"{P}/trade/flash_close_position",
                        {"positionId": row["positionId"]})
    pos.qty, pos.entry_value = Decimal("100"), Decimal("12.5")
    for side, text in (("LONG", "0.1235"), ("SHORT", "0.1234")):
        pos.side = side
        out = rest_position(pos, None, Decimal("0.12345678"), tick=Decimal("0.0001"))
        assert out["liqPrice"] == text
