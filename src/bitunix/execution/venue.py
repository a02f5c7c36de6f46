"""The one interface between the execution side and an exchange, in model types.

A :class:`Venue` is what the order manager talks to; the live Bitunix clients (REST, private
WebSocket and the fast order path) and the simulator's in-process engine (backtests) each
have an adapter that satisfies it, so the same order manager runs live, on paper and in a
backtest. The adapters live in ``bitunix.adapters``.

Two halves:

* **the hot path is synchronous**: :meth:`Venue.submit` and :meth:`Venue.cancel` return
  once the request bytes are written to an open connection (live) or the engine has
  executed it (in process). No task, queue or await in between. What happened next arrives
  later through the :class:`VenueListener` the order manager bound with :meth:`Venue.bind`;
* **everything else is async** (reconciliation reads, protection orders, flatten), off the
  hot path.

Outcomes of a submit, as the listener sees them:

* ``on_order_event(client_id, OrderAccepted(...))``: the venue took it (REST ``code 0``);
* ``on_order_event(client_id, OrderRejected(...))``: the venue refused it outright (a
  business error code): it was not placed and will not be;
* ``on_submit_error(client_id, SubmitError(...))``: no verdict (timeout, transport failure,
  HTTP 5xx, rate limited). ``executed`` says whether the request may have taken effect:
  ``False`` only when that is proven (rate limited, refused before it was written), so the
  same request (same client id) may be sent again; ``None`` when unknown, so the order
  manager must look the order up by client id first;
* ``on_order_event(client_id, OrderReport(...))`` at any time, in any order, possibly twice:
  the venue's cumulative state (private pushes, or REST reads made by the adapter).

Fills arrive through ``on_fill`` with the venue's trade id; an adapter may report the same
fill twice (push and REST), the order manager counts it once. Fills of orders the bot did not
send (an exchange TP/SL that triggered, a liquidation, a manual trade) are reported too,
with the client id they have (often empty): they move the position all the same.

Two rules every adapter keeps:

* a resend carries the same client id; when the venue refuses it as a duplicate (30042)
  the order exists: answer with its state (``OrderAccepted`` + a report), never with
  ``OrderRejected``;
* a cancel without a verdict is ``on_submit_error(client_id, SubmitError(...))`` with
  ``executed=None`` unless the cancel is proven not sent; a cancel of an order that already
  ended is answered with the order's report.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

import msgspec

from bitunix.model import Balance, ContractSpec, Fill, Order, OrderEvent, OrderReport, Side

__all__ = [
    "SubmitError",
    "Venue",
    "VenueListener",
    "VenueOrder",
    "VenuePosition",
]


class SubmitError(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A submit or cancel without a verdict from the venue.

    ``executed``: ``False`` when the request is proven not to have taken effect (so it may
    be sent again under the same client id), ``None`` when that is unknown (look the order
    up first). ``retry_after_s`` is the venue's or the rate limiter's hint, 0 if none.
    """

    reason: str
    executed: bool | None = None
    retry_after_s: float = 0.0


class VenueOrder(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """An order as the venue lists it (open orders, order lookups), for reconciliation.

    ``client_id`` is None for an order placed without one (by hand, by another program).
    """

    client_id: str | None
    spec: ContractSpec
    side: Side
    qty_steps: int
    price_ticks: int | None
    reduce_only: bool
    report: OrderReport


class VenuePosition(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A position as the venue holds it: signed size (+ long, - short) and its id."""

    spec: ContractSpec
    qty_steps: int
    position_id: str = ""
    entry_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None


class VenueListener(Protocol):
    """What the execution side receives from a venue.

    Called on the event-loop thread, from a socket callback, a timer, or synchronously
    from inside :meth:`Venue.submit` (the in-process venue executes at once): an
    implementation must register an order before submitting it.
    """

    def on_order_event(self, client_id: str, event: OrderEvent) -> None:
        """Accepted, rejected, or the venue's cumulative state of one of our orders."""
        ...

    def on_submit_error(self, client_id: str, error: SubmitError) -> None:
        """A submit (or cancel) of ``client_id`` ended without a verdict."""
        ...

    def on_fill(self, fill: Fill) -> None:
        """One execution of one of our orders (possibly reported twice)."""
        ...

    def on_position(self, position: VenuePosition) -> None:
        """The venue's view of a position changed (for drift detection)."""
        ...

    def on_balance(self, balance: Balance) -> None:
        """The venue's balance changed."""
        ...

    def on_funding(self, spec: ContractSpec, paid: Decimal, ts_ns: int) -> None:
        """A funding settlement on a position: ``paid`` > 0 paid, < 0 received."""
        ...

    def on_stream(self, connected: bool) -> None:
        """The private stream went down (False) or came (back) up (True): reconcile."""
        ...


class Venue(Protocol):
    """An exchange as the order manager sees it; see the module docs for the contract."""

    @property
    def name(self) -> str:
        """Short name for banners and the audit trail (``sim``, ``bitunix``, ...)."""
        ...

    def bind(self, listener: VenueListener) -> None:
        """Send every later event to ``listener`` (once, before the first submit)."""
        ...

    def submit(self, order: Order) -> None:
        """Send ``order`` (status INIT, with its client id) now; the outcome comes later."""
        ...

    def cancel(self, order: Order) -> None:
        """Request the cancellation of an open order now; the outcome comes as a report."""
        ...

    async def query_order(self, order: Order) -> OrderReport | None:
        """The venue's current state of ``order`` by client id; None when the venue
        definitively does not know it (never placed). Raises when it cannot tell."""
        ...

    async def open_orders(self, symbols: Sequence[str]) -> list[VenueOrder]:
        """Every open order of ``symbols`` (all pages)."""
        ...

    async def positions(self, symbols: Sequence[str]) -> list[VenuePosition]:
        """Every open position of ``symbols``."""
        ...

    async def balance(self) -> Balance:
        """The margin coin's balance."""
        ...

    async def fills(self, order: Order) -> list[Fill]:
        """Every fill of ``order`` (by its venue id), for closing gaps in what was pushed."""
        ...

    async def set_protection(
        self, spec: ContractSpec, *, tp_ticks: int | None, sl_ticks: int | None
    ) -> None:
        """Attach (or move) the take-profit and stop-loss of the position in ``spec`` at the
        exchange; None leaves that leg unset. Raises when the venue refuses."""
        ...

    async def cancel_all(self, symbols: Sequence[str]) -> None:
        """Cancel every open order of ``symbols``. Position protection (TP/SL) is not an
        order: it goes with the position when that is closed."""
        ...

    async def close_position(self, spec: ContractSpec) -> bool:
        """Close the whole position in ``spec`` at market, whatever its size (the venue's
        flash close): the way out of a remainder below the minimum order size, which no
        order may close. Its fills arrive as fills of an order the engine did not send.
        False when the venue holds no such position (closed already); raises when the
        venue refuses."""
        ...

    async def close(self) -> None:
        """Release connections and timers."""
        ...
