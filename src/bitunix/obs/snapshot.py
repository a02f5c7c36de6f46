"""What the risk dashboard shows: one JSON-ready snapshot of a run.

:class:`DashboardState` keeps what the run does not (the latest decisions and denials,
risk transitions, an equity curve) from the observer hooks, and builds the snapshot the
page renders (:meth:`DashboardState.snapshot`): PnL and equity, positions, exposure
against its limits, breakers and the kill switch, latency percentiles, decisions and
denials, readiness. Money is an exact decimal string; the page formats it.
"""

from __future__ import annotations

import time
from collections import deque
from decimal import Decimal
from typing import Any

from bitunix.model import Order
from bitunix.model.records import Decision

__all__ = ["DashboardState"]

_NS_PER_MS = 1_000_000


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class _Percentiles:
    """p50/p99 of a latency ring, recomputed only when it got new samples."""

    def __init__(self) -> None:
        self._count = -1
        self._value: dict[str, float | int | None] = {}

    def of(self, ring: Any) -> dict[str, float | int | None]:
        if ring.count != self._count:
            self._count = ring.count
            self._value = {"p50_us": ring.percentile_us(50), "p99_us": ring.percentile_us(99),
                           "count": ring.count}
        return self._value


class DashboardState:
    """The dashboard's memory of a run (see the module docs); hooks are O(1)."""

    def __init__(self, *, keep: int = 25, curve_points: int = 600) -> None:
        self.decisions: deque[dict[str, object]] = deque(maxlen=keep)
        self.denials: deque[dict[str, object]] = deque(maxlen=keep)
        self.risk_events: deque[dict[str, object]] = deque(maxlen=keep)
        self.curve: deque[tuple[int, str]] = deque(maxlen=curve_points)
        self.lines: deque[str] = deque(maxlen=keep)
        self.version = 0
        self._tick = _Percentiles()
        self._signal = _Percentiles()

    # -- hooks ---------------------------------------------------------------------------

    def on_decision(self, decision: Decision) -> None:
        """Keep the decision (and, when refused, the denial)."""
        row: dict[str, object] = {
            "ts_ms": decision.ts_ns // _NS_PER_MS, "symbol": decision.symbol,
            "strategy": decision.strategy, "direction": decision.direction,
            "probability": round(decision.probability, 4), "source": decision.source,
            "outcome": decision.outcome}
        self.decisions.appendleft(row)
        if decision.outcome.startswith("denied"):
            self.denials.appendleft(row)
        self.version += 1

    def on_risk(self, ts_ns: int, kind: str, active: bool, symbol: str) -> None:
        """Keep a breaker, limit or kill-switch transition."""
        self.risk_events.appendleft({"ts_ms": ts_ns // _NS_PER_MS, "kind": kind,
                                     "active": active, "symbol": symbol})
        self.version += 1

    def on_line(self, line: str) -> None:
        """Keep a line the run reported."""
        self.lines.appendleft(line)

    def note_equity(self, bot: Any) -> None:
        """Add the equity now to the curve (a timer calls it; not per tick)."""
        engine = bot.engine
        equity = None if engine is None else engine.portfolio.equity()
        if equity is not None:
            self.curve.append((time.time_ns() // _NS_PER_MS, str(equity)))

    # -- the snapshot --------------------------------------------------------------------

    def snapshot(self, bot: Any, ready: tuple[bool, dict[str, Any]]) -> dict[str, object]:
        """Everything the page shows, JSON-ready."""
        cfg = bot.config
        limits = cfg.risk.limits
        gate = bot.gate
        state = gate.state
        out: dict[str, object] = {
            "ts_ms": time.time_ns() // _NS_PER_MS,
            "mode": bot.mode.value, "venue": cfg.venue.kind, "symbols": list(cfg.symbols),
            "ready": {"ok": ready[0], "components": ready[1]},
            "risk": {
                "kill_switch": state.kill_switch, "kill_reason": state.kill_reason,
                "daily_loss_stop": state.daily_loss_day is not None,
                "breakers": [{"kind": str(k), "symbol": s} for k, s in gate.breaker.tripped()],
                "denials": gate.denials.as_dict(),
                "limits": {"max_daily_loss_pct": limits.max_daily_loss_pct,
                           "max_symbol_exposure_pct": limits.max_symbol_exposure_pct,
                           "max_total_exposure_pct": limits.max_total_exposure_pct,
                           "max_leverage": limits.max_leverage,
                           "max_open_orders": limits.max_open_orders},
                "events": list(self.risk_events),
            },
            "latency": {"tick_to_order": self._tick.of(bot.probe.event_to_order),
                        "decision_to_order": self._signal.of(bot.probe.signal_to_order)},
            "decisions": list(self.decisions),
            "denials": list(self.denials),
            "lines": list(self.lines),
            "curve": [list(p) for p in self.curve],
        }
        out.update(self._account(bot))
        stack = bot.stack
        if stack is not None:
            st = stack.model_status()
            out["model"] = {"model": st.model, "source": st.source, "demoted": st.demoted,
                            "latency_p99_us": st.latency_p99_us}
        pipeline = bot.pipeline
        if pipeline is not None:
            out["market"] = {"trades": pipeline.stats.trades,
                             "books": pipeline.stats.book_pushes,
                             "signals": pipeline.stats.signals}
        return out

    def _account(self, bot: Any) -> dict[str, object]:
        engine = bot.engine
        cfg = bot.config
        if engine is None:
            return {"account": None, "positions": [], "open_orders": [], "exposure": None}
        pf = engine.portfolio
        equity = pf.equity()
        realized, unrealized = pf.net_realized(), pf.unrealized()
        c = engine.counters
        account = {"equity": _dec(equity), "wallet": _dec(pf.wallet()),
                   "pnl_total": str(realized + unrealized), "pnl_realized": str(realized),
                   "pnl_unrealized": str(unrealized), "fees": str(pf.fees()),
                   "funding": str(pf.funding()), "pnl_day": str(pf.day_pnl()),
                   "orders": c.orders, "fills": c.fills, "round_trips": c.trades}
        positions = []
        rows = []
        total = Decimal(0)
        eq = Decimal(0) if equity is None else equity
        limits = cfg.risk.limits
        for symbol in cfg.symbols:
            pos = pf.position(symbol)
            notional = pf.notional(symbol)
            total += notional
            pct = cfg.risk.for_symbol(symbol).max_exposure_pct
            pct = limits.max_symbol_exposure_pct if pct is None else pct
            rows.append({"symbol": symbol, "notional": str(notional),
                         "limit": str(_limit(eq, pct))})
            if pos is None or pos.is_flat:
                continue
            mark = pf.marks.get(symbol)
            positions.append({
                "symbol": symbol, "qty": str(pos.qty),
                "avg_entry": _dec(pos.avg_entry_price),
                "mark": None if mark is None else pos.spec.format_price(mark),
                "unrealized": None if mark is None else str(pos.unrealized_pnl(mark)),
                "notional": str(notional)})
        exposure = {"symbols": rows, "total": str(total),
                    "total_limit": str(_limit(eq, limits.max_total_exposure_pct)),
                    "open_orders": len(engine.open_orders()),
                    "max_open_orders": limits.max_open_orders}
        orders = [_order_row(o) for o in engine.open_orders()]
        return {"account": account, "positions": positions, "open_orders": orders,
                "exposure": exposure}


def _limit(equity: Decimal, pct: float) -> Decimal:
    return (equity * Decimal(repr(pct)) / 100).quantize(Decimal("0.01"))


def _order_row(order: Order) -> dict[str, object]:
    return {"client_id": order.client_id, "symbol": order.symbol, "side": order.side.value,
            "status": order.status.value, "qty": order.spec.format_qty(order.qty_steps),
            "reduce_only": order.reduce_only}
