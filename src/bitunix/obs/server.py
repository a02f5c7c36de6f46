"""The bot's HTTP server: ``/metrics``, ``/healthz``, ``/readyz``, the risk dashboard.

:class:`ObsServer` serves on aiohttp inside the bot's own event loop: every answer is
built from the run's state in the loop's thread, between two callbacks of the trading
path, so it reads a consistent state without a lock, and costs the trading path nothing
until it is asked. Endpoints:

* ``/metrics``: Prometheus text (:mod:`bitunix.obs.metrics`);
* ``/healthz``: 200 while the event loop turns (its timer's lag), 503 when it stalled;
* ``/readyz``: one entry per component (:func:`~bitunix.obs.health.readiness`), 200 or 503;
* ``/``: the dashboard, one self-contained page (``dashboard.html``: inline CSS and JS,
  no CDN); it follows ``/events`` (server-sent events: a JSON snapshot every
  ``refresh_s`` and at once on a change), also at ``/api/snapshot``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import time
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.typedefs import Middleware

from bitunix.core.errors import ConfigError
from bitunix.obs.health import LoopBeat, readiness
from bitunix.obs.metrics import HookCounts, RunCollector
from bitunix.obs.snapshot import DashboardState

__all__ = ["ObsServer"]

_TEXT_PLAIN = "text/plain; version=0.0.4; charset=utf-8"
#: A snapshot at most this often, however fast the run changes.
_MIN_GAP_S = 0.1
#: The loop is called stalled when its timer has not fired for this long.
_STALLED_S = 5.0


#: Adds endpoints to the server's application.
RouteAdder = Callable[[web.Application], None]


def dashboard_html() -> bytes:
    """The dashboard page (shipped beside this module)."""
    return resources.files("bitunix.obs").joinpath("dashboard.html").read_bytes()


class ObsServer:
    """Metrics, health and the dashboard of the run ``bot`` (a
    :class:`bitunix.app.bot.BotRun`, read by duck typing: ``obs`` sits below ``app``).

    ``host`` / ``port``: where to listen (0: any free port; a port in use: any free port,
    said in :attr:`fallback_from`); ``stale_after_s``: the feed's freshness for
    ``/readyz``; ``refresh_s``: the dashboard's snapshot interval.
    """

    def __init__(self, bot: Any, *, host: str, port: int, stale_after_s: float = 5.0,
                 refresh_s: float = 0.5, routes: Sequence[RouteAdder] = (),
                 middlewares: Sequence[Middleware] = ()) -> None:
        self.bot = bot
        #: More endpoints on the same listener (the control API, webhooks), each added by
        #: a callable given the application before it starts.
        self.routes = list(routes)
        #: Applied to every request of every endpoint, first to last (an IP allowlist).
        self.middlewares = list(middlewares)
        self.host = host
        self.port = port
        self.stale_after_s = stale_after_s
        self.refresh_s = refresh_s
        self.hooks = HookCounts()
        self.dashboard = DashboardState()
        self.metrics = RunCollector(bot, self.hooks)
        self.beat = LoopBeat()
        self.fallback_from: int | None = None
        self.started = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._clients: set[asyncio.Event] = set()
        self._closing = False
        self._curve: asyncio.TimerHandle | None = None
        self._page = dashboard_html()
        self._encode = msgspec.json.Encoder().encode

    @property
    def url(self) -> str:
        """The dashboard's URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    # -- life ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen; a configured port in use falls back to any free port."""
        app = web.Application(middlewares=self.middlewares)
        app.router.add_get("/", self._index)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/events", self._events)
        app.router.add_get("/api/snapshot", self._snapshot)
        for add in self.routes:
            add(app)
        runner = web.AppRunner(app, handle_signals=False, access_log=None,
                               shutdown_timeout=1.0)
        await runner.setup()
        self._runner = runner
        try:
            await self._listen(runner, self.port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or self.port == 0:
                await runner.cleanup()
                why = os.strerror(exc.errno) if exc.errno else str(exc)
                raise ConfigError(f"key http.host: cannot listen on {self.host}:{self.port}: "
                                  f"{why}") from None
            self.fallback_from = self.port
            await self._listen(runner, 0)
        self.port = int(runner.addresses[0][1])
        self.beat.start()
        self._note_curve()

    async def _listen(self, runner: web.AppRunner, port: int) -> None:
        await web.TCPSite(runner, self.host, port, reuse_address=False).start()

    def _note_curve(self) -> None:
        self.dashboard.note_equity(self.bot)
        loop = asyncio.get_running_loop()
        self._curve = loop.call_later(1.0, self._note_curve)

    async def stop(self) -> None:
        """Close the event streams and the listener."""
        self._closing = True
        self.notify()
        self.beat.stop()
        if self._curve is not None:
            self._curve.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def notify(self) -> None:
        """Something changed: every dashboard gets a snapshot now (cheap: an event set per
        open page)."""
        for wake in self._clients:
            wake.set()

    # -- answers -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, object]:
        """What the dashboard shows now."""
        return self.dashboard.snapshot(self.bot, self.readiness())

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """``(ready, components)`` now (see :func:`~bitunix.obs.health.readiness`)."""
        return readiness(self.bot, stale_after_s=self.stale_after_s)

    async def _index(self, _request: web.Request) -> web.Response:
        return web.Response(body=self._page, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    async def _metrics(self, _request: web.Request) -> web.Response:
        response = web.Response(body=self.metrics.render())
        response.headers["Content-Type"] = _TEXT_PLAIN
        return response

    async def _healthz(self, _request: web.Request) -> web.Response:
        age = self.beat.age_s()
        stalled = age > _STALLED_S
        body = {"status": "stalled" if stalled else "ok", "loop_lag_ms": self.beat.lag_s * 1e3,
                "max_loop_lag_ms": self.beat.max_lag_s * 1e3, "last_beat_s": age,
                "uptime_s": time.monotonic() - self.started}
        return self._json(body, 503 if stalled else 200)

    async def _readyz(self, _request: web.Request) -> web.Response:
        ok, parts = self.readiness()
        failing = [name for name, p in parts.items() if not p["ok"]]
        return self._json({"ready": ok, "failing": failing, "components": parts},
                          200 if ok else 503)

    async def _snapshot(self, _request: web.Request) -> web.Response:
        return self._json(self.snapshot(), 200)

    def _json(self, body: object, status: int) -> web.Response:
        return web.Response(body=self._encode(body), status=status,
                            content_type="application/json",
                            headers={"Cache-Control": "no-store"})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store",
            "X-Accel-Buffering": "no"})
        await response.prepare(request)
        wake = asyncio.Event()
        self._clients.add(wake)
        loop = asyncio.get_running_loop()
        try:
            while not self._closing:
                sent = loop.time()
                await response.write(b"data: " + self._encode(self.snapshot()) + b"\n\n")
                wake.clear()
                with contextlib.suppress(TimeoutError):  # no change: the periodic one
                    await asyncio.wait_for(wake.wait(), self.refresh_s)
                gap = _MIN_GAP_S - (loop.time() - sent)
                if gap > 0 and not self._closing:
                    await asyncio.sleep(gap)
        except ConnectionResetError:  # the page went away
            pass
        finally:
            self._clients.discard(wake)
        return response
