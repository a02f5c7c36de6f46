"""Signing and verification against the spec's vectors (section 2.5)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import bitunix.sim
from bitunix.sim.auth import Authenticator, canonical_query, request_digest, sign
from bitunix.sim.errors import SimError

T4_BODY = ('{"symbol":"BTCUSDT","side":"BUY","tradeSide":"OPEN","orderType":"LIMIT","qty":'
           '"0.001","price":"60000","effect":"GTC","clientId":"bot-0001","reduceOnly":false}')


@pytest.mark.parametrize(("args", "query", "body", "expected"), [
    (("11111111111111111", "22222222222222222", "33333333333333333", "1747104711262"),
     {"marginCoin": "USDT"}, "",
     "40e87256554e263e39201a3979469b7fbb640d1c7c41759abf5c6a18f937f922"),
    (("yourApiKey", "yourSecretKey", "123456", "20241120123045"), {"uid": "200", "id": "1"},
     '{"uid":"2899","arr":[{"id":1,"name":"maple"},{"id":2,"name":"lily"}]}',
     "00397cd1e52c7dce3258067324363b6361fabc9178a0912b330c138db8745655"),
    (("testApiKey", "testSecretKey", "0f8e2a4c6b1d3e5f7a9c0b2d4e6f8a1c", "1700000000000"),
     {"symbol": "BTCUSDT", "limit": "10", "skip": "0"}, "",
     "0be268249a3a8bec6bcc36ce00d4b80fb02f15a09cae856063b20646e48674fb"),
    (("testApiKey", "testSecretKey", "0f8e2a4c6b1d3e5f7a9c0b2d4e6f8a1c", "1700000000000"),
     {}, T4_BODY, "132304eb2b9bd5a6a5e7f7e189a57ab3227fe8a41fd6a7fe8395461b1f35f95d"),
])
def test_spec_vectors(args: tuple[str, str, str, str], query: dict[str, str], body: str,
                      expected: str) -> None:
    key, secret, nonce, ts = args
    assert sign(key, secret, nonce, ts, query=query, body=body) == expected
    assert canonical_query({"b": "2", "a": "1"}) == "a1b2"
    auth = Authenticator({key: secret}, window_ms=10**15)
    headers = {"api-key": key, "nonce": nonce, "timestamp": ts, "sign": expected}
    assert auth.verify_rest(headers, query, body, now_ms=int(ts)) == key
    with pytest.raises(SimError) as replay:  # the same nonce again
        auth.verify_rest(headers, query, body, now_ms=int(ts))
    assert replay.value.code == 10007


T7_BODY = '{"symbol":"BTCUSDT","orderList":[{"orderId":"11111"},{"clientId":"bot-0002"}]}'
T8_BODY = ('{"symbol": "BTCUSDT", "orderList": [{"orderId": "11111"}, '
           '{"clientId": "bot-0002"}]}')
KEYS_T3 = ("testApiKey", "0f8e2a4c6b1d3e5f7a9c0b2d4e6f8a1c", "1700000000000")
KEYS_T6 = ("testApiKey", "5f3a9c0e7b2d4f6a8c1e3b5d7f9a0c2e", "1732519687000")


# Spec 2.5, every row: (apiKey, nonce, timestamp), secret, query, body, digest, sign. The
# simulator's own implementation must reproduce the table, not agree with the bot's client.
@pytest.mark.parametrize("row", [
    (("11111111111111111", "33333333333333333", "1747104711262"), "22222222222222222",
     [("marginCoin", "USDT")], "",
     "ea0f6d6bc37d102c41ccbd820f4cfbb10663f3675a75aea80a353e0e317fcdcc",
     "40e87256554e263e39201a3979469b7fbb640d1c7c41759abf5c6a18f937f922"),
    (("yourApiKey", "123456", "20241120123045"), "yourSecretKey",
     [("uid", "200"), ("id", "1")],
     '{"uid":"2899","arr":[{"id":1,"name":"maple"},{"id":2,"name":"lily"}]}',
     "75099831ac6803e9c5b79dd3cde2c3c529b4750bd3508186afdde0dd13599b38",
     "00397cd1e52c7dce3258067324363b6361fabc9178a0912b330c138db8745655"),
    (KEYS_T3, "testSecretKey", [("symbol", "BTCUSDT"), ("limit", "10"), ("skip", "0")], "",
     "02089cf51ac570b775f62f8074bfb3e220923639bdae893b07b67285982250c5",
     "0be268249a3a8bec6bcc36ce00d4b80fb02f15a09cae856063b20646e48674fb"),
    (KEYS_T3, "testSecretKey", [], T4_BODY,
     "25d47f0c4dcc028c590d7efa47d365c314adeeed0bb90ccfae0d50381ea9e828",
     "132304eb2b9bd5a6a5e7f7e189a57ab3227fe8a41fd6a7fe8395461b1f35f95d"),
    (KEYS_T6, "testSecretKey", [("symbol", "BTCUSDT")], "",
     "6103ff41b70fcbe68d2e81df7da8b07fd02deb3cdeb18755f880c325a48dcd5e",
     "65e055975519ced31118da7fc9f68d562f61eaf98cccb0f99f4d471cd571f119"),
    (KEYS_T6, "testSecretKey", [], T7_BODY,
     "a37ddf445bc451907306159e7a531f023c6b10cacf59200fcdd657dec7359075",
     "879738e372d22cfd36f7502832964ba3db7d6983b3c74750b525c910c9e51f57"),
    (KEYS_T6, "testSecretKey", [], T8_BODY, None,
     "8006ee30dc5cf76fb43a5a56696c19f709427ba1eca50e06579cce7078bc8ebb"),
])
def test_spec_table_digest_and_sign(row: tuple[Any, ...]) -> None:
    (key, nonce, ts), secret, query, body, digest, signature = row
    if digest is not None:
        assert request_digest(key, nonce, ts, query=query, body=body) == digest
    assert sign(key, secret, nonce, ts, query=query, body=body) == signature
    # the server hashes the bytes it received: the same body as bytes verifies the same
    assert sign(key, secret, nonce, ts, query=query, body=body.encode()) == signature


def test_canonical_query_sorts_pairs_by_key_and_keeps_repeats() -> None:
    assert canonical_query([("uid", "200"), ("id", "1")]) == "id1uid200"
    # upper case sorts first (ASCII); a repeated key keeps both values in arrival order
    assert canonical_query([("alter", "schwede"), ("Alter", "schwede"), ("param", "value")]) \
        == "Alterschwedealterschwedeparamvalue"
    assert canonical_query([("a", "2"), ("a", "1")]) == "a2a1"
    assert canonical_query({}) == ""


def test_the_simulator_does_not_sign_with_the_bots_client() -> None:
    """No module of ``bitunix.sim`` imports ``bitunix.exchange``: a canonicalisation bug in
    the client must not be mirrored by the venue it is tested against."""
    root = Path(bitunix.sim.__file__).parent
    offenders = []
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("bitunix.exchange")]
    assert offenders == []


def test_ws_login_refuses_a_reused_nonce() -> None:
    auth = Authenticator({"testApiKey": "testSecretKey"})
    args = {"apiKey": "testApiKey", "timestamp": 1700000000,
            "nonce": "0f8e2a4c6b1d3e5f7a9c0b2d4e6f8a1c",
            "sign": "eefb1aefec69312d7028767921b4e0ca4e476d003b69953225c411287279aeff"}
    assert auth.verify_login(args, now_ms=1_700_000_000_500) == "testApiKey"
    with pytest.raises(SimError, match="nonce reused") as replay:
        auth.verify_login(args, now_ms=1_700_000_001_000)
    assert replay.value.code == 10007


@pytest.mark.parametrize("bad", [
    {"timestamp": "\u00b2"},            # str.isdigit() is true for a superscript two
    {"timestamp": "\uff11\uff17"},     # full-width digits
    {"timestamp": -5}, {"timestamp": True}, {"timestamp": 1.5}, {"timestamp": None},
    {"timestamp": "9" * 400},
    {"nonce": 5}, {"nonce": ""}, {"sign": None}, {"sign": "\ud800"}, {"apiKey": 7},
    {"apiKey": "\ud800"},
])
def test_ws_login_refuses_garbage_with_a_code(bad: dict[str, object]) -> None:
    auth = Authenticator({"testApiKey": "testSecretKey"})
    args = {"apiKey": "testApiKey", "timestamp": 1700000000, "nonce": "n" * 32,
            "sign": "0" * 64, **bad}
    with pytest.raises(SimError) as info:
        auth.verify_login(args, now_ms=1_700_000_000_500)
    assert info.value.code in (10003, 10007)


@pytest.mark.parametrize("headers", [
    {"timestamp": "\u00b2"}, {"timestamp": "1e3"}, {"timestamp": " 5000"},
    {"sign": "\udcff" * 64}, {"nonce": "\udcff"}, {"api-key": "k\udcff"},
])
def test_rest_refuses_garbage_headers_with_a_code(headers: dict[str, str]) -> None:
    auth = Authenticator({"k": "s"}, window_ms=1000)
    good = {"api-key": "k", "nonce": "n1", "timestamp": "5000",
            "sign": sign("k", "s", "n1", "5000")}
    with pytest.raises(SimError) as info:
        auth.verify_rest({**good, **headers}, {}, b"", now_ms=5000)
    assert info.value.code == 10007


def test_ws_login_vector_seconds() -> None:
    auth = Authenticator({"testApiKey": "testSecretKey"})
    args = {"apiKey": "testApiKey", "timestamp": 1700000000,
            "nonce": "0f8e2a4c6b1d3e5f7a9c0b2d4e6f8a1c",
            "sign": "eefb1aefec69312d7028767921b4e0ca4e476d003b69953225c411287279aeff"}
    assert auth.verify_login(args, now_ms=1_700_000_000_500) == "testApiKey"
    for bad, code in [({**args, "sign": "0" * 64}, 10007), ({**args, "apiKey": ""}, 10003),
                      ({**args, "timestamp": "x"}, 10007)]:
        with pytest.raises(SimError) as info:
            auth.verify_login(bad, now_ms=1_700_000_000_500)
        assert info.value.code == code
    with pytest.raises(SimError):  # outside the window
        auth.verify_login(args, now_ms=1_700_000_000_000 + 61_000)


def test_rest_failures() -> None:
    auth = Authenticator({"k": "s"}, window_ms=1000)
    good = {"api-key": "k", "nonce": "n1", "timestamp": "5000",
            "sign": sign("k", "s", "n1", "5000")}
    cases = [({}, 10003), ({**good, "api-key": "other"}, 10007),
             ({**good, "sign": ""}, 10007), ({**good, "timestamp": "abc"}, 10007),
             ({**good, "sign": "f" * 64}, 10007)]
    for headers, code in cases:
        with pytest.raises(SimError) as info:
            auth.verify_rest(headers, {}, "", now_ms=5000)
        assert info.value.code == code
    with pytest.raises(SimError, match="outside"):
        auth.verify_rest(good, {}, "", now_ms=7000)
    assert auth.verify_rest(good, {}, "", now_ms=5500) == "k"
    later = {"api-key": "k", "nonce": "n2", "timestamp": "9000",
             "sign": sign("k", "s", "n2", "9000")}
    assert auth.verify_rest(later, {}, "", now_ms=9000) == "k"  # n1 expired from memory
