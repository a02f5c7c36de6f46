"""What a run shows the world over HTTP: Prometheus metrics (:mod:`~bitunix.obs.metrics`),
health and readiness (:mod:`~bitunix.obs.health`), the risk dashboard
(:mod:`~bitunix.obs.snapshot`, ``dashboard.html``), served by
:class:`~bitunix.obs.server.ObsServer`. The observer that runs it inside ``bitunix-bot run``
is :class:`bitunix.app.http_observer.HttpObserver`. See ``docs/observability.md``."""

from bitunix.obs.server import ObsServer

__all__ = ["ObsServer"]
