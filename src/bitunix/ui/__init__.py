"""The live terminal view of ``bitunix-bot run`` (rich), shown while stdout is a terminal.

* :mod:`~bitunix.ui.render`: :func:`render_live`, a pure function from a snapshot of the
  run (the dashboard's, :class:`bitunix.obs.snapshot.DashboardState`, plus the readiness
  of each component) to a rich renderable.
* :mod:`~bitunix.ui.live`: :class:`LiveView`, the observer that keeps the view on screen,
  refreshed a few times a second, with the run's report lines printed above it.
"""

from bitunix.ui.live import LiveView
from bitunix.ui.render import render_live

__all__ = ["LiveView", "render_live"]
