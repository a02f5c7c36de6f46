"""Risk for a manual order: the gate's checks for an order whose size the operator chose.

The bot's own entries are sized by :meth:`RiskGate.check_entry`; an operator's order has a
fixed quantity, so it is checked against the same state and limits instead of sized: the
kill switch, the circuit breakers, tradable, equity, the daily loss, open orders, the
contract's quantity bounds and the exposure and leverage headroom (the order's notional at
its price, or the mark for a market order, must fit). Reduce-only orders are never refused,
as risk never blocks a close.
"""

from __future__ import annotations

from bitunix.model import ContractSpec, Side
from bitunix.risk.gate import RiskGate
from bitunix.risk.limits import check_exposure, check_open_orders
from bitunix.risk.params import SHRINK, SymbolRisk
from bitunix.risk.snapshot import ExposureSnapshot
from bitunix.risk.verdict import APPROVED, Denial, Reason

__all__ = ["check_manual_order"]


def check_manual_order(gate: RiskGate, spec: ContractSpec, side: Side, *, qty_steps: int,
                       price_ticks: int, reduce_only: bool, exposure: ExposureSnapshot,
                       now_ns: int) -> Denial | None:
    """None when the order may go; else the first :class:`Denial` (see the module docs).
    ``price_ticks`` is the limit price, or the mark for a market order."""
    del side  # exposure limits are on the absolute notional, whichever side
    if reduce_only:
        return None
    if gate.kill_switch_engaged:
        state = gate.state
        return Denial(Reason.KILL_SWITCH, {"reason": state.kill_reason,
                                           "since_ns": state.kill_since_ns})
    verdict = gate.breaker.check(spec.symbol, now_ns)
    if verdict is not APPROVED:
        assert isinstance(verdict, Denial)
        return verdict
    config = gate.config
    p = SymbolRisk(spec, config)
    if not p.tradable:
        return Denial(Reason.NOT_TRADABLE, {"status": spec.status.value,
                                            "api_supported": str(spec.api_supported)})
    equity = float(exposure.equity)
    if not equity > 0.0:
        return Denial(Reason.NO_EQUITY, {"equity": str(exposure.equity)})
    account = gate.check_account(exposure, now_ns)
    if isinstance(account, Denial):
        return account
    limits = config.limits
    opened = check_open_orders(exposure.open_orders, limits.max_open_orders)
    if isinstance(opened, Denial):
        return opened
    if qty_steps < p.min_steps:
        return Denial(Reason.BELOW_MIN_QTY, {"qty": spec.format_qty(qty_steps),
                                             "min": spec.format_qty(p.min_steps)})
    if qty_steps > p.max_steps:
        return Denial(Reason.MAX_ORDER_QTY, {"qty": spec.format_qty(qty_steps),
                                             "max": spec.format_qty(p.max_steps)})
    room = check_exposure(exposure, p, equity, limits.max_total_exposure_pct / 100.0 * SHRINK,
                          limits.max_leverage * SHRINK)
    if isinstance(room, Denial):
        return room
    headroom, reason = room
    notional = qty_steps * price_ticks * p.value_scale
    if not notional <= headroom:
        return Denial(reason, {"notional": round(notional, 8), "headroom": round(headroom, 8)})
    return None
