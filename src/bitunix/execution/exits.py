"""How a position gets out: exchange stop-loss/take-profit, the bot's trailing stop, time.

Per open position, from the order that opened it (:class:`ExitPlan`, carried on the order so
a restart still knows it):

* **stop-loss and take-profit** are attached at the exchange (``venue.set_protection``) as
  soon as the entry fills, retried ``protect_attempts`` times; a position whose protection
  cannot be placed is closed at market (a position without its stop does not stay open);
* the **trailing stop** is the bot's: it follows the best price in ticks once the price has
  moved ``trail_arm_ticks`` in favour of the entry, and moves the exchange stop with
  ``set_protection``, only ever tighter and debounced (a burst of ticks is one modify). A
  price through the trail closes the position at once, without waiting for the exchange;
* the **time exit** closes after ``max_hold_ns`` of market time (the prices' timestamps, so a
  backtest exits on its own clock).

Exits are reduce-only MARKET orders through the order manager, retried after
``exit_retry_s`` (market time) while the position is still open. A moved stop is written
back onto the entry order (``sl_ticks``) so that a restart restores the tighter stop, never
the looser original.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import msgspec

from bitunix.execution.errors import RETRYABLE
from bitunix.model import Fill, Order, OrderIntent, OrderType, Side
from bitunix.model.records import AuditEntry

if TYPE_CHECKING:
    from bitunix.execution.engine import ExecutionEngine

__all__ = ["ExitController", "ExitPlan"]

log = logging.getLogger("bitunix.execution.exits")


class ExitPlan(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """How the position an entry opens is to be exited, in ticks of its contract.

    ``stop_ticks``/``target_ticks``: exchange stop-loss and take-profit trigger prices
    (None: none). ``trail_distance_ticks``: trailing distance behind the best price (0: no
    trailing stop); ``trail_arm_ticks``: how far in favour of the entry price the best price
    must get before the trail arms (0: at once). ``max_hold_ns``: time exit (0: none).
    """

    stop_ticks: int | None = None
    target_ticks: int | None = None
    trail_distance_ticks: int = 0
    trail_arm_ticks: int = 0
    max_hold_ns: int = 0

    @classmethod
    def from_order(cls, order: Order) -> ExitPlan:
        """The plan an entry order carries."""
        return cls(stop_ticks=order.sl_ticks, target_ticks=order.tp_ticks,
                   trail_distance_ticks=order.trail_distance_ticks,
                   trail_arm_ticks=order.trail_arm_ticks, max_hold_ns=order.max_hold_ns)

    @property
    def protects(self) -> bool:
        """True when something is to be attached at the exchange at entry."""
        return self.stop_ticks is not None or self.target_ticks is not None


class _Guard:
    """The exits of one open position (mutable, private)."""

    __slots__ = (
        "armed",
        "best",
        "busy",
        "closing",
        "deadline_ns",
        "debounce",
        "direction",
        "entry_cid",
        "entry_ticks",
        "last_ts_ns",
        "pending_stop",
        "plan",
        "retry_at_ns",
        "retry_reason",
        "spec",
        "stop",
        "strategy",
        "symbol",
        "target",
        "trailed",
    )

    def __init__(self, order: Order, entry_ticks: int, entry_ns: int) -> None:
        self.symbol = order.symbol
        self.spec = order.spec
        self.entry_cid = order.client_id
        self.strategy = order.strategy
        self.direction = order.side.sign
        self.plan = ExitPlan.from_order(order)
        self.entry_ticks = entry_ticks
        self.best = entry_ticks
        self.armed = self.plan.trail_distance_ticks > 0 and self.plan.trail_arm_ticks == 0
        self.deadline_ns = entry_ns + self.plan.max_hold_ns if self.plan.max_hold_ns else 0
        #: What is in place at the exchange (None: nothing yet).
        self.stop: int | None = None
        self.target: int | None = None
        self.pending_stop: int | None = None
        self.trailed = False
        self.busy = False
        self.debounce: asyncio.TimerHandle | None = None
        self.closing: str | None = None
        self.retry_reason = ""
        self.retry_at_ns = 0
        self.last_ts_ns = entry_ns

    def tighter(self, stop: int, than: int | None) -> bool:
        """True when ``stop`` is closer to the price than ``than`` (for this direction)."""
        return than is None or self.direction * (stop - than) > 0


class ExitController:
    """The exits of every open position of one :class:`ExecutionEngine` (module docs)."""

    def __init__(self, engine: ExecutionEngine) -> None:
        self._engine = engine
        self.guards: dict[str, _Guard] = {}

    # ------------------------------------------------------------------ from the engine
    def on_entry_fill(self, order: Order, fill: Fill) -> None:
        """The first fill of an entry: guard the position it opened (first plan wins)."""
        if order.symbol in self.guards:
            return
        guard = _Guard(order, fill.price_ticks, fill.ts_ns)
        self.guards[order.symbol] = guard
        if guard.plan.protects:
            self._protect(guard, guard.plan.stop_ticks, guard.plan.target_ticks, initial=True)

    def resume(self, order: Order) -> None:
        """After a restart: guard the restored position ``order`` opened, and attach its
        protection again (its ``sl_ticks`` is the latest stop, trailing moves included)."""
        pos = self._engine.position(order.symbol)
        if pos is None or pos.is_flat:
            return
        entry = abs(pos.entry_value) // abs(pos.qty_steps)
        entry_ns = self._engine.portfolio.trips.entry_ns_of(order.symbol) or pos.updated_ns
        guard = _Guard(order, entry, entry_ns)
        d = guard.direction
        if order.sl_ticks is not None and guard.plan.trail_distance_ticks:
            # The stop may have trailed before the restart: the best price it implies.
            implied = order.sl_ticks + d * guard.plan.trail_distance_ticks
            if d * (implied - entry) > 0:
                guard.best = implied
                guard.armed = d * (implied - entry) >= guard.plan.trail_arm_ticks
        self.guards[order.symbol] = guard
        if guard.plan.protects:
            self._protect(guard, guard.plan.stop_ticks, guard.plan.target_ticks, initial=True)

    def on_flat(self, symbol: str) -> None:
        """The position of ``symbol`` is flat (or flipped): its exits are done."""
        guard = self.guards.pop(symbol, None)
        if guard is not None and guard.debounce is not None:
            guard.debounce.cancel()

    def on_order_done(self, order: Order) -> None:
        """An order ended; an exit that left the position open is retried later."""
        guard = self.guards.get(order.symbol)
        if guard is None or guard.closing != order.client_id:
            return
        guard.closing = None
        if not self._engine.portfolio.qty_steps(order.symbol):
            return
        guard.retry_reason = order.reason.removeprefix("exit:") or "retry"
        guard.retry_at_ns = guard.last_ts_ns + int(self._engine.settings.exit_retry_s * 1e9)

    def external_reason(self, symbol: str, price_ticks: int) -> str:
        """Why a fill of an order the bot did not send (an exchange stop or target that
        triggered, a liquidation, a manual trade) closed ``symbol``: the nearest of the
        levels in place, else ``external``."""
        guard = self.guards.get(symbol)
        if guard is None or (guard.stop is None and guard.target is None):
            return "external"
        to_stop = abs(price_ticks - guard.stop) if guard.stop is not None else None
        to_target = abs(price_ticks - guard.target) if guard.target is not None else None
        if to_target is None or (to_stop is not None and to_stop <= to_target):
            return "trailing" if guard.trailed else "stop"
        return "target"

    # ------------------------------------------------------------------ from the market
    def on_price(self, symbol: str, price_ticks: int, ts_ns: int) -> None:
        """The latest price of ``symbol`` (cheap when it has no position)."""
        guard = self.guards.get(symbol)
        if guard is None:
            return
        guard.last_ts_ns = ts_ns
        if guard.closing is not None:
            return
        if guard.retry_reason:
            if ts_ns >= guard.retry_at_ns:
                self.close_position(symbol, guard.retry_reason, ts_ns)
            return
        if guard.deadline_ns and ts_ns >= guard.deadline_ns:
            self.close_position(symbol, "time", ts_ns)
            return
        distance = guard.plan.trail_distance_ticks
        if not distance:
            return
        d = guard.direction
        if d * (price_ticks - guard.best) > 0:
            guard.best = price_ticks
        if not guard.armed:
            if d * (guard.best - guard.entry_ticks) < guard.plan.trail_arm_ticks:
                return
            guard.armed = True
        trail = guard.best - d * distance
        if d * (price_ticks - trail) <= 0:
            self.close_position(symbol, "trailing", ts_ns)
            return
        current = guard.pending_stop if guard.pending_stop is not None else guard.stop
        if guard.tighter(trail, current):
            guard.pending_stop = trail
            if guard.debounce is None and not guard.busy:
                guard.debounce = self._engine.call_later(
                    self._engine.settings.trail_debounce_s, self._flush_trail, symbol)

    # ------------------------------------------------------------------ actions
    def close_position(self, symbol: str, reason: str, ts_ns: int) -> Order | None:
        """Close the whole position of ``symbol`` with a reduce-only MARKET order."""
        engine = self._engine
        pos = engine.position(symbol)
        guard = self.guards.get(symbol)
        if pos is None or pos.is_flat:
            return None
        qty = pos.qty_steps
        strategy = guard.strategy if guard is not None else (
            engine.portfolio.trips.strategy_of(symbol) or "")
        if guard is not None:
            guard.retry_reason = ""
            guard.closing = ""  # set before the submit: the answer may come synchronously
        engine.counters.exits += 1
        order = engine.submit(OrderIntent(
            spec=pos.spec, side=Side.SELL if qty > 0 else Side.BUY, qty_steps=abs(qty),
            order_type=OrderType.MARKET, reduce_only=True, strategy=strategy,
            reason=f"exit:{reason}", ts_ns=ts_ns))
        guard = self.guards.get(symbol)
        if guard is not None and guard.closing == "":
            if order.is_open:
                guard.closing = order.client_id
            else:
                guard.closing = None
                self.on_order_done_unfilled(guard, order)
        return order

    def on_order_done_unfilled(self, guard: _Guard, order: Order) -> None:
        """An exit ended at once (synchronous venue) with the position still open."""
        if self._engine.portfolio.qty_steps(guard.symbol):
            guard.retry_reason = order.reason.removeprefix("exit:") or "retry"
            guard.retry_at_ns = guard.last_ts_ns + int(self._engine.settings.exit_retry_s * 1e9)

    def close(self) -> None:
        """Cancel the debounce timers."""
        for guard in self.guards.values():
            if guard.debounce is not None:
                guard.debounce.cancel()
                guard.debounce = None

    def _flush_trail(self, symbol: str) -> None:
        guard = self.guards.get(symbol)
        if guard is None:
            return
        guard.debounce = None
        stop = guard.pending_stop
        if stop is not None and not guard.busy and guard.tighter(stop, guard.stop):
            self._protect(guard, stop, guard.target, initial=False)

    def _protect(self, guard: _Guard, stop: int | None, target: int | None, *,
                 initial: bool) -> None:
        guard.busy = True
        self._engine.spawn(self._place(guard, stop, target, initial))

    async def _place(self, guard: _Guard, stop: int | None, target: int | None,
                     initial: bool) -> None:
        """Attach (initial) or move (trailing) the exchange stop/target of ``guard``."""
        engine = self._engine
        attempts = engine.settings.protect_attempts if initial else 1
        try:
            for attempt in range(1, attempts + 1):
                if self.guards.get(guard.symbol) is not guard:
                    return  # flat meanwhile
                try:
                    await engine.venue.set_protection(guard.spec, tp_ticks=target,
                                                      sl_ticks=stop)
                except RETRYABLE as exc:
                    self._audit(guard, "protect-error", f"attempt {attempt}: {exc}")
                    if attempt < attempts:
                        await asyncio.sleep(engine.settings.backoff(attempt))
                    continue
                self._placed(guard, stop, target, initial)
                return
            if initial:
                engine.counters.protection_failures += 1
                self._audit(guard, "protect-failed", f"not placed after {attempts} attempts")
                if self.guards.get(guard.symbol) is guard:
                    self.close_position(guard.symbol, "unprotected", guard.last_ts_ns)
        finally:
            guard.busy = False
            if (self.guards.get(guard.symbol) is guard and guard.pending_stop is not None
                    and guard.tighter(guard.pending_stop, guard.stop)
                    and guard.debounce is None and guard.closing is None):
                guard.debounce = engine.call_later(
                    engine.settings.trail_debounce_s, self._flush_trail, guard.symbol)

    def _placed(self, guard: _Guard, stop: int | None, target: int | None,
                initial: bool) -> None:
        engine = self._engine
        guard.stop, guard.target = stop, target
        if guard.pending_stop is not None and not guard.tighter(guard.pending_stop, stop):
            guard.pending_stop = None
        if initial:
            engine.counters.protections += 1
        else:
            guard.trailed = True
            engine.counters.trail_moves += 1
            engine.note_stop(guard.entry_cid, stop)
        self._audit(guard, "protect" if initial else "trail",
                    f"stop {stop} target {target} (ticks)")

    def _audit(self, guard: _Guard, action: str, reason: str) -> None:
        self._engine.journal.record_audit(AuditEntry(
            ts_ns=self._engine.clock.now_ns(), action=action, symbol=guard.symbol,
            client_id=guard.entry_cid, strategy=guard.strategy, reason=reason))
