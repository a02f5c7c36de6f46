"""The simulator's in-process engine as a :class:`~bitunix.execution.venue.Venue`.

For backtests and tests: :class:`InProcessVenueAdapter` wraps a
:class:`bitunix.sim.venue.InProcessVenue` (one account on the matching engine, no sockets).

* ``submit`` executes at once on the engine: a :class:`~bitunix.sim.SimError` is an
  ``OrderRejected`` carrying the venue's code; otherwise ``OrderAccepted``, then the order's
  fills and its report, built exactly from the engine's objects (ticks and steps of the
  contract, fees as the engine charged them). A duplicate client id (30042) is not a
  refusal: like the REST client, the adapter answers with the existing order's state.
* What happens later (a resting order filled by the market, a stop triggered, funding,
  liquidation) is found after each market event: drive the market with :meth:`step` /
  :meth:`events`, or call :meth:`sync` after touching the engine directly. Events go out in
  a fixed order: per order its fills then its report, then positions, funding, balance.
  Listener callbacks that submit again are queued behind the current delivery, never
  re-entering the engine mid-match.
* The async reads answer from the engine's state; ``set_protection`` places the position
  TP/SL (it replaces the previous one, as the exchange's position TP/SL does).

:class:`InProcessFaults` injects the failures the order manager must survive: dropped
reports, fills and position pushes; submits refused before execution (rate limited,
``executed=False``) or executed with the answer lost (``executed=None``, the "timed out but
filled" case); failing lookups, reads and protection requests.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from bitunix.core.errors import BitunixError, ConfigError
from bitunix.execution.venue import SubmitError, VenueListener, VenueOrder, VenuePosition
from bitunix.model import (
    Balance,
    ContractSpec,
    Fill,
    Order,
    OrderAccepted,
    OrderRejected,
    OrderReport,
    OrderStatus,
    Side,
    SymbolStatus,
)
from bitunix.model.market import MarketEvent
from bitunix.sim import SimError, SimFill, SimOrder, SimOrderRequest
from bitunix.sim.contracts import SimContract
from bitunix.sim.errors import CLIENT_ID_DUPLICATE, POSITION_NOT_EXIST
from bitunix.sim.venue import InProcessVenue

__all__ = ["InProcessFaults", "InProcessVenueAdapter", "InjectedFaultError", "contract_spec"]

_ZERO = Decimal(0)


class InjectedFaultError(BitunixError):
    """A failure injected by :class:`InProcessFaults` (tests only)."""


@dataclass(slots=True)
class InProcessFaults:
    """Failures to inject; each count is consumed one event (or call) at a time.

    ``drop_reports``: acknowledgements and order reports not delivered; ``drop_fills``:
    fills not delivered (the engine has them: ``fills()`` returns them); ``drop_positions``:
    position pushes not delivered. ``refuse_submits``: submits answered with
    ``SubmitError(executed=False)`` without executing (``retry_after_s`` as the hint);
    ``lose_submits``: submits executed whose answer, reports and fills are all lost,
    answered with ``SubmitError(executed=None)``. ``fail_queries``, ``fail_reads`` (open
    orders, positions, balance, fills) and ``fail_protection`` make those calls raise
    :class:`InjectedFaultError`.
    """

    drop_reports: int = 0
    drop_fills: int = 0
    drop_positions: int = 0
    refuse_submits: int = 0
    lose_submits: int = 0
    retry_after_s: float = 0.0
    fail_queries: int = 0
    fail_reads: int = 0
    fail_protection: int = 0


def contract_spec(contract: SimContract) -> ContractSpec:
    """The model's :class:`ContractSpec` of a simulator contract."""
    return ContractSpec(
        symbol=contract.symbol, base=contract.base, quote=contract.quote,
        price_decimals=contract.quote_precision, qty_decimals=contract.base_precision,
        min_qty=contract.min_qty, max_limit_qty=contract.max_limit_qty,
        max_market_qty=contract.max_market_qty, min_leverage=contract.min_leverage,
        max_leverage=contract.max_leverage, default_leverage=contract.default_leverage,
        price_protect_scope=contract.price_protect_scope, status=SymbolStatus(contract.status))


class InProcessVenueAdapter:
    """:class:`InProcessVenue` as a Venue (see the module docs)."""

    def __init__(self, venue: InProcessVenue,
                 contracts: Mapping[str, ContractSpec] | None = None) -> None:
        acct = venue.account
        if acct.position_mode != "ONE_WAY":
            raise ConfigError(f"the in-process venue must be in ONE_WAY position mode, "
                              f"was {acct.position_mode}")
        self.sim = venue
        self.contracts: dict[str, ContractSpec] = dict(contracts or {
            symbol: contract_spec(c) for symbol, c in venue.engine.contracts.items()})
        self.faults = InProcessFaults()
        self._listener: VenueListener | None = None
        self._queue: deque[Callable[[], None]] = deque()
        self._delivering = False
        self._fill_idx = len(acct.fills)
        self._ledger_idx = len(acct.ledger)
        self._open_ids: set[str] = set(acct.open_orders)
        self._fills_by_order: dict[str, list[Fill]] = {}
        self._position_ids: dict[str, str] = {}
        self._lost: set[str] = set()

    @property
    def name(self) -> str:
        """``sim``."""
        return "sim"

    def bind(self, listener: VenueListener) -> None:
        """Send every later event to ``listener``."""
        self._listener = listener

    # ------------------------------------------------------------------ hot path
    def submit(self, order: Order) -> None:
        """Execute ``order`` on the engine now; the outcome is delivered before returning
        (unless a delivery is already under way: then right after it)."""
        listener = self._need_listener()
        cid = order.client_id
        faults = self.faults
        if faults.refuse_submits > 0:
            faults.refuse_submits -= 1
            err = SubmitError(reason="injected: rate limited", executed=False,
                              retry_after_s=faults.retry_after_s)
            self._queue.append(partial(listener.on_submit_error, cid, err))
            self._deliver()
            return
        spec = order.spec
        req = SimOrderRequest(
            symbol=spec.symbol, side=order.side.value, order_type=order.order_type.value,
            qty=Decimal(order.qty_steps).scaleb(-spec.qty_decimals),
            price=(None if order.price_ticks is None
                   else Decimal(order.price_ticks).scaleb(-spec.price_decimals)),
            effect=order.time_in_force.value if order.time_in_force is not None else "GTC",
            client_id=cid, reduce_only=order.reduce_only)
        try:
            placed = self.sim.place_order(req)
        except SimError as exc:
            if exc.code == CLIENT_ID_DUPLICATE:
                self._duplicate(order)
            else:
                self._order_event(cid, OrderRejected(reason=f"[{exc.code}] {exc.msg}",
                                                     ts_ns=self.sim.clock.now_ns()))
            self.sync()
            return
        if faults.lose_submits > 0:
            faults.lose_submits -= 1
            self._lost.add(placed.order_id)
            self._collect(placed.order_id)
            self._lost.discard(placed.order_id)
            err = SubmitError(reason="injected: timed out after execution", executed=None)
            self._queue.append(partial(listener.on_submit_error, cid, err))
            self._deliver()
            return
        self._order_event(cid, OrderAccepted(venue_id=placed.order_id, ts_ns=placed.ctime_ns))
        self._collect(placed.order_id)
        self._deliver()

    def cancel(self, order: Order) -> None:
        """Cancel ``order`` now; the outcome is its report (or a SubmitError when the
        engine does not know it)."""
        listener = self._need_listener()
        try:
            sim_order = self.sim.engine.cancel_order(
                self.sim.uid, order_id=order.venue_id,
                client_id=None if order.venue_id else order.client_id)
        except SimError as exc:
            known = self._sim_order(order)
            if known is not None:  # already ended: say how
                self._order_event(order.client_id, self._report(known))
            else:
                err = SubmitError(reason=f"cancel: [{exc.code}] {exc.msg}", executed=None)
                cid = order.client_id
                self._queue.append(partial(listener.on_submit_error, cid, err))
            self.sync()
            return
        self._collect(sim_order.order_id)
        self._deliver()

    # ------------------------------------------------------------------ market
    def step(self, n: int = 1) -> int:
        """Apply up to ``n`` market events, delivering what each changed; returns how many."""
        done = 0
        while done < n and self.sim.step(1):
            done += 1
            self.sync()
        return done

    def events(self) -> Iterator[MarketEvent]:
        """The market events one by one, each applied and its consequences delivered."""
        for event in self.sim.events():
            self.sync()
            yield event

    def sync(self) -> None:
        """Deliver whatever changed in the engine since the last delivery."""
        acct = self.sim.account
        if len(acct.fills) != self._fill_idx or len(acct.ledger) != self._ledger_idx or (
                len(acct.open_orders) != len(self._open_ids)):
            self._collect(None)
        self._deliver()

    # ------------------------------------------------------------------ reads
    async def query_order(self, order: Order) -> OrderReport | None:
        """The engine's state of ``order`` by client id (None: never placed)."""
        if self.faults.fail_queries > 0:
            self.faults.fail_queries -= 1
            raise InjectedFaultError(f"injected: lookup of {order.client_id} failed")
        sim_order = self._sim_order(order)
        return None if sim_order is None else self._report(sim_order)

    async def open_orders(self, symbols: Sequence[str]) -> list[VenueOrder]:
        """Every open order of ``symbols`` (all symbols when empty)."""
        self._read_fault("open orders")
        wanted = set(symbols)
        out = []
        for o in self.sim.account.open_orders.values():
            if wanted and o.symbol not in wanted:
                continue
            spec = self.contracts[o.symbol]
            out.append(VenueOrder(
                client_id=o.client_id or None, spec=spec, side=Side(o.side),
                qty_steps=spec.qty_to_steps(o.qty),
                price_ticks=None if o.price is None else spec.price_to_ticks(o.price),
                reduce_only=o.reduce_only, report=self._report(o)))
        return out

    async def positions(self, symbols: Sequence[str]) -> list[VenuePosition]:
        """Every open position of ``symbols`` (all symbols when empty)."""
        self._read_fault("positions")
        wanted = set(symbols)
        return [self._position(pos.symbol) for pos in self.sim.account.positions.values()
                if not wanted or pos.symbol in wanted]

    async def balance(self) -> Balance:
        """The account's USDT balance."""
        self._read_fault("balance")
        return self._balance()

    async def fills(self, order: Order) -> list[Fill]:
        """Every fill of ``order``."""
        self._read_fault("fills")
        sim_order = self._sim_order(order)
        if sim_order is None:
            return []
        self._index_fills()
        return list(self._fills_by_order.get(sim_order.order_id, ()))

    async def set_protection(self, spec: ContractSpec, *, tp_ticks: int | None,
                             sl_ticks: int | None) -> None:
        """Place (replace) the position TP/SL of ``spec``'s position."""
        if self.faults.fail_protection > 0:
            self.faults.fail_protection -= 1
            raise InjectedFaultError(f"injected: protection of {spec.symbol} failed")
        pos = next((p for p in self.sim.account.positions.values()
                    if p.symbol == spec.symbol), None)
        if pos is None:
            raise SimError(POSITION_NOT_EXIST, f"no {spec.symbol} position to protect")
        self.sim.engine.place_tpsl(
            self.sim.uid, spec.symbol, pos.position_id,
            tp_price=None if tp_ticks is None else Decimal(tp_ticks).scaleb(-spec.price_decimals),
            sl_price=None if sl_ticks is None else Decimal(sl_ticks).scaleb(-spec.price_decimals),
            position_level=True)
        self.sync()

    async def cancel_all(self, symbols: Sequence[str]) -> None:
        """Cancel every open order of ``symbols``."""
        for symbol in symbols:
            self.sim.engine.cancel_all(self.sim.uid, symbol)
        self.sync()

    async def close_position(self, spec: ContractSpec) -> bool:
        """Flash-close the position of ``spec`` at market; False when there is none."""
        pos = next((p for p in self.sim.account.positions.values()
                    if p.symbol == spec.symbol), None)
        if pos is None:
            return False
        self.sim.engine.flash_close(self.sim.uid, pos.position_id)
        self.sync()
        return True

    async def close(self) -> None:
        """Nothing to release in process."""
        self._listener = None

    # ------------------------------------------------------------------ internals
    def _need_listener(self) -> VenueListener:
        if self._listener is None:
            raise ConfigError("InProcessVenueAdapter: bind() a listener before submitting")
        return self._listener

    def _read_fault(self, what: str) -> None:
        if self.faults.fail_reads > 0:
            self.faults.fail_reads -= 1
            raise InjectedFaultError(f"injected: reading {what} failed")

    def _sim_order(self, order: Order) -> SimOrder | None:
        acct = self.sim.account
        oid = order.venue_id or acct.client_ids.get(order.client_id)
        return acct.orders.get(oid) if oid else None

    def _report(self, o: SimOrder) -> OrderReport:
        spec = self.contracts[o.symbol]
        return OrderReport(
            status=OrderStatus(o.status), filled_steps=spec.qty_to_steps(o.filled_qty),
            ts_ns=o.mtime_ns, venue_id=o.order_id,
            avg_price=o.average_price if o.filled_qty else None, fee=o.fee)

    def _fill(self, f: SimFill) -> Fill:
        spec = self.contracts[f.symbol]
        return Fill(trade_id=f.trade_id, client_id=f.client_id, venue_order_id=f.order_id,
                    spec=spec, side=Side(f.side), qty_steps=spec.qty_to_steps(f.qty),
                    price_ticks=spec.price_to_ticks(f.price), fee=f.fee, ts_ns=f.ts_ns,
                    maker=f.role == "MAKER", reduce_only=f.reduce_only)

    def _position(self, symbol: str) -> VenuePosition:
        spec = self.contracts[symbol]
        pos = next((p for p in self.sim.account.positions.values() if p.symbol == symbol), None)
        if pos is None:
            return VenuePosition(spec=spec, qty_steps=0)
        sign = 1 if pos.side == "LONG" else -1
        self._position_ids[pos.position_id] = symbol
        return VenuePosition(spec=spec, qty_steps=sign * spec.qty_to_steps(pos.qty),
                             position_id=pos.position_id, entry_price=pos.avg_price,
                             unrealized_pnl=pos.unrealized(self.sim.engine.markets[symbol].mark))

    def _balance(self) -> Balance:
        acct = self.sim.account
        return Balance(ts_event_ns=self.sim.clock.now_ns(), coin="USDT",
                       available=acct.available(), frozen=acct.frozen(),
                       margin=acct.position_margin())

    def _index_fills(self) -> list[SimFill]:
        """New engine fills since the last call, indexed by order."""
        acct = self.sim.account
        new = acct.fills[self._fill_idx:]
        self._fill_idx = len(acct.fills)
        for f in new:
            self._fills_by_order.setdefault(f.order_id, []).append(self._fill(f))
        return new

    def _duplicate(self, order: Order) -> None:
        """A resend the engine already has: answer with the existing order's state."""
        existing = self._sim_order(order)
        if existing is None:  # pragma: no cover - the engine said it has it
            return
        self._order_event(order.client_id, OrderAccepted(venue_id=existing.order_id,
                                                         ts_ns=existing.ctime_ns))
        self._order_event(order.client_id, self._report(existing))

    def _collect(self, forced: str | None) -> None:
        """Queue the events of what changed since the last collection (see module docs)."""
        listener = self._need_listener()
        acct = self.sim.account
        new_fills = self._index_fills()
        touched: dict[str, None] = {}
        if forced is not None:
            touched[forced] = None
        symbols: dict[str, None] = {}
        for f in new_fills:
            touched[f.order_id] = None
            symbols[f.symbol] = None
        open_now = set(acct.open_orders)
        for oid in sorted(self._open_ids ^ open_now, key=int):
            touched[oid] = None
        self._open_ids = open_now
        by_order: dict[str, list[SimFill]] = {}
        for f in new_fills:
            by_order.setdefault(f.order_id, []).append(f)
        for oid in touched:
            o = acct.orders[oid]
            lost = oid in self._lost
            for f in by_order.get(oid, ()):
                if not lost:
                    self._fill_event(self._fill(f))
            if o.client_id and not lost:
                self._order_event(o.client_id, self._report(o))
        funding = [e for e in acct.ledger[self._ledger_idx:] if e.kind == "funding"]
        self._ledger_idx = len(acct.ledger)
        for entry in funding:
            symbol = self._position_symbol(entry.ref)
            if symbol is not None:
                symbols[symbol] = None
                spec = self.contracts[symbol]
                paid, ts = -entry.amount, entry.ts_ns
                self._queue.append(partial(listener.on_funding, spec, paid, ts))
        for symbol in symbols:
            if self._lost and self._lost & {f.order_id for f in new_fills if f.symbol == symbol}:
                continue
            position = self._position(symbol)
            if self.faults.drop_positions > 0:
                self.faults.drop_positions -= 1
                continue
            self._queue.append(partial(listener.on_position, position))
        if touched or symbols:
            balance = self._balance()
            self._queue.append(partial(listener.on_balance, balance))

    def _position_symbol(self, position_id: str) -> str | None:
        acct = self.sim.account
        for pos in (*acct.positions.values(), *acct.closed_positions):
            if pos.position_id == position_id:
                return pos.symbol
        return self._position_ids.get(position_id)

    def _order_event(self, cid: str, event: OrderAccepted | OrderRejected | OrderReport) -> None:
        if self.faults.drop_reports > 0:
            self.faults.drop_reports -= 1
            return
        listener = self._need_listener()
        self._queue.append(partial(listener.on_order_event, cid, event))

    def _fill_event(self, fill: Fill) -> None:
        if self.faults.drop_fills > 0:
            self.faults.drop_fills -= 1
            return
        listener = self._need_listener()
        self._queue.append(partial(listener.on_fill, fill))

    def _deliver(self) -> None:
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._queue:
                self._queue.popleft()()
        finally:
            self._delivering = False
