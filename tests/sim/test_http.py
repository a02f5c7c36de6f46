"""The simulator's HTTP edge: requests that never reach an endpoint still get the venue's
``{"code", "msg", "data": null}`` envelope (spec 1.2), with no traceback in the log."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bitunix.sim.http import MAX_BODY_BYTES
from bitunix.sim.server import SimServer

from .conftest import Client, stepped_server

P = "/api/v1/futures"


async def raw_http(port: int, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send raw bytes; return the status and the JSON body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        body = await asyncio.wait_for(reader.readexactly(length), 5)
        return status, json.loads(body)
    finally:
        writer.close()


def quiet_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records that carry a traceback or say ERROR (there must be none)."""
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.fixture
async def http(caplog: pytest.LogCaptureFixture) -> AsyncIterator[tuple[SimServer, Client]]:
    caplog.set_level(logging.DEBUG)
    async with stepped_server() as server, aiohttp.ClientSession() as session:
        server.advance(10)
        yield server, Client(session, server.rest_url)
    assert quiet_log(caplog) == []


@pytest.mark.parametrize("request_bytes", [
    b"\x00\x01\x02 / HTTP/1.1\r\n\r\n",                                    # not HTTP
    b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 9000 + b"\r\n\r\n",  # header line
    b"GET /x HTTP/9.9\r\nHost: x\r\n\r\n",                                 # bad version
    b"POST /api/v1/futures/trade/place_order HTTP/1.1\r\nHost: x\r\n"
    b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",               # two lengths
])
async def test_a_request_that_is_not_http_gets_an_envelope(
        http: tuple[SimServer, Client], request_bytes: bytes) -> None:
    """aiohttp answered these with a text/plain 400 and logged a traceback."""
    server, _ = http
    status, body = await raw_http(server.port, request_bytes)
    assert status == 400
    assert body["code"] == 10002
    assert body["msg"].startswith("Parameter Error")
    assert body["data"] is None


async def test_an_oversized_body_gets_10002_before_auth(http: tuple[SimServer, Client]) -> None:
    """Was a text/plain 413."""
    server, client = http
    big = json.dumps({"symbol": "BTCUSDT", "pad": "x" * (MAX_BODY_BYTES + 1)})
    async with client.session.post(server.rest_url + f"{P}/trade/place_order",
                                   data=big.encode(), headers=client.headers({}, big)) as r:
        assert r.status == 200
        answer = await r.json()
    assert (answer["code"], answer["data"]) == (10002, None)
    # chunked, with no length announced: counted as it arrives
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b"x" * 4096
    async with client.session.post(server.rest_url + f"{P}/trade/place_order",
                                   data=chunks()) as r:
        assert r.status == 200
        assert (await r.json())["code"] == 10002


async def test_a_broken_chunked_body_gets_an_envelope(http: tuple[SimServer, Client]) -> None:
    server, _ = http
    status, body = await raw_http(server.port, (
        b"POST /api/v1/futures/trade/place_order HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"))
    assert status in (200, 400)
    assert body["code"] == 10002


async def test_a_body_that_is_not_utf8_gets_10002_once_signed_and_10003_unsigned(
        http: tuple[SimServer, Client]) -> None:
    """Was HTTP 500: the body was decoded before authentication."""
    server, client = http
    raw = b'{"symbol":"BTCUSDT","side":"\xff\xfe"}'
    async with client.session.post(server.rest_url + f"{P}/trade/place_order", data=raw) as r:
        assert r.status == 200
        assert (await r.json())["code"] == 10003  # unsigned: auth answers first
    headers = client.headers({}, "")
    # sign the exact bytes: the spec hashes the body as received
    from bitunix.sim.auth import sign
    headers["sign"] = sign(client.key, client.secret, headers["nonce"], headers["timestamp"],
                           body=raw)
    async with client.session.post(server.rest_url + f"{P}/trade/place_order", data=raw,
                                   headers=headers) as r:
        assert r.status == 200
        answer = await r.json()
    assert (answer["code"], answer["data"]) == (10002, None)
    assert "UTF-8" in answer["msg"]


@pytest.mark.parametrize("text", [
    "[" * 10_000 + "]" * 10_000,
    '{"a":' * 10_000 + "1" + "}" * 10_000,
    '{"symbol":"BTCUSDT","qty":NaN}',
    '{"symbol":"BTCUSDT","qty":Infinity}',
    '{"symbol":"BTCUSDT",',
    '"just a string"',
    "[]",
    "1e999999",
])
async def test_a_malformed_json_body_gets_10002(http: tuple[SimServer, Client],
                                                text: str) -> None:
    """A 10,000-deep body was HTTP 500 (RecursionError escaped the handler)."""
    _, client = http
    headers = client.headers({}, text)
    async with client.session.post(client.base + f"{P}/trade/place_order", data=text.encode(),
                                   headers=headers) as r:
        assert r.status == 200
        answer = await r.json()
    assert (answer["code"], answer["data"]) == (10002, None)


async def test_a_plain_get_on_a_socket_path_gets_an_envelope(
        http: tuple[SimServer, Client]) -> None:
    server, client = http
    for path in ("/public/", "/private"):
        async with client.session.get(server.rest_url + path) as r:
            assert r.status == 200
            answer = await r.json()
        assert (answer["code"], answer["data"]) == (10002, None)


async def test_a_simulator_bug_is_an_http_500_envelope_and_a_logged_traceback(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one case that is HTTP 500: the simulator itself failed. It must be loud in the
    log (a bug) and still answer the envelope (a client parses it like the fault's 500)."""
    async with stepped_server() as server, aiohttp.ClientSession() as session:
        async def broken(_request: object) -> None:
            raise RuntimeError("a bug in an endpoint")

        monkeypatch.setattr(server.api, "handle", broken)
        async with session.get(server.rest_url + f"{P}/market/tickers") as r:
            assert r.status == 500
            answer = await r.json()
    assert answer == {"code": 500, "msg": "Internal Server Error", "data": None}
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None
    assert "a bug in an endpoint" in str(record.exc_info[1])
