"""What the execution side needs from its neighbours, as protocols it owns.

* :class:`Journal`: where every order, fill, position and audit entry goes. The SQLite
  store (``bitunix.store``) implements it write-behind: these calls only enqueue, so they
  may be made on the hot path.
* :class:`TradeFeedback`: how strategies learn what became of their signals (they no longer
  keep a position of their own). The app routes it to the strategy named on the intent.
"""

from __future__ import annotations

from typing import Protocol

from bitunix.model import Fill, Order, Position
from bitunix.model.records import AuditEntry, Decision, RoundTrip

__all__ = ["Journal", "TradeFeedback"]


class Journal(Protocol):
    """Durable record of the trading state; every call is cheap and never blocks."""

    def record_order(self, order: Order) -> None:
        """The order's latest state (upsert by client id)."""
        ...

    def record_fill(self, fill: Fill) -> None:
        """A fill (insert once by trade id)."""
        ...

    def record_position(self, position: Position) -> None:
        """The position's latest state (upsert by symbol)."""
        ...

    def record_audit(self, entry: AuditEntry) -> None:
        """Append to the audit trail."""
        ...

    def record_decision(self, decision: Decision) -> None:
        """Append a model decision."""
        ...


class TradeFeedback(Protocol):
    """Callbacks from execution to the strategy that asked (``strategy`` is its name)."""

    def on_entry_filled(self, symbol: str, strategy: str, ts_ns: int, price: float) -> None:
        """The entry order filled (wholly or partly, at average ``price``): in position."""
        ...

    def on_entry_rejected(self, symbol: str, strategy: str, ts_ns: int, reason: str) -> None:
        """The entry never filled (refused by risk or the venue, cancelled unfilled)."""
        ...

    def on_position_closed(self, trip: RoundTrip) -> None:
        """The position ``trip.strategy`` opened is flat again; ``trip`` says how it went."""
        ...
