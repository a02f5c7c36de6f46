"""The simulated Bitunix futures exchange on 127.0.0.1: REST and WebSocket (spec section 9).

>>> async with SimServer() as sim:               # bundled real capture, real-time playback
...     sim.rest_url, sim.public_ws_url, sim.private_ws_url

One aiohttp application serves the REST paths (``/api/v1/futures/...``) and both sockets
(``/public/`` and ``/private/``) on one port. Each WebSocket has one writer task fed by a
queue, so pushes leave in the order the engine produced them. Market data is replayed by a
:class:`~bitunix.sim.market.Playback` (paced, or stepped with :meth:`SimServer.advance` when
``speed=0``). Sim-side controls for tests: ``faults``, :meth:`SimServer.drop_sockets`,
:meth:`SimServer.restart`, :meth:`SimServer.publish`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from bitunix.core.clock import Clock, LiveClock
from bitunix.core.errors import ConfigError
from bitunix.data import MarketEvent, TradeEvent
from bitunix.sim import rest
from bitunix.sim.auth import Authenticator
from bitunix.sim.contracts import SimContract, bundled_contracts
from bitunix.sim.engine import MatchingEngine
from bitunix.sim.errors import PARAMETER_ERROR, SimError
from bitunix.sim.faults import Faults
from bitunix.sim.http import VenueHttpServer, envelope_json
from bitunix.sim.market import WS_INTERVALS, EventSource, Playback, source_for
from bitunix.sim.ratelimit import SimRateLimiter
from bitunix.sim.shapes import dec, iso_s

DEFAULT_KEYS = {"sim-api-key": "sim-secret-key"}
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
PRIVATE_CHANNELS = frozenset({"balance", "position", "order", "tpsl"})
DEPTH_CHANNELS = {"depth_book1": 1, "depth_book5": 5, "depth_book15": 15, "depth_books": 10_000}
MAX_STREAMS = 300
WS_PATHS = frozenset({"/public/", "/public", "/private/", "/private"})


class WsSession:
    """One WebSocket connection: its subscriptions, login and ordered outgoing queue."""

    def __init__(self, ws: web.WebSocketResponse, private: bool, opened_s: int,
                 max_queue: int = 100_000, transport: asyncio.Transport | None = None
                 ) -> None:
        self.ws = ws
        self.transport = transport
        self.aborted = False
        self.drop_when_flushed = False
        self.private = private
        self.opened_s = opened_s
        self.uid: str | None = None
        self.api_key = ""  # the key this (private) session logged in with
        self.subs: set[tuple[str, str]] = set()  # (channel, SYMBOL or "")
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.recent: list[float] = []
        self.max_queue = max_queue
        self.overflowed = False

    def send(self, payload: dict[str, Any]) -> None:
        """Queue a frame (sent by the session's writer task, in order)."""
        self.send_text(json.dumps(payload, separators=(",", ":")))

    def send_text(self, text: str) -> None:
        """Queue an already serialised frame. A client that reads slower than the market
        moves is cut off, not buffered without bound."""
        if self.overflowed:
            return
        if self.queue.qsize() >= self.max_queue:
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(text)

    def abort(self) -> None:
        """Drop the connection without a close frame: the peer sees 1006 (abnormal), what
        the exchange does on a drop, an idle socket or too many messages (spec 3.3)."""
        self.aborted = True
        if self.transport is not None:
            self.transport.abort()

    def drop_after_queue(self) -> None:
        """Send what is already queued, then :meth:`abort` (the writer task does it)."""
        self.drop_when_flushed = True
        self.queue.put_nowait(None)


class SimServer:
    """The simulated exchange as a server. See the module docstring."""

    def __init__(
        self,
        *,
        engine: MatchingEngine | None = None,
        contracts: dict[str, SimContract] | None = None,
        data: str | None = None,
        source: EventSource | None = None,
        speed: float = 1.0,
        loop_data: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: dict[str, str] | None = None,
        balance: Decimal = Decimal("10000"),
        position_mode: str = "ONE_WAY",
        clock: Clock | None = None,
        wall_clock: Clock | None = None,
        rate_limits: bool = False,
        timestamp_window_ms: int = 60_000,
        push_interval_s: float | None = 0.3,
        ws_msg_per_s: int | None = 5,
        idle_timeout_s: float = 60.0,
        ws_queue_limit: int = 100_000,
        quirks: bool = False,
        faults: Faults | None = None,
        wait_for_subscriber: bool = False,
    ) -> None:
        if host not in LOOPBACK:
            # The simulator accepts any key it was given: it must never face a network.
            raise ConfigError(f"the simulator serves on loopback only, not on {host!r}")
        if speed < 0:
            raise ConfigError(f"speed must be >= 0 (0 = stepped), was {speed}")
        self.clock: Clock = clock or (engine.clock if engine else LiveClock())
        # Request timestamps are checked against the wall clock the clients sign with,
        # even when the engine runs on a replayed or manual clock.
        self.wall_clock: Clock = wall_clock or LiveClock()
        self.engine = engine or MatchingEngine(
            self.clock, contracts=contracts if contracts is not None else bundled_contracts(),
            quirks=quirks)
        self.engine.quirks = quirks
        self.keys = dict(api_keys or DEFAULT_KEYS)
        for key in self.keys:
            if key not in self.engine.accounts:
                self.engine.add_account(key, balance, position_mode=position_mode)
        self.auth = Authenticator(self.keys, window_ms=timestamp_window_ms)
        self.limiter = SimRateLimiter() if rate_limits else None
        self.faults = faults or Faults()
        self.quirks = quirks
        self.host = host
        self.port = port
        self.speed = speed
        self.push_interval_s = push_interval_s
        self.ws_msg_per_s = ws_msg_per_s
        self.idle_timeout_s = idle_timeout_s
        self.ws_queue_limit = ws_queue_limit
        self.playback = Playback(self.engine,
                                 source or source_for(data, contracts=self.engine.contracts),
                                 speed=speed or 1.0,
                                 loop=loop_data, on_event=self._on_market_event)
        self.sessions: set[WsSession] = set()
        self.engine.listeners.append(self._on_private_push)
        self._runner: web.ServerRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._iso_cache: tuple[int, str] = (-1, "")
        #: Paced playback starts on the first public subscription instead of at start(),
        #: so a client that connects late still sees every trade of the recording.
        self.wait_for_subscriber = wait_for_subscriber
        self._subscribed = asyncio.Event()
        self.api = rest.RestApi(self)

    # ------------------------------------------------------------------ lifecycle
    @property
    def rest_url(self) -> str:
        """Base URL of the REST API (paths start ``/api/v1/futures``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def public_ws_url(self) -> str:
        """URL of the public WebSocket."""
        return f"ws://{self.host}:{self.port}/public/"

    @property
    def private_ws_url(self) -> str:
        """URL of the private WebSocket."""
        return f"ws://{self.host}:{self.port}/private/"

    async def start(self) -> None:
        """Bind the port and start playback and push timers."""
        runner = web.ServerRunner(VenueHttpServer(self._dispatch), handle_signals=False)
        self._runner = runner
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port, reuse_address=True).start()
        self.port = int(runner.addresses[0][1])
        if self.speed:
            self._tasks.append(asyncio.create_task(self._replay()))
        if self.push_interval_s:
            self._tasks.append(asyncio.create_task(self._push_timer()))

    async def _replay(self) -> None:
        if self.wait_for_subscriber:
            await self._subscribed.wait()
        await self.playback.run()

    async def stop(self) -> None:
        """Close every socket, stop the tasks and release the port."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.drop_sockets()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def restart(self, down_s: float = 0.0) -> None:
        """Simulate an exchange restart: every socket drops, the port is closed for
        ``down_s`` seconds, then serves again on the same port with the state kept."""
        await self.stop()
        await asyncio.sleep(down_s)
        await self.start()

    async def drop_sockets(self) -> None:
        """Close every WebSocket abruptly (as the exchange does, without a close frame)."""
        for session in list(self.sessions):
            session.queue.put_nowait(None)
            session.abort()
            await asyncio.sleep(0)
        self.sessions.clear()

    # ------------------------------------------------------------------ controls
    def add_api_key(self, api_key: str, secret: str, *, account_of: str | None = None,
                    balance: Decimal = Decimal("10000")) -> None:
        """Accept another key pair. ``account_of``: an accepted key whose account the new
        key trades (a rotated key of the same account); else the key gets a new account
        holding ``balance``."""
        if account_of is None:
            if api_key not in self.engine.accounts:
                self.engine.add_account(api_key, balance)
            self.auth.add_key(api_key, secret)
        else:
            self.auth.add_key(api_key, secret, account=self.auth.account_of(account_of))
        self.keys[api_key] = secret

    def revoke_api_key(self, api_key: str) -> int:
        """Refuse ``api_key`` from now on (REST and logins answer 10003) and drop the
        private sessions logged in with it, as the exchange does with a deleted key;
        returns how many were dropped."""
        self.auth.revoke(api_key)
        self.keys.pop(api_key, None)
        dropped = [s for s in self.sessions if s.private and s.api_key == api_key]
        for session in dropped:
            session.abort()
        return len(dropped)

    def advance(self, n: int = 1) -> int:
        """Apply the next ``n`` market events now (stepped playback); return how many."""
        return self.playback.step(n)

    def publish(self) -> None:
        """Push the timer-driven channels (depth, ticker, tickers, price, kline) now."""
        for session in list(self.sessions):
            if not session.private:
                self._publish_session(session)

    # ------------------------------------------------------------------ HTTP edge
    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        """Route one HTTP request: the two WebSocket paths, else the REST API."""
        path = request.path
        if path in WS_PATHS:
            if not web.WebSocketResponse().can_prepare(request).ok:
                return rest.envelope_error(SimError(PARAMETER_ERROR,
                                                    f"{path} is a WebSocket endpoint"))
            return await self._serve_ws(request, private=path.startswith("/private"))
        faults = self.faults
        while faults.rest_hang:
            await asyncio.sleep(0.01)
        if faults.delay_s:
            await asyncio.sleep(faults.delay_s)
        if faults.should_reject():
            if faults.reject_code == 500:
                return envelope_json({"code": 500, "msg": "Internal Server Error",
                                      "data": None}, status=500)
            return rest.envelope_error(SimError(faults.reject_code))
        self.engine.max_fill_fraction = faults.partial_fill_fraction
        response = await self.api.handle(request)
        if faults.delay_after_s:
            # Executed already (the pushes are queued): only the answer is late.
            await asyncio.sleep(faults.delay_after_s)
        return response

    # ------------------------------------------------------------------ WebSocket edge
    async def _serve_ws(self, request: web.BaseRequest, *, private: bool
                        ) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        session = WsSession(ws, private, self.wall_clock.now_ns() // 1_000_000_000,
                            self.ws_queue_limit, transport=request.transport)
        self.sessions.add(session)
        writer = asyncio.create_task(self._writer(session))
        session.send({"op": "connect", "data": {"result": True}})
        try:
            while True:
                try:
                    msg = await ws.receive(timeout=self.idle_timeout_s)
                except TimeoutError:
                    session.drop_after_queue()  # idle: dropped after ~60 s of silence (3.3)
                    break
                if msg.type != WSMsgType.TEXT:
                    break
                if not self._within_msg_limit(session):
                    session.drop_after_queue()  # more than 5 messages a second (spec 3.3)
                    break
                self._on_client_frame(session, msg.data)
        finally:
            self.sessions.discard(session)
            session.queue.put_nowait(None)
            await writer
            if not ws.closed and not session.aborted:
                await ws.close()
        return ws

    def _within_msg_limit(self, session: WsSession) -> bool:
        if not self.ws_msg_per_s:
            return True
        now = asyncio.get_running_loop().time()
        session.recent = [t for t in session.recent if t > now - 1.0]
        session.recent.append(now)
        return len(session.recent) <= self.ws_msg_per_s

    async def _writer(self, session: WsSession) -> None:
        queue = session.queue
        while True:
            # Drain what is already queued without a wait per frame; block only when empty.
            try:
                text = queue.get_nowait()
            except asyncio.QueueEmpty:
                text = await queue.get()
            if text is None:
                if session.overflowed or session.drop_when_flushed:
                    session.abort()
                return
            if self.faults.silent and '"op"' not in text[:8]:
                continue
            if self.faults.delay_s:
                await asyncio.sleep(self.faults.delay_s)
            try:
                await session.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    def _on_client_frame(self, session: WsSession, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        op = frame.get("op")
        raw_args = frame.get("args")
        args: list[Any] = raw_args if isinstance(raw_args, list) else []
        if op == "ping":
            session.send({"op": "ping", "pong": frame.get("ping"), "ping": session.opened_s})
        elif op == "login" and session.private:
            self._login(session, args[0] if args and isinstance(args[0], dict) else {})
        elif op == "subscribe":
            self._subscribe(session, args)
        elif op == "unsubscribe":
            for arg in args:
                if isinstance(arg, dict):
                    session.subs.discard(_sub_key(arg, session.private))
            session.send({"op": "unsubscribe", "ts": self._now_ms(), "data": "success"})

    def _login(self, session: WsSession, args: dict[str, Any]) -> None:
        try:
            session.uid = self.auth.verify_login(args, self._wall_ms())
            session.api_key = str(args.get("apiKey"))
        except SimError as exc:
            session.send({"op": "login", "data": {"result": False, "msg": exc.msg,
                                                  "code": exc.code}})
            return
        session.send({"op": "login", "data": {"result": True}})

    def _subscribe(self, session: WsSession, args: list[Any]) -> None:
        fresh: list[tuple[str, str]] = []
        for arg in args:
            if not isinstance(arg, dict):
                continue
            key = _sub_key(arg, session.private)
            if session.private and (key[0] not in PRIVATE_CHANNELS or session.uid is None):
                continue
            if key in session.subs:
                continue
            if len(session.subs) >= MAX_STREAMS:
                session.send({"op": "subscribe", "data": {
                    "msg": f"subscribe channel > {MAX_STREAMS}", "nonce": "", "result": False}})
                break
            session.subs.add(key)
            fresh.append(key)
            if not session.private:
                self._subscribed.set()
        for ch, symbol in fresh:
            if ch in DEPTH_CHANNELS and symbol not in self.engine.contracts:
                # Unknown symbols get one frame of empty levels and nothing more.
                session.send({"ch": ch, "symbol": symbol, "ts": self._now_ms(),
                              "data": {"b": [["", ""]], "a": [["", ""]]}})
                session.subs.discard((ch, symbol))

    # ------------------------------------------------------------------ pushes
    def _now_ms(self) -> int:
        return self.clock.now_ns() // 1_000_000

    def _wall_ms(self) -> int:
        return self.wall_clock.now_ns() // 1_000_000

    def _on_private_push(self, uid: str, channel: str, data: dict[str, object]) -> None:
        if not self.sessions:
            return
        for session in self.sessions:
            if session.private and session.uid == uid and (channel, "") in session.subs:
                session.send({"ch": channel, "ts": self._now_ms(), "data": data})

    def _on_market_event(self, event: MarketEvent) -> None:
        if not isinstance(event, TradeEvent) or not self.sessions:
            return
        key = ("trade", event.symbol)
        text: str | None = None
        for session in self.sessions:
            if key in session.subs:
                if text is None:  # serialised once for every subscriber
                    now_ns = self.clock.now_ns()
                    text = json.dumps({
                        "ch": "trade", "symbol": event.symbol, "ts": now_ns // 1_000_000,
                        "data": [{"p": event.price, "v": event.qty,
                                  "s": "buy" if event.is_buy else "sell",
                                  "t": self._iso_second(now_ns)}]}, separators=(",", ":"))
                session.send_text(text)

    def _iso_second(self, ts_ns: int) -> str:
        second = ts_ns // 1_000_000_000
        if second != self._iso_cache[0]:
            self._iso_cache = (second, iso_s(ts_ns))
        return self._iso_cache[1]

    async def _push_timer(self) -> None:
        assert self.push_interval_s
        while True:
            await asyncio.sleep(self.push_interval_s)
            self.publish()

    def _publish_session(self, session: WsSession) -> None:
        ts = self._now_ms()
        tickers: list[dict[str, Any]] = []
        for ch, symbol in sorted(session.subs):
            if ch == "tickers":
                if symbol in self.engine.markets and self.engine.markets[symbol].mark is not None:
                    tickers.append(self._ticker(symbol, with_book=True))
                continue
            data = self._public_data(ch, symbol)
            if data is not None:
                session.send({"ch": ch, "symbol": symbol, "ts": ts, "data": data})
        if tickers:
            session.send({"ch": "tickers", "ts": ts, "data": tickers})

    def _public_data(self, ch: str, symbol: str) -> dict[str, Any] | None:
        mkt = self.engine.markets.get(symbol)
        if mkt is None or mkt.mark is None:
            return None  # nothing replayed for this symbol yet: no frame rather than zeros
        if ch in DEPTH_CHANNELS:
            if not mkt.bids or not mkt.asks:
                # Before the replay's first book there is nothing to show; the venue does not
                # push a one-sided or empty book for a live symbol.
                return None
            n = DEPTH_CHANNELS[ch]
            return {"b": [[dec(p), dec(q)] for p, q in mkt.bids[:n]],
                    "a": [[dec(p), dec(q)] for p, q in mkt.asks[:n]]}
        if ch == "ticker":
            return self._ticker(symbol, with_book=False)
        if ch == "price":
            next_ns = self.engine.next_funding_ns
            last_ns = next_ns - self.engine.funding_interval_ns
            return {"ip": dec(mkt.mark), "mp": dec(mkt.mark),
                    "fr": dec(self.engine.funding_rate_pct), "ft": iso_s(last_ns),
                    "nft": iso_s(next_ns)}
        prefix, _, interval = ch.rpartition("_kline_")
        if prefix in ("market", "mark") and interval in WS_INTERVALS:
            candles = (self.playback.trades if prefix == "market" else self.playback.marks)
            candle = candles[symbol].current(WS_INTERVALS[interval])
            if candle is None:
                return None
            return {"o": dec(candle.open), "h": dec(candle.high), "l": dec(candle.low),
                    "c": dec(candle.close), "b": dec(candle.base_volume),
                    "q": dec(candle.quote_volume)}
        return None

    def _ticker(self, symbol: str, *, with_book: bool) -> dict[str, Any]:
        mkt = self.engine.markets[symbol]
        last = mkt.last or mkt.mark or Decimal(0)
        open_ = mkt.open_24h or last
        change = ((last - open_) / open_ * 100) if open_ else Decimal(0)
        out: dict[str, Any] = {
            "s": symbol, "o": dec(open_), "h": dec(mkt.high_24h or last),
            "l": dec(mkt.low_24h or last), "la": dec(last), "b": dec(mkt.base_volume),
            "q": dec(mkt.quote_volume), "r": dec(change.quantize(Decimal("1e-10"))),
        }
        if with_book:
            out.update({
                "bd": dec(mkt.bids[0][0]) if mkt.bids else "",
                "ak": dec(mkt.asks[0][0]) if mkt.asks else "",
                "bv": dec(mkt.bids[0][1]) if mkt.bids else "",
                "av": dec(mkt.asks[0][1]) if mkt.asks else "",
            })
        return out


def _sub_key(arg: dict[str, Any], private: bool) -> tuple[str, str]:
    ch = str(arg.get("ch", ""))
    symbol = "" if private else str(arg.get("symbol", "")).upper()
    return ch, symbol


__all__ = ["DEFAULT_KEYS", "SimServer", "WsSession"]
