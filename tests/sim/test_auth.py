"""Signing and verification against the spec's vectors (section 2.5)."""

from __future__ import annotations

import pytest

from bitunix.sim.auth import Authenticator, canonical_query, sign
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
    assert sign(key, secret, nonce, ts, query, body) == expected
    assert canonical_query({"b": "2", "a": "1"}) == "a1b2"
    auth = Authenticator({key: secret}, window_ms=10**15)
    headers = {"api-key": key, "nonce": nonce, "timestamp": ts, "sign": expected}
    assert auth.verify_rest(headers, query, body, now_ms=int(ts)) == key
    with pytest.raises(SimError) as replay:  # the same nonce again
        auth.verify_rest(headers, query, body, now_ms=int(ts))
    assert replay.value.code == 10007


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
