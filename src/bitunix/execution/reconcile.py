"""Reconciliation: the venue's open orders, positions and balance against the local view.

Run at start (after a restore, before the first new order: it sets ``engine.ready``), on
every private-stream reconnect and every ``reconcile_interval_s``. What it corrects:

* **orders**: the venue's state of each of our open orders is applied through the state
  machine; a state the machine refuses replaces the local one (a drift). An open order
  carrying our client-id shape that memory does not know (a restart without its store, a
  lost acknowledgement) is adopted (a drift); orders of anyone else are left alone and
  recorded once. A local open order the venue no longer lists is looked up and its final
  state applied;
* **fills**: an order reported more filled than its booked fills has them fetched;
* **positions**: the local size must equal the venue's. If not, the fills of the recent
  orders of that symbol are fetched, the venue read again; if they still differ (and no
  order of the symbol was sent meanwhile: then it is checked again later), the
  venue's size is adopted by a synthetic correcting fill (trade id ``drift:...``, no fee,
  at the venue's entry price when it adds to the venue's side, else at the last mark),
  recorded as a drift with both sizes in the audit;
* **balance**: the venue's balance is taken as the wallet.

Every correction is counted (``drift_corrections``) and audited (``action="drift"``).
"""

from __future__ import annotations

import asyncio
import decimal
import logging
from typing import TYPE_CHECKING

import msgspec

from bitunix.execution.errors import RETRYABLE
from bitunix.execution.venue import VenueOrder, VenuePosition
from bitunix.model import (
    Fill,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
    Verdict,
)
from bitunix.model.order_fsm import classify
from bitunix.model.records import AuditEntry

if TYPE_CHECKING:
    from bitunix.execution.engine import ExecutionEngine

__all__ = ["ReconcileReport", "Reconciler"]

log = logging.getLogger("bitunix.execution.reconcile")

#: Recent orders of a symbol whose fills are re-read when its position disagrees.
RECENT_ORDERS = 20


class ReconcileReport(msgspec.Struct, kw_only=True):
    """What one reconciliation found and corrected."""

    ts_ns: int
    venue_orders: int = 0
    venue_positions: int = 0
    orders_corrected: int = 0
    adopted: int = 0
    foreign: int = 0
    fills_fetched: int = 0
    positions_corrected: int = 0
    drift: int = 0


class Reconciler:
    """Compares one engine's view with its venue (see the module docs)."""

    def __init__(self, engine: ExecutionEngine) -> None:
        self._engine = engine
        self._lock = asyncio.Lock()
        self._pending = False
        self._periodic: asyncio.TimerHandle | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._foreign: set[str] = set()
        self._drift_seq = 0
        self.last: ReconcileReport | None = None

    def request(self) -> None:
        """Reconcile soon, in the background (requests while one runs make one more)."""
        if self._pending:
            return
        self._pending = True
        self._engine.spawn(self._background())

    async def _background(self) -> None:
        engine = self._engine
        try:
            async with self._lock:
                self._pending = False
                await self._run()
        except RETRYABLE as exc:
            engine.counters.reconcile_failures += 1
            log.warning("reconciliation failed, retrying: %s", exc)
            self._again_later()

    async def reconcile(self) -> ReconcileReport:
        """Reconcile now; raises when the venue cannot be read (the caller decides)."""
        async with self._lock:
            try:
                return await self._run()
            except RETRYABLE:
                self._engine.counters.reconcile_failures += 1
                raise

    def close(self) -> None:
        """Stop the periodic timer and a pending retry."""
        for handle in (self._periodic, self._retry):
            if handle is not None:
                handle.cancel()
        self._periodic = self._retry = None

    def _again_later(self) -> None:
        """Reconcile again after a backoff (once, however many ask)."""
        if self._retry is None:
            self._retry = self._engine.call_later(self._engine.settings.backoff(2),
                                                  self._retry_now)

    def _retry_now(self) -> None:
        self._retry = None
        self.request()

    def _schedule(self) -> None:
        interval = self._engine.settings.reconcile_interval_s
        if interval and self._periodic is None:
            self._periodic = self._engine.call_later(interval, self._tick)

    def _tick(self) -> None:
        self._periodic = None
        self.request()
        self._schedule()

    async def _run(self) -> ReconcileReport:
        engine = self._engine
        venue = engine.venue
        started_ns = engine.clock.now_ns()
        drift_before = engine.counters.drift_corrections
        symbols = sorted({*engine.symbols, *engine.portfolio.open_symbols(),
                          *(o.symbol for o in engine.open_orders())})
        report = ReconcileReport(ts_ns=started_ns)
        venue_orders = await venue.open_orders(symbols)
        report.venue_orders = len(venue_orders)
        await self._orders(venue_orders, started_ns, report)
        await self._gaps(report)
        venue_positions = await venue.positions(symbols)
        report.venue_positions = len(venue_positions)
        await self._positions(venue_positions, symbols, report)
        engine.portfolio.set_balance(await venue.balance())
        report.drift = engine.counters.drift_corrections - drift_before
        engine.counters.reconciles += 1
        engine.ready = True
        engine.resume_exits()
        self.last = report
        self._schedule()
        return report

    # ------------------------------------------------------------------ orders
    async def _orders(self, venue_orders: list[VenueOrder], started_ns: int,
                      report: ReconcileReport) -> None:
        engine = self._engine
        listed: set[str] = set()
        for vo in venue_orders:
            cid = vo.client_id
            if cid and cid in engine.orders:
                listed.add(cid)
                local = engine.orders[cid]
                if local.status.is_terminal:
                    # Finished here, open there: read it again before believing either.
                    state = await engine.venue.query_order(local)
                    if state is not None and engine.apply_venue_state(
                            cid, state, "finished locally, open at the venue", fresh=True):
                        report.orders_corrected += 1
                elif engine.apply_venue_state(cid, vo.report, "open order differs at the venue"):
                    report.orders_corrected += 1
            elif cid and engine.ids.owns(cid):
                listed.add(cid)
                engine.adopt(_adopted(vo), "open order of ours unknown locally")
                report.adopted += 1
            else:
                key = vo.report.venue_id or cid or ""
                if key not in self._foreign:
                    self._foreign.add(key)
                    engine.counters.foreign_orders += 1
                    report.foreign += 1
                    engine.journal.record_audit(AuditEntry(
                        ts_ns=started_ns, action="foreign", symbol=vo.spec.symbol,
                        client_id=cid or "", reason="open order not placed by this bot",
                        detail={"venue_id": vo.report.venue_id or "",
                                "side": vo.side.value, "qty_steps": str(vo.qty_steps)}))
        for order in engine.open_orders():
            if (order.client_id in listed or order.created_ns >= started_ns
                    or order.status is OrderStatus.INIT):
                continue  # listed, sent after the snapshot, or still being resolved
            state = await engine.venue.query_order(order)
            if state is None:
                state = OrderReport(status=OrderStatus.CANCELED, filled_steps=order.filled_steps,
                                    ts_ns=engine.clock.now_ns(), venue_id=order.venue_id)
                engine.record_drift(order.symbol, "open order unknown to the venue",
                                    client_id=order.client_id)
            if engine.apply_venue_state(order.client_id, state, "order ended unobserved",
                                        fresh=True):
                report.orders_corrected += 1

    async def _gaps(self, report: ReconcileReport) -> None:
        engine = self._engine
        for cid, order in list(engine.orders.items()):
            if order.venue_id and order.filled_steps > engine.booked_steps(cid):
                report.fills_fetched += await self._fetch(order)

    async def _fetch(self, order: Order) -> int:
        engine = self._engine
        fills = await engine.venue.fills(order)
        new = 0
        for fill in fills:
            if not engine.portfolio.has_fill(fill.trade_id):
                new += 1
            engine.on_fill(fill)
        return new

    # ------------------------------------------------------------------ positions
    async def _positions(self, venue_positions: list[VenuePosition], symbols: list[str],
                         report: ReconcileReport) -> None:
        engine = self._engine
        by_symbol = {p.spec.symbol: p for p in venue_positions}
        suspects = [s for s in sorted({*by_symbol, *engine.portfolio.open_symbols()})
                    if engine.portfolio.qty_steps(s) != _qty(by_symbol.get(s))]
        if not suspects:
            return
        known = set(engine.orders)
        for symbol in suspects:
            report.fills_fetched += await self._refresh_symbol(symbol)
        fresh = {p.spec.symbol: p for p in await engine.venue.positions(symbols)}
        # Orders sent since the re-reads began may be in the venue's position already and
        # not in ours yet (fills are read after the order's report): not a drift yet.
        busy = {o.symbol for cid, o in engine.orders.items() if cid not in known}
        for symbol in suspects:
            venue_pos = fresh.get(symbol)
            local = engine.portfolio.qty_steps(symbol)
            if local == _qty(venue_pos):
                continue
            if symbol in busy:
                log.info("%s: position differs while orders are in flight; checked again "
                         "later", symbol)
                self._again_later()
                continue
            self._correct(symbol, local, venue_pos, by_symbol.get(symbol))
            report.positions_corrected += 1

    async def _refresh_symbol(self, symbol: str) -> int:
        """Re-read the state and fills of the recent and open orders of ``symbol``."""
        engine = self._engine
        mine = sorted((o for o in engine.orders.values() if o.symbol == symbol),
                      key=lambda o: o.created_ns)
        chosen = {o.client_id: o for o in mine[-RECENT_ORDERS:]}
        chosen.update({o.client_id: o for o in mine
                       if o.is_open or o.filled_steps != engine.booked_steps(o.client_id)})
        fetched = 0
        for cid, order in chosen.items():
            state = await engine.venue.query_order(order)
            if state is not None:
                engine.apply_venue_state(cid, state, "order differs at the venue", fresh=True)
            current = engine.orders.get(cid, order)
            if current.venue_id:
                fetched += await self._fetch(current)
        return fetched

    def _correct(self, symbol: str, local: int, venue_pos: VenuePosition | None,
                 earlier: VenuePosition | None) -> None:
        """Adopt the venue's size of ``symbol`` with a synthetic fill."""
        engine = self._engine
        target = _qty(venue_pos)
        delta = target - local
        known = venue_pos or earlier
        if known is None:
            pos = engine.position(symbol)
            assert pos is not None  # a local position exists when the venue has none
            spec = pos.spec
        else:
            spec = known.spec
        price = self._correction_price(symbol, delta, venue_pos)
        self._drift_seq += 1
        now = engine.clock.now_ns()
        fill = Fill(trade_id=f"drift:{symbol}:{now}:{self._drift_seq}", client_id="",
                    venue_order_id="", spec=spec, side=Side.BUY if delta > 0 else Side.SELL,
                    qty_steps=abs(delta), price_ticks=price, fee=decimal.Decimal(0),
                    ts_ns=now)
        engine.book_correction(fill, "position size differs at the venue; venue size adopted",
                               {"local_steps": str(local), "venue_steps": str(target),
                                "synthetic_trade_id": fill.trade_id,
                                "price_ticks": str(price)})

    def _correction_price(self, symbol: str, delta: int, venue_pos: VenuePosition | None) -> int:
        engine = self._engine
        entry: int | None = None
        if venue_pos is not None and venue_pos.entry_price is not None and venue_pos.qty_steps:
            entry = venue_pos.spec.price_to_ticks(venue_pos.entry_price, decimal.ROUND_HALF_EVEN)
            if (delta > 0) == (venue_pos.qty_steps > 0):
                return entry  # the correction adds to the venue's side: at its entry price
        mark = engine.portfolio.marks.get(symbol)
        if mark:
            return mark
        pos = engine.position(symbol)
        if pos is not None and pos.qty_steps:
            return max(abs(pos.entry_value) // abs(pos.qty_steps), 1)
        return max(entry or 1, 1)


def _qty(position: VenuePosition | None) -> int:
    return 0 if position is None else position.qty_steps


def _adopted(vo: VenueOrder) -> Order:
    """The order of ours the venue lists, as the engine will hold it."""
    blank = Order(client_id=vo.client_id or "", spec=vo.spec, side=vo.side,
                  qty_steps=vo.qty_steps,
                  order_type=OrderType.MARKET if vo.price_ticks is None else OrderType.LIMIT,
                  price_ticks=vo.price_ticks, reduce_only=vo.reduce_only,
                  created_ns=vo.report.ts_ns, reason="adopted")
    verdict, order = classify(blank, vo.report)
    if verdict is not Verdict.APPLIED:
        order = msgspec.structs.replace(blank, status=vo.report.status,
                                        filled_steps=vo.report.filled_steps,
                                        venue_id=vo.report.venue_id)
    return order
