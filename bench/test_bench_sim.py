"""Simulator throughput replaying a recording in process, against decoding it alone.

A recording of Bitunix-shaped pushes (``trade`` and ``depth_book15``, ``<recv_ts_ns> <json>``
lines) is written from the first 5,000 events of the bundled real BTCUSDT capture. Measured:

* "sim/decode_recording": read and convert the recording to events (the floor);
* "sim/replay_recording": the same, applied to the matching engine through ``Playback`` on a
  manual clock, with an account holding 20 resting limit orders and a position with TP/SL
  (every event matches resting orders and checks triggers);
* "sim/engine_only": pre-decoded events into the engine (no file, no JSON).

Idle events: "sim/idle_trade" (a real trade that can fill or fire nothing, fed to the
engine as strings), with the ticker figures kept ("sim/idle_trade_stats"), with 20 resting
orders far away ("sim/idle_trade_far_orders"), in the reference mode that checks everything
("sim/reference_trade"), and trades plus books through ``Playback`` as the in-process venue
runs it ("sim/venue_idle_event"), against a no-op call per event ("floor/noop_call").

The socket edge: "sim/ws_trade_push" (a trade event in, its frame received by a client)
against bare aiohttp and bare picows servers sending the same frames ("bare/ws_send",
"bare/picows_send"); "sim/rest_place_cancel" (signed place + cancel round trips) against a
bare aiohttp POST handler ("bare/rest_post").

events/s of each is in ``extra_info``; the summary prints the in-run ratios.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bench.conftest import RATIOS
from bitunix.core.clock import ManualClock
from bitunix.data import BookEvent, MarketEvent, TradeEvent, iter_capture
from bitunix.data.recording import RecordingWriter, iter_recording_events
from bitunix.sim.engine import MatchingEngine, SimOrderRequest
from bitunix.sim.market import Playback
from bitunix.sim.server import SimServer

EVENTS = 5_000

RATIOS.extend([
    ("sim/replay_recording vs decode floor", "sim/replay_recording", "sim/decode_recording"),
    ("sim/engine_only vs decode floor", "sim/engine_only", "sim/decode_recording"),
])


def _push(event: MarketEvent) -> dict[str, object]:
    if isinstance(event, TradeEvent):
        return {"ch": "trade", "symbol": event.symbol, "ts": event.ts_ns // 1_000_000,
                "data": [{"p": event.price, "v": event.qty, "s": "buy" if event.is_buy
                          else "sell", "t": "2024-08-08T23:54:15Z"}]}
    return {"ch": "depth_book15", "symbol": event.symbol, "ts": event.ts_ns // 1_000_000,
            "data": {"b": [list(lv) for lv in event.bids], "a": [list(lv) for lv in event.asks]}}


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "btcusdt.txt"
    with RecordingWriter(path) as w:
        for event in islice(iter_capture(), EVENTS):
            w.write(event.ts_ns, _push(event))
    return path


def _engine() -> tuple[MatchingEngine, ManualClock]:
    first_book = next(e for e in iter_capture() if isinstance(e, BookEvent))
    clock = ManualClock(first_book.ts_ns)
    engine = MatchingEngine(clock)
    engine.add_account("bench", Decimal("10000000"))
    engine.on_book("BTCUSDT", [[Decimal(p), Decimal(q)] for p, q in first_book.bids],
                   [[Decimal(p), Decimal(q)] for p, q in first_book.asks])
    mid = engine.markets["BTCUSDT"].mark
    assert mid is not None
    engine.place_order("bench", SimOrderRequest(symbol="BTCUSDT", side="BUY", order_type="MARKET",
                                                qty=Decimal("0.01")))
    (pos,) = engine.accounts["bench"].positions.values()
    engine.place_tpsl("bench", "BTCUSDT", pos.position_id, tp_price=(mid * 2).quantize(1),
                      sl_price=(mid / 2).quantize(1), position_level=True)
    for i in range(10):  # far from the market: checked on every event, rarely filled
        for side, k in (("BUY", -1), ("SELL", 1)):
            price = (mid * (1 + k * Decimal("0.03") * (i + 1) / 10)).quantize(Decimal("0.1"))
            engine.place_order("bench", SimOrderRequest(symbol="BTCUSDT", side=side,
                                                        order_type="LIMIT", qty=Decimal("0.001"),
                                                        price=price))
    return engine, clock


def _count(events: Iterator[MarketEvent]) -> int:
    return sum(1 for _ in events)


def test_decode_recording(benchmark, record, recording: Path) -> None:  # type: ignore[no-untyped-def]
    n = benchmark(lambda: _count(iter_recording_events(recording)))
    assert n >= EVENTS
    benchmark.extra_info["events_per_s"] = n / benchmark.stats.stats.median
    record("sim/decode_recording", benchmark, n)


def test_replay_recording(benchmark, record, recording: Path) -> None:  # type: ignore[no-untyped-def]
    def setup() -> tuple[tuple[Playback], dict[str, object]]:
        engine, clock = _engine()
        return (Playback(engine, lambda: iter_recording_events(recording), clock=clock),), {}

    n = benchmark.pedantic(lambda pb: pb.step(10**9), setup=setup, rounds=5)
    assert n >= EVENTS
    benchmark.extra_info["events_per_s"] = n / benchmark.stats.stats.median
    record("sim/replay_recording", benchmark, n)


def test_engine_only(benchmark, record, recording: Path) -> None:  # type: ignore[no-untyped-def]
    events = list(iter_recording_events(recording))

    def setup() -> tuple[tuple[Playback], dict[str, object]]:
        engine, clock = _engine()
        return (Playback(engine, lambda: iter(events), clock=clock),), {}

    n = benchmark.pedantic(lambda pb: pb.step(10**9), setup=setup, rounds=5)
    assert n == len(events)
    benchmark.extra_info["events_per_s"] = n / benchmark.stats.stats.median
    record("sim/engine_only", benchmark, n)


# ---------------------------------------------------------------------- idle events
# What an event that can fill or fire nothing costs the engine: the bundled real ETHUSDT
# trades fed as the venue's strings (``on_trade_text``, the path ``Playback.apply`` and
# the in-process venue take), against a Python call per event doing nothing (the floor)
# and against the engine's own reference mode (``fast_path=False``: every event checked
# against every resting order, trigger and position), all in the same run.
IDLE_SYMBOL = "ETHUSDT"

RATIOS.extend([
    ("sim/idle_trade vs a no-op call", "sim/idle_trade", "floor/noop_call"),
    ("sim/idle_trade_far_orders vs a no-op call", "sim/idle_trade_far_orders",
     "floor/noop_call"),
    ("sim/reference_trade vs sim/idle_trade", "sim/reference_trade", "sim/idle_trade"),
    ("sim/venue_idle_event vs a no-op call", "sim/venue_idle_event", "floor/noop_call"),
])


@pytest.fixture(scope="module")
def eth_events() -> list[MarketEvent]:
    from bitunix.data import bundled_capture

    return list(iter_capture(bundled_capture(IDLE_SYMBOL)))


def _idle_engine(events: list[MarketEvent], *, far_orders: bool = False,
                 **options: Any) -> tuple[MatchingEngine, ManualClock]:
    clock = ManualClock(events[0].ts_ns)
    engine = MatchingEngine(clock, **options)
    engine.add_account("bench", Decimal("10000000"))
    if far_orders:  # 10 buys 3-30 % below and 10 sells 3-30 % above: never reached
        book = next(e for e in events if isinstance(e, BookEvent))
        engine.on_book_text(IDLE_SYMBOL, book.bids, book.asks)
        mid = engine.markets[IDLE_SYMBOL].mark
        assert mid is not None
        for i in range(1, 11):
            for side, k in (("BUY", -1), ("SELL", 1)):
                price = (mid * (1 + k * Decimal("0.03") * i)).quantize(Decimal("0.01"))
                engine.place_order("bench", SimOrderRequest(
                    symbol=IDLE_SYMBOL, side=side, order_type="LIMIT", qty=Decimal("0.01"),
                    price=price))
    return engine, clock


def _feed_trades(engine: MatchingEngine, clock: ManualClock,
                 trades: list[TradeEvent]) -> int:
    on_trade, set_ns = engine.on_trade_text, clock.set_ns
    for t in trades:
        set_ns(t.ts_ns)
        on_trade(t.symbol, t.price, t.qty, t.is_buy)
    return len(trades)


def _trades(events: list[MarketEvent]) -> list[TradeEvent]:
    return [e for e in events if isinstance(e, TradeEvent)]


def test_noop_call_floor(benchmark, record, eth_events) -> None:  # type: ignore[no-untyped-def]
    trades = _trades(eth_events)

    def noop(symbol: str, price: str, qty: str, is_buy: bool) -> None:
        pass

    def feed(clock: ManualClock) -> int:
        set_ns = clock.set_ns
        for t in trades:
            set_ns(t.ts_ns)
            noop(t.symbol, t.price, t.qty, t.is_buy)
        return len(trades)

    n = benchmark.pedantic(feed, setup=lambda: ((ManualClock(trades[0].ts_ns),), {}),
                           rounds=5)
    record("floor/noop_call", benchmark, n)


@pytest.mark.parametrize("case", [
    ("sim/idle_trade", False, {"market_stats": False}),
    ("sim/idle_trade_stats", False, {}),
    ("sim/idle_trade_far_orders", True, {"market_stats": False}),
    ("sim/reference_trade", False, {"fast_path": False}),
], ids=lambda c: c[0])
def test_idle_trades(benchmark, record, eth_events, case) -> None:  # type: ignore[no-untyped-def]
    name, far, options = case
    trades = _trades(eth_events)

    def setup() -> tuple[tuple[MatchingEngine, ManualClock, list[TradeEvent]], dict[str, object]]:
        engine, clock = _idle_engine(eth_events, far_orders=far, **options)
        return (engine, clock, trades), {}

    n = benchmark.pedantic(_feed_trades, setup=setup, rounds=5)
    assert n == len(trades)
    benchmark.extra_info["ns_per_event"] = benchmark.stats.stats.median * 1e9 / n
    record(name, benchmark, n)


def test_venue_idle_events(benchmark, record, eth_events) -> None:  # type: ignore[no-untyped-def]
    """Trades and books through ``Playback.apply`` as the in-process venue runs it (no
    candles, no ticker figures), no order resting."""

    def setup() -> tuple[tuple[Playback], dict[str, object]]:
        engine, clock = _idle_engine(eth_events, market_stats=False)
        return (Playback(engine, lambda: iter(eth_events), clock=clock, candles=False),), {}

    n = benchmark.pedantic(lambda pb: pb.step(10**9), setup=setup, rounds=5)
    assert n == len(eth_events)
    benchmark.extra_info["ns_per_event"] = benchmark.stats.stats.median * 1e9 / n
    record("sim/venue_idle_event", benchmark, n)


# ---------------------------------------------------------------------- the socket edge
# The server side of the simulator (aiohttp REST + WebSocket) against bare aiohttp doing
# the least possible work over the same sockets, in the same run.
PUSHES = 2_000
CALLS = 200

RATIOS.extend([
    ("sim/ws_trade_push vs bare aiohttp ws send", "sim/ws_trade_push", "bare/ws_send"),
    ("sim/rest_place_cancel vs bare aiohttp POST", "sim/rest_place_cancel", "bare/rest_post"),
    ("bare aiohttp ws send vs bare picows send", "bare/ws_send", "bare/picows_send"),
])


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def _trade(i: int) -> TradeEvent:
    return TradeEvent(ts_ns=1_723_161_255_000_000_000 + i, symbol="BTCUSDT",
                      price="60000.1", qty="0.001", is_buy=bool(i % 2))


async def _drain(ws: aiohttp.ClientWebSocketResponse, n: int) -> None:
    for _ in range(n):
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.TEXT


def _run(loop: asyncio.AbstractEventLoop, coro: Callable[[], Awaitable[None]]) -> None:
    loop.run_until_complete(coro())


@pytest.fixture(scope="module")
def sim_ws(loop: asyncio.AbstractEventLoop) -> Iterator[tuple[SimServer, Any]]:
    async def start() -> tuple[SimServer, aiohttp.ClientSession, Any]:
        sim = SimServer(source=lambda: iter(()), speed=0, push_interval_s=None,
                        ws_msg_per_s=None)
        await sim.start()
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(sim.public_ws_url)
        await ws.receive(timeout=5)
        await ws.send_json({"op": "subscribe", "args": [{"symbol": "BTCUSDT", "ch": "trade"}]})
        for _ in range(100):
            if any(s.subs for s in sim.sessions):
                break
            await asyncio.sleep(0.01)
        return sim, session, ws

    sim, session, ws = loop.run_until_complete(start())
    yield sim, ws
    loop.run_until_complete(ws.close())
    loop.run_until_complete(session.close())
    loop.run_until_complete(sim.stop())


def test_ws_trade_push(benchmark, record, loop, sim_ws) -> None:  # type: ignore[no-untyped-def]
    sim, ws = sim_ws
    trades = [_trade(i) for i in range(PUSHES)]

    async def once() -> None:
        for t in trades:
            sim.playback.apply(t)
        await _drain(ws, PUSHES)

    benchmark.pedantic(lambda: _run(loop, once), rounds=5)
    benchmark.extra_info["pushes_per_s"] = PUSHES / benchmark.stats.stats.median
    record("sim/ws_trade_push", benchmark, PUSHES)


def test_bare_ws_send(benchmark, record, loop) -> None:  # type: ignore[no-untyped-def]
    frame = json.dumps({"ch": "trade", "symbol": "BTCUSDT", "ts": 1, "data": [
        {"p": "60000.1", "v": "0.001", "s": "buy", "t": "2024-08-08T23:54:15Z"}]})
    go: asyncio.Queue[int] = asyncio.Queue()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        while True:
            n = await go.get()
            if n < 0:
                return ws
            for _ in range(n):
                await ws.send_str(frame)

    async def start() -> tuple[web.AppRunner, aiohttp.ClientSession, Any]:
        app = web.Application()
        app.router.add_get("/ws", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws")
        return runner, session, ws

    runner, session, ws = loop.run_until_complete(start())

    async def once() -> None:
        go.put_nowait(PUSHES)
        await _drain(ws, PUSHES)

    try:
        benchmark.pedantic(lambda: _run(loop, once), rounds=5)
    finally:
        go.put_nowait(-1)
        loop.run_until_complete(ws.close())
        loop.run_until_complete(session.close())
        loop.run_until_complete(runner.cleanup())
    record("bare/ws_send", benchmark, PUSHES)


def _headers(path_body: str, key: str, secret: str) -> dict[str, str]:
    nonce = secrets.token_hex(16)
    ts = str(int(time.time() * 1000))
    digest = hashlib.sha256(f"{nonce}{ts}{key}{path_body}".encode()).hexdigest()
    return {"api-key": key, "nonce": nonce, "timestamp": ts,
            "sign": hashlib.sha256((digest + secret).encode()).hexdigest(),
            "Content-Type": "application/json"}


def test_rest_place_cancel(benchmark, record, loop) -> None:  # type: ignore[no-untyped-def]
    async def start() -> tuple[SimServer, aiohttp.ClientSession]:
        sim = SimServer(source=lambda: iter(()), speed=0, push_interval_s=None,
                        api_keys={"k": "s"}, balance=Decimal("1000000"))
        sim.engine.on_book("BTCUSDT", [[Decimal("59999.9"), Decimal("5")]],
                           [[Decimal("60000"), Decimal("5")]])
        await sim.start()
        return sim, aiohttp.ClientSession()

    sim, session = loop.run_until_complete(start())
    base = sim.rest_url + "/api/v1/futures/trade/"

    async def post(path: str, body: dict[str, object]) -> None:
        text = json.dumps(body, separators=(",", ":"))
        async with session.post(base + path, data=text, headers=_headers(text, "k", "s")) as r:
            answer = await r.json()
            assert answer["code"] == 0, answer

    async def once() -> None:
        for i in range(CALLS // 2):
            await post("place_order", {"symbol": "BTCUSDT", "side": "BUY", "orderType": "LIMIT",
                                       "qty": "0.001", "price": "59000", "clientId": f"c{i}"})
            await post("cancel_orders", {"symbol": "BTCUSDT", "orderList": [
                {"clientId": f"c{i}"}]})
        sim.engine.accounts["k"].client_ids.clear()

    try:
        benchmark.pedantic(lambda: _run(loop, once), rounds=5)
    finally:
        loop.run_until_complete(session.close())
        loop.run_until_complete(sim.stop())
    benchmark.extra_info["calls_per_s"] = CALLS / benchmark.stats.stats.median
    record("sim/rest_place_cancel", benchmark, CALLS)


def test_bare_rest_post(benchmark, record, loop) -> None:  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        await request.text()
        return web.json_response({"code": 0, "msg": "Success", "data": {"orderId": "1"}})

    async def start() -> tuple[web.AppRunner, aiohttp.ClientSession, str]:
        app = web.Application()
        app.router.add_post("/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner, aiohttp.ClientSession(), f"http://127.0.0.1:{port}/"

    runner, session, base = loop.run_until_complete(start())

    async def once() -> None:
        for _ in range(CALLS):
            text = '{"symbol":"BTCUSDT"}'
            async with session.post(base + "x", data=text,
                                    headers=_headers(text, "k", "s")) as r:
                assert (await r.json())["code"] == 0

    try:
        benchmark.pedantic(lambda: _run(loop, once), rounds=5)
    finally:
        loop.run_until_complete(session.close())
        loop.run_until_complete(runner.cleanup())
    record("bare/rest_post", benchmark, CALLS)


def test_bare_picows_send(benchmark, record, loop) -> None:  # type: ignore[no-untyped-def]
    """What a picows server stack would cost for the same pushes (the alternative measured
    before choosing aiohttp for the simulator's sockets)."""
    from picows import WSListener, WSMsgType, WSTransport, ws_create_server

    frame = json.dumps({"ch": "trade", "symbol": "BTCUSDT", "ts": 1, "data": [
        {"p": "60000.1", "v": "0.001", "s": "buy", "t": "2024-08-08T23:54:15Z"}]}).encode()
    transports: list[WSTransport] = []

    class Server(WSListener):  # type: ignore[misc]
        def on_ws_connected(self, transport: WSTransport) -> None:
            transports.append(transport)

    async def start() -> tuple[Any, aiohttp.ClientSession, Any]:
        server = await ws_create_server(lambda _req: Server(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(f"http://127.0.0.1:{port}/")
        for _ in range(100):
            if transports:
                break
            await asyncio.sleep(0.01)
        return server, session, ws

    server, session, ws = loop.run_until_complete(start())

    async def once() -> None:
        for _ in range(PUSHES):
            transports[0].send(WSMsgType.TEXT, frame)
        await _drain(ws, PUSHES)

    try:
        benchmark.pedantic(lambda: _run(loop, once), rounds=5)
    finally:
        loop.run_until_complete(ws.close())
        loop.run_until_complete(session.close())
        server.close()
        loop.run_until_complete(server.wait_closed())
    record("bare/picows_send", benchmark, PUSHES)
