"""The control API and the allowlist's metric for the time of one run.

:class:`ApiObserver` binds the run to the :class:`~bitunix.api.service.ControlApi` and
adds the refused-requests counter to the listener's metrics once the listener runs (it
comes after the :class:`~bitunix.app.http_observer.HttpObserver` in the run's observers).
It has no hook on the trading path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bitunix.api.allowlist import IpAllowlist, RefusalCounts
from bitunix.api.service import ControlApi
from bitunix.app.http_observer import HttpObserver
from bitunix.app.observers import Observer
from bitunix.config.api import ApiSection
from bitunix.config.http import HttpSection
from bitunix.core.errors import ConfigError
from bitunix.obs.server import RouteAdder

if TYPE_CHECKING:
    from bitunix.app.bot import BotRun

__all__ = ["ApiObserver", "build_http_observers"]


class ApiObserver(Observer):
    """Binds ``api`` (None: no control API) to the run, and exports ``counts`` in the
    metrics of ``http``'s listener."""

    name = "api"

    def __init__(self, http: HttpObserver, counts: RefusalCounts,
                 api: ControlApi | None = None) -> None:
        self.http = http
        self.counts = counts
        self.api = api
        self._registered = False

    async def start(self, bot: BotRun) -> None:
        if self.api is not None:
            self.api.bind(bot)
        server = self.http.server
        if server is not None:
            server.metrics.registry.register(self.counts)
            self._registered = True

    async def stop(self) -> None:
        server = self.http.server
        if self._registered and server is not None:
            with contextlib.suppress(KeyError):  # already gone with the server
                server.metrics.registry.unregister(self.counts)
        self._registered = False


def build_http_observers(http: HttpSection, api: ApiSection, *,
                         routes: Sequence[RouteAdder] = ()) -> list[Observer]:
    """The run's listener (metrics, health, dashboard, and ``routes``: more endpoints)
    behind the allowlist of ``http``, with the control API when ``api`` enables it; []
    when ``http`` is off."""
    if not http.enabled:
        if api.enabled:
            raise ConfigError("key api.enabled: the control API is served on the [http] "
                              "listener: set http.enabled = true (or api.enabled = false)")
        return []
    counts = RefusalCounts()
    allowlist = IpAllowlist(http.allow, http.trust_proxy, counts=counts)
    control = ControlApi(api, counts=counts) if api.enabled else None
    adders = [*routes] if control is None else [*routes, control.add_routes]
    server = HttpObserver(http, routes=adders,
                          middlewares=[allowlist.middleware])
    return [server, ApiObserver(server, counts, control)]
