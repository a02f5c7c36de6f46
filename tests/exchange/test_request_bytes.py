"""Signed request bytes: the spec's vectors, agreement with the reference signer, framing."""

from __future__ import annotations

import doctest
import string
import time
from typing import Any

import httptools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitunix.core.clock import ManualClock
from bitunix.exchange import request_bytes
from bitunix.exchange.request_bytes import (
    NoncePool,
    SignedRequestBuilder,
    encode_request,
    server_timestamp_ms,
)
from bitunix.exchange.signing import Credentials, sign

NONCE = b"0f8e2a4c6b1d3e5f7a9c0b2d4e6f8a1c"
T4_BODY = (b'{"symbol":"BTCUSDT","side":"BUY","tradeSide":"OPEN","orderType":"LIMIT",'
           b'"qty":"0.001","price":"60000","effect":"GTC","clientId":"bot-0001",'
           b'"reduceOnly":false}')


def vector_builder(**kw: Any) -> SignedRequestBuilder:
    return SignedRequestBuilder(Credentials("testApiKey", "testSecretKey"), "127.0.0.1:8080",
                                lambda: 1700000000000, nonce=lambda: NONCE, **kw)


class Parsed:
    """A request read back by httptools (the parser the fast path trusts)."""

    def __init__(self, raw: bytes) -> None:
        self.headers: dict[str, str] = {}
        self.body = b""
        self.url = b""
        self.complete = False
        parser = httptools.HttpRequestParser(self)
        parser.feed_data(raw)
        self.method = parser.get_method()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode().lower()] = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


def test_place_order_vector_t4_exact_bytes() -> None:
    raw = vector_builder().request("POST", "/api/v1/futures/trade/place_order", T4_BODY)
    assert raw == (
        b"POST /api/v1/futures/trade/place_order HTTP/1.1\r\n"
        b"Host: 127.0.0.1:8080\r\n"
        b"User-Agent: bitunix-bot\r\n"
        b"Accept: application/json\r\n"
        b"Content-Type: application/json\r\n"
        b"language: en-US\r\n"
        b"api-key: testApiKey\r\n"
        b"nonce: 0f8e2a4c6b1d3e5f7a9c0b2d4e6f8a1c\r\n"
        b"timestamp: 1700000000000\r\n"
        b"sign: 132304eb2b9bd5a6a5e7f7e189a57ab3227fe8a41fd6a7fe8395461b1f35f95d\r\n"
        b"Content-Length: 158\r\n"
        b"\r\n" + T4_BODY)


def test_pending_orders_vector_t3_query_signed_sorted() -> None:
    raw = vector_builder().request("GET", "/api/v1/futures/trade/get_pending_orders",
                                   params={"symbol": "BTCUSDT", "limit": 10, "skip": 0})
    parsed = Parsed(raw)
    assert parsed.complete
    assert parsed.url == b"/api/v1/futures/trade/get_pending_orders?symbol=BTCUSDT&limit=10&skip=0"
    assert parsed.headers["sign"] == ("0be268249a3a8bec6bcc36ce00d4b80f"
                                      "b02f15a09cae856063b20646e48674fb")
    assert "content-length" not in parsed.headers  # a GET has no body
    assert parsed.body == b""


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_params = st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=8),
                          st.one_of(st.text(string.ascii_letters + string.digits + ",.-",
                                            max_size=10),
                                    st.integers(-10**6, 10**6), st.booleans(), st.none()),
                          max_size=4)


@settings(max_examples=150, deadline=None)
@given(body=_text, params=_params, ts=st.integers(0, 2**45), method=st.sampled_from(
    ["GET", "POST"]))
def test_signature_agrees_with_the_reference_signer(body: str, params: dict[str, object],
                                                    ts: int, method: str) -> None:
    nonces = NoncePool(batch=2)
    build = SignedRequestBuilder(Credentials("k-ey", "s3cr€t"), "venue.test",
                                 lambda: ts, nonce=nonces)
    raw_body = body.encode() if method == "POST" else b""
    parsed = Parsed(build.request(method, "/api/v1/futures/x", raw_body, params))
    assert parsed.complete
    h = parsed.headers
    assert (parsed.method.decode(), h["host"], h["api-key"], h["timestamp"]) == (
        method, "venue.test", "k-ey", str(ts))
    assert parsed.body == raw_body
    assert h["sign"] == sign("k-ey", "s3cr€t", h["nonce"], str(ts), params, body
                             if method == "POST" else "")


def test_every_request_gets_a_fresh_nonce_and_timestamp() -> None:
    clock = ManualClock(1_700_000_000_000_000_000)

    class Rest:
        clock_offset_ms = 0

    rest = Rest()
    build = SignedRequestBuilder(Credentials("key", "secret"), "h", server_timestamp_ms(
        rest, clock))
    first = Parsed(build.request("POST", "/p", b"{}")).headers
    rest.clock_offset_ms = 1500
    clock.advance_ns(2_000_000)
    second = Parsed(build.request("POST", "/p", b"{}")).headers
    assert first["timestamp"] == "1700000000000"
    assert second["timestamp"] == "1700000001502"  # +2 ms, +1500 ms of offset
    assert first["nonce"] != second["nonce"]
    assert first["sign"] != second["sign"]


def test_nonce_pool_draws_unique_hex_nonces_in_batches() -> None:
    pool = NoncePool(batch=3)
    nonces = [pool() for _ in range(1000)]
    assert len(set(nonces)) == 1000
    assert all(len(n) == 32 and set(n.decode()) <= set("0123456789abcdef") for n in nonces)
    with pytest.raises(ValueError, match="batch"):
        NoncePool(batch=0)


def test_encode_request_frames_an_unsigned_request() -> None:
    get = encode_request("GET", "/a", "h:1", {"X-A": "1"}, params={"q": "a b", "n": None})
    assert get == b"GET /a?q=a%20b HTTP/1.1\r\nHost: h:1\r\nX-A: 1\r\n\r\n"
    post = encode_request("POST", "/b", "h", {}, body=b"xyz")
    assert post == b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
    assert encode_request("DELETE", "/c", "h", {}).endswith(b"Content-Length: 0\r\n\r\n")


@pytest.mark.parametrize(("call", "message"), [
    (lambda: encode_request("BREW", "/", "h", {}), "method"),
    (lambda: encode_request("GET", "/", "h\r\nX: y", {}), "host"),
    (lambda: encode_request("GET", "/", "h", {"X": "a\r\nInjected: 1"}), "header 'X'"),
    (lambda: encode_request("GET", "/", "h", {"X\n": "a"}), "header"),
    (lambda: encode_request("GET", "a", "h", {}), "path"),
    (lambda: encode_request("GET", "/a?b=1", "h", {}), "path"),
    (lambda: encode_request("GET", "/é", "h", {}), "path"),
    (lambda: vector_builder().request("PATCH", "/p"), "method"),
    (lambda: vector_builder().request("GET", "/p q"), "path"),
    (lambda: SignedRequestBuilder(Credentials("k", "s\nx"), "h", lambda: 0), "secret"),
    (lambda: SignedRequestBuilder(Credentials("k\r", "s"), "h", lambda: 0), "api key"),
    (lambda: SignedRequestBuilder(Credentials("k", "s"), "", lambda: 0), "host"),
])
def test_what_would_break_the_framing_is_refused(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        call()
    assert "s\nx" not in str(refused.value)


def test_repr_hides_the_secret_and_most_of_the_key() -> None:
    build = SignedRequestBuilder(Credentials("ABCDEFGHIJ", "TOPSECRET"), "h", lambda: 0)
    assert repr(build) == "SignedRequestBuilder(host='h', api_key='ABCD***')"
    assert build.host == "h"


def test_extra_headers_are_sent() -> None:
    parsed = Parsed(vector_builder(extra_headers={"X-Trace": "1"}).request("POST", "/p"))
    assert parsed.headers["x-trace"] == "1"
    assert parsed.headers["content-length"] == "0"


def test_module_example() -> None:
    assert doctest.testmod(request_bytes, extraglobs={"Credentials": Credentials}).failed == 0


def test_server_timestamp_defaults_to_the_wall_clock() -> None:
    class Rest:
        clock_offset_ms = -3_600_000

    stamp = server_timestamp_ms(Rest())
    expected = time.time_ns() // 1_000_000 - 3_600_000
    assert abs(stamp() - expected) < 5_000
