"""Funding of the simulated exchange: the settlement schedule and what a position pays.

Every ``interval`` (8 h by default, on the UTC grid) each open position pays
``qty x mark x rate``: longs pay a positive rate to shorts, receive a negative one. The
settlement instants are a fixed grid, so checking whether one has passed costs one integer
comparison per market event.
"""

from __future__ import annotations

from decimal import Decimal

from bitunix.sim.state import HOUR_NS, LONG, SimPosition

__all__ = ["FundingSchedule", "funding_amount"]


class FundingSchedule:
    """The funding rate, the settlement grid and the history of settlements.

    ``next_ns`` is the next settlement instant; ``history`` holds
    ``(ts_ns, symbol, rate in percent, mark price)`` per settled symbol.
    """

    __slots__ = ("history", "interval_ns", "last_ns", "next_ns", "rate_pct")

    def __init__(self, now_ns: int, *, rate_pct: Decimal = Decimal("0.01"),
                 interval_h: int = 8) -> None:
        if interval_h <= 0:
            raise ValueError(f"funding interval {interval_h} h must be > 0")
        self.rate_pct = rate_pct
        self.interval_ns = interval_h * HOUR_NS
        self.last_ns = 0
        self.next_ns = self.next_after(now_ns)
        self.history: list[tuple[int, str, Decimal, Decimal]] = []

    def next_after(self, now_ns: int) -> int:
        """The first settlement instant strictly after ``now_ns``."""
        return (now_ns // self.interval_ns + 1) * self.interval_ns

    def pop_due(self, now_ns: int) -> int | None:
        """The oldest settlement instant at or before ``now_ns`` not yet settled (the
        schedule moves past it), or None."""
        if now_ns < self.next_ns:
            return None
        due = self.next_ns
        self.last_ns = due
        self.next_ns = due + self.interval_ns
        return due


def funding_amount(pos: SimPosition, mark: Decimal, rate_pct: Decimal) -> Decimal:
    """What ``pos`` receives (negative: pays) at a settlement at ``mark``."""
    payment = pos.qty * mark * (rate_pct / 100)
    return -payment if pos.side == LONG else payment
