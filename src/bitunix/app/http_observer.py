"""The run's HTTP server as an :class:`~bitunix.app.observers.Observer`: metrics, health
and the risk dashboard (:class:`bitunix.obs.ObsServer`) for the time of one run.

It lives in ``app`` because ``obs`` may not import ``app`` or ``config`` (the layering
test): this is the wiring, ``obs`` the substance. Its hooks count and remember (a dict
update, a deque append) and wake the open dashboards; nothing is computed on the trading
path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiohttp.typedefs import Middleware

from bitunix.app.observers import Observer
from bitunix.config.http import HttpSection
from bitunix.model import Fill, Order, Position
from bitunix.model.records import Decision
from bitunix.obs import ObsServer
from bitunix.obs.server import RouteAdder
from bitunix.risk.verdict import RiskTransition

if TYPE_CHECKING:
    from bitunix.app.bot import BotRun

__all__ = ["HttpObserver"]


class HttpObserver(Observer):
    """Serves ``/metrics``, ``/healthz``, ``/readyz`` and the dashboard per ``config``
    while the run lasts; the run prints the dashboard's URL."""

    name = "http"

    def __init__(self, config: HttpSection, *, routes: Sequence[RouteAdder] = (),
                 middlewares: Sequence[Middleware] = ()) -> None:
        self.config = config
        #: More endpoints and middlewares for the same listener (see :class:`ObsServer`).
        self.routes = list(routes)
        self.middlewares = list(middlewares)
        self.server: ObsServer | None = None

    async def start(self, bot: BotRun) -> None:
        cfg = self.config
        server = ObsServer(bot, host=cfg.host, port=cfg.port, stale_after_s=cfg.stale_after_s,
                           refresh_s=cfg.refresh_s, routes=self.routes,
                           middlewares=self.middlewares)
        await server.start()
        self.server = server
        if server.fallback_from is not None:
            bot.emit(f"http: {cfg.host}:{server.fallback_from} is in use (another bot?); "
                     f"serving on port {server.port} instead")
        bot.emit(f"dashboard: {server.url} (metrics: {server.url}metrics, "
                 f"readiness: {server.url}readyz)")

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()

    def on_order(self, order: Order) -> None:
        server = self.server
        if server is not None:
            server.hooks.on_order(order)

    def on_fill(self, fill: Fill) -> None:
        server = self.server
        if server is not None:
            server.hooks.on_fill(fill)
            server.notify()

    def on_position(self, position: Position) -> None:
        server = self.server
        if server is not None:
            server.notify()

    def on_decision(self, decision: Decision) -> None:
        server = self.server
        if server is not None:
            server.hooks.on_decision(decision)
            server.dashboard.on_decision(decision)
            server.notify()

    def on_line(self, line: str) -> None:
        server = self.server
        if server is not None:
            server.dashboard.on_line(line)

    def on_risk(self, transition: RiskTransition) -> None:
        server = self.server
        if server is not None:
            server.dashboard.on_risk(transition.ts_ns, str(transition.kind), transition.active,
                                     transition.symbol)
            server.notify()
