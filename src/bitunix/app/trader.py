"""From a signal to order bytes, synchronously: the glue on the hot path.

``Trader.on_signal`` runs inside the market-data callback that produced the signal: it
rounds the signal's float prices onto the contract's tick in the safe direction, asks risk
(kill switch, breakers, limits, sizing), builds the :class:`~bitunix.model.OrderIntent`
and hands it to the execution engine, which writes the request before returning. No task,
queue or await in between. Every decision is recorded (``Journal.record_decision``), and
the strategy hears what became of its signal (:class:`StrategyFeedback`).
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Mapping

import msgspec

from bitunix.config.bot import Mode, TraderSection
from bitunix.core.clock import Clock
from bitunix.core.latency import LatencyProbe
from bitunix.execution import Journal, TradeFeedback
from bitunix.execution.engine import ExecutionEngine
from bitunix.execution.errors import NotReadyError
from bitunix.model import ContractSpec, OrderIntent, OrderType, Side, TimeInForce
from bitunix.model.records import AuditEntry, Decision, RoundTrip
from bitunix.model.ticks import FloatGrid
from bitunix.risk.gate import RiskGate
from bitunix.risk.snapshot import ExposureSnapshot
from bitunix.risk.verdict import Denial
from bitunix.strategy import Direction, Signal, SignalKind
from bitunix.strategy.registry import SymbolStrategies

__all__ = ["EntryPlan", "StrategyFeedback", "Trader", "entry_plan"]

_INF = math.inf


class EntryPlan(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A signal's prices on the contract's grid: entry reference, stop, target (ticks), the
    trailing distance and arm distance (ticks, 0: none) and the time exit."""

    side: Side
    price_ticks: int
    stop_ticks: int
    target_ticks: int
    trail_distance_ticks: int
    trail_arm_ticks: int
    max_hold_ns: int


def entry_plan(grid: FloatGrid, sig: Signal) -> EntryPlan | str:
    """``sig``'s plan in ticks of ``grid`` (the contract's price grid), each price rounded
    the safe way; or why it cannot be one.

    Safe means: the stop rounds toward the entry (it loses less), the target rounds toward
    the entry (it is reached sooner), the trailing distance rounds down (tighter) and the
    arm distance rounds down (arms sooner). A plan whose stop or target is not on the right
    side of the entry after rounding is refused, never "fixed".
    """
    price, stop, target = sig.price, sig.stop, sig.target
    # Written so that NaN fails each test.
    if not 0.0 < price < _INF:
        return "bad_price"
    if not 0.0 < stop < _INF:
        return "bad_stop"
    if not 0.0 < target < _INF:
        return "bad_target"
    price_ticks = grid.nearest(price)
    if sig.direction is Direction.LONG:
        side, stop_ticks, target_ticks = Side.BUY, grid.ceil(stop), grid.floor(target)
        if not stop_ticks < price_ticks < target_ticks:
            return "plan_inside_one_tick"
    else:
        side, stop_ticks, target_ticks = Side.SELL, grid.floor(stop), grid.ceil(target)
        if not target_ticks < price_ticks < stop_ticks:
            return "plan_inside_one_tick"
    trail = 0
    arm = 0
    distance = sig.trail_distance
    if 0.0 < distance < _INF:
        trail = max(1, grid.floor(distance))
        if 0.0 < sig.trail_arm < _INF:
            arm = max(0, grid.floor(abs(sig.trail_arm - price)))
    return EntryPlan(side=side, price_ticks=price_ticks, stop_ticks=stop_ticks,
                     target_ticks=target_ticks, trail_distance_ticks=trail,
                     trail_arm_ticks=arm, max_hold_ns=max(0, sig.max_hold_ns))


class StrategyFeedback:
    """Routes execution's callbacks to the strategy that asked (``execution.TradeFeedback``)."""

    def __init__(self, groups: Mapping[str, SymbolStrategies]) -> None:
        self._groups = groups

    def on_entry_filled(self, symbol: str, strategy: str, ts_ns: int, price: float) -> None:
        """The entry filled."""
        group = self._groups.get(symbol)
        if group is not None:
            group.on_entry_filled(strategy, ts_ns, price)

    def on_entry_rejected(self, symbol: str, strategy: str, ts_ns: int, reason: str) -> None:
        """The entry never filled."""
        group = self._groups.get(symbol)
        if group is not None:
            group.on_entry_rejected(strategy, ts_ns, reason)

    def on_position_closed(self, trip: RoundTrip) -> None:
        """The round trip is over."""
        group = self._groups.get(trip.symbol)
        if group is not None:
            group.on_position_closed(trip)


class Trader:
    """Signals to orders (see the module docs).

    ``engine`` is None in dry-run: decisions are sized against ``paper_equity`` and
    recorded, nothing is sent. ``enabled`` is the run's switch (lease held and the local
    view reconciled); while off, entries are recorded as ``standby``.
    """

    def __init__(
        self,
        *,
        mode: Mode,
        contracts: Mapping[str, ContractSpec],
        gate: RiskGate,
        engine: ExecutionEngine | None,
        journal: Journal,
        feedback: TradeFeedback,
        config: TraderSection,
        clock: Clock,
        probe: LatencyProbe,
        model_name: Callable[[], str],
        paper_equity: decimal.Decimal,
    ) -> None:
        self.mode = mode
        self.contracts = dict(contracts)
        self._grids = {s: FloatGrid(c.price_decimals) for s, c in self.contracts.items()}
        self.gate = gate
        self.engine = engine
        self.journal = journal
        self.feedback = feedback
        self.config = config
        self.clock = clock
        self.probe = probe
        self._model_name = model_name
        self.enabled = False
        self.signals = 0
        self.entries = 0
        self.not_ready = 0
        self.refused_plans: dict[str, int] = {}
        self._paper = ExposureSnapshot(equity=paper_equity, day_start_equity=paper_equity,
                                       utc_day=0)

    def on_signal(self, sig: Signal) -> None:
        """Handle one signal now (the market callback that produced it is still running)."""
        self.probe.start_signal()
        self.signals += 1
        if sig.kind is SignalKind.EXIT:
            self._exit(sig)
            return
        symbol = sig.symbol
        spec = self.contracts[symbol]
        plan = entry_plan(self._grids[symbol], sig)
        if isinstance(plan, str):
            self.refused_plans[plan] = self.refused_plans.get(plan, 0) + 1
            self._refuse(sig, f"plan:{plan}")
            return
        if not self.enabled:
            self.not_ready += 1
            self._refuse(sig, "standby")
            return
        now_ns = self.clock.now_ns()
        engine = self.engine
        if engine is not None and symbol not in engine.portfolio.marks:
            # The signal's price is the market's last price: without a mark, a pending
            # market entry would count as no exposure at all.
            engine.on_price(symbol, plan.price_ticks, sig.ts_ns)
        exposure = self._paper if engine is None else engine.snapshot()
        verdict = self.gate.check_entry(
            spec, plan.side, price_ticks=plan.price_ticks, stop_ticks=plan.stop_ticks,
            target_ticks=plan.target_ticks, probability=_confidence(sig),
            exposure=exposure, now_ns=now_ns)
        if isinstance(verdict, Denial):
            self._refuse(sig, f"denied:{verdict.reason}")
            return
        if engine is None:
            self._refuse(sig, "dry-run", qty=str(verdict.qty))
            return
        order_type, price_ticks, tif = OrderType.MARKET, None, None
        if self.config.entry_order == "limit_ioc":
            # A price cap on the taker entry: never pay more than max_slippage_ticks.
            cap = self.config.max_slippage_ticks
            order_type, tif = OrderType.LIMIT, TimeInForce.IOC
            price_ticks = plan.price_ticks + (cap if plan.side is Side.BUY else -cap)
        intent = OrderIntent(
            spec=spec, side=plan.side, qty_steps=verdict.qty_steps, order_type=order_type,
            price_ticks=price_ticks, time_in_force=tif, tp_ticks=plan.target_ticks,
            sl_ticks=plan.stop_ticks, trail_distance_ticks=plan.trail_distance_ticks,
            trail_arm_ticks=plan.trail_arm_ticks, max_hold_ns=plan.max_hold_ns,
            strategy=sig.strategy, reason="enter", ts_ns=sig.ts_ns)
        try:
            engine.submit(intent)
        except NotReadyError:
            self.not_ready += 1
            self._refuse(sig, "not-reconciled")
            return
        self.entries += 1
        self._decide(sig, "order")

    def _exit(self, sig: Signal) -> None:
        if self.engine is not None:
            reason = sig.exit_reason.value if sig.exit_reason else "signal"
            self.engine.exits.close_position(sig.symbol, reason, sig.ts_ns)
        self._decide(sig, "exit")

    def _refuse(self, sig: Signal, outcome: str, **detail: str) -> None:
        self._decide(sig, outcome)
        if outcome.startswith("denied:") or detail:
            self.journal.record_audit(AuditEntry(
                ts_ns=self.clock.now_ns(), action="deny" if outcome.startswith("denied:")
                else outcome, symbol=sig.symbol, strategy=sig.strategy, reason=outcome,
                model=self._model_name(), detail=detail))
        self.feedback.on_entry_rejected(sig.symbol, sig.strategy, sig.ts_ns, outcome)

    def _decide(self, sig: Signal, outcome: str) -> None:
        self.journal.record_decision(Decision(
            ts_ns=sig.ts_ns, symbol=sig.symbol, strategy=sig.strategy,
            direction=int(sig.direction), probability=sig.probability,
            source=sig.score_source, model=self._model_name(), outcome=outcome))


def _confidence(sig: Signal) -> float:
    """The probability risk sizes with: the model's (or the fallback's), else the rule's."""
    p = sig.probability
    return p if math.isfinite(p) else 0.0
