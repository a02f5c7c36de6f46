"""WebSocket clients of Bitunix futures on picows (best on uvloop).

Hot path: picows calls :meth:`_Listener.on_ws_frame` with a frame that is a view into its
receive buffer. The payload is decoded there, synchronously, by one reused msgspec decoder
and dispatched to the handler's typed method: no task, future or queue per message. A
frame must not be kept after the callback returns (picows reuses the buffer); decoded
messages own their data and may be kept.

Bursts: frames that arrive in one socket read are processed as a batch. A depth snapshot
is held until the end of the batch; if a newer snapshot of the same channel and symbol
arrives in the same batch, the older one is skipped (each push replaces the whole window,
spec 5.4) and counted. At the end of each batch :meth:`WsHandler.on_batch_end` runs once.

Connection life (state enum :class:`ConnState`): ``CONNECTING`` -> (private: ``LOGGING_IN``)
-> ``SUBSCRIBING`` -> ``LIVE``; a JSON ping every ``ping_interval_s``; no pong within
``pong_timeout_s`` (a half-open socket) or no data for ``stale_after_s`` -> ``STALE`` and a
reconnect; every disconnect goes through ``BACKOFF`` (exponential with jitter), then
everything is re-subscribed (and re-logged-in). Every disconnect, reconnect, malformed
frame and handler error is logged and counted in :attr:`BitunixWS.stats`.

Size: ``max_frame_size`` bounds a whole message, fragments included (picows bounds each
frame); a larger message is dropped with the connection (close code 1009), counted in
``stats.oversized_messages``, and the client reconnects as after any disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import msgspec
from picows import WSCloseCode, WSListener, WSMsgType, WSTransport, ws_connect

from bitunix.core.clock import Clock, LiveClock
from bitunix.exchange.config import WsConfig
from bitunix.exchange.dedup import RecentKeys, push_key
from bitunix.exchange.ratelimit import TokenBucket
from bitunix.exchange.signing import Credentials, new_nonce, ws_login_arg
from bitunix.exchange.ws_handler import ConnState, WsError, WsHandler, WsStats, dispatch_table
from bitunix.wire.control import (
    ChannelArg,
    ConnectFrame,
    LoginFrame,
    PingFrame,
    Result,
    SubscribeFrame,
    UnsubscribeFrame,
    encode_login,
    encode_ping,
    encode_subscribe,
    encode_unsubscribe,
)
from bitunix.wire.decoding import WireError, decode, decode_public
from bitunix.wire.private import OrderPush, PositionPush, TpslPush
from bitunix.wire.public import DepthPush

__all__ = ["BitunixWS", "ConnState", "WsError", "WsHandler", "WsStats"]

log = logging.getLogger("bitunix.exchange.ws")

PRIVATE_CHANNELS = ("balance", "position", "order", "tpsl")
MAX_MALFORMED_KINDS = 64


_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY


class _Listener(WSListener):
    """picows listener of one connection; forwards everything to its client."""

    def __init__(self, client: BitunixWS) -> None:
        self._client = client
        self._on_payload = client._on_payload
        self._fragments: bytearray | None = None
        # picows bounds each frame by max_frame_size; the reassembled message is bounded
        # here, or a peer could send an unbounded message in small fragments.
        self._max_size = client.config.max_frame_size

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._client._on_connected(transport)

    def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
        mt = frame.msg_type
        if mt is _TEXT or mt is _BINARY:
            if frame.fin:
                self._on_payload(frame.get_payload_as_memoryview(), frame.last_in_buffer)
            else:
                self._fragments = bytearray(frame.get_payload_as_memoryview())
        elif mt is WSMsgType.CONTINUATION and self._fragments is not None:
            part = frame.get_payload_as_memoryview()
            if len(self._fragments) + len(part) > self._max_size:
                # Later fragments of this message are ignored (no reassembly in progress)
                # until the socket is gone.
                self._fragments = None
                self._client._on_oversized(transport, self._max_size)
                return
            self._fragments += part
            if frame.fin:
                data, self._fragments = bytes(self._fragments), None
                self._on_payload(data, frame.last_in_buffer)
        elif mt is WSMsgType.CLOSE:
            self._client._close_reason = f"server closed ({frame.get_close_code()})"
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._client._on_disconnected(transport)


class BitunixWS:
    """One public or private Bitunix WebSocket connection that keeps itself alive.

    ``BitunixWS(handler, config)`` is public; pass ``credentials`` for the private socket
    (it logs in on every connect and subscribes ``balance/position/order/tpsl`` unless told
    otherwise). ``subscribe`` before or after :meth:`start`; :meth:`close` stops it.
    """

    def __init__(
        self,
        handler: WsHandler,
        config: WsConfig | None = None,
        *,
        credentials: Credentials | None = None,
        private_channels: Iterable[str] = PRIVATE_CHANNELS,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        raw_sink: Callable[[int, bytes], None] | None = None,
    ) -> None:
        self.config = config or WsConfig()
        # raw_sink(recv_ts_ns, payload) sees every text frame before decoding, e.g. to
        # write a recording (``<recv_ts_ns> <raw JSON>`` lines) for replays.
        self._raw_sink = raw_sink
        self.handler = handler
        self.private = credentials is not None
        self._creds = credentials
        self._clock: Clock = clock or LiveClock()
        self._rng = rng or random.Random()  # nosec B311  # reconnect backoff jitter, not a secret
        self.url = self.config.private_url if self.private else self.config.public_url
        self.stale_after_s = 0.0 if self.private else self.config.stale_after_s
        self.stats = WsStats()
        self.state = ConnState.IDLE
        self._dispatch = dispatch_table(handler, self._buffer_depth)
        # Kept across reconnects: a repeat may come on the next connection.
        self._recent = RecentKeys(self.config.dedup_keys)
        for cls in (OrderPush, PositionPush, TpslPush):  # balance: a state, never dropped
            self._dispatch[cls] = self._deduplicated(self._dispatch[cls])
        self._subs: dict[tuple[str, str | None], ChannelArg] = {}
        if self.private:
            for ch in private_channels:
                self._subs[(ch, None)] = ChannelArg(ch)
        self._transport: WSTransport | None = None
        self._task: asyncio.Task[None] | None = None
        self._setup_task: asyncio.Task[None] | None = None
        self._closing = False
        self._close_reason = ""
        self._pending_depth: dict[tuple[type, str], DepthPush] = {}
        self._last_data = 0.0
        self._last_ts = 0
        self._data_in_batch = 0
        self._decode = decode if self.private else decode_public
        self._ping_sent_at = 0.0
        self._pong_at = 0.0
        self._pong_timer: asyncio.TimerHandle | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._bg: set[asyncio.Task[None]] = set()
        self._live_evt = asyncio.Event()
        self._login_evt = asyncio.Event()
        self._login_ok = False
        self._attempt = 0
        self._send_bucket: TokenBucket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._malformed_logged: set[str] = set()

    # -- public API ---------------------------------------------------------------------

    @property
    def subscriptions(self) -> list[ChannelArg]:
        """Channels this client keeps subscribed."""
        return list(self._subs.values())

    def subscribe(self, channels: Iterable[ChannelArg | tuple[str, str]]) -> None:
        """Add channels (``ChannelArg`` or ``(channel, symbol)``); sent now if live."""
        new: dict[tuple[str, str | None], ChannelArg] = {}
        for c in channels:
            arg = c if isinstance(c, ChannelArg) else ChannelArg(c[0], c[1])
            key = (arg.ch, arg.symbol)
            if key not in self._subs:
                new[key] = arg
        if len(self._subs) + len(new) > self.config.max_channels:
            raise WsError(f"at most {self.config.max_channels} channels per connection "
                          f"(spec 3.3), asked for {len(self._subs) + len(new)}")
        self._subs.update(new)
        # While connecting, _setup sends everything in _subs, including these.
        if new and self.state is ConnState.LIVE:
            self._background(self._send_args(list(new.values()), encode_subscribe))

    def unsubscribe(self, channels: Iterable[ChannelArg | tuple[str, str]]) -> None:
        """Remove channels; sent now if live."""
        gone = []
        for c in channels:
            arg = c if isinstance(c, ChannelArg) else ChannelArg(c[0], c[1])
            if self._subs.pop((arg.ch, arg.symbol), None) is not None:
                gone.append(arg)
        if gone and self.state is ConnState.LIVE:
            self._background(self._send_args(gone, encode_unsubscribe))

    def _background(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._bg.add(task)  # keep a reference until done
        task.add_done_callback(self._bg.discard)

    def start(self) -> asyncio.Task[None]:
        """Start connecting (and reconnecting) in the background."""
        if self._task is None or self._task.done():
            self._closing = False
            self._loop = asyncio.get_running_loop()
            self._task = self._loop.create_task(self._run(), name=f"bitunix-ws {self.url}")
        return self._task

    async def wait_live(self, timeout: float) -> None:
        """Wait until the connection is subscribed; raises ``TimeoutError``."""
        await asyncio.wait_for(self._live_evt.wait(), timeout)

    async def close(self) -> None:
        """Disconnect and stop reconnecting (also interrupts a backoff wait or a connect)."""
        self._closing = True
        task = self._task
        if self._transport is not None:
            self._close_reason = "closed by us"
            self._transport.disconnect()
        elif task is not None and not task.done():
            task.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_state(ConnState.CLOSED)

    def set_credentials(self, credentials: Credentials) -> None:
        """Log in with ``credentials`` from now on (key rotation without a restart): the
        private connection is dropped and reconnects, logging in with the new key and
        subscribing again; the old key's session ends with it."""
        if not self.private:
            raise ValueError("the public socket logs in with no key")
        self._creds = credentials
        self.disconnect("credentials rotated: logging in again with the new key")

    def disconnect(self, reason: str) -> None:
        """Drop the current connection (it reconnects unless closing)."""
        if self._transport is not None and not self._transport.is_disconnected:
            self._close_reason = self._close_reason or reason
            self._transport.disconnect()

    # -- connection loop ----------------------------------------------------------------

    def _set_state(self, state: ConnState) -> None:
        if state is not self.state:
            self.state = state
            if state is ConnState.LIVE:
                self._live_evt.set()
            else:
                self._live_evt.clear()
            try:
                self.handler.on_state(state)
            except Exception:
                log.exception("on_state handler failed")

    def _backoff_s(self) -> float:
        c = self.config
        base = min(c.reconnect_max_s, c.reconnect_base_s * (2 ** min(self._attempt, 30)))
        jitter = 1.0 + c.reconnect_jitter * (2 * self._rng.random() - 1)
        return float(base * jitter)

    async def _run(self) -> None:
        while not self._closing:
            try:
                await self._connect_once()
            except Exception:  # pragma: no cover - a guard; every known failure is handled below
                # Never let the loop die silently: log, count, back off, go again.
                self.stats.connect_failures += 1
                log.exception("connection loop error on %s", self.url)
                await self._backoff()
        self._set_state(ConnState.CLOSED)

    async def _connect_once(self) -> None:
        self._set_state(ConnState.CONNECTING)
        self._close_reason = ""
        try:
            transport, _ = await asyncio.wait_for(
                ws_connect(lambda: _Listener(self), self.url,
                           enable_auto_ping=False,
                           max_frame_size=self.config.max_frame_size,
                           websocket_handshake_timeout=self.config.connect_timeout_s),
                self.config.connect_timeout_s)
        except Exception as exc:
            self.stats.connect_failures += 1
            log.warning("connect to %s failed: %s: %s", self.url, type(exc).__name__, exc)
            await self._backoff()
            return
        # The returned transport, not self._transport: a very short-lived connection
        # may already be gone (and self._transport reset) by the time we get here.
        try:
            await transport.wait_disconnected()
        except Exception as exc:
            self._close_reason = self._close_reason or f"error: {exc!r}"
        if not self._closing:
            await self._backoff()

    async def _backoff(self) -> None:
        if self._closing:
            return
        delay = self._backoff_s()
        self._attempt += 1
        self._set_state(ConnState.BACKOFF)
        log.info("reconnecting to %s in %.3f s (attempt %d)", self.url, delay, self._attempt)
        await asyncio.sleep(delay)
        self.stats.reconnects += 1

    def _on_connected(self, transport: WSTransport) -> None:
        self._transport = transport
        self.stats.connects += 1
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._send_bucket = TokenBucket.for_rate(self.config.max_messages_per_s, 0.8, loop.time)
        self._last_data = loop.time()
        self._login_evt.clear()
        self._login_ok = False
        self._pending_depth.clear()
        log.info("connected to %s", self.url)
        self._arm_ping(self.config.ping_interval_s)
        # The venue greets with {"op":"connect"}; start anyway if it does not (spec 5.3).
        self._arm(self.config.connect_frame_wait_s, self._start_setup)

    def _on_disconnected(self, transport: WSTransport) -> None:
        for t in self._timers:
            t.cancel()
        self._timers.clear()
        if self._pong_timer is not None:
            self._pong_timer.cancel()
            self._pong_timer = None
        if self._setup_task is not None:
            self._setup_task.cancel()
            self._setup_task = None
        self._flush_depth()
        self._transport = None
        self.stats.disconnects += 1
        reason = self._close_reason or "connection lost"
        if self._closing:
            log.info("disconnected from %s: %s", self.url, reason)
        else:
            log.warning("disconnected from %s: %s", self.url, reason)

    # -- timers: ping, pong timeout, stale feed -----------------------------------------

    def _arm(self, delay: float, cb: Any, *args: Any) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        # Drop handles that already fired or were cancelled: the list stays small.
        self._timers = [t for t in self._timers if not t.cancelled() and t.when() > now]
        self._timers.append(loop.call_later(delay, cb, *args))

    def _arm_ping(self, delay: float) -> None:
        self._arm(delay, self._send_ping)

    def _send_ping(self) -> None:
        if self._transport is None or self._loop is None:
            return
        sent_at = self._ping_sent_at = self._loop.time()
        self.stats.pings_sent += 1
        self._transport.send(WSMsgType.TEXT, encode_ping(self._clock.now_ns() // 1_000_000_000))
        if self._pong_timer is None:
            self._pong_timer = self._loop.call_later(self.config.pong_timeout_s,
                                                     self._check_pong, sent_at)
        self._arm_ping(self.config.ping_interval_s)

    def _check_pong(self, sent_at: float) -> None:
        # Any pong after the ping sent at ``sent_at`` proves the socket is alive.
        self._pong_timer = None
        if self._pong_at < sent_at and self._transport is not None:
            self.stats.pong_timeouts += 1
            self._set_state(ConnState.STALE)
            self.disconnect(f"no pong within {self.config.pong_timeout_s} s (half-open socket)")

    def _check_stale(self) -> None:
        if self._transport is None or self._loop is None or not self.stale_after_s:
            return
        idle = self._loop.time() - self._last_data
        if idle >= self.stale_after_s:
            self.stats.stale_disconnects += 1
            self._set_state(ConnState.STALE)
            self.disconnect(f"no data for {idle:.3f} s (stale feed)")
        else:
            self._arm(self.stale_after_s - idle, self._check_stale)

    # -- login and subscription ---------------------------------------------------------

    async def _send_args(self, args: list[ChannelArg], encoder: Any) -> None:
        step = max(1, self.config.channels_per_frame)
        # Bound to the connection current now: if it drops while these frames wait for
        # the send budget, the rest is dropped (the next connection re-subscribes
        # everything in _subs itself, under its own budget).
        transport, bucket = self._transport, self._send_bucket
        for i in range(0, len(args), step):
            await self._send_limited(encoder(args[i:i + step]), transport, bucket)

    async def _send_limited(self, data: bytes, transport: WSTransport | None = None,
                            bucket: TokenBucket | None = None) -> None:
        """Client frames stay under the venue's 5 messages per second (spec 3.3).

        ``transport``/``bucket`` default to the current connection's; a frame is only
        sent on the connection whose budget it waited for.
        """
        if transport is None:
            transport, bucket = self._transport, self._send_bucket
        if bucket is not None:
            await bucket.acquire()
        if transport is not None and transport is self._transport:
            transport.send(WSMsgType.TEXT, data)

    async def _setup(self) -> None:
        if self.private:
            self._set_state(ConnState.LOGGING_IN)
            assert self._creds is not None
            ts_s = self._clock.now_ns() // 1_000_000_000
            await self._send_limited(encode_login(ws_login_arg(self._creds, ts_s, new_nonce())))
            try:
                await asyncio.wait_for(self._login_evt.wait(), self.config.login_timeout_s)
            except TimeoutError:
                self._login_ok = False
            if not self._login_ok:
                self.stats.login_failures += 1
                self.disconnect("login rejected or unanswered")
                return
        self._set_state(ConnState.SUBSCRIBING)
        sent: set[tuple[str, str | None]] = set()
        while pending := {k: a for k, a in self._subs.items() if k not in sent}:
            # Channels added while these frames were rate limited go out in the next round.
            await self._send_args(list(pending.values()), encode_subscribe)
            sent.update(pending)
        assert self._loop is not None
        self._last_data = self._loop.time()
        if self.stale_after_s and any(a.symbol for a in self._subs.values()):
            self._arm(self.stale_after_s, self._check_stale)
        self._set_state(ConnState.LIVE)

    def _start_setup(self) -> None:
        if self._loop is not None and self._setup_task is None and self._transport is not None:
            self._setup_task = self._loop.create_task(self._setup())
            self._setup_task.add_done_callback(self._setup_done)

    def _setup_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("login/subscription failed: %r", task.exception())
            self.disconnect(f"setup failed: {task.exception()!r}")

    # -- frames -------------------------------------------------------------------------

    def _on_payload(self, payload: Any, last_in_buffer: bool) -> None:
        # The hot path: one decode, one dict lookup, one call. Time, gaps and lag are
        # measured once per batch, not per frame.
        self.stats.frames += 1
        if self._raw_sink is not None:
            try:
                self._raw_sink(self._clock.now_ns(), bytes(payload))
            except Exception:
                # A failing recorder (disk full, a frame it refuses) must not cost the
                # frame or the connection: picows disconnects on an escaped exception.
                self._on_sink_error()
        try:
            msg = self._decode(payload)
        except WireError as exc:
            self._on_malformed(exc)
        else:
            fn = self._dispatch.get(type(msg))
            if fn is not None:
                self._data_in_batch += 1
                self._last_ts = msg.ts
                try:
                    fn(msg)
                except Exception:
                    self._on_handler_error(msg)
            else:
                self._on_control(msg)
        if last_in_buffer:
            self._end_batch()

    def _deduplicated(self, deliver: Callable[[Any], None]) -> Callable[[Any], None]:
        """``deliver`` behind the repeat filter of ``exchange.dedup`` (keys per item)."""
        recent, stats = self._recent, self.stats

        def on_push(msg: Any) -> None:
            items = msg.items
            fresh = []
            for item in items:
                key = push_key(item)
                if key is not None and recent.seen(key):
                    stats.duplicates += 1
                    if stats.duplicates == 1 or stats.duplicates % 1000 == 0:
                        log.info("dropping a repeated %s push (%d so far)", msg.channel,
                                 stats.duplicates)
                else:
                    fresh.append(item)
            if len(fresh) == len(items):
                deliver(msg)
            elif fresh:
                deliver(msgspec.structs.replace(msg, data=fresh))

        return on_push

    def _buffer_depth(self, msg: DepthPush) -> None:
        key = (type(msg), msg.symbol)
        if self._pending_depth.pop(key, None) is not None:
            self.stats.depth_skipped += 1
        self._pending_depth[key] = msg

    def _on_oversized(self, transport: WSTransport, limit: int) -> None:
        self.stats.oversized_messages += 1
        reason = f"a fragmented message larger than {limit} bytes (max_frame_size)"
        log.warning("dropping %s; reconnecting", reason)
        if not transport.is_disconnected:
            self._close_reason = self._close_reason or reason
            transport.send_close(WSCloseCode.MESSAGE_TOO_BIG)
            transport.disconnect()

    def _on_handler_error(self, msg: Any) -> None:
        self.stats.handler_errors += 1
        n = self.stats.handler_errors
        if n == 1 or n % 1000 == 0:
            log.exception("handler for %s failed (%d failures so far)",
                          getattr(msg, "channel", type(msg).__name__), n)

    def _on_sink_error(self) -> None:
        self.stats.sink_errors += 1
        n = self.stats.sink_errors
        if n == 1 or n % 1000 == 0:
            log.exception("raw_sink failed (%d failures so far)", n)

    def _flush_depth(self) -> None:
        if self._pending_depth:
            pending = list(self._pending_depth.values())
            self._pending_depth.clear()
            on_depth = self.handler.on_depth
            for msg in pending:
                try:
                    on_depth(msg)
                except Exception:
                    self._on_handler_error(msg)

    def _end_batch(self) -> None:
        self._flush_depth()
        stats = self.stats
        stats.batches += 1
        if self._data_in_batch:
            stats.messages += self._data_in_batch
            self._data_in_batch = 0
            if self._loop is not None:
                now = self._loop.time()
                gap = now - self._last_data
                if gap > stats.max_gap_s and self.state is ConnState.LIVE:
                    stats.max_gap_s = gap
                self._last_data = now
            stats.last_lag_ms = self._clock.now_ns() // 1_000_000 - self._last_ts
        if self._attempt and self.state is ConnState.LIVE:
            # Traffic on a live connection (data, or a pong on a quiet private socket):
            # the next failure starts the backoff from the base again.
            self._attempt = 0
        try:
            self.handler.on_batch_end()
        except Exception:
            stats.handler_errors += 1
            log.exception("on_batch_end handler failed")

    def _on_malformed(self, exc: WireError) -> None:
        kind = exc.kind
        counts = self.stats.malformed
        if kind not in counts and len(counts) >= MAX_MALFORMED_KINDS:
            kind = "other"  # hostile input must not grow the counters without bound
        counts[kind] = counts.get(kind, 0) + 1
        if kind not in self._malformed_logged:
            self._malformed_logged.add(kind)
            log.warning("dropping malformed %s frame (logged once per kind): %s", kind, exc)

    def _on_control(self, msg: Any) -> None:
        if isinstance(msg, PingFrame):
            if msg.pong is not None and self._loop is not None:
                self.stats.pongs += 1
                self._pong_at = self._loop.time()
                if self._pong_timer is not None:
                    self._pong_timer.cancel()
                    self._pong_timer = None
                if self._ping_sent_at:
                    self.stats.last_rtt_s = self._pong_at - self._ping_sent_at
        elif isinstance(msg, ConnectFrame):
            self._start_setup()
        elif isinstance(msg, LoginFrame):
            self._login_ok = msg.ok
            if not msg.ok:
                err = f"login rejected: {msg.data if msg.data is not None else msg.msg}"
                log.error("%s", err)
                self._report(err)
            self._login_evt.set()
        elif isinstance(msg, SubscribeFrame):
            if isinstance(msg.data, Result) and not msg.data.result:
                self.stats.subscribe_refusals += 1
                err = f"subscription refused: {msg.data.msg}"
                log.error("%s", err)
                self._report(err)
        elif isinstance(msg, UnsubscribeFrame):
            log.debug("unsubscribe acknowledged")
        else:
            self.stats.unhandled += 1

    def _report(self, err: str) -> None:
        try:
            self.handler.on_error(err)
        except Exception:
            log.exception("on_error handler failed")
