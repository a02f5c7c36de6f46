"""Market-data throughput on one core: a busy session, every symbol subscribed.

50 symbols x (``trade`` + ``depth_book15``) pushes, pre-encoded (a seeded random walk per
symbol, one trade push and one depth push per symbol per round, 200 rounds: 20,000
frames), through:

* ``throughput/bitunix`` (in process): :class:`~bitunix.exchange.BitunixWS`'s frame
  handler (``_on_payload``: typed msgspec decode, dispatch, the depth batch) ->
  :class:`~bitunix.app.pipeline.MarketPipeline` (50 native ``FeatureEngine``) ->
  ``SignalStack.on_tick`` (OVIR-X per symbol, default guards, the rule fallback), frames
  handed over 10 to a socket read as picows does;
* ``throughput/python baseline`` (in process): ``json.loads``, dict dispatch on ``ch``,
  the pure-Python features of ``bench/tick_frames.py`` (30 s VWAP and std over a deque,
  top-5 imbalance) and the same shape of decision per depth push;
* ``drain/bitunix``: the same path behind the real picows client, fed by a picows server in
  a forked process (on the other CPU) writing all frames at once, until the last depth
  push is handled (the client's drain rate, decisions included);
* ``drain/picows count``: a bare picows listener counting frames (the transport floor);
* ``drain/aiohttp baseline``: aiohttp's WebSocket client (``websockets`` is not installed
  in the project's venv and is not a dependency) + ``json`` + the pure-Python features.

Medians are ns per message (``record``); messages/s are in ``extra_info``.

    PYTHONPATH=src python -m pytest bench/test_bench_throughput.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import pytest
import uvloop
from picows import WSListener, WSMsgType, WSTransport, ws_connect, ws_create_server

from bench.conftest import RATIOS
from bench.forked import forked_server, pin_server
from bench.market_peer import MarketPeer
from bench.tick_frames import PyFeatures, depth15_payload, trade_payload, ws_frame
from bitunix.app.pipeline import MarketPipeline
from bitunix.exchange import BitunixWS, WsConfig
from bitunix.features import FEATURE_NAMES, FeatureEngine
from bitunix.strategy import Signal, SignalConfig, SignalStack

SYMBOLS = [f"S{i:02d}USDT" for i in range(50)]
ROUNDS = 200
BATCH = 10
N = len(SYMBOLS) * 2 * ROUNDS
T0_MS = 1_767_225_600_000

RATIOS.extend([
    ("throughput: python baseline / bitunix (ns per message)",
     "throughput/python baseline", "throughput/bitunix"),
    ("drain: aiohttp+json+python / bitunix (ns per message)",
     "drain/aiohttp baseline", "drain/bitunix"),
    ("drain: bitunix / bare picows count (ns per message)",
     "drain/bitunix", "drain/picows count"),
])


def _payloads() -> list[bytes]:
    rng = random.Random(17)
    mids = {s: 100.0 + 10.0 * i for i, s in enumerate(SYMBOLS)}
    out: list[bytes] = []
    for r in range(ROUNDS):
        ts = T0_MS + 50 * r
        for s in SYMBOLS:
            mids[s] += rng.choice((-0.2, -0.1, 0.1, 0.2))
            out.append(trade_payload(s, ts, mids[s] + rng.choice((-0.05, 0.05)),
                                     rng.uniform(0.01, 2.0), rng.random() < 0.5))
            out.append(depth15_payload(s, ts, mids[s], lean=rng.uniform(-0.5, 0.5)))
    return out


PAYLOADS = _payloads()


class Counted:
    """The decisions' sink: counts signals (no orders here)."""

    def __init__(self) -> None:
        self.signals = 0

    def __call__(self, sig: Signal) -> None:
        self.signals += 1


def _pipeline() -> tuple[MarketPipeline, Counted]:
    stack = SignalStack.build(SYMBOLS, FEATURE_NAMES, SignalConfig(models_dir=None))
    sink = Counted()
    engines = {s: FeatureEngine(tick_size=0.01) for s in SYMBOLS}
    return MarketPipeline(engines, stack.on_tick, sink), sink


class PyPipeline:
    """The baseline: json dicts -> pure-Python features -> a decision per depth push."""

    def __init__(self) -> None:
        self.features = {s: PyFeatures() for s in SYMBOLS}
        self.decisions = 0
        self.signals = 0
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "trade": self.on_trade, "depth_book15": self.on_depth}

    def on_message(self, data: bytes | str) -> None:
        d = json.loads(data)
        fn = self.handlers.get(d.get("ch"))
        if fn is not None:
            fn(d)

    def on_trade(self, d: dict[str, Any]) -> None:
        f = self.features.get(d["symbol"])
        if f is None:
            return
        ts_ns = d["ts"] * 1_000_000
        for t in d["data"]:
            f.on_trade(float(t["p"]), float(t["v"]), ts_ns)

    def on_depth(self, d: dict[str, Any]) -> None:
        f = self.features.get(d["symbol"])
        if f is None:
            return
        book = d["data"]
        f.on_book(book["b"], book["a"])
        self.decisions += 1
        if f.decide():
            self.signals += 1


def _ws(handler: Any, url: str = "ws://127.0.0.1:9/") -> BitunixWS:
    return BitunixWS(handler, WsConfig(public_url=url, stale_after_s=0, ping_interval_s=3600,
                                       max_messages_per_s=1000))


# ------------------------------------------------------------------ in process

def test_bitunix_in_process(benchmark: Any, record: Callable[..., None]) -> None:
    built: list[MarketPipeline] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        pipeline, _ = _pipeline()  # the stack's build is not part of the stream
        built.append(pipeline)
        return (_ws(pipeline)._on_payload,), {}

    def run(on_payload: Callable[[bytes, bool], None]) -> None:
        for i, p in enumerate(PAYLOADS):
            on_payload(p, i % BATCH == BATCH - 1)

    benchmark.pedantic(run, setup=setup, rounds=9, iterations=1, warmup_rounds=1)
    stats = built[-1].stats
    assert stats.trade_pushes == stats.book_pushes == N // 2
    assert stats.evaluations == N // 2
    assert stats.valid_evaluations > 0
    assert not stats.errors
    record("throughput/bitunix", benchmark, N)
    benchmark.extra_info["messages_per_s"] = round(N / benchmark.stats.stats.median)


def test_python_baseline_in_process(benchmark: Any, record: Callable[..., None]) -> None:
    built: list[PyPipeline] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        built.append(PyPipeline())
        return (built[-1].on_message,), {}

    def run(on_message: Callable[[bytes], None]) -> None:
        for p in PAYLOADS:
            on_message(p)

    benchmark.pedantic(run, setup=setup, rounds=9, iterations=1, warmup_rounds=1)
    assert built[-1].decisions == N // 2
    record("throughput/python baseline", benchmark, N)
    benchmark.extra_info["messages_per_s"] = round(N / benchmark.stats.stats.median)


# ------------------------------------------------------------------ over loopback

def _serve(port_out: Connection, cmds: Connection) -> None:  # pragma: no cover - child
    blob = b"".join(ws_frame(p) for p in PAYLOADS)
    live: list[WSTransport] = []

    async def main() -> None:
        server = await ws_create_server(lambda _r: MarketPeer(live), "127.0.0.1", 0)
        port_out.send(server.sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def on_cmd() -> None:
            if cmds.recv() == "stop":
                done.set_result(None)
                return
            for t in live:
                t.underlying_transport.write(blob)

        loop.add_reader(cmds.fileno(), on_cmd)
        await done
        server.close()

    pin_server()
    uvloop.run(main())


class _Server:
    def __init__(self, port: int, cmds: Connection) -> None:
        self.port = port
        self.cmds = cmds


def _serve_with_go(go_rx: Connection, port_out: Connection,
                   cmds: Connection) -> None:  # pragma: no cover - child
    # forked_server's own pipe only says "stop" at the end; "go" and our "stop" come on
    # a pipe of ours.
    _serve(port_out, go_rx)


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    import multiprocessing
    from functools import partial

    ctx = multiprocessing.get_context("fork")
    go_rx, go_tx = ctx.Pipe(duplex=False)
    with forked_server(partial(_serve_with_go, go_rx), start_timeout_s=30) as port:
        yield _Server(port, go_tx)
        go_tx.send("stop")


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = uvloop.new_event_loop()
    asyncio.set_event_loop(lp)
    yield lp
    asyncio.set_event_loop(None)
    lp.close()


def _drain_rounds(benchmark: Any, loop: asyncio.AbstractEventLoop, server: _Server,
                  arm: Callable[[], asyncio.Future[None]]) -> None:
    async def one() -> None:
        fut = arm()
        server.cmds.send("go")
        await asyncio.wait_for(fut, 60)

    benchmark.pedantic(lambda: loop.run_until_complete(one()), rounds=5, iterations=1,
                       warmup_rounds=1)
    benchmark.extra_info["messages_per_s"] = round(N / benchmark.stats.stats.median)


class _Until:
    """Resolves its future when ``count()`` reaches the target."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.fut: asyncio.Future[None] | None = None
        self.target = 0

    def arm(self, target: int) -> asyncio.Future[None]:
        self.target = target
        self.fut = self.loop.create_future()
        return self.fut

    def check(self, n: int) -> None:
        if n >= self.target and self.fut is not None and not self.fut.done():
            self.fut.set_result(None)


def test_drain_bitunix(benchmark: Any, server: _Server, loop: asyncio.AbstractEventLoop,
                       record: Callable[..., None]) -> None:
    pipeline, _ = _pipeline()
    until = _Until(loop)
    ws = _ws(pipeline, f"ws://127.0.0.1:{server.port}/")
    # Done when the batch holding the last frame has ended (its depth pushes handled).
    pipeline.on_batch_end = lambda: until.check(ws.stats.frames)  # type: ignore[method-assign]
    ws.subscribe([(ch, s) for s in SYMBOLS for ch in ("trade", "depth_book15")])

    async def start() -> None:
        ws.start()
        await ws.wait_live(10)

    loop.run_until_complete(start())
    try:
        _drain_rounds(benchmark, loop, server, lambda: until.arm(ws.stats.frames + N))
        assert ws.stats.malformed == {}
        assert ws.stats.disconnects == 0
        assert pipeline.stats.evaluations > 0
        benchmark.extra_info["depth_skipped"] = ws.stats.depth_skipped
        benchmark.extra_info["batches"] = ws.stats.batches
    finally:
        loop.run_until_complete(ws.close())
    record("drain/bitunix", benchmark, N)


def test_drain_picows_count(benchmark: Any, server: _Server, loop: asyncio.AbstractEventLoop,
                            record: Callable[..., None]) -> None:
    until = _Until(loop)
    seen = [0]

    class Count(WSListener):
        def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
            if frame.msg_type is WSMsgType.TEXT and frame.payload_size > 64:
                seen[0] += 1
                until.check(seen[0])

    transport, _ = loop.run_until_complete(ws_connect(Count, f"ws://127.0.0.1:{server.port}/"))
    try:
        _drain_rounds(benchmark, loop, server, lambda: until.arm(seen[0] + N))
    finally:
        transport.disconnect()
        loop.run_until_complete(transport.wait_disconnected())
    record("drain/picows count", benchmark, N)


def test_drain_aiohttp_baseline(benchmark: Any, server: _Server,
                                loop: asyncio.AbstractEventLoop,
                                record: Callable[..., None]) -> None:
    py = PyPipeline()
    until = _Until(loop)
    seen = [0]

    async def reader(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT and len(msg.data) > 64:
                py.on_message(msg.data)
                seen[0] += 1
                until.check(seen[0])

    async def connect() -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse,
                                 asyncio.Task[None]]:
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(f"ws://127.0.0.1:{server.port}/",
                                      max_msg_size=1 << 20)
        return session, ws, asyncio.ensure_future(reader(ws))

    session, ws, task = loop.run_until_complete(connect())
    try:
        _drain_rounds(benchmark, loop, server, lambda: until.arm(seen[0] + N))
        assert py.decisions > 0
    finally:
        task.cancel()

        async def close() -> None:
            await ws.close()
            await session.close()

        loop.run_until_complete(close())
    record("drain/aiohttp baseline", benchmark, N)
