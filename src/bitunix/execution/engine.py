"""The order manager: every order of the bot from intent to terminal state, and the books.

:class:`ExecutionEngine` is the :class:`~bitunix.execution.venue.VenueListener` of one venue.

* **Hot path** (:meth:`ExecutionEngine.submit`): register the order (INIT), enqueue it to
  the journal, ``venue.submit``. Nothing awaits; the outcome arrives through the listener,
  possibly synchronously from inside ``venue.submit`` (the in-process venue).
* **Outcomes** go through :class:`~bitunix.model.OrderStateMachine` (the only way an order
  changes). No verdict (``SubmitError``) or none within ``ack_timeout_s``: proven not sent
  -> resend the same order (same client id) after a backoff; unknown -> look it up by
  client id: a report is applied, "unknown to the venue" -> resend, bounded by
  ``max_submit_attempts``, then REJECTED locally. A failing lookup is retried with backoff;
  the order stays pending (and counts as exposure) meanwhile.
* **Fills** are booked once by trade id into the :class:`~bitunix.execution.portfolio.Portfolio`;
  an order whose reported filled quantity runs ahead of its booked fills for longer than
  ``fill_grace_s`` has them fetched (``venue.fills``): no fill is lost.
* **Silence**: an open order without a report for ``silence_s`` is confirmed by REST.
* **Entries** still open ``entry_timeout_s`` after acceptance are cancelled (the position
  is what filled). Exits (stop/target/trailing/time) are :mod:`bitunix.execution.exits`;
  reconciliation :mod:`bitunix.execution.reconcile`; flatten :mod:`bitunix.execution.flatten`.

Timers are one sweep timer on the event loop (armed only while something is pending) and
``loop.call_later`` for backoffs: nothing sleeps in a polling loop. Every state change is
journaled (enqueue only) and counted in :class:`~bitunix.execution.counters.ExecutionCounters`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from bitunix.core.clock import Clock
from bitunix.core.errors import BitunixError
from bitunix.execution.client_ids import ClientIdFactory
from bitunix.execution.counters import ExecutionCounters
from bitunix.execution.errors import RETRYABLE, NotReadyError
from bitunix.execution.exits import ExitController
from bitunix.execution.exposure import build_snapshot
from bitunix.execution.flatten import FlattenReport, cancel_all, flatten
from bitunix.execution.portfolio import Portfolio
from bitunix.execution.ports import Journal, TradeFeedback
from bitunix.execution.reconcile import Reconciler, ReconcileReport
from bitunix.execution.settings import ExecutionSettings
from bitunix.execution.venue import SubmitError, Venue, VenuePosition
from bitunix.model import (
    Balance,
    ContractSpec,
    Fill,
    Order,
    OrderEvent,
    OrderIntent,
    OrderRejected,
    OrderReport,
    OrderStateMachine,
    OrderStatus,
    Position,
    Verdict,
)
from bitunix.model.order_fsm import classify
from bitunix.model.records import AuditEntry
from bitunix.risk import ExposureSnapshot

__all__ = ["ExecutionEngine", "NotReadyError"]

log = logging.getLogger("bitunix.execution")

_ZERO = Decimal(0)


class _Track:
    """What the engine waits for on one order (mutable, private)."""

    __slots__ = ("attempts", "busy", "cancel_at", "cancel_attempts", "confirm_every",
                 "entry_deadline", "failures", "gap_since", "last_event_at", "next_confirm_at",
                 "not_before", "retry_pending")

    def __init__(self, now: float, silence_s: float) -> None:
        self.attempts = 1
        self.busy = False
        self.retry_pending = False
        self.last_event_at = now
        self.confirm_every = silence_s
        self.next_confirm_at = now + silence_s
        self.not_before = 0.0
        self.failures = 0
        self.cancel_at: float | None = None
        self.cancel_attempts = 0
        self.entry_deadline: float | None = None
        self.gap_since: float | None = None


class ExecutionEngine:
    """Orders, fills and positions of one venue (see the module docs).

    ``journal`` receives every order, fill, position and audit entry; ``feedback`` the
    strategy callbacks; ``symbols`` are the traded symbols (reconciliation reads them).
    ``ready`` turns true after the first successful :meth:`reconcile`; until then only
    reduce-only orders may be submitted.
    """

    def __init__(
        self,
        venue: Venue,
        journal: Journal,
        *,
        clock: Clock,
        ids: ClientIdFactory,
        settings: ExecutionSettings | None = None,
        feedback: TradeFeedback | None = None,
        symbols: Sequence[str] = (),
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.venue = venue
        self.journal = journal
        self.clock = clock
        self.ids = ids
        self.settings = settings or ExecutionSettings()
        self.feedback = feedback
        self.symbols = list(symbols)
        self.portfolio = Portfolio(clock)
        self.counters = ExecutionCounters()
        self.fsm = OrderStateMachine()
        self.ready = False
        #: Errors of background tasks (lookups, reconciliation...): the run summary shows them.
        self.errors: list[str] = []
        self.venue_positions: dict[str, VenuePosition] = {}
        self._loop = loop
        self._orders: dict[str, Order] = {}
        self._track: dict[str, _Track] = {}
        self._fill_steps: dict[str, int] = {}
        self._done: deque[str] = deque()
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._drift_checks: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._change: asyncio.Event | None = None
        self._stream_up = True
        self._resume: list[Order] = []
        self.exits = ExitController(self)
        self.reconciler = Reconciler(self)
        venue.bind(self)

    # ------------------------------------------------------------------ views
    @property
    def orders(self) -> Mapping[str, Order]:
        """Every order still in memory, by client id (open ones and recent terminal ones)."""
        return self._orders

    def order(self, client_id: str) -> Order | None:
        """The order ``client_id`` (None if unknown or long finished)."""
        return self._orders.get(client_id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders (pending, resting or partly filled), of ``symbol`` or all."""
        out = []
        for cid in self._track:
            order = self._orders[cid]
            if order.is_open and (symbol is None or order.symbol == symbol):
                out.append(order)
        return out

    def position(self, symbol: str) -> Position | None:
        """The local position of ``symbol``."""
        return self.portfolio.position(symbol)

    def booked_steps(self, client_id: str) -> int:
        """Steps of ``client_id`` booked from fills (compare with its ``filled_steps``)."""
        return self._fill_steps.get(client_id, 0)

    def snapshot(self) -> ExposureSnapshot:
        """What risk reads: positions, open orders (pending entries are exposure), the
        UTC-day PnL parts and equity. Before the venue's first balance, equity is 0 (risk
        then refuses entries: no equity, no size)."""
        pf = self.portfolio
        day = pf.day_figures()
        equity = pf.equity()
        if equity is None:
            equity = _ZERO
        start = pf.day_start_equity
        if start is None:
            start = equity - (day[0] - day[1] - day[2] + day[3] - day[4])
        return build_snapshot(self.clock.now_ns(), pf.positions, self.open_orders(), pf.marks,
                              day=day, equity=equity, day_start_equity=start)

    def summary(self) -> dict[str, object]:
        """Counters and PnL for the run summary (money as exact decimal strings)."""
        self.counters.impossible = self.fsm.counts[Verdict.IMPOSSIBLE]
        out: dict[str, object] = dict(self.counters.as_dict())
        pf = self.portfolio
        out.update(pnl=str(pf.net_realized()), fees=str(pf.fees()), funding=str(pf.funding()),
                   unrealized_pnl=str(pf.unrealized()), open_orders=len(self.open_orders()),
                   open_positions=len(pf.open_symbols()), errors=list(self.errors))
        return out

    # ------------------------------------------------------------------ hot path
    def submit(self, intent: OrderIntent) -> Order:
        """Send ``intent`` now; returns the order (already past INIT when the venue answered
        synchronously). Raises :class:`NotReadyError` for an entry before the first
        reconciliation."""
        if not self.ready and not intent.reduce_only:
            raise NotReadyError(
                f"{intent.spec.symbol}: entry refused, the local view is not reconciled yet")
        cid = self.ids.next()
        now_ns = self.clock.now_ns()
        order = Order.from_intent(intent, cid, now_ns)
        self._orders[cid] = order
        self._track[cid] = _Track(self._now(), self.settings.silence_s)
        self.journal.record_order(order)
        self.journal.record_audit(AuditEntry(
            ts_ns=now_ns, action="submit", symbol=intent.spec.symbol, client_id=cid,
            strategy=intent.strategy, reason=intent.reason))
        self.counters.orders += 1
        if self._sweep_handle is None:
            self._arm_sweep()
        self._send(order)
        return self._orders[cid]

    def _send(self, order: Order) -> None:
        try:
            self.venue.submit(order)
        except BitunixError as exc:  # refused before anything was sent (a bad contract...)
            self.on_order_event(order.client_id, OrderRejected(
                reason=f"not sent: {exc}", ts_ns=self.clock.now_ns()))

    def cancel(self, client_id: str, reason: str = "") -> bool:
        """Ask the venue to cancel ``client_id``; False when it is not open. The outcome
        arrives as a report; without one within ``ack_timeout_s`` the order is looked up."""
        order = self._orders.get(client_id)
        track = self._track.get(client_id)
        if order is None or track is None or not order.is_open:
            return False
        track.cancel_at = self._now()
        track.cancel_attempts += 1
        self.counters.cancels += 1
        self._audit("cancel", order, reason)
        if order.status is OrderStatus.INIT and track.retry_pending:
            return True  # not placed (proven): the resend will give up instead
        try:
            self.venue.cancel(order)
        except BitunixError as exc:
            self._note_error(f"cancel {client_id}: {exc}")
        return True

    def on_price(self, symbol: str, price_ticks: int, ts_ns: int) -> None:
        """The market's latest price of ``symbol``: marks, trailing stops, time exits.

        Until the first reconciliation only the mark moves: the exits of a restored
        position act once the venue has confirmed the position exists."""
        self.portfolio.marks[symbol] = price_ticks
        if self.ready:
            self.exits.on_price(symbol, price_ticks, ts_ns)

    # ------------------------------------------------------------------ VenueListener
    def on_order_event(self, client_id: str, event: OrderEvent) -> None:
        """Apply an acknowledgement, a refusal or a report through the state machine."""
        order = self._orders.get(client_id)
        if order is None:
            self._unknown_order(client_id)
            return
        track = self._track.get(client_id)
        if track is not None:
            now = self._now()
            track.last_event_at = now
            track.confirm_every = self.settings.silence_s
            track.next_confirm_at = now + self.settings.silence_s
        impossible = self.fsm.counts[Verdict.IMPOSSIBLE]
        new = self.fsm.apply(order, event)
        if self.fsm.counts[Verdict.IMPOSSIBLE] != impossible:
            self.counters.impossible += 1
            self._audit("impossible", order, self.fsm.impossible[-1])
        if new is order:
            return
        self._commit(order, new)

    def _commit(self, old: Order, new: Order) -> None:
        """Hold ``new`` as the state of the order and act on what changed."""
        cid = new.client_id
        self._orders[cid] = new
        self.journal.record_order(new)
        track = self._track.get(cid)
        if (old.status is OrderStatus.INIT and new.status is not OrderStatus.INIT
                and track is not None and not new.reduce_only and self.settings.entry_timeout_s):
            track.entry_deadline = self._now() + self.settings.entry_timeout_s
        if new.status is OrderStatus.REJECTED:
            self.counters.rejects += 1
            self._audit("reject", new, new.reject_reason)
        if new.status.is_terminal:
            self._settle(new)
        elif track is not None:
            self._check_gap(new, track)

    def on_submit_error(self, client_id: str, error: SubmitError) -> None:
        """A submit or cancel without a verdict: resend, look up, or confirm."""
        order = self._orders.get(client_id)
        track = self._track.get(client_id)
        if order is None or track is None or not order.is_open:
            return
        self.counters.submit_errors += 1
        if order.status is OrderStatus.INIT:
            if error.executed is False:
                if track.attempts >= self.settings.max_submit_attempts:
                    self._give_up(order, f"not placed after {track.attempts} attempts: "
                                         f"{error.reason}")
                    return
                track.retry_pending = True
                self._later(self.settings.backoff(track.attempts, error.retry_after_s),
                            self._resend, client_id)
            else:
                self._start(track, self._lookup(client_id, track))
        elif track.cancel_at is not None:
            if (error.executed is False
                    and track.cancel_attempts < self.settings.max_submit_attempts):
                self._later(self.settings.backoff(track.cancel_attempts, error.retry_after_s),
                            self._recancel, client_id)
            else:
                track.next_confirm_at = self._now()  # the sweep confirms it by lookup

    def on_fill(self, fill: Fill) -> None:
        """Book one execution (once per trade id) and act on what it changed."""
        self._book_fill(fill, None)

    def _book_fill(self, fill: Fill, reason_override: str | None) -> None:
        order = self._orders.get(fill.client_id) if fill.client_id else None
        symbol = fill.spec.symbol
        if order is not None:
            strategy, reason = order.strategy, _trip_reason(order.reason)
        else:
            strategy = self.portfolio.trips.strategy_of(symbol) or ""
            reason = self.exits.external_reason(symbol, fill.price_ticks)
        if reason_override is not None:
            reason = reason_override
        outcome = self.portfolio.apply_fill(fill, strategy=strategy, reason=reason)
        if outcome is None:
            self.counters.duplicate_fills += 1
            return
        position, trip = outcome
        self.counters.fills += 1
        self.journal.record_fill(fill)
        self.journal.record_position(position)
        first_of_entry = False
        if order is None:
            if reason_override is None:
                self.counters.foreign_fills += 1
                self._audit_fill(fill, strategy, "fill of an order not in memory")
        else:
            cid = order.client_id
            booked = self._fill_steps.get(cid, 0)
            first_of_entry = booked == 0 and not order.reduce_only
            self._fill_steps[cid] = booked + fill.qty_steps
            track = self._track.get(cid)
            if track is not None:
                self._check_gap(order, track)
                if order.status.is_terminal and track.gap_since is None:
                    self._untrack(cid)
        if trip is not None:
            self.counters.trades += 1
            self.journal.record_audit(AuditEntry(
                ts_ns=fill.ts_ns, action="trade", symbol=symbol, strategy=trip.strategy,
                reason=trip.reason, detail={"net_pnl": str(trip.net_pnl),
                                            "qty": str(trip.qty)}))
        if trip is not None or position.is_flat:
            self.exits.on_flat(symbol)
        if first_of_entry and order is not None and not position.is_flat:
            self.exits.on_entry_fill(order, fill)
            if self.feedback is not None:
                self.feedback.on_entry_filled(symbol, order.strategy, fill.ts_ns,
                                              float(fill.price))
        if trip is not None and self.feedback is not None:
            self.feedback.on_position_closed(trip)
        self._notify_change()

    def on_position(self, position: VenuePosition) -> None:
        """The venue's view of a position: a disagreement is checked again after a grace."""
        symbol = position.spec.symbol
        self.venue_positions[symbol] = position
        if position.qty_steps == self.portfolio.qty_steps(symbol) or symbol in self._drift_checks:
            return
        handle = self._loop_().call_later(self.settings.drift_grace_s, self._drift_check, symbol)
        self._drift_checks[symbol] = handle

    def on_balance(self, balance: Balance) -> None:
        """The venue's balance."""
        self.portfolio.set_balance(balance)

    def on_funding(self, spec: ContractSpec, paid: Decimal, ts_ns: int) -> None:
        """A funding settlement on the position of ``spec``."""
        position = self.portfolio.apply_funding(spec, paid, ts_ns)
        self.journal.record_position(position)

    def on_stream(self, connected: bool) -> None:
        """The private stream dropped or came back: reconcile once it is back."""
        self._stream_up = connected
        self.journal.record_audit(AuditEntry(
            ts_ns=self.clock.now_ns(), action="stream", reason="up" if connected else "down"))
        if connected:
            self.reconciler.request()

    # ------------------------------------------------------------------ restart
    def restore(self, orders: Iterable[Order], positions: Iterable[Position],
                fills: Iterable[Fill] = (), *, day_pnl: Decimal | None = None) -> None:
        """Take up the state the store kept (before :meth:`reconcile`, before any order).

        ``fills`` are the booked fills (their trade ids are not booked again, their
        quantities per order are the booked steps); ``day_pnl`` what was already made on
        this UTC day. Open orders are followed again; the exits of open positions are
        rebuilt from the orders that opened them."""
        fills = list(fills)
        for fill in fills:
            if fill.client_id:
                self._fill_steps[fill.client_id] = (self._fill_steps.get(fill.client_id, 0)
                                                    + fill.qty_steps)
        orders = sorted(orders, key=lambda o: o.created_ns)
        openers: dict[str, Order] = {}
        now = self._now()
        for order in orders:
            self._orders[order.client_id] = order
            if not order.reduce_only and order.filled_steps:
                openers[order.symbol] = order
            gap = order.filled_steps > self._fill_steps.get(order.client_id, 0)
            if order.is_open or gap:
                track = _Track(now, self.settings.silence_s)
                track.next_confirm_at = now  # confirm what the venue says at once
                if gap:
                    track.gap_since = now
                self._track[order.client_id] = track
            else:
                self._done.append(order.client_id)
        self.portfolio.restore(positions, fills,
                               {s: o.strategy for s, o in openers.items()})
        if day_pnl is not None:
            self.portfolio.restore_day(self.clock.now_ns(), day_pnl)
        # The exits resume after the first reconciliation (resume_exits): protecting or
        # closing a position the venue may no longer hold would only send refused orders.
        self._resume = [openers[s] for s in self.portfolio.open_symbols() if s in openers]
        self.ready = False
        if self._track:
            self._arm_sweep()

    async def reconcile(self) -> ReconcileReport:
        """Compare with the venue and correct the local view; sets :attr:`ready`."""
        return await self.reconciler.reconcile()

    def resume_exits(self) -> None:
        """Guard the restored positions the venue confirmed (the reconciler calls this once
        the local view matches the venue)."""
        pending, self._resume = self._resume, []
        for opener in pending:
            pos = self.portfolio.position(opener.symbol)
            if pos is not None and not pos.is_flat:
                self.exits.resume(opener)

    async def flatten(self, timeout_s: float = 30.0) -> FlattenReport:
        """Cancel everything, close every position reduce-only at market, wait until flat
        (at most ``timeout_s``); the report says what remains."""
        return await flatten(self, timeout_s)

    async def cancel_all(self) -> int:
        """Cancel every open order of the traded symbols; returns how many were open."""
        return await cancel_all(self)

    async def close(self) -> None:
        """Stop timers and background tasks (the venue is closed by its owner)."""
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
            self._sweep_handle = None
        for handle in (*self._timers, *self._drift_checks.values()):
            handle.cancel()
        self._timers.clear()
        self._drift_checks.clear()
        self.exits.close()
        self.reconciler.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def wait_change(self, timeout_s: float) -> bool:
        """Wait until a fill or an order state change (True), or ``timeout_s`` (False)."""
        if self._change is None:
            self._change = asyncio.Event()
        event = self._change
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    # ------------------------------------------------------------------ reconciliation API
    def apply_venue_state(self, client_id: str, report: OrderReport, why: str, *,
                          fresh: bool = False) -> bool:
        """Apply the venue's state of a known order; when the state machine refuses it,
        the venue's state replaces the local one (a drift, counted and audited). ``fresh``
        says the report was read just now (not a push that may be old news): then a
        report the machine calls stale but that differs (a locally finished order the venue
        has open) replaces the local state too. Returns True when something changed."""
        order = self._orders[client_id]
        verdict, _ = classify(order, report)
        if verdict is Verdict.APPLIED:
            self.on_order_event(client_id, report)
            return True
        differs = (report.status, report.filled_steps) != (order.status, order.filled_steps)
        if not (verdict is Verdict.IMPOSSIBLE or (fresh and verdict is Verdict.STALE
                                                  and differs)):
            return False
        replaced = msgspec.structs.replace(
            order, status=report.status, filled_steps=report.filled_steps,
            venue_id=report.venue_id or order.venue_id,
            avg_price=report.avg_price if report.avg_price is not None else order.avg_price,
            updated_ns=max(order.updated_ns, report.ts_ns))
        self.record_drift(order.symbol, why, client_id=client_id,
                          detail={"local": order.status.value, "venue": report.status.value,
                                  "local_filled": str(order.filled_steps),
                                  "venue_filled": str(report.filled_steps)})
        if client_id not in self._track:
            self._track[client_id] = _Track(self._now(), self.settings.silence_s)
        self._commit(order, replaced)
        return True

    def adopt(self, order: Order, why: str) -> None:
        """Take up an order of ours that the venue has and memory does not (a drift)."""
        self._orders[order.client_id] = order
        self.counters.adopted_orders += 1
        self.record_drift(order.symbol, why, client_id=order.client_id,
                          detail={"status": order.status.value,
                                  "filled": str(order.filled_steps)})
        self.journal.record_order(order)
        track = _Track(self._now(), self.settings.silence_s)
        self._track[order.client_id] = track
        if order.filled_steps > self._fill_steps.get(order.client_id, 0):
            track.gap_since = self._now()
        if not order.is_open and track.gap_since is None:
            self._untrack(order.client_id)
        self._arm_sweep()

    def book_correction(self, fill: Fill, why: str, detail: dict[str, str]) -> None:
        """Adopt the venue's position size through a synthetic fill (a drift)."""
        self.record_drift(fill.spec.symbol, why, detail=detail)
        self._book_fill(fill, "drift")

    def note_stop(self, client_id: str, sl_ticks: int | None) -> None:
        """The exchange stop of the position ``client_id`` opened moved (trailing): keep
        it on the entry order, so that a restart restores this stop and not the first."""
        order = self._orders.get(client_id)
        if order is not None and order.sl_ticks != sl_ticks:
            order = msgspec.structs.replace(order, sl_ticks=sl_ticks)
            self._orders[client_id] = order
            self.journal.record_order(order)

    def call_later(self, delay_s: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        """``loop.call_later`` on the engine's event loop."""
        return self._loop_().call_later(delay_s, callback, *args)

    def record_drift(self, symbol: str, why: str, *, client_id: str = "",
                     detail: dict[str, str] | None = None) -> None:
        """Count and audit one correction of the local view."""
        self.counters.drift_corrections += 1
        log.warning("drift %s %s: %s %s", symbol, client_id, why, detail or {})
        self.journal.record_audit(AuditEntry(
            ts_ns=self.clock.now_ns(), action="drift", symbol=symbol, client_id=client_id,
            reason=why, detail=detail or {}))

    # ------------------------------------------------------------------ internals
    def _now(self) -> float:
        return self._loop_().time()

    def _loop_(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _later(self, delay_s: float, callback: Any, *args: Any) -> None:
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            callback(*args)

        handle = self._loop_().call_later(delay_s, fire)
        self._timers.add(handle)

    def _start(self, track: _Track, coro: Coroutine[Any, Any, None]) -> None:
        if track.busy:
            coro.close()
            return
        track.busy = True
        self.spawn(coro)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` as a background task whose failure is counted and reported."""
        task = self._loop_().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.counters.task_errors += 1
            exc = task.exception()
            self._note_error(f"background task failed: {exc!r}")
            log.error("execution task failed", exc_info=exc)

    def _note_error(self, what: str) -> None:
        self.errors.append(what)
        del self.errors[:-100]

    def _audit(self, action: str, order: Order, reason: str) -> None:
        self.journal.record_audit(AuditEntry(
            ts_ns=self.clock.now_ns(), action=action, symbol=order.symbol,
            client_id=order.client_id, strategy=order.strategy, reason=reason))

    def _audit_fill(self, fill: Fill, strategy: str, reason: str) -> None:
        self.journal.record_audit(AuditEntry(
            ts_ns=fill.ts_ns, action="fill", symbol=fill.spec.symbol, client_id=fill.client_id,
            strategy=strategy, reason=reason,
            detail={"trade_id": fill.trade_id, "side": fill.side.value,
                    "qty": str(fill.qty), "price": str(fill.price)}))

    def _unknown_order(self, client_id: str) -> None:
        self.counters.unknown_reports += 1
        if self.ids.owns(client_id):
            self.reconciler.request()  # ours but not in memory: reconciliation adopts it

    def _give_up(self, order: Order, reason: str) -> None:
        self.on_order_event(order.client_id, OrderRejected(reason=reason,
                                                           ts_ns=self.clock.now_ns()))

    def _resend(self, client_id: str) -> None:
        order = self._orders.get(client_id)
        track = self._track.get(client_id)
        if order is None or track is None or order.status is not OrderStatus.INIT:
            return
        track.retry_pending = False
        if track.cancel_at is not None:
            self._give_up(order, "cancelled before it was placed")
            return
        if track.attempts >= self.settings.max_submit_attempts:
            self._give_up(order, f"not placed after {track.attempts} attempts")
            return
        track.attempts += 1
        track.last_event_at = self._now()
        self.counters.resends += 1
        self._audit("resend", order, f"attempt {track.attempts}")
        self._send(order)

    def _recancel(self, client_id: str) -> None:
        order = self._orders.get(client_id)
        if order is not None and order.is_open:
            track = self._track.get(client_id)
            if track is None:
                return
            track.cancel_at = self._now()
            track.cancel_attempts += 1
            try:
                self.venue.cancel(order)
            except BitunixError as exc:
                self._note_error(f"cancel {client_id}: {exc}")

    def _current(self, client_id: str, track: _Track) -> Order | None:
        """The order a background read was started for, None once it no longer waits
        (finished and untracked meanwhile, or forgotten)."""
        if self._track.get(client_id) is not track:
            track.busy = False
            return None
        return self._orders.get(client_id)

    def _read_failed(self, track: _Track, what: str, exc: BaseException) -> None:
        """A venue read for ``track``'s order failed: count it, back off, say so."""
        self.counters.lookup_failures += 1
        track.failures += 1
        track.not_before = self._now() + self.settings.backoff(track.failures)
        log.warning("%s: %s", what, exc)

    async def _lookup(self, client_id: str, track: _Track) -> None:
        """No verdict on a submit: ask the venue whether it knows the order."""
        order = self._current(client_id, track)
        if order is None:
            return
        try:
            report = await self.venue.query_order(order)
        except RETRYABLE as exc:
            self._read_failed(track, f"lookup of {client_id} failed", exc)
            return
        finally:
            track.busy = False
        self.counters.lookups += 1
        if report is not None:
            self.on_order_event(client_id, report)
            return
        order = self._orders.get(client_id)
        if order is not None and order.status is OrderStatus.INIT:
            self._resend(client_id)
        elif order is not None and order.is_open:
            # Acknowledged once, unknown now: only the full comparison can tell.
            self.reconciler.request()

    async def _confirm(self, client_id: str, track: _Track) -> None:
        """An open order was silent (or a cancel unanswered): read its state by REST."""
        order = self._current(client_id, track)
        if order is None:
            return
        try:
            report = await self.venue.query_order(order)
        except RETRYABLE as exc:
            self.counters.lookup_failures += 1
            log.warning("confirmation of %s failed: %s", client_id, exc)
            report = None
            failed = True
        else:
            failed = False
        finally:
            track.busy = False
        now = self._now()
        track.confirm_every = min(track.confirm_every * 2, self.settings.silence_max_s)
        track.next_confirm_at = now + track.confirm_every
        if failed:
            return
        self.counters.confirmations += 1
        if report is None:
            self.reconciler.request()
            return
        self.on_order_event(client_id, report)
        order = self._orders.get(client_id)
        if (order is not None and order.is_open and track.cancel_at is not None
                and now - track.cancel_at >= self.settings.ack_timeout_s
                and track.cancel_attempts < self.settings.max_submit_attempts):
            self._recancel(client_id)

    async def _fetch_fills(self, client_id: str, track: _Track) -> None:
        """An order reported more filled than its booked fills: fetch them."""
        order = self._current(client_id, track)
        if order is None:
            return
        try:
            if order.venue_id is None:
                report = await self.venue.query_order(order)
                if report is not None:
                    self.on_order_event(client_id, report)
                order = self._orders.get(client_id, order)
            fills = await self.venue.fills(order)
        except RETRYABLE as exc:
            self._read_failed(track, f"fills of {client_id} could not be read", exc)
            return
        finally:
            track.busy = False
        self.counters.gap_fetches += 1
        for fill in fills:
            self.on_fill(fill)
        if self._track.get(client_id) is track and track.gap_since is not None:
            track.not_before = self._now() + self.settings.backoff(2)

    def _check_gap(self, order: Order, track: _Track) -> None:
        booked = self._fill_steps.get(order.client_id, 0)
        if order.filled_steps > booked:
            if track.gap_since is None:
                track.gap_since = self._now()
                self._arm_sweep()
        else:
            track.gap_since = None
            if booked > order.filled_steps:  # the fills ran ahead: confirm the order soon
                track.next_confirm_at = min(track.next_confirm_at,
                                            self._now() + self.settings.fill_grace_s)

    def _settle(self, order: Order) -> None:
        """``order`` reached a terminal state."""
        cid = order.client_id
        track = self._track.get(cid)
        if track is not None:
            self._check_gap(order, track)
            if track.gap_since is None:
                self._untrack(cid)
        self._done.append(cid)
        while len(self._done) > self.settings.keep_terminal:
            old = self._done.popleft()
            if old not in self._track:
                self._orders.pop(old, None)
                self._fill_steps.pop(old, None)
        if not order.reduce_only and order.filled_steps == 0 and self.feedback is not None:
            self.feedback.on_entry_rejected(order.symbol, order.strategy, order.updated_ns
                                            or self.clock.now_ns(),
                                            order.reject_reason or order.status.value)
        self.exits.on_order_done(order)
        self._notify_change()

    def _untrack(self, client_id: str) -> None:
        self._track.pop(client_id, None)

    def _notify_change(self) -> None:
        if self._change is not None:
            self._change.set()
            self._change = None

    def _arm_sweep(self) -> None:
        if self._sweep_handle is None:
            self._sweep_handle = self._loop_().call_later(self.settings.sweep_interval_s,
                                                          self._sweep)

    def _sweep(self) -> None:
        """Check every pending order: ack timeouts, silence, entry timeouts, fill gaps."""
        self._sweep_handle = None
        now = self._now()
        s = self.settings
        for cid, track in list(self._track.items()):
            if track.busy or track.retry_pending or now < track.not_before:
                continue
            order = self._orders[cid]
            if track.gap_since is not None and now - track.gap_since >= s.fill_grace_s:
                self._start(track, self._fetch_fills(cid, track))
            elif order.status is OrderStatus.INIT:
                if now - track.last_event_at >= s.ack_timeout_s:
                    self._start(track, self._lookup(cid, track))
            elif order.is_open:
                if (track.entry_deadline is not None and now >= track.entry_deadline
                        and track.cancel_at is None):
                    self.counters.entry_timeouts += 1
                    self.cancel(cid, "entry timeout")
                elif now >= track.next_confirm_at or (
                        track.cancel_at is not None and now - track.cancel_at >= s.ack_timeout_s):
                    self._start(track, self._confirm(cid, track))
        if self._track:
            self._arm_sweep()

    def _drift_check(self, symbol: str) -> None:
        self._drift_checks.pop(symbol, None)
        venue = self.venue_positions.get(symbol)
        if venue is not None and venue.qty_steps != self.portfolio.qty_steps(symbol):
            self.reconciler.request()


def _trip_reason(reason: str) -> str:
    """The round-trip reason of an order reason: ``exit:stop`` -> ``stop``."""
    if reason.startswith("exit:"):
        return reason[5:]
    return reason or "external"

