"""The fast order transport: HTTP/1.1 keep-alive connections written to synchronously.

An order must leave in the same callback as the market tick that caused it: no task, queue
or await between the depth/trade handler and the request bytes reaching the socket.
:class:`FastHttpChannel` keeps a small pool of open keep-alive connections to one origin
(``http`` or ``https``); :meth:`FastHttpChannel.send` takes the complete request bytes
(built by :class:`~bitunix.exchange.request_bytes.SignedRequestBuilder`), writes them to an
idle connection with one ``transport.write`` and returns. The answer is parsed by
``httptools`` (llhttp, the parser of Node.js) as its bytes arrive, and handed to the
``on_done`` callback given to ``send``, from the connection's ``data_received``: an
:class:`HttpResponse`, or a :class:`FastHttpError` saying what went wrong and whether the
request may have reached the venue (:attr:`FastHttpError.executed`).

Rules the channel keeps:

* one request in flight per connection (no pipelining). A request that times out takes its
  connection with it (a late answer would otherwise be read as the next request's), as does
  any answer the parser refuses, ``Connection: close``, or bytes nobody asked for;
* connections that drop are replaced in the background (one reconnect task with backoff,
  never on the sending path); a connection idle for ``max_idle_s`` is replaced, the new one
  opened before the old one is closed, so the server's own keep-alive timeout never closes
  one under a request and the pool never dips; connections opened beyond the pool size
  are closed once idle;
* with no idle connection, ``send`` does not wait silently: below ``max_connections`` it
  opens one for this request and writes when it is up (the *slow path*, counted in
  :attr:`ChannelStats.slow_path`; a connect that fails or takes longer than
  ``connect_timeout_s`` ends in :class:`NotSentError`); at ``max_connections`` it fails at
  once with :class:`NotSentError`. Both say ``executed=False``: the bytes never left;
* ``on_done`` is called exactly once per ``send``, always later from the event loop, never
  from inside ``send``; the connection is back in the pool before it runs, so ``on_done``
  may send again.

Everything off the hot path (opening, reconnecting, closing) stays async; aiohttp
(:class:`~bitunix.exchange.rest.BitunixREST`) still serves every other request.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

import httptools
import msgspec

from bitunix.exchange.errors import ExchangeTimeoutError, TransportError

__all__ = [
    "BadResponseError",
    "ChannelStats",
    "ConnectionLostError",
    "FastHttpChannel",
    "FastHttpError",
    "HttpResponse",
    "HttpResult",
    "NotSentError",
    "ResponseTimeoutError",
]

log = logging.getLogger("bitunix.exchange.fasthttp")

_perf_ns = time.perf_counter_ns
_EXCERPT = 120  # bytes of a refused answer quoted in the error


class HttpResponse(msgspec.Struct, frozen=True, gc=False):
    """A complete HTTP answer.

    ``headers`` are keyed by lower-case name (``date``, ``content-type``...; a repeated
    header keeps its last value). ``written_ns`` and ``received_ns`` are
    ``time.perf_counter_ns()`` when the request bytes were written and when the answer was
    complete: their difference is the round trip as the socket saw it.
    """

    status: int
    headers: dict[str, str]
    body: bytes
    written_ns: int
    received_ns: int


class FastHttpError(TransportError):
    """A request on the fast channel that got no HTTP answer.

    ``written`` is True when the request bytes were handed to the socket, so the venue may
    have executed it. ``executed`` (as on every :class:`ExchangeError`) says the same in
    the terms of :class:`~bitunix.execution.venue.SubmitError`: ``False`` when the request
    never left (send the same request again), ``None`` when it may have taken effect (look
    the order up by its client id first).
    """

    def __init__(self, message: str, *, written: bool, endpoint: str = "") -> None:
        self.written = written
        super().__init__(message, endpoint=endpoint)
        self.executed = None if written else False
        self.args = (self._render(),)


class NotSentError(FastHttpError):
    """The request was never written: no connection could take it (``executed=False``)."""

    def __init__(self, message: str, *, endpoint: str = "") -> None:
        super().__init__(message, written=False, endpoint=endpoint)


class ResponseTimeoutError(FastHttpError, ExchangeTimeoutError):
    """No complete answer within the request timeout; the connection was closed."""


class ConnectionLostError(FastHttpError):
    """The connection closed after the request was written, before a complete answer."""


class BadResponseError(FastHttpError):
    """The answer is not HTTP the parser accepts; the connection was closed."""


HttpResult = HttpResponse | FastHttpError
"""What ``on_done`` receives."""

OnDone = Callable[[HttpResult], None]


class ChannelStats:
    """Counters of one channel (plain ints, read them any time)."""

    __slots__ = ("callback_errors", "connect_failures", "connection_lost", "connects",
                 "fast_path", "idle_recycled", "not_sent", "parse_errors", "responses",
                 "slow_path", "timeouts", "unsolicited")

    def __init__(self) -> None:
        #: Requests written at once to an idle pooled connection.
        self.fast_path = 0
        #: Requests that had to wait for a connection opened for them.
        self.slow_path = 0
        #: Requests that ended in :class:`NotSentError`.
        self.not_sent = 0
        #: Complete answers delivered (any status).
        self.responses = 0
        self.timeouts = 0
        #: Requests whose connection closed before the answer was complete.
        self.connection_lost = 0
        self.parse_errors = 0
        #: Bytes received on a connection with no request in flight (connection closed).
        self.unsolicited = 0
        #: Connections opened, and attempts that failed.
        self.connects = 0
        self.connect_failures = 0
        #: Idle connections closed for age (before the server's keep-alive timeout).
        self.idle_recycled = 0
        #: Exceptions raised by ``on_done`` callbacks (reported to the loop's handler).
        self.callback_errors = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return {name: getattr(self, name) for name in self.__slots__}


class _Connection(asyncio.Protocol):
    """One keep-alive connection; also the ``httptools`` parser's callback object."""

    def __init__(self, channel: FastHttpChannel) -> None:
        self._channel = channel
        self._loop = channel.loop
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.idle_since = 0.0
        self.lost = False
        self._closed: asyncio.Future[None] = self._loop.create_future()
        # The request in flight (on_done is None when there is none).
        self._on_done: OnDone | None = None
        self._endpoint = ""
        self._timeout_s = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._written_ns = 0
        self._status = 0
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._headers_done = False
        self._framed = False  # the answer has a Content-Length or is chunked
        self._complete = False
        self._keep_alive = False  # read when complete: the parser resets right after
        self._extra = False  # bytes after the complete answer

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # A request is one small write: Nagle would hold it for the previous ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self._on_done is None:
            self._channel.stats.unsolicited += 1
            log.warning("%s: %d bytes received with no request in flight; connection closed",
                        self._channel.origin, len(data))
            self.abort()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._channel.stats.parse_errors += 1
            self._fail(BadResponseError(
                f"unreadable HTTP answer ({exc}): {data[:_EXCERPT]!r}", written=True,
                endpoint=self._endpoint), abort=True)
            return
        if self._complete:
            self._finish()

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._channel._lost(self)
        if not self._closed.done():
            self._closed.set_result(None)
        if self._on_done is None:
            return
        if self._headers_done and not self._framed:
            # No Content-Length, not chunked: the body runs to the end of the connection.
            self._complete = True
            self._finish()
            return
        self._channel.stats.connection_lost += 1
        stage = "in the middle of the answer" if self._status else "before any answer"
        reason = f": {exc}" if exc else ""
        self._fail(ConnectionLostError(f"connection closed {stage}{reason}", written=True,
                                       endpoint=self._endpoint))

    # -- httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._complete:
            self._extra = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._complete:
            self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if self._complete:
            return
        self._status = self._parser.get_status_code()
        self._headers_done = True
        headers = self._headers
        self._framed = ("content-length" in headers or "transfer-encoding" in headers
                        or self._status in (204, 304))

    def on_body(self, body: bytes) -> None:
        if not self._complete:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._complete:
            return
        if 100 <= self._status < 200:
            # An interim answer (100 Continue, 103 Early Hints): the real one follows.
            self._reset_answer()
            return
        self._complete = True
        self._keep_alive = self._parser.should_keep_alive()

    # -- the request --------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Open, and no request in flight."""
        t = self.transport
        return t is not None and self._on_done is None and not t.is_closing()

    def start(self, request: bytes, on_done: OnDone, endpoint: str, timeout_s: float) -> None:
        """Write ``request`` now and wait for its answer (the connection must be usable)."""
        transport = self.transport
        assert transport is not None
        transport.write(request)
        self._written_ns = _perf_ns()
        self._on_done = on_done
        self._endpoint = endpoint
        self._timeout_s = timeout_s
        self._timer = self._loop.call_later(timeout_s, self._on_timeout)

    def _reset_answer(self) -> None:
        self._status = 0
        self._headers = {}
        self._body = []
        self._headers_done = False
        self._framed = False

    def _take(self) -> OnDone | None:
        """End the request in flight: its callback (None if it already ended)."""
        on_done = self._on_done
        self._on_done = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return on_done

    def _finish(self) -> None:
        on_done = self._take()
        assert on_done is not None  # data_received and connection_lost checked
        body = self._body
        response = HttpResponse(self._status, self._headers,
                                body[0] if len(body) == 1 else b"".join(body),
                                self._written_ns, _perf_ns())
        keep = self._keep_alive and self._framed and not self._extra
        self._reset_answer()
        self._complete = False
        self._keep_alive = False
        self._extra = False
        self._channel.stats.responses += 1
        if keep:
            self._channel._release(self)
        elif self.transport is not None:
            self.transport.close()
        self._channel._deliver(on_done, response)

    def _fail(self, error: FastHttpError, *, abort: bool = False) -> None:
        """End the request in flight with ``error`` (dropping the connection first if
        ``abort``, so that ``on_done`` cannot pick it again)."""
        on_done = self._take()
        self._reset_answer()
        self._complete = False
        if abort:
            self.abort()
        if on_done is not None:
            self._channel._deliver(on_done, error)

    def _on_timeout(self) -> None:
        self._timer = None
        self._channel.stats.timeouts += 1
        # A late answer must never be read as the next request's: the connection goes.
        self._fail(ResponseTimeoutError(f"no answer within {self._timeout_s} s; connection "
                                        f"closed", written=True, endpoint=self._endpoint),
                   abort=True)

    def broken(self) -> None:
        """The transport refused a write it said it could take: forget the request (it was
        not written) and drop the connection."""
        self._take()
        self.abort()

    def abort(self) -> None:
        """Drop the connection now (RST, no flush)."""
        if self.transport is not None:
            self.transport.abort()

    async def wait_closed(self) -> None:
        """Return once ``connection_lost`` has run."""
        await self._closed


class FastHttpChannel:
    """Pre-opened HTTP/1.1 keep-alive connections to one origin; see the module docs.

    ``base_url`` is ``http://host[:port]`` or ``https://host[:port]`` (a path is ignored:
    requests carry their own). ``ssl_context`` defaults to the system's verified context
    for https. ``request_timeout_s`` bounds each answer, ``connect_timeout_s`` each connect
    (TLS handshake included). At most ``max_connections`` are open at once; an idle one
    older than ``max_idle_s`` is replaced. Reconnects back off from ``reconnect_base_s``
    to ``reconnect_max_s``.

    Use as ``async with FastHttpChannel(url) as ch: await ch.open(2); ch.send(...)``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        request_timeout_s: float = 5.0,
        connect_timeout_s: float = 5.0,
        max_connections: int = 8,
        max_idle_s: float = 30.0,
        reconnect_base_s: float = 0.05,
        reconnect_max_s: float = 5.0,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http:// or https:// URL with a host, "
                             f"was {base_url!r}")
        for name, value in (("request_timeout_s", request_timeout_s),
                            ("connect_timeout_s", connect_timeout_s),
                            ("max_idle_s", max_idle_s),
                            ("reconnect_base_s", reconnect_base_s),
                            ("reconnect_max_s", reconnect_max_s)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, was {value!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, was {max_connections!r}")
        self._tls = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        default_port = self._port == (443 if self._tls else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        #: The ``Host`` header value for requests on this channel.
        self.host_header = host if default_port else f"{host}:{self._port}"
        #: ``scheme://host:port``, for messages.
        self.origin = f"{parts.scheme}://{host}:{self._port}"
        self._ssl: ssl.SSLContext | None = None
        if self._tls:
            self._ssl = ssl_context or ssl.create_default_context()
        self.request_timeout_s = request_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_connections = max_connections
        self.max_idle_s = max_idle_s
        self._reconnect_base_s = reconnect_base_s
        self._reconnect_max_s = reconnect_max_s
        self.stats = ChannelStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conns: set[_Connection] = set()
        self._idle: collections.deque[_Connection] = collections.deque()
        self._connecting = 0
        self._target = 0
        self._closing = False
        self._refill_task: asyncio.Task[None] | None = None
        self._replace_task: asyncio.Task[None] | None = None
        # Slow-path requests waiting for their connection, by task.
        self._waiting: dict[asyncio.Task[None], tuple[OnDone, str]] = {}
        self._sweep: asyncio.TimerHandle | None = None

    # -- state --------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the channel runs on (bound by :meth:`open`)."""
        if self._loop is None:
            raise RuntimeError("the channel is not open: await channel.open(n) first")
        return self._loop

    @property
    def idle(self) -> int:
        """Connections ready for a request now."""
        return sum(1 for c in self._idle if c.usable)

    @property
    def connections(self) -> int:
        """Open connections (idle or busy)."""
        return len(self._conns)

    async def __aenter__(self) -> FastHttpChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the hot path -------------------------------------------------------------------

    def send(self, request: bytes, on_done: OnDone, *, endpoint: str = "",
             timeout_s: float | None = None) -> bool:
        """Write ``request`` (complete HTTP/1.1 bytes) to an idle connection now.

        Returns True when the bytes were written before returning (the fast path); False
        when they were not (a connection is being opened for them, or they will not be
        sent: ``on_done`` then gets :class:`NotSentError`). ``on_done`` gets the outcome
        later, exactly once. ``endpoint`` names the request in errors; ``timeout_s``
        overrides the channel's request timeout. Call it on the loop's thread, after
        :meth:`open` (before, it raises ``RuntimeError``).
        """
        timeout = timeout_s or self.request_timeout_s
        idle = self._idle
        while idle:
            conn = idle.popleft()
            if conn.usable:
                try:
                    conn.start(request, on_done, endpoint, timeout)
                except Exception:
                    log.exception("%s: a pooled connection refused a write; dropped",
                                  self.origin)
                    conn.broken()
                    continue
                self.stats.fast_path += 1
                return True
        self._send_slow(request, on_done, endpoint, timeout)
        return False

    # -- connection bookkeeping (called by _Connection) ---------------------------------

    def _release(self, conn: _Connection) -> None:
        conn.idle_since = self.loop.time()
        if self._closing:
            conn.abort()
        elif len(self._conns) > self._target:
            self._retire(conn)  # a slow-path or replaced connection beyond the pool size
        else:
            self._idle.append(conn)

    def _retire(self, conn: _Connection) -> None:
        """Close an idle connection on purpose; it stops counting at once."""
        self._conns.discard(conn)
        with contextlib.suppress(ValueError):
            self._idle.remove(conn)
        if conn.transport is not None:
            conn.transport.close()

    def _lost(self, conn: _Connection) -> None:
        self._conns.discard(conn)
        with contextlib.suppress(ValueError):
            self._idle.remove(conn)
        self._schedule_refill()

    def _deliver(self, on_done: OnDone, result: HttpResult) -> None:
        try:
            on_done(result)
        except Exception as exc:
            # The caller's bug must not break the connection state (already settled).
            self.stats.callback_errors += 1
            self.loop.call_exception_handler({
                "message": f"fast channel {self.origin}: on_done callback raised",
                "exception": exc,
            })

    # -- slow path ----------------------------------------------------------------------

    def _send_slow(self, request: bytes, on_done: OnDone, endpoint: str,
                   timeout: float) -> None:
        loop = self.loop
        if self._closing:
            self._not_sent(on_done, "the channel is closed", endpoint)
        elif len(self._conns) + self._connecting >= self.max_connections:
            self._not_sent(on_done, f"no idle connection to {self.origin} "
                                    f"({self.max_connections} busy)", endpoint)
        else:
            self.stats.slow_path += 1
            task = loop.create_task(self._connect_and_send(request, endpoint, timeout))
            self._waiting[task] = (on_done, endpoint)

    def _not_sent(self, on_done: OnDone, reason: str, endpoint: str) -> None:
        self.stats.not_sent += 1
        self.loop.call_soon(self._deliver, on_done, NotSentError(reason, endpoint=endpoint))

    def _claim(self) -> OnDone:
        """The callback of the slow-path task running now (close() answers the others)."""
        task = asyncio.current_task()
        assert task is not None
        return self._waiting.pop(task)[0]

    async def _connect_and_send(self, request: bytes, endpoint: str, timeout: float) -> None:
        # A cancellation (only close() cancels) is answered by close(): a task cancelled
        # before it ever ran would not get to answer it here.
        try:
            conn = await self._connect()
        except Exception as exc:
            if not isinstance(exc, OSError | TimeoutError):
                log.exception("%s: unexpected error while connecting", self.origin)
            on_done = self._claim()
            self.stats.not_sent += 1
            self._deliver(on_done, NotSentError(
                f"could not connect to {self.origin}: {_describe(exc)}", endpoint=endpoint))
            return
        on_done = self._claim()
        if self._closing or not conn.usable:
            conn.abort()
            self.stats.not_sent += 1
            self._deliver(on_done, NotSentError(f"the new connection to {self.origin} "
                                                f"closed before use", endpoint=endpoint))
            return
        conn.start(request, on_done, endpoint, timeout)

    # -- opening, reconnecting, closing -------------------------------------------------

    async def _connect(self) -> _Connection:
        loop = self.loop
        self._connecting += 1
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self), self._host, self._port, ssl=self._ssl,
                    server_hostname=self._host if self._tls else None)
        except (OSError, TimeoutError):
            self.stats.connect_failures += 1
            raise
        finally:
            self._connecting -= 1
        if conn.lost or conn.transport is None:
            self.stats.connect_failures += 1
            raise ConnectionResetError("closed as soon as it was opened")
        # Counted from here, not from connection_made: until create_connection returns
        # it is still in _connecting.
        self._conns.add(conn)
        self.stats.connects += 1
        return conn

    async def open(self, n: int) -> None:
        """Keep ``n`` connections open from now on: open the missing ones (or close idle
        ones beyond ``n``).

        Raises :class:`~bitunix.exchange.errors.TransportError` when some could not be
        opened (those are then retried in the background).
        """
        if not 1 <= n <= self.max_connections:
            raise ValueError(f"n must be 1..{self.max_connections} (max_connections), was {n}")
        if self._closing:
            raise TransportError(f"the channel to {self.origin} is closed")
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._arm_sweep()
        self._target = n
        while len(self._conns) > n and self._idle:
            self._retire(self._idle.pop())
        missing = n - len(self._conns) - self._connecting
        results = await asyncio.gather(*(self._connect() for _ in range(missing)),
                                       return_exceptions=True)
        errors = []
        for result in results:
            if isinstance(result, _Connection):
                self._ready(result)
            elif isinstance(result, OSError | TimeoutError):
                errors.append(result)
            else:  # CancelledError or a bug: not ours to hide
                raise result
        if errors:
            self._schedule_refill()
            raise TransportError(f"could not open {len(errors)} of {missing} connections to "
                                 f"{self.origin}: {_describe(errors[0])}")

    def _ready(self, conn: _Connection) -> None:
        if conn.usable:
            self._release(conn)

    def _schedule_refill(self) -> None:
        if self._closing or self._loop is None:
            return
        running = self._refill_task is not None and not self._refill_task.done()
        if not running and len(self._conns) + self._connecting < self._target:
            self._refill_task = self._loop.create_task(self._refill())

    async def _refill(self) -> None:
        delay = self._reconnect_base_s
        while not self._closing and len(self._conns) + self._connecting < self._target:
            try:
                conn = await self._connect()
            except (OSError, TimeoutError) as exc:
                log.warning("%s: reconnect failed (%s); next attempt in %.3f s", self.origin,
                            _describe(exc), delay)
                await asyncio.sleep(delay)
                delay = min(2 * delay, self._reconnect_max_s)
                continue
            delay = self._reconnect_base_s
            self._ready(conn)

    def _arm_sweep(self) -> None:
        self._sweep = self.loop.call_later(self.max_idle_s / 4, self._recycle_idle)

    def _recycle_idle(self) -> None:
        """Replace idle connections before the server's keep-alive timeout closes them
        (a request written just as the server closes would end with an unknown outcome)."""
        horizon = self.loop.time() - self.max_idle_s
        stale = [c for c in self._idle if c.idle_since < horizon]
        busy = self._replace_task is not None and not self._replace_task.done()
        if stale and not busy:
            self._replace_task = self.loop.create_task(self._replace(stale))
        self._arm_sweep()

    async def _replace(self, stale: list[_Connection]) -> None:
        # Make before break: the pool never has fewer idle connections than before.
        for conn in stale:
            try:
                fresh = await self._connect()
            except (OSError, TimeoutError) as exc:
                log.warning("%s: no replacement for an idle connection (%s); keeping it",
                            self.origin, _describe(exc))
                return
            if conn in self._idle:
                self.stats.idle_recycled += 1
                self._retire(conn)
            self._ready(fresh)  # retired at once if the stale one got busy meanwhile

    async def close(self) -> None:
        """Close every connection; a request in flight ends in :class:`ConnectionLostError`,
        one waiting for a connection in :class:`NotSentError`."""
        if self._closing:
            return
        self._closing = True
        if self._sweep is not None:
            self._sweep.cancel()
        tasks = [t for t in (self._refill_task, self._replace_task, *self._waiting)
                 if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for on_done, endpoint in self._waiting.values():
            self.stats.not_sent += 1
            self._deliver(on_done, NotSentError("the channel closed before a connection "
                                                "was ready", endpoint=endpoint))
        self._waiting.clear()
        conns = list(self._conns)
        self._idle.clear()
        for conn in conns:
            conn.abort()
        for conn in conns:
            await conn.wait_closed()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
