"""A local Bitunix-compatible futures exchange: the default venue for tests, paper runs and
backtests (see ``docs/simulator.md``).

* :class:`~bitunix.sim.engine.MatchingEngine`: the pure, exact matching engine;
* :class:`~bitunix.sim.venue.InProcessVenue`: the engine fed by market data, no sockets
  (backtests);
* ``bitunix.sim.server.SimServer``: the engine behind the Bitunix REST and WebSocket API
  on 127.0.0.1 (``bitunix-bot sim``), imported from its module so that importing this
  package stays free of aiohttp.
"""

from bitunix.sim.engine import FeeSchedule, MatchingEngine, OrderRequest
from bitunix.sim.errors import SimError
from bitunix.sim.venue import InProcessVenue

__all__ = ["FeeSchedule", "InProcessVenue", "MatchingEngine", "OrderRequest", "SimError"]
