"""TP/SL of the simulated exchange: validating take-profit / stop-loss legs, the book of
pending triggers with the price window inside which none of them can fire, and the desk
that places, modifies, cancels and fires them for the engine (:class:`TpSlDesk`).

When a trigger fires is :func:`bitunix.sim.triggers.fired_leg`; this module keeps, per symbol
and stop type (last or mark price), the open interval ``(low, high)`` of prices at which no
pending trigger fires and no trailing stop moves, so that a market event inside it costs
one comparison. The window is recomputed only after the triggers changed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal, Inexact, localcontext
from typing import Protocol

from bitunix.core.clock import Clock
from bitunix.sim.contracts import SimContract
from bitunix.sim.errors import (
    ORDER_NOT_FOUND,
    PARAMETER_ERROR,
    POSITION_NOT_EXIST,
    SELECT_TP_OR_SL,
    TPSL_QTY_TOO_LARGE,
    TRIGGER_PRICE_NOT_POSITIVE,
    SimError,
)
from bitunix.sim.matching import INF, NEG_INF
from bitunix.sim.pushes import PushPublisher
from bitunix.sim.state import (
    LONG,
    MODIFIABLE_TPSL,
    SimAccount,
    SimOrder,
    SimPosition,
    SimTpSl,
)
from bitunix.sim.triggers import fired_leg, opt_decimal, stop_type

__all__ = [
    "TpSlDesk",
    "TpSlHost",
    "TriggerBook",
    "apply_tpsl_changes",
    "check_tpsl_legs",
    "child_order",
    "trigger_window",
    "validate_tpsl",
]

STOP_TYPES = ("LAST_PRICE", "MARK_PRICE")


def validate_tpsl(spec: SimContract, pos: SimPosition, *, tp_price: Decimal | None,
                  tp_qty: Decimal | None, sl_price: Decimal | None, sl_qty: Decimal | None,
                  position_level: bool) -> None:
    """Trigger prices (at least one, > 0, on the tick) and, for a TP/SL order, quantities
    (required, valid, at most the position's)."""
    if tp_price is None and sl_price is None:
        raise SimError(SELECT_TP_OR_SL)
    for price in (tp_price, sl_price):
        if price is not None:
            if price <= 0:
                raise SimError(TRIGGER_PRICE_NOT_POSITIVE, str(price))
            spec.check_price(price)
    if position_level:
        return
    if (tp_price is not None and tp_qty is None) or (sl_price is not None and sl_qty is None):
        raise SimError(PARAMETER_ERROR, "tpQty/slQty is required for a TP/SL order")
    for qty in (tp_qty, sl_qty):
        if qty is not None:
            spec.check_qty(qty, market=True)
            if qty > pos.qty:
                raise SimError(TPSL_QTY_TOO_LARGE, f"{qty} > {pos.qty}")


def check_tpsl_legs(spec: SimContract, *, tp_price: Decimal | None, tp_stop: str,
                    tp_type: str, tp_order_price: Decimal | None,
                    sl_price: Decimal | None, sl_stop: str, sl_type: str,
                    sl_order_price: Decimal | None) -> None:
    """Trigger prices, stop types and child orders of the legs that are set: a trigger
    > 0 on the tick, LAST/MARK, MARKET or LIMIT with a price on the tick."""
    legs = ((tp_price, tp_stop, tp_type, tp_order_price),
            (sl_price, sl_stop, sl_type, sl_order_price))
    for trigger, stop, order_type, order_price in legs:
        if trigger is None:
            continue
        if trigger <= 0:
            raise SimError(TRIGGER_PRICE_NOT_POSITIVE, str(trigger))
        spec.check_price(trigger)
        stop_type(stop)
        kind = order_type.upper()
        if kind not in ("MARKET", "LIMIT"):
            raise SimError(PARAMETER_ERROR, f"TP/SL order type {order_type!r}")
        if kind == "LIMIT":
            if order_price is None:
                raise SimError(PARAMETER_ERROR, "a LIMIT TP/SL needs its order price")
            spec.check_price(order_price)


def apply_tpsl_changes(spec: SimContract, pos: SimPosition, tp: SimTpSl,
                       changes: dict[str, object]) -> None:
    """Apply ``changes`` (``None`` values ignored) to the pending ``tp`` of ``pos`` if the
    result is a valid TP/SL; otherwise raise and change nothing."""
    for key, value in changes.items():  # refuse before changing anything
        if value is not None and key not in MODIFIABLE_TPSL:
            raise SimError(PARAMETER_ERROR, f"cannot modify {key}")
        if value is not None and key.endswith("stop_type"):
            stop_type(str(value))
    merged: dict[str, object] = {
        "tp_price": tp.tp_price, "tp_qty": tp.tp_qty, "sl_price": tp.sl_price,
        "sl_qty": tp.sl_qty, "tp_stop_type": tp.tp_stop_type,
        "tp_order_type": tp.tp_order_type, "tp_order_price": tp.tp_order_price,
        "sl_stop_type": tp.sl_stop_type, "sl_order_type": tp.sl_order_type,
        "sl_order_price": tp.sl_order_price,
    }
    merged.update({k: v for k, v in changes.items() if k in merged and v is not None})
    validate_tpsl(spec, pos, tp_price=opt_decimal(merged["tp_price"]),
                  tp_qty=opt_decimal(merged["tp_qty"]), sl_price=opt_decimal(merged["sl_price"]),
                  sl_qty=opt_decimal(merged["sl_qty"]), position_level=tp.kind != "TPSL")
    if tp.kind == "TPSL":
        check_tpsl_legs(
            spec, tp_price=opt_decimal(merged["tp_price"]),
            tp_stop=str(merged["tp_stop_type"]), tp_type=str(merged["tp_order_type"]),
            tp_order_price=opt_decimal(merged["tp_order_price"]),
            sl_price=opt_decimal(merged["sl_price"]), sl_stop=str(merged["sl_stop_type"]),
            sl_type=str(merged["sl_order_type"]),
            sl_order_price=opt_decimal(merged["sl_order_price"]))
    for key, value in changes.items():
        if value is not None:
            setattr(tp, key, stop_type(str(value)) if key.endswith("stop_type") else value)


def child_order(tp: SimTpSl, leg: str, pos: SimPosition) -> tuple[Decimal, str, Decimal | None]:
    """``(qty, order type, limit price or None)`` of the closing order a fired ``leg`` of
    ``tp`` places on ``pos`` (a position TP/SL closes all of it at market)."""
    if tp.kind == "POSITION_TPSL":
        return pos.qty, "MARKET", None
    if leg == "tp":
        return tp.tp_qty or pos.qty, tp.tp_order_type, tp.tp_order_price
    return tp.sl_qty or pos.qty, tp.sl_order_type, tp.sl_order_price


def trigger_window(tp: SimTpSl, stop: str) -> tuple[Decimal, Decimal]:
    """The open interval of ``stop`` prices at which :func:`fired_leg` of ``tp`` returns
    nothing and changes nothing (``(-inf, inf)``: it does not watch ``stop``).

    A trailing stop moves with every new extreme, so its window is ``(retrace level,
    extreme)``; it is empty before its first price. Bounds are exact: should the retrace
    level not be exact in the context's precision, the window is empty (every price is
    then checked the slow way)."""
    low, high = NEG_INF, INF
    long = tp.pos_side == LONG
    if tp.trail_rate is not None:
        if tp.sl_stop_type != stop:
            return low, high
        extreme = tp.trail_extreme
        if extreme is None:
            return INF, NEG_INF
        with localcontext() as ctx:
            ctx.traps[Inexact] = True
            try:
                level = (extreme - extreme * tp.trail_rate if long
                         else extreme + extreme * tp.trail_rate)
            except Inexact:
                return INF, NEG_INF
        return (level, extreme) if long else (extreme, level)
    if tp.tp_price is not None and tp.tp_stop_type == stop:
        if long:
            high = min(high, tp.tp_price)
        else:
            low = max(low, tp.tp_price)
    if tp.sl_price is not None and tp.sl_stop_type == stop:
        if long:
            low = max(low, tp.sl_price)
        else:
            high = min(high, tp.sl_price)
    return low, high


class TriggerBook:
    """Pending TP/SL orders, position TP/SLs and trailing stops by symbol, with the window
    of each symbol and stop type inside which none of them fires (see the module);
    ``on_change(symbol)`` is told whenever a window may have changed."""

    __slots__ = ("_on_change", "_windows", "by_symbol")

    def __init__(self, symbols: list[str],
                 on_change: Callable[[str], None] | None = None) -> None:
        self.by_symbol: dict[str, dict[str, SimTpSl]] = {s: {} for s in symbols}
        self._windows: dict[str, dict[str, tuple[Decimal, Decimal]] | None] = (
            dict.fromkeys(symbols))
        self._on_change = on_change

    def add(self, tp: SimTpSl) -> None:
        """Arm ``tp``."""
        self.by_symbol[tp.symbol][tp.tpsl_id] = tp
        self.changed(tp.symbol)

    def discard(self, tp: SimTpSl) -> None:
        """Disarm ``tp`` (fired, cancelled), if armed."""
        if self.by_symbol[tp.symbol].pop(tp.tpsl_id, None) is not None:
            self.changed(tp.symbol)

    def changed(self, symbol: str) -> None:
        """A trigger of ``symbol`` changed (armed, disarmed, modified, a trailing stop
        moved); ``on_change(symbol)`` is told."""
        self._windows[symbol] = None
        if self._on_change is not None:
            self._on_change(symbol)

    def window(self, symbol: str, stop: str) -> tuple[Decimal, Decimal]:
        """The open interval of ``stop`` prices of ``symbol`` that fire nothing."""
        windows = self._windows[symbol]
        if windows is None:
            windows = self._windows[symbol] = {}
            for kind in STOP_TYPES:
                low, high = NEG_INF, INF
                for tp in self.by_symbol[symbol].values():
                    tp_low, tp_high = trigger_window(tp, kind)
                    low, high = max(low, tp_low), min(high, tp_high)
                windows[kind] = (low, high)
        return windows[stop]


class TpSlHost(Protocol):
    """What :class:`TpSlDesk` uses of the engine: accounts, contracts, the clock, the
    pushes, positions by id and the closing order a fired trigger places."""

    clock: Clock
    accounts: dict[str, SimAccount]
    contracts: dict[str, SimContract]
    pushes: PushPublisher

    def account(self, uid: str) -> SimAccount: ...

    def contract(self, symbol: str) -> SimContract: ...

    def leverage_of(self, acct: SimAccount, symbol: str) -> int: ...

    def _position_by_id(self, acct: SimAccount, position_id: str) -> SimPosition: ...

    def _close_at_market(self, acct: SimAccount, pos: SimPosition, qty: Decimal, *,
                         order_type: str = "MARKET", price: Decimal | None = None
                         ) -> SimOrder: ...


class TpSlDesk:
    """The TP/SL orders, position TP/SLs and trailing stops of every account: placing,
    modifying and cancelling them, attaching them to a filled order, firing them when a
    price reaches them (through :attr:`triggers`, whose windows spare the events that
    reach none)."""

    def __init__(self, host: TpSlHost, triggers: TriggerBook) -> None:
        self._host = host
        self.triggers = triggers
        self._ids = itertools.count(5_000_001)

    def _push(self, tp: SimTpSl, event: str) -> None:
        host = self._host
        if host.pushes.listeners:
            acct = host.accounts[tp.uid]
            host.pushes.tpsl(tp, event, acct, host.leverage_of(acct, tp.symbol))

    def attach(self, acct: SimAccount, order: SimOrder, pos: SimPosition, qty: Decimal) -> None:
        """The TP/SL attached to ``order`` on the ``qty`` of ``pos`` its fill opened (its
        quantities grow with later fills)."""
        req = order.attached
        assert req is not None
        if order.attached_tpsl_id and order.attached_tpsl_id in acct.tpsl:
            tp = acct.tpsl[order.attached_tpsl_id]
            tp.tp_qty = (tp.tp_qty + qty) if tp.tp_qty is not None else None
            tp.sl_qty = (tp.sl_qty + qty) if tp.sl_qty is not None else None
            self._push(tp, "UPDATE")
            return
        tp = self._new(acct, pos, "TPSL", tp_price=req.tp_price, tp_stop=req.tp_stop_type,
                       tp_type=req.tp_order_type, tp_order_price=req.tp_order_price,
                       tp_qty=qty if req.tp_price is not None else None,
                       sl_price=req.sl_price, sl_stop=req.sl_stop_type,
                       sl_type=req.sl_order_type, sl_order_price=req.sl_order_price,
                       sl_qty=qty if req.sl_price is not None else None)
        order.attached_tpsl_id = tp.tpsl_id

    def _new(self, acct: SimAccount, pos: SimPosition, kind: str, *,
             tp_price: Decimal | None = None, tp_stop: str = "LAST_PRICE",
             tp_type: str = "MARKET", tp_order_price: Decimal | None = None,
             tp_qty: Decimal | None = None, sl_price: Decimal | None = None,
             sl_stop: str = "LAST_PRICE", sl_type: str = "MARKET",
             sl_order_price: Decimal | None = None, sl_qty: Decimal | None = None) -> SimTpSl:
        host = self._host
        tp = SimTpSl(tpsl_id=str(next(self._ids)), uid=acct.uid, symbol=pos.symbol,
                     position_id=pos.position_id, pos_side=pos.side, kind=kind,
                     ctime_ns=host.clock.now_ns(), tp_price=tp_price,
                     tp_stop_type=stop_type(tp_stop), tp_order_type=tp_type.upper(),
                     tp_order_price=tp_order_price, tp_qty=tp_qty, sl_price=sl_price,
                     sl_stop_type=stop_type(sl_stop), sl_order_type=sl_type.upper(),
                     sl_order_price=sl_order_price, sl_qty=sl_qty)
        acct.tpsl[tp.tpsl_id] = tp
        self.triggers.add(tp)
        self._push(tp, "CREATE")
        return tp

    def place(self, uid: str, symbol: str, position_id: str, *,
              tp_price: Decimal | None = None, tp_stop_type: str = "LAST_PRICE",
              tp_order_type: str = "MARKET", tp_order_price: Decimal | None = None,
              tp_qty: Decimal | None = None, sl_price: Decimal | None = None,
              sl_stop_type: str = "LAST_PRICE", sl_order_type: str = "MARKET",
              sl_order_price: Decimal | None = None, sl_qty: Decimal | None = None,
              position_level: bool = False) -> SimTpSl:
        """A TP/SL order (fixed qty) or, with ``position_level``, the position TP/SL."""
        host = self._host
        acct = host.account(uid)
        spec = host.contract(symbol)
        pos = host._position_by_id(acct, position_id)
        if pos.symbol != spec.symbol:
            raise SimError(POSITION_NOT_EXIST, f"{position_id} is not a {spec.symbol} position")
        validate_tpsl(spec, pos, tp_price=tp_price, tp_qty=tp_qty, sl_price=sl_price,
                      sl_qty=sl_qty, position_level=position_level)
        check_tpsl_legs(spec, tp_price=tp_price, tp_stop=tp_stop_type,
                        tp_type="MARKET" if position_level else tp_order_type,
                        tp_order_price=tp_order_price, sl_price=sl_price, sl_stop=sl_stop_type,
                        sl_type="MARKET" if position_level else sl_order_type,
                        sl_order_price=sl_order_price)
        if position_level:
            for old in list(acct.tpsl.values()):
                if old.position_id == pos.position_id and old.kind == "POSITION_TPSL":
                    self.end(acct, old, "CANCELED")
            return self._new(acct, pos, "POSITION_TPSL", tp_price=tp_price,
                             tp_stop=tp_stop_type, sl_price=sl_price, sl_stop=sl_stop_type)
        return self._new(acct, pos, "TPSL", tp_price=tp_price, tp_stop=tp_stop_type,
                         tp_type=tp_order_type, tp_order_price=tp_order_price,
                         tp_qty=tp_qty if tp_price is not None else None,
                         sl_price=sl_price, sl_stop=sl_stop_type, sl_type=sl_order_type,
                         sl_order_price=sl_order_price,
                         sl_qty=sl_qty if sl_price is not None else None)

    def place_trailing(self, uid: str, position_id: str, callback_rate: Decimal, *,
                       stop_type: str = "LAST_PRICE", qty: Decimal | None = None) -> SimTpSl:
        """A trailing stop: closes ``qty`` (default all) at market once the price retraces
        ``callback_rate`` (a fraction) from its best level since placement. Engine-only:
        the Bitunix API documents no trailing endpoint."""
        host = self._host
        acct = host.account(uid)
        pos = host._position_by_id(acct, position_id)
        if not 0 < callback_rate < 1:
            raise SimError(PARAMETER_ERROR, f"callback rate {callback_rate}")
        tp = self._new(acct, pos, "TRAILING", sl_stop=stop_type, sl_qty=qty)
        tp.trail_rate = callback_rate
        return tp

    def modify(self, uid: str, tpsl_id: str, changes: dict[str, object]) -> SimTpSl:
        """Change prices, stop types, order types or quantities of a pending TP/SL."""
        host = self._host
        acct = host.account(uid)
        tp = acct.tpsl.get(str(tpsl_id))
        if tp is None:
            raise SimError(ORDER_NOT_FOUND, str(tpsl_id))
        pos = host._position_by_id(acct, tp.position_id)
        apply_tpsl_changes(host.contracts[tp.symbol], pos, tp, changes)
        self.triggers.changed(tp.symbol)
        self._push(tp, "UPDATE")
        return tp

    def position_tpsl(self, uid: str, position_id: str) -> SimTpSl | None:
        """The pending position TP/SL of ``position_id``, if any."""
        host = self._host
        for tp in host.account(uid).tpsl.values():
            if tp.position_id == str(position_id) and tp.kind == "POSITION_TPSL":
                return tp
        return None

    def cancel(self, uid: str, tpsl_id: str) -> SimTpSl:
        """Cancel a pending TP/SL order."""
        host = self._host
        acct = host.account(uid)
        tp = acct.tpsl.get(str(tpsl_id))
        if tp is None:
            raise SimError(ORDER_NOT_FOUND, str(tpsl_id))
        self.end(acct, tp, "CANCELED")
        return tp

    def end(self, acct: SimAccount, tp: SimTpSl, status: str) -> None:
        """``tp`` leaves the pending set with ``status`` (pushed as CLOSE)."""
        tp.status = status
        acct.tpsl.pop(tp.tpsl_id, None)
        self.triggers.discard(tp)
        acct.tpsl_history.append(tp)
        self._push(tp, "CLOSE")

    def check(self, symbol: str, stop_type: str, price: Decimal) -> None:
        """Fire every pending trigger of ``symbol`` that ``price`` (of ``stop_type``) reaches;
        move trailing stops."""
        triggers = self.triggers.by_symbol[symbol]
        if not triggers:
            return
        fired: list[tuple[SimTpSl, str]] = []
        trailing = False
        for tp in triggers.values():
            trailing = trailing or tp.trail_rate is not None
            leg = fired_leg(tp, stop_type, price)
            if leg:
                fired.append((tp, leg))
        if trailing:
            self.triggers.changed(symbol)  # a trailing stop may have a new extreme
        for tp, leg in fired:
            if tp.status != "NEW":
                continue  # cancelled by an earlier trigger closing the position
            self._fire(tp, leg)

    def _fire(self, tp: SimTpSl, leg: str) -> None:
        host = self._host
        acct = host.accounts[tp.uid]
        tp.fired = leg
        tp.trigger_ns = host.clock.now_ns()
        # Out of the pending set before the child trades (its fill may close the position,
        # which cancels the position's pending TP/SLs); ended, and pushed, once its outcome
        # is known, so the CLOSE push carries the final status.
        acct.tpsl.pop(tp.tpsl_id, None)
        self.triggers.discard(tp)
        status = "FILLED"
        pos = acct.positions.get((tp.symbol, tp.pos_side))
        if pos is not None and pos.position_id == tp.position_id:
            qty, order_type, price = child_order(tp, leg, pos)
            try:
                host._close_at_market(acct, pos, min(qty, pos.qty), order_type=order_type,
                                      price=price)
            except SimError:
                # The child order was refused (price band, size): the trigger is spent.
                status = "FAILED"
        self.end(acct, tp, status)
