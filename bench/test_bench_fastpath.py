"""The fast order path: a place_order request from an order to bytes on the socket, and
its round trip, against aiohttp in the same run.

A minimal HTTP/1.1 server (uvloop, keep-alive, canned ``code 0`` answer) runs in a forked
process on 127.0.0.1 so that its work does not share the client's event loop; it stamps
each answer with ``X-Recv-Ns``, the ``time.perf_counter_ns()`` (CLOCK_MONOTONIC, one clock
for every process of the machine) at which the complete request had arrived. The client
runs on uvloop, as the bot does.

* ``fastpath/build_sign_send``: msgspec-encode the order body, sign, build the request and
  ``FastHttpChannel.send`` it: the synchronous part, from the call to ``transport.write``
  returned (the bytes are in the kernel by then);
* ``fastpath/send_prebuilt``: ``send`` alone (the transport's own share);
* ``floor/os_write``: one ``os.write`` of the same bytes on a bare keep-alive connection,
  at the same pace (the kernel's share: on loopback the write also runs the receiving
  side of TCP and wakes the server; in a VM that wake-up may cost a VM exit);
* ``fastpath/round_trip`` / ``aiohttp/round_trip``: encode, sign, send, await the answer,
  decode its JSON, through the fast channel and through an ``aiohttp`` session with the
  same body and signing; ``aiohttp/rest_place_order``: ``BitunixREST.place_order``;
* single-request p50/p99 (10,000 requests, one at a time) of call -> ``send`` returned
  (wall and thread CPU time), and of call -> complete request at the server for both
  paths. ``BENCH_NO_PIN=1`` leaves client and server unpinned (on this 2-vCPU machine the
  woken server then often runs inside the client's write: wall time >> CPU time).

    PYTHONPATH=src python -m pytest bench/test_bench_fastpath.py --benchmark-only \\
        --benchmark-columns=min,median,mean,rounds
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import msgspec
import pytest
import uvloop

from bench.conftest import RATIOS, record_percentiles
from bench.forked import forked_server, pin_server
from bitunix.exchange.config import RestConfig
from bitunix.exchange.fasthttp import FastHttpChannel, HttpResponse, HttpResult
from bitunix.exchange.request_bytes import SignedRequestBuilder
from bitunix.exchange.requests import OrderRequest
from bitunix.exchange.rest import BitunixREST
from bitunix.exchange.signing import Credentials, auth_headers, new_nonce
from bitunix.model.enums import OrderType, Side, TimeInForce, TradeSide

PLACE = "/api/v1/futures/trade/place_order"
CREDS = Credentials("bench-api-key-0123456789", "bench-secret-0123456789")
SAMPLES = 10_000

RATIOS.extend([
    ("fastpath: aiohttp round trip / fast round trip", "aiohttp/round_trip",
     "fastpath/round_trip"),
    ("fastpath: rest.place_order / fast round trip", "aiohttp/rest_place_order",
     "fastpath/round_trip"),
    ("fastpath: aiohttp round trip / fast build+sign+send", "aiohttp/round_trip",
     "fastpath/build_sign_send"),
    ("fastpath: build+sign+send / os.write floor", "fastpath/build_sign_send",
     "floor/os_write"),
    ("fastpath: send prebuilt / os.write floor", "fastpath/send_prebuilt",
     "floor/os_write"),
])


class PlaceOrderBody(msgspec.Struct, rename="camel", omit_defaults=True):
    """The place_order JSON body (spec 4.4) as the hot path would encode it."""

    symbol: str
    side: str
    order_type: str
    qty: str
    client_id: str
    reduce_only: bool
    trade_side: str | None = None
    price: str | None = None
    effect: str | None = None


_ENCODE = msgspec.json.Encoder().encode


def _body(client_id: str) -> bytes:
    return _ENCODE(PlaceOrderBody(symbol="BTCUSDT", side="BUY", order_type="LIMIT",
                                  qty="0.001", client_id=client_id, reduce_only=False,
                                  trade_side="OPEN", price="60000", effect="GTC"))


# ------------------------------------------------------------------------ the server

_ANSWER = b'{"code":0,"msg":"Success","data":{"orderId":"1","clientId":"bench"}}'
_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
         b"Date: Tue, 01 Dec 2026 10:00:00 GMT\r\nContent-Length: %d\r\n" % len(_ANSWER))


def _serve(port_out: Connection, cmds: Connection) -> None:  # pragma: no cover - child
    perf_ns = time.perf_counter_ns

    class Answer(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t: Any = transport
            self.buf = b""

        def data_received(self, data: bytes) -> None:
            now = perf_ns()
            buf = self.buf + data
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                length = 0
                for line in buf[:end].split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if len(buf) < end + 4 + length:
                    break
                buf = buf[end + 4 + length:]
                self.t.write(_HEAD + b"X-Recv-Ns: %d\r\n\r\n" % now + _ANSWER)
            self.buf = buf

    class Sink(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        answer = await loop.create_server(Answer, "127.0.0.1", 0)
        sink = await loop.create_server(Sink, "127.0.0.1", 0)
        port_out.send((answer.sockets[0].getsockname()[1], sink.sockets[0].getsockname()[1]))
        done = loop.create_future()
        loop.add_reader(cmds.fileno(), lambda: done.done() or done.set_result(None))
        await done
        for server in (answer, sink):
            server.close()
            await server.wait_closed()

    pin_server()
    uvloop.run(main())




@pytest.fixture(scope="module")
def ports() -> Iterator[tuple[int, int]]:
    with forked_server(_serve, start_timeout_s=20) as ready:
        yield ready


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = uvloop.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture(scope="module")
def fast(ports: tuple[int, int], loop: asyncio.AbstractEventLoop
         ) -> Iterator[tuple[FastHttpChannel, SignedRequestBuilder]]:
    channel = FastHttpChannel(f"http://127.0.0.1:{ports[0]}", request_timeout_s=5.0)
    loop.run_until_complete(channel.open(2))
    build = SignedRequestBuilder(CREDS, channel.host_header,
                                 lambda: time.time_ns() // 1_000_000)
    yield channel, build
    loop.run_until_complete(channel.close())


class _Pending:
    """The outcome of the last fast send, as a future the benchmark can wait on."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.fut: asyncio.Future[HttpResult] = loop.create_future()

    def arm(self) -> Callable[[HttpResult], None]:
        self.fut = self.loop.create_future()
        return self.fut.set_result

    def wait(self) -> None:
        result = self.loop.run_until_complete(asyncio.wait_for(self.fut, 5))
        assert isinstance(result, HttpResponse), result
        assert result.status == 200


_ids = itertools.count()


def _percentiles(name: str, samples_ns: list[int], benchmark: Any) -> tuple[float, float]:
    return record_percentiles(name, samples_ns, benchmark, "requests")


# ------------------------------------------------------------- the synchronous part

def test_build_sign_send(benchmark: Any, fast: tuple[FastHttpChannel, SignedRequestBuilder],
                         loop: asyncio.AbstractEventLoop, record: Callable[..., None]) -> None:
    channel, build = fast
    pending = _Pending(loop)
    pending.fut.set_result(HttpResponse(200, {}, b"", 0, 0))

    def go() -> None:
        channel.send(build.request("POST", PLACE, _body(f"b-{next(_ids)}")), pending.arm(),
                     endpoint=PLACE)

    before = channel.stats.fast_path
    benchmark.pedantic(go, setup=pending.wait, rounds=3000, warmup_rounds=100)
    pending.wait()
    assert channel.stats.fast_path - before == 3100  # never the slow path
    record("fastpath/build_sign_send", benchmark)


def test_send_prebuilt(benchmark: Any, fast: tuple[FastHttpChannel, SignedRequestBuilder],
                       loop: asyncio.AbstractEventLoop, record: Callable[..., None]) -> None:
    channel, build = fast
    pending = _Pending(loop)
    pending.fut.set_result(HttpResponse(200, {}, b"", 0, 0))
    raw = build.request("POST", PLACE, _body("prebuilt"))

    benchmark.pedantic(lambda: channel.send(raw, pending.arm()), setup=pending.wait,
                       rounds=3000, warmup_rounds=100)
    pending.wait()
    record("fastpath/send_prebuilt", benchmark)


class _RawClient(asyncio.Protocol):
    """The floor: a bare protocol whose request is one ``os.write`` on its socket."""

    def __init__(self) -> None:
        self.buf = b""
        self.fd = -1
        self.fut: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.fd = sock.fileno()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.buf.endswith(_ANSWER) and self.fut is not None:
            self.buf = b""
            self.fut.set_result(None)

    def write(self, raw: bytes, loop: asyncio.AbstractEventLoop) -> None:
        self.fut = loop.create_future()
        os.write(self.fd, raw)

    def wait(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self.fut is not None
        loop.run_until_complete(asyncio.wait_for(self.fut, 5))


@pytest.fixture(scope="module")
def raw_client(ports: tuple[int, int], loop: asyncio.AbstractEventLoop
               ) -> Iterator[_RawClient]:
    transport, client = loop.run_until_complete(
        loop.create_connection(_RawClient, "127.0.0.1", ports[0]))
    yield client
    transport.close()


def test_os_write_floor(benchmark: Any, raw_client: _RawClient, fast: Any,
                        loop: asyncio.AbstractEventLoop, record: Callable[..., None]) -> None:
    """One ``os.write`` of the same request on a keep-alive connection, at the same pace
    (the answer awaited in between): what the kernel (and here the VM) costs."""
    _, build = fast
    raw = build.request("POST", PLACE, _body("floor"))
    raw_client.write(raw, loop)
    benchmark.pedantic(lambda: raw_client.write(raw, loop),
                       setup=lambda: raw_client.wait(loop), rounds=3000, warmup_rounds=100)
    raw_client.wait(loop)
    record("floor/os_write", benchmark)


def test_send_percentiles(benchmark: Any, fast: tuple[FastHttpChannel, SignedRequestBuilder],
                          raw_client: _RawClient, loop: asyncio.AbstractEventLoop) -> None:
    """p50/p99 over 10,000 requests sent one at a time (each after the previous answer):
    call -> ``send()`` returned, wall time and this thread's CPU time (the latter leaves
    out time the thread was preempted), for build+sign+send and for ``send`` of prebuilt
    bytes, and the floor (one ``os.write`` of the same bytes); call -> ``transport.write``
    returned (``HttpResponse.written_ns``: before the timeout timer is armed); and call ->
    complete request at the server."""
    channel, build = fast
    wall_ns, cpu_ns = time.perf_counter_ns, time.thread_time_ns
    raw = build.request("POST", PLACE, _body("prebuilt"))

    async def run() -> dict[str, list[int]]:
        out: dict[str, list[int]] = {k: [] for k in (
            "build+sign+send wall", "build+sign+send cpu", "build+sign+send->written",
            "send prebuilt wall",
            "send prebuilt cpu", "os.write floor wall", "os.write floor cpu",
            "build+sign+send->at server")}
        for i in range(SAMPLES):
            fut: asyncio.Future[HttpResult] = loop.create_future()
            c0, t0 = cpu_ns(), wall_ns()
            channel.send(build.request("POST", PLACE, _body(f"p-{i}")), fut.set_result,
                         endpoint=PLACE)
            t1, c1 = wall_ns(), cpu_ns()
            out["build+sign+send wall"].append(t1 - t0)
            out["build+sign+send cpu"].append(c1 - c0)
            result = await fut
            assert isinstance(result, HttpResponse)
            out["build+sign+send->written"].append(result.written_ns - t0)
            out["build+sign+send->at server"].append(int(result.headers["x-recv-ns"]) - t0)
            fut = loop.create_future()
            c0, t0 = cpu_ns(), wall_ns()
            channel.send(raw, fut.set_result)
            t1, c1 = wall_ns(), cpu_ns()
            out["send prebuilt wall"].append(t1 - t0)
            out["send prebuilt cpu"].append(c1 - c0)
            await fut
            c0, t0 = cpu_ns(), wall_ns()
            raw_client.write(raw, loop)
            t1, c1 = wall_ns(), cpu_ns()
            out["os.write floor wall"].append(t1 - t0)
            out["os.write floor cpu"].append(c1 - c0)
            assert raw_client.fut is not None
            await raw_client.fut
        return out

    samples = benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=1,
                                 iterations=1)
    for name, values in samples.items():
        _percentiles(f"fastpath {name}", values, benchmark)


# ------------------------------------------------------------------ round trips

def test_fast_round_trip(benchmark: Any, fast: tuple[FastHttpChannel, SignedRequestBuilder],
                         loop: asyncio.AbstractEventLoop, record: Callable[..., None]) -> None:
    channel, build = fast
    decode = msgspec.json.Decoder().decode

    async def trips(n: int) -> None:
        for _ in range(n):
            fut: asyncio.Future[HttpResult] = loop.create_future()
            channel.send(build.request("POST", PLACE, _body(f"r-{next(_ids)}")),
                         fut.set_result, endpoint=PLACE)
            result = await fut
            assert isinstance(result, HttpResponse)
            assert decode(result.body)["code"] == 0

    benchmark.pedantic(lambda: loop.run_until_complete(trips(200)), rounds=15,
                       warmup_rounds=1)
    record("fastpath/round_trip", benchmark, 200)


def test_aiohttp_round_trip(benchmark: Any, ports: tuple[int, int],
                            loop: asyncio.AbstractEventLoop,
                            record: Callable[..., None]) -> None:
    url = f"http://127.0.0.1:{ports[0]}{PLACE}"
    decode = msgspec.json.Decoder().decode
    session = loop.run_until_complete(_session())
    at_server: list[int] = []

    async def trips(n: int) -> None:
        for _ in range(n):
            t0 = time.perf_counter_ns()
            body = _body(f"a-{next(_ids)}")
            headers = auth_headers(CREDS, time.time_ns() // 1_000_000, new_nonce(), None,
                                   body.decode())
            async with session.post(url, data=body, headers=headers) as resp:
                raw = await resp.read()
                at_server.append(int(resp.headers["X-Recv-Ns"]) - t0)
            assert decode(raw)["code"] == 0

    try:
        benchmark.pedantic(lambda: loop.run_until_complete(trips(200)), rounds=15,
                           warmup_rounds=1)
        _percentiles("aiohttp call->at server", at_server, benchmark)
    finally:
        loop.run_until_complete(session.close())
    record("aiohttp/round_trip", benchmark, 200)


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2))


def test_rest_place_order(benchmark: Any, ports: tuple[int, int],
                          loop: asyncio.AbstractEventLoop,
                          record: Callable[..., None]) -> None:
    cfg = RestConfig(base_url=f"http://127.0.0.1:{ports[0]}", rate_limits=False)
    rest = BitunixREST(CREDS, cfg)
    loop.run_until_complete(rest.__aenter__())

    async def trips(n: int) -> None:
        for _ in range(n):
            ack = await rest.place_order(OrderRequest(
                symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.001"),
                order_type=OrderType.LIMIT, price=Decimal("60000"),
                trade_side=TradeSide.OPEN, effect=TimeInForce.GTC,
                client_id=f"o-{next(_ids)}"))
            assert ack.order_id == "1"

    try:
        benchmark.pedantic(lambda: loop.run_until_complete(trips(200)), rounds=15,
                           warmup_rounds=1)
    finally:
        loop.run_until_complete(rest.close())
    record("aiohttp/rest_place_order", benchmark, 200)
