"""WebSocket drain throughput: trade frames decoded and dispatched per second, one core.

A picows server in a forked process writes N pre-framed ``trade`` pushes to every client
in one go; the client side (this process, uvloop) is timed until its handler has seen all
N. Three clients, same run, same server:

* ``ws/picows_count``: a bare picows listener that only counts frames (transport floor);
* ``ws/picows_orjson_dict``: picows + ``orjson.loads`` + dict dispatch on ``ch`` + float
  conversion of price/size (the usual hand-rolled client);
* ``ws/bitunix_ws``: :class:`bitunix.exchange.BitunixWS` (typed decode + handler dispatch,
  stats, batch end callbacks).

Target: ``bitunix_ws`` >= 600k frames/s. frames/s are in ``extra_info``; the summary
prints the in-run ratios.

    PYTHONPATH=src python -m pytest bench/test_bench_ws.py --benchmark-only \
        --benchmark-columns=min,median,mean,rounds
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import warnings
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

import orjson
import pytest
import uvloop
from picows import WSListener, WSMsgType, WSTransport, ws_connect, ws_create_server

from bench.conftest import RATIOS
from bench.market_peer import MarketPeer
from bitunix.exchange import WsConfig
from bitunix.exchange.ws import BitunixWS, WsHandler
from bitunix.wire import TradePush

N = 100_000
TRADE = (b'{"ch":"trade","symbol":"BTCUSDT","ts":1748803492958,"data":[{"p":"104350","s":"buy",'
         b'"t":"2025-06-01T18:44:52Z","v":"1.1536"}]}')

RATIOS.extend([
    ("ws: orjson+dict client / bitunix_ws", "ws/picows_orjson_dict", "ws/bitunix_ws"),
    ("ws: bitunix_ws / bare picows count", "ws/bitunix_ws", "ws/picows_count"),
])


def _frame(payload: bytes) -> bytes:
    n = len(payload)
    head = bytes([0x81, n]) if n < 126 else bytes([0x81, 126]) + n.to_bytes(2, "big")
    return head + payload


def _serve(port_out: Connection, cmds: Connection) -> None:  # pragma: no cover - child
    blob = _frame(TRADE) * N

    live: list[WSTransport] = []

    async def main() -> None:
        server = await ws_create_server(lambda _r: MarketPeer(live), "127.0.0.1", 0)
        port_out.send(server.sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def on_cmd() -> None:
            cmd = cmds.recv()
            if cmd == "stop":
                done.set_result(None)
                return
            for t in live:
                t.underlying_transport.write(blob)

        loop.add_reader(cmds.fileno(), on_cmd)
        await done
        server.close()

    uvloop.run(main())


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, Connection]]:
    ctx = multiprocessing.get_context("fork")
    port_rx, port_tx = ctx.Pipe(duplex=False)
    cmd_rx, cmd_tx = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_serve, args=(port_tx, cmd_rx), daemon=True)
    with warnings.catch_warnings():
        # Python >= 3.12 warns about fork() in a threaded process; the child only runs
        # its own event loop and never touches the parent's threads.
        warnings.simplefilter("ignore", DeprecationWarning)
        proc.start()
    try:
        if not port_rx.poll(20):
            raise RuntimeError("bench server did not start")
        yield port_rx.recv(), cmd_tx
    finally:
        cmd_tx.send("stop")
        proc.join(5)
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = uvloop.new_event_loop()
    yield lp
    lp.close()


class _Drain:
    """Counts to N and resolves a future; shared by the three clients."""

    def __init__(self) -> None:
        self.n = 0
        self.done: asyncio.Future[None] | None = None

    def arm(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        self.n = 0
        self.done = loop.create_future()
        return self.done

    def hit(self) -> None:
        self.n += 1
        if self.n == N and self.done is not None:
            self.done.set_result(None)


def _run_rounds(benchmark: Any, loop: asyncio.AbstractEventLoop, cmd: Connection, *,
                drain: _Drain, name: str, record: Callable[..., None]) -> None:
    async def one() -> None:
        fut = drain.arm(loop)
        cmd.send("go")
        await asyncio.wait_for(fut, 60)

    benchmark.pedantic(lambda: loop.run_until_complete(one()), rounds=5, iterations=1,
                       warmup_rounds=1)
    assert drain.n == N
    median = benchmark.stats.stats.median
    benchmark.extra_info["frames_per_s"] = round(N / median)
    record(name, benchmark, N)


def test_picows_count(benchmark: Any, server: tuple[int, Connection],
                      loop: asyncio.AbstractEventLoop, record: Callable[..., None]) -> None:
    port, cmd = server
    drain = _Drain()

    class Count(WSListener):
        def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
            if frame.msg_type is WSMsgType.TEXT and frame.payload_size > 64:
                drain.hit()

    transport, _ = loop.run_until_complete(ws_connect(Count, f"ws://127.0.0.1:{port}/"))
    try:
        _run_rounds(benchmark, loop, cmd, drain=drain, name="ws/picows_count", record=record)
    finally:
        transport.disconnect()
        loop.run_until_complete(transport.wait_disconnected())


def test_picows_orjson_dict(benchmark: Any, server: tuple[int, Connection],
                            loop: asyncio.AbstractEventLoop,
                            record: Callable[..., None]) -> None:
    port, cmd = server
    drain = _Drain()
    out: list[tuple[float, float, bool]] = []

    def on_trade(d: dict[str, Any]) -> None:
        for t in d["data"]:
            out.append((float(t["p"]), float(t["v"]), t["s"] == "buy"))
            out.clear()
        drain.hit()

    handlers = {"trade": on_trade}

    class Naive(WSListener):
        def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
            if frame.msg_type is WSMsgType.TEXT:
                d = orjson.loads(frame.get_payload_as_memoryview())
                fn = handlers.get(d.get("ch"))
                if fn is not None:
                    fn(d)

    transport, _ = loop.run_until_complete(ws_connect(Naive, f"ws://127.0.0.1:{port}/"))
    try:
        _run_rounds(benchmark, loop, cmd, drain=drain, name="ws/picows_orjson_dict", record=record)
    finally:
        transport.disconnect()
        loop.run_until_complete(transport.wait_disconnected())


def test_bitunix_ws(benchmark: Any, server: tuple[int, Connection],
                    loop: asyncio.AbstractEventLoop, record: Callable[..., None]) -> None:
    port, cmd = server
    drain = _Drain()
    out: list[tuple[float, float, bool]] = []

    class Handler(WsHandler):
        def on_trade(self, msg: TradePush) -> None:
            for t in msg.data:
                out.append((t.p, t.v, t.s == "buy"))
                out.clear()
            drain.hit()

    cfg = WsConfig(public_url=f"ws://127.0.0.1:{port}/", stale_after_s=0,
                   ping_interval_s=60, max_messages_per_s=1000)
    ws = BitunixWS(Handler(), cfg)
    ws.subscribe([("trade", "BTCUSDT")])

    async def start() -> None:
        ws.start()
        await ws.wait_live(10)

    loop.run_until_complete(start())
    try:
        _run_rounds(benchmark, loop, cmd, drain=drain, name="ws/bitunix_ws", record=record)
        assert ws.stats.malformed == {}
        assert ws.stats.disconnects == 0
        benchmark.extra_info["batches"] = ws.stats.batches
    finally:
        loop.run_until_complete(ws.close())
