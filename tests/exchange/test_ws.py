"""BitunixWS against a fake server on 127.0.0.1: dispatch, reconnection edge cases,
keepalive, login, subscription limits, bursts. Every wait is bounded."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest

from bitunix.core.clock import ManualClock
from bitunix.exchange.config import WsConfig
from bitunix.exchange.signing import Credentials
from bitunix.exchange.ws import BitunixWS, ConnState, WsError, WsHandler
from bitunix.wire import (
    BalancePush,
    ChannelArg,
    DepthPush,
    OrderPush,
    PositionPush,
    TpslPush,
    TradePush,
)
from tests.exchange.fake_ws import Behaviour, FakeWsServer

TRADE = (b'{"ch":"trade","symbol":"BTCUSDT","ts":1748803492958,"data":[{"p":"104350","s":"buy",'
         b'"t":"2025-06-01T18:44:52Z","v":"1.1536"}]}')
ORDER = (b'{"ch":"order","ts":1745687173160,"data":{"event":"CREATE","orderId":"11111",'
         b'"clientId":"c1","symbol":"BTCUSDT","side":"Buy","type":"Limit","qty":"0.001",'
         b'"price":"60000","orderStatus":"NEW_"}}')


def depth(ts: int, px: float = 86699.6, symbol: str = "BTCUSDT") -> bytes:
    return (f'{{"ch":"depth_book15","symbol":"{symbol}","ts":{ts},"data":{{"b":[["{px}","1"]],'
            f'"a":[["{px + 0.1:.1f}","2"]]}}}}').encode()


class Recorder(WsHandler):
    def __init__(self) -> None:
        self.trades: list[TradePush] = []
        self.depths: list[DepthPush] = []
        self.orders: list[OrderPush] = []
        self.states: list[ConnState] = []
        self.errors: list[str] = []
        self.batches = 0
        self.raise_on_trade = False

    def on_trade(self, msg: TradePush) -> None:
        self.trades.append(msg)
        if self.raise_on_trade:
            raise RuntimeError("strategy bug")

    def on_depth(self, msg: DepthPush) -> None:
        self.depths.append(msg)

    def on_order(self, msg: OrderPush) -> None:
        self.orders.append(msg)

    def on_batch_end(self) -> None:
        self.batches += 1

    def on_state(self, state: ConnState) -> None:
        self.states.append(state)

    def on_error(self, error: str) -> None:
        self.errors.append(error)


def fast_config(url: str, **kw: float | int) -> WsConfig:
    base: dict[str, float | int] = {
        "ping_interval_s": 5.0, "pong_timeout_s": 5.0, "stale_after_s": 5.0,
        "reconnect_base_s": 0.01, "reconnect_max_s": 0.05, "connect_timeout_s": 2.0,
        "login_timeout_s": 2.0, "max_messages_per_s": 1000, "connect_frame_wait_s": 1.0,
    }
    base.update(kw)
    return WsConfig(public_url=url, private_url=url.replace("/public/", "/private/"),
                    **base)  # type: ignore[arg-type]


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not cond():
            await asyncio.sleep(0.002)

    await asyncio.wait_for(poll(), timeout)


@pytest.fixture
async def server() -> AsyncIterator[FakeWsServer]:
    s = FakeWsServer()
    await s.start()
    try:
        yield s
    finally:
        if s._server is not None:
            await s.stop()


@pytest.fixture
async def client_factory() -> AsyncIterator[Callable[..., BitunixWS]]:
    made: list[BitunixWS] = []

    def make(handler: WsHandler, config: WsConfig, **kw: object) -> BitunixWS:
        c = BitunixWS(handler, config, **kw)  # type: ignore[arg-type]
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()


async def test_subscribe_and_dispatch(server: FakeWsServer,
                                      client_factory: Callable[..., BitunixWS]) -> None:
    h = Recorder()
    ws = client_factory(h, fast_config(server.url))
    ws.subscribe([("trade", "BTCUSDT"), ChannelArg("depth_book15", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    await until(lambda: len(server.live) == 1 and len(server.live[0].channels) == 2)
    assert server.live[0].channels == [{"ch": "trade", "symbol": "BTCUSDT"},
                                       {"ch": "depth_book15", "symbol": "BTCUSDT"}]
    server.push(TRADE, depth(1))
    await until(lambda: len(h.trades) == 1 and len(h.depths) == 1)
    assert h.trades[0].data[0].p == 104350.0
    assert h.depths[0].data.b[0].px == 86699.6
    assert h.batches >= 1
    assert ws.state is ConnState.LIVE
    assert h.states[:3] == [ConnState.CONNECTING, ConnState.SUBSCRIBING, ConnState.LIVE]
    ws.subscribe([("trade", "ETHUSDT")])
    await until(lambda: {"ch": "trade", "symbol": "ETHUSDT"} in server.live[0].channels)
    ws.unsubscribe([("trade", "ETHUSDT")])
    await until(lambda: len(server.ops("unsubscribe")) == 1)
    assert [a.symbol for a in ws.subscriptions] == ["BTCUSDT", "BTCUSDT"]


async def test_server_closes_mid_stream_then_resubscribes(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS]) -> None:
    h = Recorder()
    ws = client_factory(h, fast_config(server.url))
    ws.subscribe([("trade", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    await until(lambda: len(server.ops("subscribe")) == 1)
    server.push(*[TRADE] * 100)
    server.kill(graceful=True)
    await until(lambda: ws.stats.disconnects == 1)
    await ws.wait_live(5)
    await until(lambda: len(server.ops("subscribe")) == 2)
    first, second = server.ops("subscribe")
    assert first.obj == second.obj
    assert first.conn != second.conn
    assert len(h.trades) == 100  # everything sent before the close was delivered
    server.push(TRADE)
    await until(lambda: len(h.trades) == 101)
    assert ws._attempt == 0  # traffic on the new connection resets the backoff
    assert ws.stats.reconnects == 1
    assert ConnState.BACKOFF in h.states


async def test_half_open_socket_is_detected_by_missing_pong(
        client_factory: Callable[..., BitunixWS], caplog: pytest.LogCaptureFixture) -> None:
    server = FakeWsServer(Behaviour(answer_pings=False))
    await server.start()
    try:
        h = Recorder()
        ws = client_factory(h, fast_config(server.url, ping_interval_s=0.05,
                                           pong_timeout_s=0.1, stale_after_s=0))
        ws.subscribe([("trade", "BTCUSDT")])
        ws.start()
        await until(lambda: ws.stats.pong_timeouts >= 1 and len(server.conns) >= 2)
        assert ConnState.STALE in h.states
        assert "no pong within" in caplog.text
        assert ws.stats.reconnects >= 1
    finally:
        await server.stop()


async def test_stale_feed_triggers_reconnect(server: FakeWsServer,
                                             client_factory: Callable[..., BitunixWS],
                                             caplog: pytest.LogCaptureFixture) -> None:
    h = Recorder()
    ws = client_factory(h, fast_config(server.url, stale_after_s=0.5))
    ws.subscribe([("depth_book15", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    for i in range(5):  # a live feed keeps the connection
        server.push(depth(i))
        await asyncio.sleep(0.05)
    assert ws.stats.stale_disconnects == 0
    await until(lambda: ws.stats.stale_disconnects == 1)
    assert "stale feed" in caplog.text
    await ws.wait_live(5)
    await until(lambda: len(server.ops("subscribe")) == 2)


async def test_garbage_frames_are_counted_logged_once_and_dropped(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS],
        caplog: pytest.LogCaptureFixture) -> None:
    h = Recorder()
    ws = client_factory(h, fast_config(server.url))
    ws.subscribe([("trade", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    caplog.set_level(logging.WARNING, logger="bitunix.exchange.ws")
    server.push(b"\x00garbage", b"not json", b'{"ch":"nope","ts":1}', b'{"ch":"nope","ts":2}',
                b'{"ch":"trade","symbol":"BTCUSDT","ts":1,"data":[{"p":"x"}]}',
                b'{"op":"mystery"}', TRADE)
    await until(lambda: len(h.trades) == 1)
    assert ws.stats.malformed == {"?": 2, "nope": 2, "trade": 1, "mystery": 1}
    assert caplog.text.count("dropping malformed nope frame") == 1
    assert "trade BTCUSDT" in caplog.text
    assert ws.state is ConnState.LIVE
    assert ws.stats.disconnects == 0


async def test_deeply_nested_frame_is_dropped_without_a_disconnect(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS]) -> None:
    # msgspec raises RecursionError (not a DecodeError) on deep nesting; it used to escape
    # the frame callback, so picows dropped the connection instead of the frame.
    h = Recorder()
    ws = client_factory(h, fast_config(server.url))
    ws.subscribe([("trade", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    deep = b'{"ch":"trade","symbol":"BTCUSDT","ts":1,"data":' + b"[" * 5000 + b"]" * 5000 + b"}"
    server.push(deep, TRADE)
    await until(lambda: len(h.trades) == 1)
    assert ws.stats.malformed == {"?": 1}
    assert ws.stats.disconnects == 0
    assert ws.state is ConnState.LIVE


async def test_malformed_kinds_are_bounded(server: FakeWsServer,
                                           client_factory: Callable[..., BitunixWS]) -> None:
    h = Recorder()
    ws = client_factory(h, fast_config(server.url))
    ws.subscribe([("trade", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    server.push(*[f'{{"ch":"junk{i}","ts":1}}'.encode() for i in range(200)], TRADE)
    await until(lambda: len(h.trades) == 1)
    assert len(ws.stats.malformed) == 65
    assert ws.stats.malformed["other"] == 200 - 64
    assert sum(ws.stats.malformed.values()) == 200


async def test_handler_exception_does_not_kill_the_feed(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS],
        caplog: pytest.LogCaptureFixture) -> None:
    h = Recorder()
    h.raise_on_trade = True
    ws = client_factory(h, fast_config(server.url))
    ws.subscribe([("trade", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    server.push(TRADE, TRADE, TRADE)
    await until(lambda: len(h.trades) == 3)
    assert ws.stats.handler_errors == 3
    assert caplog.text.count("handler for trade failed") == 1
    assert ws.stats.disconnects == 0


async def test_private_login_rejected_then_accepted(client_factory: Callable[..., BitunixWS],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    server = FakeWsServer(Behaviour(login_results=[False, True]))
    await server.start()
    try:
        h = Recorder()
        creds = Credentials("ws-key-123456", "ws-secret-654321")
        ws = client_factory(h, fast_config(server.url), credentials=creds,
                            clock=ManualClock(1_700_000_000_000_000_000))
        ws.start()
        await ws.wait_live(5)
        logins = server.ops("login")
        assert len(logins) == 2
        assert logins[0].conn != logins[1].conn
        arg = logins[1].obj["args"][0]
        assert arg["apiKey"] == "ws-key-123456"
        assert arg["timestamp"] == 1_700_000_000  # seconds
        assert len(arg["nonce"]) == 32
        assert ws.stats.login_failures == 1
        assert h.errors == ["login rejected: Result(result=False, msg='sign error', nonce='')"]
        await until(lambda: len(server.ops("subscribe")) == 1)
        assert server.ops("subscribe")[0].obj["args"] == [
            {"ch": "balance"}, {"ch": "position"}, {"ch": "order"}, {"ch": "tpsl"}]
        server.push(ORDER)
        await until(lambda: len(h.orders) == 1)
        assert h.orders[0].items[0].price == Decimal("60000")
        assert "ws-secret-654321" not in caplog.text
        # The private socket is never declared stale for lack of data.
        assert ws.stale_after_s == 0
    finally:
        await server.stop()


async def test_login_unanswered_times_out(client_factory: Callable[..., BitunixWS]) -> None:
    server = FakeWsServer(Behaviour(answer_logins=False))
    await server.start()
    try:
        h = Recorder()
        ws = client_factory(h, fast_config(server.url, login_timeout_s=0.05),
                            credentials=Credentials("k1234", "s1234"))
        ws.start()
        await until(lambda: ws.stats.login_failures >= 2)
        assert ws.state is not ConnState.LIVE
        assert server.ops("subscribe") == []
        assert ConnState.LOGGING_IN in h.states
    finally:
        await server.stop()


async def test_server_restart(client_factory: Callable[..., BitunixWS]) -> None:
    server = FakeWsServer()
    await server.start()
    h = Recorder()
    ws = client_factory(h, fast_config(server.url))
    ws.subscribe([("trade", "BTCUSDT"), ("depth_book15", "ETHUSDT")])
    ws.start()
    await ws.wait_live(5)
    await until(lambda: len(server.ops("subscribe")) == 1)
    await server.stop()
    await until(lambda: ws.stats.connect_failures >= 2)
    assert ws.state in (ConnState.BACKOFF, ConnState.CONNECTING)
    await server.start()  # same port
    try:
        await ws.wait_live(5)
        await until(lambda: len(server.ops("subscribe")) == 2)
        assert server.ops("subscribe")[0].obj == server.ops("subscribe")[1].obj
        server.push(TRADE)
        await until(lambda: len(h.trades) == 1)
    finally:
        await server.stop()


async def test_ping_cadence(server: FakeWsServer,
                            client_factory: Callable[..., BitunixWS]) -> None:
    h = Recorder()
    ws = client_factory(h, fast_config(server.url, ping_interval_s=0.05, stale_after_s=0),
                        clock=ManualClock(1_790_126_498_000_000_000))
    ws.start()
    await ws.wait_live(5)
    await until(lambda: len(server.ops("ping")) >= 6)
    pings = server.ops("ping")
    gaps = [b.t - a.t for a, b in itertools.pairwise(pings)]
    assert min(gaps) >= 0.04
    assert pings[0].obj == {"op": "ping", "ping": 1_790_126_498}
    assert ws.stats.pongs >= 5
    assert ws.stats.pong_timeouts == 0
    assert 0 <= ws.stats.last_rtt_s < 1
    assert len(ws._timers) <= 4  # fired timers are not kept


async def test_pong_timeout_longer_than_ping_interval(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS]) -> None:
    # Pings overlap their pong deadlines; answered pings must never count as timeouts.
    h = Recorder()
    ws = client_factory(h, fast_config(server.url, ping_interval_s=0.01, pong_timeout_s=0.5,
                                       stale_after_s=0))
    ws.start()
    await ws.wait_live(5)
    await until(lambda: ws.stats.pongs >= 40)
    assert ws.stats.pong_timeouts == 0
    assert ws.stats.disconnects == 0


async def test_subscriptions_are_batched_and_rate_limited(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS]) -> None:
    h = Recorder()
    ws = client_factory(h, fast_config(server.url, max_messages_per_s=5, channels_per_frame=50))
    ws.subscribe([("trade", f"S{i}USDT") for i in range(120)])
    ws.start()
    await ws.wait_live(5)
    subs = server.ops("subscribe")
    assert [len(s.obj["args"]) for s in subs] == [50, 50, 20]
    assert len(server.live[0].channels) == 120
    # Spec 3.3: at most 5 client frames per second; the limiter keeps 4/s.
    times = [r.t for r in server.received]
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u - t < 1.0) <= 5


async def test_subscribe_in_flight_at_a_reconnect_is_not_replayed_on_the_new_socket(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS]) -> None:
    # A live subscribe() sends its frames from a background task, paced by the
    # connection's send bucket. When the socket drops half-way and a new one comes up,
    # the new connection's setup re-subscribes everything; the old task must not keep
    # sending its remaining frames on the new socket outside that socket's 5 msg/s budget.
    h = Recorder()
    ws = client_factory(h, fast_config(server.url, max_messages_per_s=5, channels_per_frame=1))
    ws.subscribe([("trade", "S0USDT")])
    ws.start()
    await ws.wait_live(5)
    ws.subscribe([("trade", f"S{i}USDT") for i in range(1, 6)])
    await until(lambda: len(server.ops("subscribe", conn=0)) >= 3)
    server.kill()
    await until(lambda: len(server.conns) == 2 and ws.state is ConnState.LIVE)
    await asyncio.sleep(1.5)  # past the old task's remaining frames at 2/s
    names = [a["symbol"] for r in server.ops("subscribe", conn=1) for a in r.obj["args"]]
    assert sorted(names) == sorted(f"S{i}USDT" for i in range(6))
    times = [r.t for r in server.received if r.conn == 1]
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u - t < 1.0) <= 5


async def test_channel_cap_and_server_refusal(server: FakeWsServer,
                                              client_factory: Callable[..., BitunixWS]) -> None:
    h = Recorder()
    ws = client_factory(h, fast_config(server.url, max_channels=300))
    with pytest.raises(WsError, match="at most 300 channels"):
        ws.subscribe([("trade", f"S{i}") for i in range(301)])
    assert ws.subscriptions == []
    server.behaviour.max_channels = 2
    ws.subscribe([("trade", f"S{i}") for i in range(3)])
    ws.start()
    await ws.wait_live(5)
    await until(lambda: ws.stats.subscribe_refusals == 1)
    assert h.errors == ["subscription refused: subscribe channel > 300"]


async def test_burst_of_100k_trades(server: FakeWsServer,
                                    client_factory: Callable[..., BitunixWS]) -> None:
    class Count(WsHandler):
        n = 0

        def on_trade(self, msg: TradePush) -> None:
            self.n += 1

    h = Count()
    ws = client_factory(h, fast_config(server.url, stale_after_s=0))
    ws.subscribe([("trade", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    server.push(*[TRADE] * 100_000)
    await until(lambda: h.n == 100_000, timeout=60)
    assert ws.stats.malformed == {}
    assert ws.stats.batches < 100_000  # frames were processed in batches
    assert ws.stats.disconnects == 0


async def test_stale_depth_snapshots_are_skipped_within_a_burst(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS]) -> None:
    h = Recorder()
    ws = client_factory(h, fast_config(server.url))
    ws.subscribe([("depth_book15", "BTCUSDT"), ("depth_book15", "ETHUSDT")])
    ws.start()
    await ws.wait_live(5)
    frames = []
    for i in range(1, 2001):
        frames.append(depth(i, symbol="BTCUSDT" if i % 2 else "ETHUSDT"))
    server.push(*frames)
    await until(lambda: max((d.ts for d in h.depths), default=0) >= 1999 and any(
        d.ts == 2000 for d in h.depths))
    assert len(h.depths) + ws.stats.depth_skipped == 2000
    assert ws.stats.depth_skipped > 0
    for sym in ("BTCUSDT", "ETHUSDT"):
        seq = [d.ts for d in h.depths if d.symbol == sym]
        assert seq == sorted(seq)  # never older after newer


async def test_close_is_final(server: FakeWsServer) -> None:
    h = Recorder()
    ws = BitunixWS(h, fast_config(server.url))
    ws.subscribe([("trade", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    await ws.close()
    assert ws.state is ConnState.CLOSED
    await asyncio.sleep(0.05)
    assert ws.stats.reconnects == 0
    assert len(server.conns) == 1



def test_runs_on_uvloop() -> None:
    """The same client on uvloop: subscribe, receive, survive a server-side close."""
    import uvloop

    async def scenario() -> tuple[int, int]:
        server = FakeWsServer()
        await server.start()
        h = Recorder()
        ws = BitunixWS(h, fast_config(server.url))
        try:
            ws.subscribe([("trade", "BTCUSDT")])
            ws.start()
            await ws.wait_live(5)
            await until(lambda: len(server.ops("subscribe")) == 1)
            server.push(*[TRADE] * 1000)
            await until(lambda: len(h.trades) == 1000)
            server.kill()
            await until(lambda: len(server.ops("subscribe")) == 2)
            server.push(TRADE)
            await until(lambda: len(h.trades) == 1001)
            return len(h.trades), ws.stats.reconnects
        finally:
            await ws.close()
            await server.stop()

    loop_name: list[str] = []

    async def main() -> tuple[int, int]:
        loop_name.append(type(asyncio.get_running_loop()).__module__)
        return await scenario()

    assert uvloop.run(main()) == (1001, 1)
    assert loop_name == ["uvloop"]


async def test_no_connect_frame_still_subscribes(client_factory: Callable[..., BitunixWS]) -> None:
    server = FakeWsServer(Behaviour(send_connect=False))
    await server.start()
    try:
        h = Recorder()
        ws = client_factory(h, fast_config(server.url, connect_frame_wait_s=0.05))
        ws.subscribe([("trade", "BTCUSDT")])
        ws.start()
        await ws.wait_live(5)
        await until(lambda: len(server.ops("subscribe")) == 1)
    finally:
        await server.stop()


async def test_close_interrupts_backoff() -> None:
    h = Recorder()
    ws = BitunixWS(h, fast_config("ws://127.0.0.1:9/public/", reconnect_base_s=30,
                                  reconnect_max_s=30))
    ws.start()
    await until(lambda: ws.state is ConnState.BACKOFF)
    assert ws.stats.connect_failures == 1
    await asyncio.wait_for(ws.close(), 2)
    assert ws.state is ConnState.CLOSED


async def test_subscribe_while_subscribing_is_not_lost(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS]) -> None:
    h = Recorder()
    ws = client_factory(h, fast_config(server.url, max_messages_per_s=5, channels_per_frame=1))
    ws.subscribe([("trade", f"S{i}USDT") for i in range(3)])
    ws.start()
    await until(lambda: ws.state is ConnState.SUBSCRIBING)
    ws.subscribe([("trade", "LATEUSDT"), ("trade", "LATEUSDT")])
    await ws.wait_live(5)
    await until(lambda: len(server.live) == 1 and len(server.live[0].channels) == 4)
    assert server.live[0].channels[-1] == {"ch": "trade", "symbol": "LATEUSDT"}


async def test_failed_setup_is_logged_and_retried(server: FakeWsServer,
                                                  client_factory: Callable[..., BitunixWS],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    class FlakyClock:
        calls = 0

        def now_ns(self) -> int:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("clock unavailable")
            return 1_700_000_000_000_000_000

    h = Recorder()
    ws = client_factory(h, fast_config(server.url), credentials=Credentials("k1234", "s1234"),
                        clock=FlakyClock())
    ws.start()
    await ws.wait_live(5)
    assert "login/subscription failed" in caplog.text
    assert ws.stats.disconnects == 1
    assert len(server.ops("login")) == 1


async def test_raw_sink_sees_every_frame(server: FakeWsServer,
                                         client_factory: Callable[..., BitunixWS]) -> None:
    raw: list[tuple[int, bytes]] = []
    h = Recorder()
    ws = client_factory(h, fast_config(server.url), raw_sink=lambda ts, b: raw.append((ts, b)),
                        clock=ManualClock(42))
    ws.subscribe([("trade", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    server.push(TRADE, b"garbage")
    await until(lambda: len(h.trades) == 1 and any(b == b"garbage" for _, b in raw))
    frames = [b for _, b in raw]
    assert frames[0] == b'{"op":"connect","data":{"result":true}}'
    assert TRADE in frames
    assert {ts for ts, _ in raw} == {42}


async def test_failing_raw_sink_costs_neither_the_frame_nor_the_connection(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS],
        caplog: pytest.LogCaptureFixture) -> None:
    # RecordingWriter raises on a frame with a newline or invalid UTF-8, and any sink can
    # hit a full disk; that exception used to escape the frame callback, so picows
    # dropped the connection and the frame was never decoded.
    def sink(_ts: int, _payload: bytes) -> None:
        raise OSError("disk full")

    h = Recorder()
    ws = client_factory(h, fast_config(server.url), raw_sink=sink)
    ws.subscribe([("trade", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    server.push(TRADE, TRADE)
    await until(lambda: len(h.trades) == 2)
    assert ws.stats.disconnects == 0
    assert ws.stats.sink_errors >= 3  # connect frame + 2 trades
    assert caplog.text.count("raw_sink failed") == 1


async def test_fragmented_binary_and_protocol_ping_frames(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS]) -> None:
    h = Recorder()
    ws = client_factory(h, fast_config(server.url))
    ws.subscribe([("trade", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    server.push_fragmented(TRADE, parts=4)
    server.ping_clients()
    server.push_binary(TRADE)
    server.push(TRADE)
    await until(lambda: len(h.trades) == 3)
    assert h.trades[0] == h.trades[1] == h.trades[2]
    assert ws.stats.malformed == {}
    assert ws.stats.disconnects == 0


async def test_fragmented_message_over_the_size_cap_drops_the_connection(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS],
        caplog: pytest.LogCaptureFixture) -> None:
    # max_frame_size used to bound each fragment only: a 96 MiB message sent in 1 MiB
    # fragments was reassembled whole (274 MB RSS). The cap now applies to the message.
    cap = 64 * 1024
    h = Recorder()
    ws = client_factory(h, fast_config(server.url, max_frame_size=cap))
    ws.subscribe([("trade", "BTCUSDT")])
    ws.start()
    await ws.wait_live(5)
    big = TRADE[:-1] + b',"pad":"' + b"x" * (4 * cap) + b'"}'
    server.push_fragmented(big, parts=16)  # 16 fragments of ~16 KiB, each under the cap
    await until(lambda: ws.stats.oversized_messages == 1 and ws.stats.disconnects == 1)
    assert "larger than 65536 bytes" in caplog.text
    await until(lambda: ws.stats.connects == 2 and ws.state is ConnState.LIVE)
    server.push_fragmented(TRADE, parts=4)  # the new connection works as before
    await until(lambda: len(h.trades) == 1)
    assert h.trades[0].data[0].v == 1.1536
    # A message just under the cap, in fragments, still gets through.
    fits = TRADE[:-1] + b',"pad":"' + b"y" * (cap - len(TRADE) - 16) + b'"}'
    assert len(fits) <= cap
    server.push_fragmented(fits, parts=8)
    await until(lambda: len(h.trades) == 2)
    assert ws.stats.oversized_messages == 1
    assert ws.stats.disconnects == 1


def order_push(event: str, status: str, mtime: str | None, *, deal: str = "0",
               order_id: str = "11111") -> bytes:
    data = {"event": event, "orderId": order_id, "clientId": "c1", "symbol": "BTCUSDT",
            "side": "BUY", "type": "LIMIT", "qty": "0.002", "price": "60000",
            "orderStatus": status, "dealAmount": deal,
            "ctime": "2025-04-26T17:06:13.155255000Z"}
    if mtime is not None:
        data["mtime"] = mtime
    return json.dumps({"ch": "order", "ts": 1745687173160, "data": data}).encode()


BALANCE = b'{"ch":"balance","ts":1,"data":{"coin":"USDT","available":"1000.5","frozen":"1"}}'
POSITION_OPEN = (b'{"ch":"position","ts":2,"data":{"event":"OPEN","positionId":"77","symbol":'
                 b'"BTCUSDT","side":"LONG","qty":"0.002","ctime":"2025-04-26T17:06:13.1Z"}}')
TPSL_UPDATE = (b'{"ch":"tpsl","ts":3,"data":{"event":"UPDATE","orderId":"5","symbol":"BTCUSDT",'
               b'"status":"NEW","tpPrice":"65000"}}')
LAST_BALANCE = b'{"ch":"balance","ts":9,"data":{"coin":"USDT","available":"0.5"}}'


def last_balance_seen(h: PrivateRecorder) -> bool:
    return any(isinstance(m, BalancePush) and m.items[0].available == Decimal("0.5")
               for m in h.got)


class PrivateRecorder(WsHandler):
    def __init__(self) -> None:
        self.got: list[object] = []

    def on_order(self, msg: OrderPush) -> None:
        self.got.append(msg)

    def on_position(self, msg: PositionPush) -> None:
        self.got.append(msg)

    def on_balance(self, msg: BalancePush) -> None:
        self.got.append(msg)

    def on_tpsl(self, msg: TpslPush) -> None:
        self.got.append(msg)


async def test_repeated_private_pushes_are_delivered_once(
        server: FakeWsServer, client_factory: Callable[..., BitunixWS]) -> None:
    h = PrivateRecorder()
    ws = client_factory(h, fast_config(server.url), credentials=Credentials("k1234", "s1234"))
    ws.start()
    await ws.wait_live(5)
    t1, t2 = "2025-04-26T17:06:13.155255000Z", "2025-04-26T17:06:14.000000001Z"
    new = order_push("CREATE", "NEW", t1)
    fill = order_push("UPDATE", "PART_FILLED", t2, deal="0.001")
    server.push(new, new, fill, new, fill,  # the venue repeats order events
                BALANCE, BALANCE,  # a balance repeated is a state, delivered as it comes
                POSITION_OPEN, POSITION_OPEN,
                TPSL_UPDATE, TPSL_UPDATE,  # no update time on the wire: not deduplicated
                LAST_BALANCE)
    await until(lambda: last_balance_seen(h))
    assert [type(m).__name__ for m in h.got] == [
        "OrderPush", "OrderPush", "BalancePush", "BalancePush", "PositionPush",
        "TpslPush", "TpslPush", "BalancePush"]
    orders = [m for m in h.got if isinstance(m, OrderPush)]
    assert [o.items[0].order_status for o in orders] == ["NEW", "PART_FILLED"]
    assert ws.stats.duplicates == 4  # 2 order repeats x 2, 1 position
    # A list push with one repeated and one new item is handed on with the new one only.
    done = order_push("CLOSE", "FILLED", "2025-04-26T17:06:15Z", deal="0.002")
    both = {"ch": "order", "ts": 5, "data": [json.loads(fill)["data"], json.loads(done)["data"]]}
    server.push(json.dumps(both).encode())
    await until(lambda: len(h.got) >= 9)
    last = h.got[-1]
    assert isinstance(last, OrderPush)
    assert [i.order_status for i in last.items] == ["FILLED"]
    assert len(h.got) == 9
    assert ws.stats.duplicates == 5


async def test_dedup_memory_is_bounded(server: FakeWsServer,
                                       client_factory: Callable[..., BitunixWS]) -> None:
    h = PrivateRecorder()
    ws = client_factory(h, fast_config(server.url, dedup_keys=2),
                        credentials=Credentials("k1234", "s1234"))
    ws.start()
    await ws.wait_live(5)
    a, b, c = (order_push("CREATE", "NEW", "2025-04-26T17:06:13Z", order_id=i)
               for i in ("1", "2", "3"))
    # a is refreshed by its repeat, so c pushes b out of the window, not a.
    server.push(a, b, a, c, a, b, LAST_BALANCE)
    await until(lambda: last_balance_seen(h))
    assert [m.items[0].order_id for m in h.got if isinstance(m, OrderPush)] == ["1", "2", "3",
                                                                               "2"]
    assert ws.stats.duplicates == 2
