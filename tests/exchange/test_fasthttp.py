"""The fast order transport against real servers on 127.0.0.1.

Three kinds of server: the simulator (``SimServer``, which verifies signatures and keeps
orders), the aiohttp fake venue of these tests (signatures, faults per path) and a raw
scripted server that answers byte by byte as each test tells it (split answers, chunked
bodies, a close in the middle, garbage). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import uvloop
from aiohttp import web

from bitunix.exchange import fasthttp
from bitunix.exchange.errors import ExchangeTimeoutError, TransportError
from bitunix.exchange.fasthttp import (
    BadResponseError,
    ConnectionLostError,
    FastHttpChannel,
    FastHttpError,
    HttpResponse,
    HttpResult,
    NotSentError,
    ResponseTimeoutError,
)
from bitunix.exchange.request_bytes import SignedRequestBuilder, server_timestamp_ms
from bitunix.exchange.rest import BitunixREST
from bitunix.exchange.signing import Credentials
from bitunix.model.market import BookEvent
from bitunix.sim.server import SimServer
from tests.exchange.fake_rest import API_KEY, SECRET, FakeBitunixRest, Fault, start_fake

PLACE = "/api/v1/futures/trade/place_order"
TLS = Path(__file__).parent / "data" / "tls"
WAIT_S = 5.0  # the longest any single wait in these tests may take


# ----------------------------------------------------------------------------- helpers

def order_body(client_id: str, price: str = "50000") -> bytes:
    """A LIMIT buy far below the market (it rests, never fills), encoded by msgspec."""
    return msgspec.json.encode({"symbol": "BTCUSDT", "side": "BUY", "tradeSide": "OPEN",
                                "orderType": "LIMIT", "qty": "0.01", "price": price,
                                "effect": "GTC", "clientId": client_id,
                                "reduceOnly": False})


def builder_for(channel: FastHttpChannel, key: str = API_KEY,
                secret: str = SECRET) -> SignedRequestBuilder:
    return SignedRequestBuilder(Credentials(key, secret), channel.host_header,
                                lambda: time.time_ns() // 1_000_000)


def send(channel: FastHttpChannel, request: bytes, **kw: Any
         ) -> tuple[bool, asyncio.Future[HttpResult]]:
    """Send and return (written at once?, a future of the outcome)."""
    fut: asyncio.Future[HttpResult] = asyncio.get_running_loop().create_future()

    def done(result: HttpResult) -> None:
        assert not fut.done(), "on_done called twice"
        fut.set_result(result)

    return channel.send(request, done, **kw), fut


async def outcome(fut: asyncio.Future[HttpResult]) -> HttpResult:
    return await asyncio.wait_for(fut, WAIT_S)


async def answer(channel: FastHttpChannel, request: bytes, **kw: Any) -> HttpResponse:
    """Send on the fast path and return the complete answer."""
    written, fut = send(channel, request, **kw)
    assert written
    result = await outcome(fut)
    assert isinstance(result, HttpResponse), result
    return result


async def until(cond: Callable[[], bool], what: str) -> None:
    """Wait (bounded) for a condition the channel reaches in the background."""
    for _ in range(int(WAIT_S / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def envelope(response: HttpResponse) -> dict[str, Any]:
    assert response.status == 200, response
    decoded: dict[str, Any] = json.loads(response.body)
    return decoded


# ------------------------------------------------------------------ the scripted server

Action = Callable[[asyncio.StreamWriter], Awaitable[bool]]


def reply(data: bytes, *, split: bool = False, close: bool = False) -> Action:
    """Write ``data`` (one byte per segment if ``split``), then keep or close."""

    async def act(writer: asyncio.StreamWriter) -> bool:
        if split:
            for i in range(len(data)):
                writer.write(data[i:i + 1])
                await writer.drain()
                await asyncio.sleep(0.001)  # one segment, one data_received
        else:
            writer.write(data)
            await writer.drain()
        return not close

    return act


def ok(body: bytes = b'{"code":0,"msg":"Success","data":null}', extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra
            + b"Content-Length: %d\r\n\r\n" % len(body) + body)


class Scripted:
    """A raw HTTP/1.1 server: each request it reads gets the next scripted action (an
    ``ok()`` answer when the script is empty). Counts accepted connections."""

    def __init__(self) -> None:
        self.script: list[Action] = []
        self.accepts = 0
        self.events: list[str] = []  # "open 1", "closed 1", ... in the order they happen
        self.requests: list[bytes] = []
        self.port = 0
        self.release = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def hang(self, _writer: asyncio.StreamWriter) -> bool:
        """Never answer (until the test ends)."""
        await self.release.wait()
        return False

    @staticmethod
    async def close_now(_writer: asyncio.StreamWriter) -> bool:
        return False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.accepts += 1
        number = self.accepts
        self.events.append(f"open {number}")
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append(head + await reader.readexactly(length))
                action = self.script.pop(0) if self.script else reply(ok())
                if not await action(writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.events.append(f"closed {number}")
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._writers.discard(writer)
            self._tasks.discard(task)

    async def push(self, data: bytes) -> None:
        """Write ``data`` on every open connection, asked or not."""
        for writer in list(self._writers):
            writer.write(data)
            await writer.drain()

    async def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=WAIT_S)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


@pytest.fixture
async def scripted() -> AsyncIterator[Scripted]:
    server = Scripted()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def channel_factory() -> AsyncIterator[Callable[..., FastHttpChannel]]:
    made: list[FastHttpChannel] = []

    def make(url: str, **kw: Any) -> FastHttpChannel:
        kw.setdefault("request_timeout_s", 2.0)
        kw.setdefault("connect_timeout_s", 1.0)
        kw.setdefault("reconnect_base_s", 0.01)
        kw.setdefault("reconnect_max_s", 0.1)
        made.append(FastHttpChannel(url, **kw))
        return made[-1]

    yield make
    for channel in made:
        await channel.close()


def sim_server(**kw: Any) -> SimServer:
    """A stepped simulator with one BTCUSDT book around 60000 and our key."""
    bids = [(str(60000 - 0.1 * (i + 1)), "2") for i in range(5)]
    asks = [(str(60000 + 0.1 * i), "2") for i in range(5)]
    events = [BookEvent(ts_ns=time.time_ns(), symbol="BTCUSDT", bids=bids, asks=asks)]
    return SimServer(source=lambda: iter(events), speed=0, push_interval_s=None,
                     loop_data=False, api_keys={API_KEY: SECRET},
                     balance=Decimal("100000"), **kw)


# ------------------------------------------------------------------- against the venue

async def test_order_placed_on_the_simulator(
        channel_factory: Callable[..., FastHttpChannel]) -> None:
    async with sim_server() as sim:
        sim.advance(1)
        channel = channel_factory(sim.rest_url)
        await channel.open(2)
        build = builder_for(channel)
        response = await answer(channel, build.request("POST", PLACE, order_body("fast-1")),
                                endpoint=PLACE)
        data = envelope(response)
        assert data["code"] == 0, data
        assert data["data"]["clientId"] == "fast-1"
        assert "date" in response.headers
        assert response.received_ns > response.written_ns
        (order,) = sim.engine.accounts[API_KEY].orders.values()
        assert order.client_id == "fast-1"
        # The simulator really checks: a request signed with another secret is refused.
        forged = builder_for(channel, secret="not-the-secret")
        refused = envelope(await answer(channel, forged.request("POST", PLACE,
                                                                order_body("fast-2"))))
        assert refused["code"] == 10007
        # A GET with a query, signed over the sorted parameters.
        pending = envelope(await answer(channel, build.request(
            "GET", "/api/v1/futures/trade/get_pending_orders",
            params={"symbol": "BTCUSDT", "limit": 10})))
        assert pending["code"] == 0, pending
        assert channel.stats.fast_path == 3
        assert channel.stats.connects == 2


async def test_keep_alive_one_connection_for_many_requests(
        fake: FakeBitunixRest, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(fake.url)
    await channel.open(1)
    build = builder_for(channel)
    for i in range(30):
        data = envelope(await answer(channel, build.request("POST", PLACE,
                                                            order_body(f"ka-{i}"))))
        assert (data["code"], data["data"]["clientId"]) == (0, f"ka-{i}")
    assert len({s.peer for s in fake.seen}) == 1
    assert channel.stats.connects == 1
    assert channel.stats.fast_path == 30
    assert len(fake.orders) == 30


async def test_send_writes_the_bytes_before_returning(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(1)
    (conn,) = channel._conns
    assert conn.transport is not None
    scripted.script.append(scripted.hang)
    request = builder_for(channel).request("POST", PLACE, order_body("w-1"))
    written, fut = send(channel, request)
    # Nothing left in the transport's buffer: the bytes went to the socket inside send().
    assert written
    assert conn.transport.get_write_buffer_size() == 0
    assert not fut.done()
    await until(lambda: len(scripted.requests) == 1, "the request at the server")
    assert scripted.requests[0] == request


async def test_timeout_closes_and_replaces_the_connection(
        fake: FakeBitunixRest, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(fake.url, request_timeout_s=0.2)
    await channel.open(1)
    build = builder_for(channel)
    fake.fail("/trade/place_order", Fault(delay_s=3.0))  # executes, answers late
    written, fut = send(channel, build.request("POST", PLACE, order_body("t-1")),
                        endpoint=PLACE)
    assert written
    result = await outcome(fut)
    assert isinstance(result, ResponseTimeoutError)
    assert isinstance(result, ExchangeTimeoutError)
    assert result.executed is None
    assert result.written
    assert PLACE in str(result)
    assert channel.stats.timeouts == 1
    await until(lambda: channel.idle == 1 and channel.stats.connects == 2, "a replacement")
    # The next request gets its own answer, not the late one of t-1.
    data = envelope(await answer(channel, build.request("POST", PLACE, order_body("t-2"))))
    assert data["data"]["clientId"] == "t-2"
    assert len({s.peer for s in fake.seen}) == 2
    assert set(fake.orders) == {"t-1", "t-2"}


async def test_a_per_request_timeout(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url, request_timeout_s=30.0)
    await channel.open(1)
    scripted.script.append(scripted.hang)
    _, fut = send(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout_s=0.05)
    assert isinstance(await outcome(fut), ResponseTimeoutError)


async def test_5xx_is_an_answer_and_the_connection_stays(
        fake: FakeBitunixRest, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(fake.url)
    await channel.open(1)
    build = builder_for(channel)
    fake.fail("/trade/place_order", Fault(status=503, body=b"upstream unavailable"))
    response = await answer(channel, build.request("POST", PLACE, order_body("e-1")))
    assert (response.status, response.body) == (503, b"upstream unavailable")
    assert envelope(await answer(channel, build.request(
        "POST", PLACE, order_body("e-2"))))["code"] == 0
    assert channel.stats.connects == 1


async def test_a_non_json_body_is_delivered_as_is(
        fake: FakeBitunixRest, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(fake.url)
    await channel.open(1)
    build = builder_for(channel)
    fake.fail("/trade/place_order", Fault(body=b"<html>cloudflare says no</html>"))
    response = await answer(channel, build.request("POST", PLACE, order_body("h-1")))
    assert (response.status, response.body) == (200, b"<html>cloudflare says no</html>")
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(response.body)
    assert envelope(await answer(channel, build.request(
        "POST", PLACE, order_body("h-2"))))["code"] == 0


async def test_the_request_timestamp_uses_the_rest_clock_offset(
        fake: FakeBitunixRest, rest: BitunixREST,
        channel_factory: Callable[..., FastHttpChannel]) -> None:
    # The venue's clock is 10 minutes ahead: outside its 60 s window without the offset.
    fake.clock_offset_ms = 600_000
    channel = channel_factory(fake.url)
    await channel.open(1)
    build = SignedRequestBuilder(Credentials(API_KEY, SECRET), channel.host_header,
                                 server_timestamp_ms(rest))
    assert envelope(await answer(channel, build.request(
        "POST", PLACE, order_body("c-1"))))["code"] == 10007
    fake.handlers["/market/tickers"] = lambda _seen: []
    assert await rest.tickers() == []  # the REST client learns the offset from Date
    assert abs(rest.clock_offset_ms - 600_000) < 2_000
    assert envelope(await answer(channel, build.request(
        "POST", PLACE, order_body("c-2"))))["code"] == 0


# ----------------------------------------------------------- answers, byte by byte

async def test_an_answer_split_byte_by_byte(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel],
        monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = []
    received = fasthttp._Connection.data_received

    def spy(self: fasthttp._Connection, data: bytes) -> None:
        chunks.append(data)
        received(self, data)

    monkeypatch.setattr(fasthttp._Connection, "data_received", spy)
    channel = channel_factory(scripted.url)
    await channel.open(1)
    raw = ok(b'{"code":0,"data":{"orderId":"7"}}', extra=b"Date: Tue, 01 Dec 2026 10:00:00 GMT\r\n")
    scripted.script.append(reply(raw, split=True))
    response = await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.body == b'{"code":0,"data":{"orderId":"7"}}'
    assert response.headers["date"] == "Tue, 01 Dec 2026 10:00:00 GMT"
    assert len(chunks) > 20  # really arrived in pieces
    # Still keep-alive: the next answer comes on the same connection.
    await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert scripted.accepts == 1


async def test_chunked_and_interim_answers(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(1)
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\n{\"cod\r\n9\r\ne\":0,\"x\":\r\n2\r\n1}\r\n0\r\n\r\n")
    scripted.script += [reply(chunked, split=True),
                        reply(b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"{}"))]
    first = await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (first.status, first.body) == (200, b'{"code":0,"x":1}')
    second = await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (second.status, second.body) == (200, b"{}")
    assert scripted.accepts == 1


async def test_connection_close_answer_then_a_fresh_connection(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(1)
    scripted.script.append(reply(ok(b"{}", extra=b"Connection: close\r\n"), close=True))
    response = await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.body == b"{}"
    await until(lambda: channel.idle == 1 and scripted.accepts == 2, "the replacement")
    await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


async def test_a_body_that_runs_to_the_close(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(1)
    scripted.script.append(reply(b"HTTP/1.1 200 OK\r\n\r\nno length, ends with the close",
                                 close=True))
    response = await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.body == b"no length, ends with the close"


async def test_server_closes_in_the_middle_of_the_answer(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(1)
    scripted.script.append(reply(ok(b'{"code":0,"data":{"orderId":"1"}}')[:-10],
                                 close=True))
    _, fut = send(channel, b"POST /o HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                  endpoint="/o")
    result = await outcome(fut)
    assert isinstance(result, ConnectionLostError)
    assert result.executed is None  # it was written: the venue may have placed it
    assert "in the middle of the answer" in str(result)
    await until(lambda: channel.idle == 1, "the replacement")
    assert channel.stats.connection_lost == 1


async def test_server_closes_before_answering(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(1)
    scripted.script.append(scripted.close_now)
    _, fut = send(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    result = await outcome(fut)
    assert isinstance(result, ConnectionLostError)
    assert "before any answer" in str(result)


async def test_server_closes_an_idle_connection(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(2)
    # The server answers the first request and then closes without saying so.
    scripted.script.append(reply(ok(b"{}"), close=True))
    await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await until(lambda: scripted.accepts == 3 and channel.idle == 2, "the replacement")
    for _ in range(4):
        await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert channel.stats.connection_lost == 0


async def test_an_unreadable_answer(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(1)
    scripted.script.append(reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"))
    _, fut = send(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    result = await outcome(fut)
    assert isinstance(result, BadResponseError)
    assert result.executed is None
    assert "SSH-2.0" in str(result)
    assert channel.stats.parse_errors == 1
    await until(lambda: channel.idle == 1 and scripted.accepts == 2, "the replacement")


async def test_bytes_nobody_asked_for_close_the_connection(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(1)
    await scripted.push(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
    await until(lambda: channel.stats.unsolicited == 1, "the unsolicited bytes")
    await until(lambda: channel.idle == 1 and scripted.accepts == 2, "the replacement")
    response = await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status == 200


async def test_extra_bytes_after_an_answer_close_the_connection(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(1)
    scripted.script.append(reply(ok(b"{}") + ok(b"[]")))
    response = await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.body == b"{}"
    # The second answer was never asked for: it is not kept for the next request.
    await until(lambda: channel.idle == 1 and scripted.accepts == 2, "the replacement")
    assert (await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")).body != b"[]"


# --------------------------------------------------- no idle connection, reconnects

async def test_no_idle_connection_opens_one_for_the_request(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url, max_connections=2)
    await channel.open(1)
    scripted.script += [reply(ok(b"1")), reply(ok(b"2"))]
    first_written, first = send(channel, b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
    second_written, second = send(channel, b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (first_written, second_written) == (True, False)
    results = [await outcome(first), await outcome(second)]
    assert all(isinstance(r, HttpResponse) for r in results)
    assert (channel.stats.fast_path, channel.stats.slow_path) == (1, 1)
    assert scripted.accepts == 2
    # The extra connection is closed once its answer is in: the pool stays at 1.
    await until(lambda: scripted.events[-1] == "closed 2", "the extra connection closed")
    assert (channel.connections, channel.idle) == (1, 1)


async def test_open_again_resizes_the_pool(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(3)
    assert (channel.connections, scripted.accepts) == (3, 3)
    await channel.open(1)
    assert channel.connections == 1
    await until(lambda: scripted.events.count("closed 1") + scripted.events.count("closed 2")
                + scripted.events.count("closed 3") == 2, "two closed")
    await channel.open(2)
    assert (channel.connections, channel.idle, scripted.accepts) == (2, 2, 4)


async def test_no_idle_connection_at_the_limit_fails_fast_not_sent(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url, max_connections=1)
    await channel.open(1)
    scripted.script.append(scripted.hang)
    send(channel, b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
    written, fut = send(channel, b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n", endpoint="/2")
    assert not written
    assert not fut.done()  # on_done never runs inside send()
    result = await outcome(fut)
    assert isinstance(result, NotSentError)
    assert result.executed is False
    assert not result.written
    assert "no idle connection" in str(result)
    assert channel.stats.not_sent == 1
    await until(lambda: len(scripted.requests) == 1, "the first request")
    assert len(scripted.requests) == 1  # the second one never reached the server


async def test_no_idle_connection_and_the_server_gone(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url, reconnect_base_s=0.05)
    await channel.open(1)
    await scripted.stop()
    await until(lambda: channel.connections == 0, "the drop")
    written, fut = send(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert not written
    result = await outcome(fut)
    assert isinstance(result, NotSentError)
    assert result.executed is False
    assert "could not connect" in str(result)
    assert channel.stats.connect_failures >= 1


async def test_reconnects_after_the_venue_restarts(
        channel_factory: Callable[..., FastHttpChannel]) -> None:
    async with sim_server() as sim:
        sim.advance(1)
        channel = channel_factory(sim.rest_url, reconnect_base_s=0.02)
        await channel.open(2)
        build = builder_for(channel)
        assert envelope(await answer(channel, build.request(
            "POST", PLACE, order_body("r-1"))))["code"] == 0
        await sim.restart(down_s=0.3)
        await until(lambda: channel.idle == 2, "two connections after the restart")
        assert channel.stats.connects >= 4
        data = envelope(await answer(channel, build.request("POST", PLACE,
                                                            order_body("r-2"))))
        assert (data["code"], data["data"]["clientId"]) == (0, "r-2")
        assert {o.client_id for o in sim.engine.accounts[API_KEY].orders.values()} \
            == {"r-1", "r-2"}


async def test_open_reports_what_it_could_not_open(
        channel_factory: Callable[..., FastHttpChannel]) -> None:
    # A port nobody listens on (bound, then released).
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    channel = channel_factory(f"http://127.0.0.1:{port}")
    with pytest.raises(TransportError, match="could not open 2 of 2 connections"):
        await channel.open(2)


async def test_idle_connections_are_replaced_before_the_server_drops_them(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url, max_idle_s=0.2)
    await channel.open(1)
    await until(lambda: "closed 1" in scripted.events, "a recycle")
    # Make before break: the replacement was open before the stale one was closed.
    assert scripted.events[:3] == ["open 1", "open 2", "closed 1"]
    assert channel.stats.idle_recycled == 1
    assert (channel.connections, channel.idle) == (1, 1)
    await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


async def test_a_stale_connection_taken_during_its_replacement(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel],
        monkeypatch: pytest.MonkeyPatch) -> None:
    channel = channel_factory(scripted.url, max_idle_s=0.2)
    await channel.open(1)
    connect = channel._connect
    in_flight: list[asyncio.Future[HttpResult]] = []

    async def connect_while_busy() -> Any:
        # The stale connection takes a request while its replacement is being opened.
        scripted.script.append(reply(ok(b"late"), close=False))
        in_flight.append(send(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")[1])
        return await connect()

    monkeypatch.setattr(channel, "_connect", connect_while_busy)
    await until(lambda: bool(in_flight), "the replacement attempt")
    monkeypatch.undo()
    assert (await outcome(in_flight[0])).body == b"late"  # type: ignore[union-attr]
    # Whichever of the two is idle last goes; the pool never has two, nor none.
    await until(lambda: any(e.startswith("closed") for e in scripted.events), "one closed")
    await asyncio.sleep(0.05)
    assert [e for e in scripted.events if e.startswith("closed")] in (["closed 1"],
                                                                      ["closed 2"])
    assert (channel.connections, channel.idle) == (1, 1)


async def test_a_failed_replacement_keeps_the_idle_connection(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    channel = channel_factory(scripted.url, max_idle_s=0.2)
    await channel.open(1)
    attempts: list[int] = []

    async def refused() -> Any:
        attempts.append(1)
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(channel, "_connect", refused)
    await until(lambda: len(attempts) >= 1, "a replacement attempt")
    assert (channel.connections, channel.idle) == (1, 1)
    assert "no replacement for an idle connection" in caplog.text


async def test_close_ends_every_request(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url, max_connections=2)
    await channel.open(1)
    scripted.script.append(scripted.hang)
    _, in_flight = send(channel, b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
    _, waiting = send(channel, b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")  # connecting
    await channel.close()
    lost, not_sent = await outcome(in_flight), await outcome(waiting)
    assert isinstance(lost, ConnectionLostError)
    assert lost.executed is None
    assert isinstance(not_sent, NotSentError)
    assert not_sent.executed is False
    _, after = send(channel, b"GET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(await outcome(after), NotSentError)
    assert channel.connections == 0
    with pytest.raises(TransportError, match="closed"):
        await channel.open(1)


async def test_a_failing_callback_is_reported_and_the_connection_survives(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx))
    try:
        channel = channel_factory(scripted.url)
        await channel.open(1)

        def broken(_result: HttpResult) -> None:
            raise RuntimeError("caller bug")

        channel.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", broken)
        await until(lambda: bool(reported), "the report")
    finally:
        loop.set_exception_handler(previous)
    assert isinstance(reported[0]["exception"], RuntimeError)
    assert channel.stats.callback_errors == 1
    await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert scripted.accepts == 1


async def test_on_done_may_send_again_at_once(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url, max_connections=1)
    await channel.open(1)
    second: list[asyncio.Future[HttpResult]] = []
    written: list[bool] = []

    def resend(_result: HttpResult) -> None:
        w, fut = send(channel, b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
        written.append(w)
        second.append(fut)

    channel.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", resend)
    await until(lambda: bool(second), "the first answer")
    assert written == [True]  # the connection was back in the pool
    assert isinstance(await outcome(second[0]), HttpResponse)


async def test_a_connection_that_refuses_the_write_is_skipped(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url)
    await channel.open(2)
    first = channel._idle[0]
    assert first.transport is not None

    def refuse(_data: bytes) -> None:
        raise RuntimeError("transport broke without telling")

    first.transport.write = refuse  # type: ignore[method-assign]
    response = await answer(channel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status == 200
    assert len(scripted.requests) == 1
    await until(lambda: channel.idle == 2 and scripted.accepts == 3, "the replacement")
    assert first not in channel._conns


# ---------------------------------------------------------------------------- misc

def test_constructor_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="base_url"):
        FastHttpChannel("ftp://example.com")
    with pytest.raises(ValueError, match="request_timeout_s"):
        FastHttpChannel("http://127.0.0.1:1", request_timeout_s=0)
    with pytest.raises(ValueError, match="max_connections"):
        FastHttpChannel("http://127.0.0.1:1", max_connections=0)
    channel = FastHttpChannel("https://fapi.bitunix.com/api")
    assert (channel.host_header, channel.origin) == ("fapi.bitunix.com",
                                                      "https://fapi.bitunix.com:443")
    assert FastHttpChannel("http://[::1]:8080").host_header == "[::1]:8080"
    with pytest.raises(RuntimeError, match="not open"):
        channel.send(b"GET / HTTP/1.1\r\n\r\n", lambda _r: None)


async def test_open_refuses_a_bad_count(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel]) -> None:
    channel = channel_factory(scripted.url, max_connections=2)
    with pytest.raises(ValueError, match=r"n must be 1\.\.2"):
        await channel.open(3)


def test_error_types_carry_executed() -> None:
    assert NotSentError("x").executed is False
    assert ConnectionLostError("x", written=True).executed is None
    assert isinstance(ResponseTimeoutError("x", written=True), ExchangeTimeoutError)
    assert issubclass(FastHttpError, TransportError)


async def test_secrets_never_appear_in_errors_or_logs(
        scripted: Scripted, channel_factory: Callable[..., FastHttpChannel],
        caplog: pytest.LogCaptureFixture) -> None:
    secret = "S3CRET-do-not-print-0123456789"
    key = "KEY-full-value-0123456789"
    caplog.set_level(logging.DEBUG)
    channel = channel_factory(scripted.url, request_timeout_s=0.1, max_connections=1,
                              reconnect_base_s=0.05)
    await channel.open(1)
    build = SignedRequestBuilder(Credentials(key, secret), channel.host_header,
                                 lambda: time.time_ns() // 1_000_000)
    texts = [repr(build), str(build)]
    scripted.script += [reply(b"garbage\r\n\r\n"), scripted.hang,
                        reply(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close=True)]
    results = []
    for _ in range(3):
        await until(lambda: channel.idle == 1, "an idle connection")
        request = build.request("POST", PLACE, order_body("s-1"))
        assert secret.encode() not in request
        _, fut = send(channel, request, endpoint=PLACE)
        results.append(await outcome(fut))
    await until(lambda: channel.idle == 1, "an idle connection")
    send(channel, build.request("POST", PLACE, order_body("s-2")))
    _, fut = send(channel, build.request("POST", PLACE, order_body("s-3")))
    results.append(await outcome(fut))  # not sent: the only connection is busy
    await scripted.stop()  # the reconnect loop logs its failures
    await until(lambda: channel.stats.connect_failures >= 1, "a failed reconnect")
    for bad in ({"path": "/a b"}, {"method": "BREW"}):
        try:
            build.request(**{"method": "POST", "path": PLACE, **bad})  # type: ignore[arg-type]
        except ValueError as exc:
            texts.append(str(exc))
    with pytest.raises(ValueError) as refused:
        SignedRequestBuilder(Credentials(key + "\r\nx", secret), "h", lambda: 0)
    texts.append(str(refused.value))
    assert [type(r) for r in results] == [BadResponseError, ResponseTimeoutError,
                                          ConnectionLostError, NotSentError]
    texts += [str(r) for r in results] + [repr(r) for r in results]
    texts += [r.getMessage() for r in caplog.records]
    assert any("reconnect failed" in t for t in texts)
    for text in texts:
        assert secret not in text
        assert key not in text


# ------------------------------------------------------------------- TLS and uvloop

async def _tls_server(handler: Callable[[web.Request], Awaitable[web.Response]]
                      ) -> tuple[web.AppRunner, int]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(TLS / "server.pem", TLS / "server.key")
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def test_https_with_a_verified_certificate(
        channel_factory: Callable[..., FastHttpChannel]) -> None:
    peers: set[Any] = set()

    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        peers.add(request.transport.get_extra_info("peername"))
        return web.json_response({"code": 0, "data": (await request.read()).decode()})

    runner, port = await _tls_server(handler)
    try:
        trusted = ssl.create_default_context(cafile=str(TLS / "ca.pem"))
        channel = channel_factory(f"https://localhost:{port}", ssl_context=trusted)
        await channel.open(1)
        build = builder_for(channel)
        for i in range(3):
            data = envelope(await answer(channel, build.request("POST", PLACE,
                                                                order_body(f"tls-{i}"))))
            assert json.loads(data["data"])["clientId"] == f"tls-{i}"
        assert len(peers) == 1
        # Without the test CA the certificate is refused.
        strict = channel_factory(f"https://localhost:{port}")
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            await strict.open(1)
    finally:
        await runner.cleanup()


def test_on_uvloop() -> None:
    """The bot runs on uvloop: the same order round trip and timeout there."""

    async def scenario(fake: FakeBitunixRest) -> None:
        async with FastHttpChannel(fake.url, request_timeout_s=0.2,
                                   reconnect_base_s=0.01) as channel:
            await channel.open(1)
            build = builder_for(channel)
            for i in range(5):
                data = envelope(await answer(channel, build.request("POST", PLACE,
                                                                    order_body(f"uv-{i}"))))
                assert data["code"] == 0
            fake.fail("/trade/place_order", Fault(delay_s=3.0))
            _, fut = send(channel, build.request("POST", PLACE, order_body("uv-late")))
            assert isinstance(await outcome(fut), ResponseTimeoutError)
            await until(lambda: channel.idle == 1, "the replacement")
            assert envelope(await answer(channel, build.request(
                "POST", PLACE, order_body("uv-5"))))["code"] == 0
        assert channel.connections == 0
        assert len({s.peer for s in fake.seen}) == 2

    async def main() -> None:
        fake = FakeBitunixRest()
        runner = await start_fake(fake)
        try:
            await scenario(fake)
        finally:
            fake.release.set()
            await runner.cleanup()

    uvloop.run(main())
