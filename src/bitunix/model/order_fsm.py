"""The order state machine: one transition table, one mutator.

Reports about an order come from two places that race: the REST answer to the request
(accepted, or refused) and the venue's reports (private ``order`` pushes, and REST reads of
the order during reconciliation). They can arrive in any order, twice, or not at all. The
rules that make that safe:

* a venue report carries the order's *cumulative* state (status, filled quantity), so a
  report that says less than what is known is old news (``STALE``) and a gap (a missed
  ``PART_FILLED``) is harmless: the next report carries everything;
* the same state reported twice is a ``DUPLICATE``;
* what the table does not allow is ``IMPOSSIBLE``: counted, logged, never applied (e.g. a
  fill after the order was cancelled with less filled, a refusal after the venue reported
  the order live). Reconciliation, not an event, corrects the local view then.

``OrderStateMachine.apply(order, event)`` is the only way an :class:`Order` changes state.
"""

from __future__ import annotations

import enum
import logging
from decimal import Decimal

import msgspec

from bitunix.model.enums import OrderStatus
from bitunix.model.orders import Order

__all__ = [
    "TRANSITIONS",
    "OrderAccepted",
    "OrderEvent",
    "OrderRejected",
    "OrderReport",
    "OrderStateMachine",
    "Verdict",
    "classify",
]

log = logging.getLogger("bitunix.model.order_fsm")

_ZERO = Decimal(0)

S = OrderStatus
_TERMINAL_FROM_VENUE = (S.FILLED, S.CANCELED, S.PART_FILLED_CANCELED, S.EXPIRED,
                        S.SYSTEM_CANCELED)

#: Every allowed ``(from, to)`` status change. Skipping a state is allowed (a missed push);
#: leaving a terminal state never is.
TRANSITIONS: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset(
    {(S.INIT, to) for to in (S.NEW, S.PART_FILLED, S.REJECTED, *_TERMINAL_FROM_VENUE)}
    | {(S.NEW, to) for to in (S.PART_FILLED, *_TERMINAL_FROM_VENUE)}
    | {(S.PART_FILLED, to) for to in (S.PART_FILLED, *_TERMINAL_FROM_VENUE)}
)

_RANK = {S.INIT: 0, S.NEW: 1, S.PART_FILLED: 2}


def _rank(status: OrderStatus) -> int:
    return _RANK.get(status, 3)


class OrderAccepted(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """The venue acknowledged the request (``code 0``) and named the order."""

    venue_id: str
    ts_ns: int = 0


class OrderRejected(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """The request was refused outright, or proven never placed; ``reason`` says which."""

    reason: str
    ts_ns: int = 0


class OrderReport(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """The venue's cumulative state of the order (a push or a REST read)."""

    status: OrderStatus
    filled_steps: int
    ts_ns: int
    venue_id: str | None = None
    avg_price: Decimal | None = None
    fee: Decimal | None = None


OrderEvent = OrderAccepted | OrderRejected | OrderReport


class Verdict(enum.Enum):
    """What an event did to an order."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    IMPOSSIBLE = "impossible"


def _normalised(order: Order, report: OrderReport) -> OrderStatus:
    """The venue's status made consistent with its filled quantity: an open order with a
    partial fill is ``PART_FILLED``, a cancel after a partial fill ``PART_FILLED_CANCELED``."""
    status, filled = report.status, report.filled_steps
    if status in (S.NEW, S.INIT) and 0 < filled < order.qty_steps:
        return S.PART_FILLED
    if status is S.CANCELED and filled > 0:
        return S.PART_FILLED_CANCELED
    return status


def classify(order: Order, event: OrderEvent) -> tuple[Verdict, Order]:
    """The verdict on ``event`` for ``order`` and the order it leads to (``order`` itself
    unless the verdict is ``APPLIED``). Pure; :class:`OrderStateMachine` counts and logs."""
    if isinstance(event, OrderAccepted):
        if order.status is S.INIT:
            return Verdict.APPLIED, msgspec.structs.replace(
                order, status=S.NEW, venue_id=event.venue_id,
                updated_ns=max(order.updated_ns, event.ts_ns))
        if order.status is S.REJECTED:
            return Verdict.IMPOSSIBLE, order
        if order.venue_id is None:  # a push came first and did not name it
            return Verdict.APPLIED, msgspec.structs.replace(order, venue_id=event.venue_id)
        return Verdict.DUPLICATE, order
    if isinstance(event, OrderRejected):
        if order.status is S.INIT:
            return Verdict.APPLIED, msgspec.structs.replace(
                order, status=S.REJECTED, reject_reason=event.reason,
                updated_ns=max(order.updated_ns, event.ts_ns))
        if order.status is S.REJECTED:
            return Verdict.DUPLICATE, order
        return Verdict.IMPOSSIBLE, order
    return _classify_report(order, event)


def _classify_report(order: Order, report: OrderReport) -> tuple[Verdict, Order]:
    filled = report.filled_steps
    if filled < 0 or filled > order.qty_steps:
        return Verdict.IMPOSSIBLE, order
    to = _normalised(order, report)
    if to is S.FILLED and filled != order.qty_steps:
        return Verdict.IMPOSSIBLE, order
    current = order.status
    if filled < order.filled_steps:
        return Verdict.STALE, order
    if filled == order.filled_steps:
        if to is current:
            return _fill_in_ids(order, report)
        if _rank(to) < _rank(current) and current is not S.REJECTED:
            return Verdict.STALE, order
    if (current, to) not in TRANSITIONS:
        return Verdict.IMPOSSIBLE, order
    return Verdict.APPLIED, msgspec.structs.replace(
        order,
        status=to,
        filled_steps=filled,
        venue_id=order.venue_id or report.venue_id,
        avg_price=report.avg_price if report.avg_price is not None else order.avg_price,
        fee=report.fee if report.fee is not None else order.fee,
        updated_ns=max(order.updated_ns, report.ts_ns),
    )


def _fill_in_ids(order: Order, report: OrderReport) -> tuple[Verdict, Order]:
    """The same state again: a duplicate, unless it names the venue id we lacked."""
    if order.venue_id is None and report.venue_id is not None:
        return Verdict.APPLIED, msgspec.structs.replace(order, venue_id=report.venue_id)
    return Verdict.DUPLICATE, order


class OrderStateMachine:
    """Applies events to orders through :data:`TRANSITIONS`, counting every verdict.

    ``counts[verdict]`` says how many events got it; ``impossible`` keeps the last few
    refused transitions for the run summary and the audit trail.
    """

    def __init__(self, keep_impossible: int = 100) -> None:
        self.counts: dict[Verdict, int] = dict.fromkeys(Verdict, 0)
        self.impossible: list[str] = []
        self._keep = keep_impossible

    def apply(self, order: Order, event: OrderEvent) -> Order:
        """``order`` after ``event``; unchanged unless the event is a legal new state."""
        verdict, result = classify(order, event)
        self.counts[verdict] += 1
        if verdict is Verdict.IMPOSSIBLE:
            what = (f"{order.symbol} order {order.client_id}: {type(event).__name__} "
                    f"{_describe(event)} refused in state {order.status.value} "
                    f"(filled {order.filled_steps}/{order.qty_steps} steps)")
            log.warning("impossible transition: %s", what)
            self.impossible.append(what)
            del self.impossible[: -self._keep]
        return result


def _describe(event: OrderEvent) -> str:
    if isinstance(event, OrderReport):
        return f"{event.status.value} filled {event.filled_steps}"
    if isinstance(event, OrderAccepted):
        return f"venue id {event.venue_id}"
    return event.reason
