"""Where a backtest's orders, fills, round trips and decisions go: memory, in order.

The live bot journals to SQLite (``bitunix.store``); a backtest keeps the same records in
memory and writes them out once, as CSV, when the replay ends. It implements the
execution side's ``Journal`` and ``TradeFeedback`` protocols; round trips are passed on to
the strategies' own feedback (``forward``), exactly as in a live run.
"""

from __future__ import annotations

from collections import Counter

from bitunix.execution import TradeFeedback
from bitunix.model import Fill, Order, Position
from bitunix.model.records import AuditEntry, Decision, RoundTrip

__all__ = ["BacktestJournal"]


class BacktestJournal:
    """Every order (latest state, in creation order), fill, round trip and decision of a
    run; decisions are counted by outcome and the first ``keep_decisions`` kept."""

    def __init__(self, forward: TradeFeedback, *, keep_decisions: int = 100_000) -> None:
        self.forward = forward
        self.orders: dict[str, Order] = {}
        self.fills: list[Fill] = []
        self.positions: dict[str, Position] = {}
        self.trips: list[RoundTrip] = []
        self.audit: list[AuditEntry] = []
        self.decisions: list[Decision] = []
        self.outcomes: Counter[str] = Counter()
        self._keep = keep_decisions

    # -- Journal ----------------------------------------------------------------------------
    def record_order(self, order: Order) -> None:
        """Keep the order's latest state."""
        self.orders[order.client_id] = order

    def record_fill(self, fill: Fill) -> None:
        """Keep the fill."""
        self.fills.append(fill)

    def record_position(self, position: Position) -> None:
        """Keep the position's latest state."""
        self.positions[position.symbol] = position

    def record_audit(self, entry: AuditEntry) -> None:
        """Keep the audit entry."""
        self.audit.append(entry)

    def record_decision(self, decision: Decision) -> None:
        """Count the decision's outcome; keep the decision while under the cap."""
        self.outcomes[decision.outcome] += 1
        if len(self.decisions) < self._keep:
            self.decisions.append(decision)

    # -- TradeFeedback ----------------------------------------------------------------------
    def on_entry_filled(self, symbol: str, strategy: str, ts_ns: int, price: float) -> None:
        """Pass on to the strategies."""
        self.forward.on_entry_filled(symbol, strategy, ts_ns, price)

    def on_entry_rejected(self, symbol: str, strategy: str, ts_ns: int, reason: str) -> None:
        """Pass on to the strategies."""
        self.forward.on_entry_rejected(symbol, strategy, ts_ns, reason)

    def on_position_closed(self, trip: RoundTrip) -> None:
        """Keep the round trip and pass it on."""
        self.trips.append(trip)
        self.forward.on_position_closed(trip)
