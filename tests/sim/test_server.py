"""The simulator's WebSocket channels (spec 5), playback, rate limits and fault injection."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import secrets
import time
import tracemalloc
import weakref
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from bitunix.data import TradeEvent
from bitunix.sim.faults import Faults
from bitunix.sim.server import SimServer

from .conftest import KEY, SECRET, START_NS, Client, flat_market, stepped_server

P = "/api/v1/futures"


async def recv(ws: aiohttp.ClientWebSocketResponse, timeout: float = 2.0) -> dict[str, Any]:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    out: dict[str, Any] = json.loads(msg.data)
    return out


async def nothing_within(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> bool:
    try:
        await ws.receive(timeout=seconds)
    except TimeoutError:
        return True
    return False


def login_frame(key: str = KEY, secret: str = SECRET, ts: int | None = None) -> dict[str, Any]:
    nonce = secrets.token_hex(16)
    ts = ts if ts is not None else int(time.time())
    digest = hashlib.sha256(f"{nonce}{ts}{key}".encode()).hexdigest()
    sign = hashlib.sha256((digest + secret).encode()).hexdigest()
    return {"op": "login", "args": [{"apiKey": key, "timestamp": ts, "nonce": nonce,
                                     "sign": sign}]}


async def test_public_socket_connect_ping_subscribe_and_pushes(sim: SimServer) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.public_ws_url) as ws:
        assert await recv(ws) == {"op": "connect", "data": {"result": True}}
        await ws.send_json({"op": "ping", "ping": 1700000000})
        pong = await recv(ws)
        assert pong["op"] == "ping"
        assert pong["pong"] == 1700000000
        assert isinstance(pong["ping"], int)
        await ws.send_json({"op": "subscribe", "args": [
            {"symbol": "BTCUSDT", "ch": "depth_book5"}, {"symbol": "btcusdt", "ch": "trade"},
            {"symbol": "BTCUSDT", "ch": "ticker"}, {"symbol": "BTCUSDT", "ch": "tickers"},
            {"symbol": "BTCUSDT", "ch": "price"}, {"symbol": "BTCUSDT", "ch": "market_kline_1min"},
            {"symbol": "BTCUSDT", "ch": "mark_kline_1min"}]})
        assert await nothing_within(ws, 0.2)  # no subscribe ack
        sim.publish()
        frames = {(f["ch"]): f for f in [await recv(ws) for _ in range(6)]}
        depth = frames["depth_book5"]
        assert depth["symbol"] == "BTCUSDT"
        assert isinstance(depth["ts"], int)
        assert depth["data"]["b"][0] == ["59999.9", "2"]
        assert depth["data"]["a"][0] == ["60000", "2"]
        assert len(depth["data"]["b"]) == 5
        assert frames["ticker"]["data"]["la"] == "60000"
        assert frames["ticker"]["data"]["s"] == "BTCUSDT"
        tickers = frames["tickers"]
        assert "symbol" not in tickers
        assert tickers["data"][0]["bd"] == "59999.9"
        price = frames["price"]["data"]
        assert price["mp"] == "59999.95"
        assert price["fr"] == "0.01"
        assert price["nft"].endswith("Z")
        assert set(frames["market_kline_1min"]["data"]) == {"o", "h", "l", "c", "b", "q"}
        assert frames["mark_kline_1min"]["data"]["c"] == "59999.95"
        sim.playback.apply(flat_market()[-1])  # a trade
        trade = await recv(ws)
        assert trade["ch"] == "trade"
        assert trade["symbol"] == "BTCUSDT"
        (item,) = trade["data"]
        assert item["p"] == "60000"
        assert item["v"] == "0.01"
        assert item["s"] == "buy"
        assert item["t"].endswith("Z")
        assert "T" in item["t"]
        await ws.send_json({"op": "unsubscribe", "args": [{"symbol": "BTCUSDT", "ch": "trade"}]})
        unsub = await recv(ws)
        assert unsub["op"] == "unsubscribe"
        assert unsub["data"] == "success"
        sim.playback.apply(flat_market()[-1])
        assert await nothing_within(ws, 0.2)


async def test_unknown_symbol_stream_cap_and_garbage(sim: SimServer) -> None:
    sim.ws_msg_per_s = None
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.public_ws_url) as ws:
        await recv(ws)
        await ws.send_str("not json")
        await ws.send_str("[1]")
        await ws.send_json({"op": "subscribe", "args": [{"symbol": "NOPE", "ch": "depth_book15"}]})
        empty = await recv(ws)
        assert empty["data"] == {"b": [["", ""]], "a": [["", ""]]}
        args = [{"symbol": f"S{i}", "ch": "trade"} for i in range(301)]
        await ws.send_json({"op": "subscribe", "args": args})
        refused = await recv(ws)
        assert refused["data"]["result"] is False
        assert refused["data"]["msg"] == "subscribe channel > 300"


async def test_message_rate_limit_disconnects() -> None:
    async with stepped_server(ws_msg_per_s=5) as sim, aiohttp.ClientSession() as s, \
            s.ws_connect(sim.public_ws_url) as ws:
        await recv(ws)
        for i in range(7):
            await ws.send_json({"op": "ping", "ping": i})
        seen = []
        while True:
            msg = await ws.receive(timeout=2)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            seen.append(json.loads(msg.data))
        assert len(seen) == 5  # the sixth frame in one second closed the socket


async def test_idle_socket_is_dropped() -> None:
    async with stepped_server(idle_timeout_s=0.3) as sim, aiohttp.ClientSession() as s, \
            s.ws_connect(sim.public_ws_url) as ws:
        await recv(ws)
        msg = await ws.receive(timeout=3)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_private_login_and_channels(sim: SimServer, client: Client) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.private_ws_url) as ws:
        await recv(ws)
        await ws.send_json({"op": "subscribe", "args": [{"ch": "order"}]})  # before login
        await ws.send_json(login_frame(secret="wrong"))
        failed = await recv(ws)
        assert failed["op"] == "login"
        assert failed["data"]["result"] is False
        await ws.send_json(login_frame(ts=int(time.time()) - 3600))
        assert (await recv(ws))["data"]["result"] is False
        await ws.send_json(login_frame())
        assert await recv(ws) == {"op": "login", "data": {"result": True}}
        await asyncio.sleep(1.0)  # stay under 5 frames per second
        await ws.send_json({"op": "subscribe", "args": [
            {"ch": "balance"}, {"ch": "position"}, {"ch": "order"}, {"ch": "tpsl"},
            {"ch": "wallet"}]})
        await asyncio.sleep(0.05)
        await client.ok("POST", f"{P}/trade/place_order", {
            "symbol": "BTCUSDT", "side": "BUY", "orderType": "LIMIT", "qty": "0.5",
            "price": "60000", "clientId": "w1", "tpPrice": "61000", "tpStopType": "MARK_PRICE"})
        frames = []
        while not await nothing_within_collect(ws, frames, 0.3):
            pass
        by_ch: dict[str, list[dict[str, Any]]] = {}
        for f in frames:
            assert set(f) == {"ch", "ts", "data"}
            by_ch.setdefault(f["ch"], []).append(f["data"])
        assert [(o["event"], o["orderStatus"]) for o in by_ch["order"]] == [
            ("CREATE", "NEW"), ("CLOSE", "FILLED")]
        closed = by_ch["order"][-1]
        assert closed["dealAmount"] == "0.5"
        assert closed["averagePrice"] == "60000"
        assert closed["reductionOnly"] is False
        assert closed["clientId"] == "w1"
        assert closed["ctime"].endswith("Z")
        assert len(closed["ctime"].split(".")[1]) == 10
        assert closed["tpPrice"] == "61000"
        assert closed["leverage"] == "20"
        assert by_ch["position"][0]["event"] == "OPEN"
        assert by_ch["position"][0]["qty"] == "0.5"
        assert by_ch["position"][0]["side"] == "LONG"
        bal = by_ch["balance"][-1]
        assert set(bal) == {"coin", "available", "frozen", "isolationFrozen", "crossFrozen",
                            "margin", "isolationMargin", "crossMargin", "expMoney"}
        assert bal["margin"] == "1500"
        (tpsl,) = by_ch["tpsl"]
        assert (tpsl["event"], tpsl["status"], tpsl["tpPrice"], tpsl["tpQty"]) == (
            "CREATE", "NEW", "61000", "0.5")
        assert "wallet" not in by_ch


async def nothing_within_collect(ws: aiohttp.ClientWebSocketResponse,
                                 into: list[dict[str, Any]], seconds: float) -> bool:
    try:
        msg = await ws.receive(timeout=seconds)
    except TimeoutError:
        return True
    into.append(json.loads(msg.data))
    return False


async def test_rest_rate_limit_answers_10006() -> None:
    async with stepped_server(rate_limits=True) as sim, aiohttp.ClientSession() as s:
        client = Client(s, sim.rest_url)
        codes = [(await client.get(f"{P}/account", {"marginCoin": "USDT"}))["code"]
                 for _ in range(12)]
        assert codes[:10] == [0] * 10
        assert codes[10:] == [10006, 10006]
        public = [(await client.get(f"{P}/market/tickers", signed=False))["code"]
                  for _ in range(11)]
        assert public[-1] == 10006


async def test_faults_reject_delay_and_partial_fill() -> None:
    faults = Faults(reject_fraction=1.0, reject_code=10006, seed=3)
    async with stepped_server(faults=faults) as sim, aiohttp.ClientSession() as s:
        sim.advance(10)
        client = Client(s, sim.rest_url)
        assert (await client.get(f"{P}/account", {"marginCoin": "USDT"}))["code"] == 10006
        faults.reject_code = 500
        async with s.get(sim.rest_url + f"{P}/market/tickers") as r:
            assert r.status == 500
        faults.reject_fraction = 0.5
        faults.reject_code = 10001
        codes = {(await client.get(f"{P}/market/tickers", signed=False))["code"]
                 for _ in range(30)}
        assert codes == {0, 10001}
        faults.clear()
        faults.delay_s = 0.2
        t0 = time.monotonic()
        await client.ok("GET", f"{P}/market/tickers")
        assert time.monotonic() - t0 >= 0.2
        faults.delay_s = 0
        faults.partial_fill_fraction = Decimal("0.5")
        placed = await client.ok("POST", f"{P}/trade/place_order", {
            "symbol": "BTCUSDT", "side": "BUY", "orderType": "LIMIT", "qty": "1",
            "price": "60000"})
        detail = await client.ok("GET", f"{P}/trade/get_order_detail",
                                 {"orderId": placed["orderId"]})
        assert (detail["status"], detail["tradeQty"]) == ("PART_FILLED", "0.5")


async def test_rest_hang_times_out_a_client() -> None:
    async with stepped_server() as sim, aiohttp.ClientSession() as s:
        sim.faults.rest_hang = True
        with pytest.raises(TimeoutError):
            async with s.get(sim.rest_url + f"{P}/market/tickers",
                             timeout=aiohttp.ClientTimeout(total=0.3)):
                pass
        sim.faults.rest_hang = False
        client = Client(s, sim.rest_url)
        await client.ok("GET", f"{P}/market/tickers")


async def test_silent_drop_and_restart() -> None:
    async with stepped_server() as sim, aiohttp.ClientSession() as s:
        sim.advance(10)
        async with s.ws_connect(sim.public_ws_url) as ws:
            await recv(ws)
            await ws.send_json({"op": "subscribe", "args": [{"symbol": "BTCUSDT",
                                                             "ch": "depth_book1"}]})
            await asyncio.sleep(0.05)
            sim.faults.silent = True
            sim.publish()
            assert await nothing_within(ws, 0.2)
            await ws.send_json({"op": "ping", "ping": 5})  # control frames still answer
            assert (await recv(ws))["pong"] == 5
            sim.faults.silent = False
            sim.publish()
            assert (await recv(ws))["ch"] == "depth_book1"
            await sim.drop_sockets()
            msg = await ws.receive(timeout=2)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.ERROR)
        port = sim.port
        client = Client(s, sim.rest_url)
        await client.ok("POST", f"{P}/trade/place_order", {
            "symbol": "BTCUSDT", "side": "BUY", "orderType": "MARKET", "qty": "0.1"})
        await sim.restart(down_s=0.05)
        assert sim.port == port
        positions = await client.ok("GET", f"{P}/position/get_pending_positions")
        assert positions[0]["qty"] == "0.1"  # state survives a restart


async def test_paced_playback_and_timer_pushes() -> None:
    events = flat_market(n_books=50)
    async with SimServer(source=lambda: iter(events), speed=1e6, push_interval_s=0.05,
                         loop_data=False) as sim, aiohttp.ClientSession() as s, \
            s.ws_connect(sim.public_ws_url) as ws:
        await recv(ws)
        await ws.send_json({"op": "subscribe", "args": [{"symbol": "BTCUSDT",
                                                         "ch": "depth_book1"}]})
        pushed = await recv(ws)
        assert pushed["ch"] == "depth_book1"
        for _ in range(100):
            if sim.playback.applied == len(events):
                break
            await asyncio.sleep(0.01)
        assert sim.playback.applied == len(events)
        assert sim.rest_url.startswith("http://127.0.0.1:")
        assert sim.private_ws_url.endswith("/private/")


async def test_default_source_is_the_bundled_capture() -> None:
    sim = SimServer(speed=0, push_interval_s=None)
    assert sim.advance(50) == 50
    mkt = sim.engine.markets["BTCUSDT"]
    assert mkt.last is not None
    assert Decimal("50000") < mkt.last < Decimal("70000")


async def test_timestamps_are_checked_against_the_injected_wall_clock() -> None:
    from bitunix.core.clock import ManualClock

    wall = ManualClock(1_700_000_000_000_000_000)
    async with stepped_server(wall_clock=wall) as sim, aiohttp.ClientSession() as s:
        client = Client(s, sim.rest_url)
        ok = await client.get(f"{P}/account", {"marginCoin": "USDT"}, ts_ms=1_700_000_000_000)
        assert ok["code"] == 0
        now = await client.get(f"{P}/account", {"marginCoin": "USDT"})  # the real time
        assert now["code"] == 10007


async def test_a_recording_of_the_sims_pushes_replays_the_same_market(tmp_path: Any) -> None:
    from bitunix.data import BookEvent, TradeEvent
    from bitunix.data.recording import RecordingWriter
    from bitunix.sim.market import source_for

    trades = [TradeEvent(ts_ns=i, symbol="BTCUSDT", price=f"{60000 + i}.5", qty="0.002",
                         is_buy=i % 3 == 0) for i in range(1, 6)]
    path = tmp_path / "sim.txt"
    async with stepped_server(flat_market() + trades) as sim, aiohttp.ClientSession() as s, \
            s.ws_connect(sim.public_ws_url) as ws:
        await recv(ws)
        await ws.send_json({"op": "subscribe", "args": [
            {"symbol": "BTCUSDT", "ch": "trade"}, {"symbol": "BTCUSDT", "ch": "depth_book15"}]})
        await asyncio.sleep(0.05)
        sim.advance(4)  # the books and the first trade of flat_market
        sim.publish()
        sim.advance(10)
        with RecordingWriter(path) as writer:
            for _ in range(1 + 1 + len(trades)):
                msg = await ws.receive(timeout=2)
                writer.write(time.time_ns(), msg.data)
    replayed = list(source_for(path)())
    got = [(e.price, e.qty, e.is_buy) for e in replayed if isinstance(e, TradeEvent)]
    assert got == [("60000", "0.01", True)] + [(t.price, t.qty, t.is_buy) for t in trades]
    (book,) = [e for e in replayed if isinstance(e, BookEvent)]
    assert book.bids[0] == ("59999.9", "2")
    assert len(book.asks) == 5


async def test_a_client_that_does_not_read_is_cut_off() -> None:
    async with stepped_server(ws_queue_limit=20) as sim, aiohttp.ClientSession() as s, \
            s.ws_connect(sim.public_ws_url) as ws:
        await recv(ws)
        await ws.send_json({"op": "subscribe", "args": [{"symbol": "BTCUSDT", "ch": "trade"}]})
        await asyncio.sleep(0.05)
        for event in flat_market() * 40:  # 40 trades, queued faster than the writer runs
            sim.playback.apply(event)
        (session,) = sim.sessions
        assert session.overflowed
        kinds = set()
        for _ in range(50):
            msg = await ws.receive(timeout=2)
            kinds.add(msg.type)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
        assert kinds & {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                        aiohttp.WSMsgType.ERROR}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"host": "0.0.0.0"}, "loopback"),
    ({"speed": -1.0}, "speed"),
])
def test_refuses_to_face_a_network_or_run_backwards(kwargs: dict[str, Any], message: str) -> None:
    from bitunix.core.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        SimServer(**kwargs)


async def test_playback_can_wait_for_the_first_subscriber() -> None:
    trades = [TradeEvent(ts_ns=START_NS + i, symbol="BTCUSDT", price="60000", qty="0.001",
                         is_buy=True) for i in range(50)]
    async with SimServer(source=lambda: iter(trades), speed=1e9, push_interval_s=None,
                         loop_data=False, wait_for_subscriber=True) as sim, \
            aiohttp.ClientSession() as s:
        await asyncio.sleep(0.1)
        assert sim.playback.applied == 0  # nobody listens yet: the market waits
        async with s.ws_connect(sim.public_ws_url) as ws:
            await recv(ws)
            await ws.send_json({"op": "subscribe", "args": [{"symbol": "BTCUSDT",
                                                             "ch": "trade"}]})
            got = [await recv(ws) for _ in range(50)]
        assert all(f["ch"] == "trade" for f in got)
        assert sim.playback.applied == 50


async def test_no_depth_push_before_the_first_book() -> None:
    trade = TradeEvent(ts_ns=START_NS, symbol="BTCUSDT", price="60000", qty="0.01", is_buy=True)
    async with stepped_server([trade, *flat_market()]) as sim, aiohttp.ClientSession() as s, \
            s.ws_connect(sim.public_ws_url) as ws:
        await recv(ws)
        await ws.send_json({"op": "subscribe", "args": [
            {"symbol": "BTCUSDT", "ch": "depth_book15"}]})
        await asyncio.sleep(0.05)
        sim.advance(1)  # a trade, no book yet
        sim.publish()
        assert await nothing_within(ws, 0.3)
        sim.advance(1)  # the first book
        sim.publish()
        push = await recv(ws)
        assert push["ch"] == "depth_book15"
        assert push["data"]["b"]
        assert push["data"]["a"]


# ---------------------------------------------------------------------- drops look like drops
async def raw_socket(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket opened by hand, to see exactly which bytes the server sends."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n".encode())
    await writer.drain()
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    return reader, writer


def client_frame(text: str) -> bytes:
    """A masked text frame (all-zero mask: the payload goes as is)."""
    data = text.encode()
    assert len(data) < 126
    return bytes([0x81, 0x80 | len(data)]) + b"\0\0\0\0" + data


async def opcodes_until_eof(reader: asyncio.StreamReader) -> list[int]:
    """Opcodes of every frame the server sends until the TCP connection ends."""
    data = await asyncio.wait_for(reader.read(), 5)
    ops, i = [], 0
    while i < len(data):
        ops.append(data[i] & 0x0F)
        size, i = data[i + 1] & 0x7F, i + 2
        if size == 126:
            size, i = int.from_bytes(data[i:i + 2], "big"), i + 2
        elif size == 127:
            size, i = int.from_bytes(data[i:i + 8], "big"), i + 8
        i += size
    return ops


CLOSE_OPCODE = 0x8


@pytest.mark.parametrize("how", ["drop_sockets", "idle", "rate_limit", "restart"])
async def test_a_dropped_socket_ends_without_a_close_frame(how: str) -> None:
    """A drop by the venue is abnormal (1006: the TCP connection ends, no close frame), on
    the drop fault, an idle socket and a client over 5 messages a second (spec 3.3). The
    idle and rate-limit cases sent a normal close (1000)."""
    async with stepped_server(idle_timeout_s=0.3 if how == "idle" else 60.0) as sim:
        sim.advance(10)
        reader, writer = await raw_socket(sim.port, "/public/")
        try:
            if how == "rate_limit":
                for i in range(7):
                    writer.write(client_frame(f'{{"op":"ping","ping":{i}}}'))
                await writer.drain()
            else:
                writer.write(client_frame('{"op":"subscribe","args":[{"symbol":"BTCUSDT",'
                                          '"ch":"depth_book1"}]}'))
                await writer.drain()
                await asyncio.sleep(0.05)
                sim.publish()
                if how == "drop_sockets":
                    await sim.drop_sockets()
                elif how == "restart":
                    await sim.restart()
            ops = await opcodes_until_eof(reader)
        finally:
            writer.close()
    assert ops, "the connect frame at least"
    assert CLOSE_OPCODE not in ops
    if how == "rate_limit":
        assert len(ops) == 1 + 5  # connect, then the five pongs answered before the cut


async def test_a_private_login_with_a_reused_nonce_is_refused(sim: SimServer) -> None:
    frame = login_frame()
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(sim.private_ws_url) as ws:
            await recv(ws)
            await ws.send_json(frame)
            assert await recv(ws) == {"op": "login", "data": {"result": True}}
        async with s.ws_connect(sim.private_ws_url) as ws:
            await recv(ws)
            await ws.send_json(frame)  # the same frame, replayed on a new socket
            refused = await recv(ws)
    assert refused["data"]["result"] is False
    assert refused["data"]["code"] == 10007


# ---------------------------------------------------------------------- start/stop releases
async def _one_session(events: list[Any]) -> weakref.ref[SimServer]:
    """Start a server, use every edge once (REST, both sockets, a push), stop it."""
    sim = SimServer(source=lambda: iter(events), speed=50.0, push_interval_s=0.02,
                    api_keys={KEY: SECRET}, balance=Decimal("100000"))
    await sim.start()
    async with aiohttp.ClientSession() as s:
        client = Client(s, sim.rest_url)
        await client.get(f"{P}/market/tickers", signed=False)
        await client.post(f"{P}/trade/place_order", {
            "symbol": "BTCUSDT", "side": "BUY", "orderType": "MARKET", "qty": "0.01"})
        async with s.ws_connect(sim.public_ws_url) as pub, \
                s.ws_connect(sim.private_ws_url) as priv:
            await recv(pub)
            await recv(priv)
            await priv.send_json(login_frame())
            await pub.send_json({"op": "subscribe", "args": [
                {"symbol": "BTCUSDT", "ch": "trade"}, {"symbol": "BTCUSDT", "ch": "depth_book1"}]})
            await recv(pub)
            await recv(priv)
    await sim.stop()
    return weakref.ref(sim)


async def test_start_and_stop_release_the_server() -> None:
    """Each start/stop in one process kept the whole simulator alive (~2.2 MB here, 5.7 MB
    with the bundled data): aiohttp's module-level middleware cache held the stopped
    Application and, through its handlers, the server. Bound: after a warm-up, 20 cycles
    leave no server alive and grow traced memory by less than 1.5 MB in all."""
    events = flat_market(n_books=20)
    for _ in range(2):
        await _one_session(events)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        refs = [await _one_session(events) for _ in range(20)]
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert [r for r in refs if r() is not None] == []
    assert grown < 1_500_000, f"{grown / 1e6:.2f} MB kept by 20 start/stop cycles"
