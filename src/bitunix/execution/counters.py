"""What the execution side did, counted for the run summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["ExecutionCounters"]


@dataclass(slots=True)
class ExecutionCounters:
    """Counts of one run; ``impossible`` mirrors the order state machine's refusals.

    ``drift_corrections`` counts every local correction from reconciliation (an order state
    replaced or adopted, a position size adopted); ``duplicate_fills`` fills reported again
    and ignored; ``gap_fetches`` REST reads of an order's fills after a missed one.
    """

    orders: int = 0
    resends: int = 0
    rejects: int = 0
    submit_errors: int = 0
    lookups: int = 0
    lookup_failures: int = 0
    confirmations: int = 0
    cancels: int = 0
    entry_timeouts: int = 0
    fills: int = 0
    duplicate_fills: int = 0
    foreign_fills: int = 0
    gap_fetches: int = 0
    impossible: int = 0
    unknown_reports: int = 0
    trades: int = 0
    protections: int = 0
    protection_failures: int = 0
    trail_moves: int = 0
    exits: int = 0
    reconciles: int = 0
    reconcile_failures: int = 0
    drift_corrections: int = 0
    adopted_orders: int = 0
    foreign_orders: int = 0
    task_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name (for the summary JSON)."""
        return asdict(self)
