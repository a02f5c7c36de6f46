"""A local Bitunix-compatible futures exchange: the default venue for tests, paper runs and
backtests (see ``docs/simulator.md``).

* :class:`~bitunix.sim.engine.MatchingEngine`: the pure, exact matching engine;
* :class:`~bitunix.sim.venue.InProcessVenue`: the engine fed by market data, no sockets
  (backtests);
* ``bitunix.sim.server.SimServer``: the engine behind the Bitunix REST and WebSocket API
  on 127.0.0.1 (``bitunix-bot sim``), imported from its module so that importing this
  package stays free of aiohttp.

The venue's own types carry a ``Sim`` prefix (``SimOrderRequest``, ``SimOrder``,
``SimAccount``, ...) so that they are never mistaken for the client's types of the same
meaning in ``bitunix.exchange`` and ``bitunix.wire``.
"""

from bitunix.sim.engine import (
    FeeSchedule,
    MatchingEngine,
    SimAccount,
    SimFill,
    SimLevel,
    SimOrder,
    SimOrderRequest,
    SimPosition,
    SimTpSl,
)
from bitunix.sim.errors import SimError
from bitunix.sim.ratelimit import SimRateLimiter
from bitunix.sim.venue import InProcessVenue

__all__ = [
    "FeeSchedule",
    "InProcessVenue",
    "MatchingEngine",
    "SimAccount",
    "SimError",
    "SimFill",
    "SimLevel",
    "SimOrder",
    "SimOrderRequest",
    "SimPosition",
    "SimRateLimiter",
    "SimTpSl",
]
