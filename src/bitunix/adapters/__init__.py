"""Venues for the execution side: each adapter makes one exchange a
:class:`bitunix.execution.venue.Venue`.

* :mod:`bitunix.adapters.inprocess`: the simulator's matching engine in process
  (backtests, tests), with fault injection;
* ``bitunix.adapters.bitunix``: the live REST and WebSocket clients (paper against the local
  simulator server, or any Bitunix-compatible URL).

Modules are imported by name so that importing this package stays cheap.
"""
