"""What a run shows the world: components that watch a :class:`~bitunix.app.bot.BotRun`
without being part of its trading path (metrics, the dashboard, the live view,
notifications, control requests).

An :class:`Observer` is started once the run's components exist and stopped after the
store's last flush. In between it hears, in the event loop's thread, every order, fill,
position, audit entry and decision the run journals, every line it reports and every risk
transition. Each call must be cheap and must not block: it runs inside the callback that
made the order or the fill. An observer that raises is logged and dropped from that event;
it never stops trading.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bitunix.model import Fill, Order, Position
from bitunix.model.records import AuditEntry, Decision
from bitunix.risk.verdict import RiskTransition

if TYPE_CHECKING:
    from bitunix.app.bot import BotRun
    from bitunix.execution.ports import Journal

__all__ = ["Observer", "Observers", "TeeJournal"]

log = logging.getLogger("bitunix.app.observers")


class Observer:
    """A component watching a run; override what it needs (every hook does nothing here)."""

    #: Named in the log line when a hook raises.
    name = "observer"

    async def start(self, bot: BotRun) -> None:
        """The run's components exist (the store, risk, the trader; the engine and venue
        unless in dry-run); trading has not started."""

    async def stop(self) -> None:
        """The run is over: flattened, reconciled, flushed; release what was taken. Also
        called when the run failed before :meth:`start`."""

    def on_order(self, order: Order) -> None:
        """An order's latest state."""

    def on_fill(self, fill: Fill) -> None:
        """A fill, once per trade id."""

    def on_position(self, position: Position) -> None:
        """A position's latest state."""

    def on_audit(self, entry: AuditEntry) -> None:
        """An audit-trail entry (submits, cancels, denials, risk, leases, operators)."""

    def on_decision(self, decision: Decision) -> None:
        """A trader's decision on a signal (order, denial, standby, ...)."""

    def on_line(self, line: str) -> None:
        """A line the run reports (what ``bitunix-bot run`` prints)."""

    def on_risk(self, transition: RiskTransition) -> None:
        """A breaker, limit or kill switch tripped or recovered."""


class Observers:
    """The run's observers as one: each event goes to each, an error in one is logged
    (once per observer and hook) and goes no further."""

    def __init__(self, observers: Sequence[Observer] = ()) -> None:
        self.items = list(observers)
        self._failed: set[tuple[str, str]] = set()

    def __bool__(self) -> bool:
        return bool(self.items)

    def _each(self, hook: str, arg: object) -> None:
        for observer in self.items:
            try:
                getattr(observer, hook)(arg)
            except Exception:
                key = (observer.name, hook)
                if key not in self._failed:
                    self._failed.add(key)
                    log.exception("observer %s failed in %s (further failures of it are "
                                  "not logged)", observer.name, hook)

    async def start(self, bot: BotRun) -> None:
        """Start each; one that fails to start raises (the run fails with its reason)."""
        for observer in self.items:
            await observer.start(bot)

    async def stop(self) -> None:
        """Stop each, whatever the others do."""
        for observer in self.items:
            try:
                await observer.stop()
            except Exception:
                log.exception("observer %s failed to stop", observer.name)

    def on_order(self, order: Order) -> None:
        self._each("on_order", order)

    def on_fill(self, fill: Fill) -> None:
        self._each("on_fill", fill)

    def on_position(self, position: Position) -> None:
        self._each("on_position", position)

    def on_audit(self, entry: AuditEntry) -> None:
        self._each("on_audit", entry)

    def on_decision(self, decision: Decision) -> None:
        self._each("on_decision", decision)

    def on_line(self, line: str) -> None:
        self._each("on_line", line)

    def on_risk(self, transition: RiskTransition) -> None:
        self._each("on_risk", transition)


class TeeJournal:
    """A :class:`~bitunix.execution.ports.Journal` that records in ``journal`` (the store)
    first, then tells ``observers``."""

    def __init__(self, journal: Journal, observers: Observers) -> None:
        self.journal = journal
        self.observers = observers

    def record_order(self, order: Order) -> None:
        self.journal.record_order(order)
        self.observers.on_order(order)

    def record_fill(self, fill: Fill) -> None:
        self.journal.record_fill(fill)
        self.observers.on_fill(fill)

    def record_position(self, position: Position) -> None:
        self.journal.record_position(position)
        self.observers.on_position(position)

    def record_audit(self, entry: AuditEntry) -> None:
        self.journal.record_audit(entry)
        self.observers.on_audit(entry)

    def record_decision(self, decision: Decision) -> None:
        self.journal.record_decision(decision)
        self.observers.on_decision(decision)
