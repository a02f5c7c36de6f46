"""The bot's side of the channel: execute an operator's request and say what happened.

:class:`ControlHandler` runs on the bot's event loop. The switches (pause, resume, kill)
take effect synchronously, before the first ``await`` of :meth:`ControlHandler.handle`, so
by the time the answer is written no entry can be sent that the switch forbids. Orders go
through the bot's own execution engine (its ids, state machine, journal and
reconciliation); a manual entry goes through :func:`check_manual_order` unless forced.
Every request is audited (``action="operator"``, ``strategy`` = who asked, ``reason`` = the
action, ``detail`` = the arguments and the outcome).
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Protocol

from bitunix.control.manual import check_manual_order
from bitunix.control.messages import ControlAnswer, ControlRequest
from bitunix.core.errors import BitunixError
from bitunix.model import ContractSpec, OrderIntent, OrderType, Side, TimeInForce
from bitunix.model.enums import OrderStatus
from bitunix.model.records import AuditEntry
from bitunix.risk.kill import KillRequest

if TYPE_CHECKING:
    from bitunix.core.clock import Clock
    from bitunix.execution.engine import ExecutionEngine
    from bitunix.execution.flatten import FlattenReport
    from bitunix.execution.ports import Journal
    from bitunix.model import Order
    from bitunix.risk.gate import RiskGate

__all__ = ["ControlHandler", "ControlledBot", "RequestError"]

#: How long an order request waits for the venue's first answer to the order.
ORDER_WAIT_S = 3.0


class RequestError(BitunixError):
    """A request that cannot be carried out as asked (bad argument, refused by risk...)."""


class ControlledBot(Protocol):
    """What the handler needs of the running bot (``bitunix.app.bot.BotRun``)."""

    @property
    def gate(self) -> RiskGate:
        """The bot's risk gate."""
        ...

    @property
    def engine(self) -> ExecutionEngine | None:
        """Its execution engine (None in dry-run)."""
        ...

    @property
    def contracts(self) -> dict[str, ContractSpec]:
        """The traded contracts by symbol."""
        ...

    @property
    def clock(self) -> Clock:
        """Its clock."""
        ...

    @property
    def journal(self) -> Journal | None:
        """Where the audit trail goes."""
        ...

    @property
    def paused(self) -> bool:
        """True while new entries are paused by an operator."""
        ...

    def set_paused(self, paused: bool, reason: str) -> None:
        """Pause (or resume) new entries."""

    def apply_kill(self, request: KillRequest, now_ns: int) -> None:
        """Engage or release the kill switch (its flatten is the handler's)."""


class ControlHandler:
    """Executes requests against ``bot`` (see the module docs)."""

    def __init__(self, bot: ControlledBot, *, order_wait_s: float = ORDER_WAIT_S) -> None:
        self.bot = bot
        self.order_wait_s = order_wait_s

    async def handle(self, request: ControlRequest) -> ControlAnswer:
        """Carry ``request`` out; the answer says how it went (never raises for a request
        that fails: that is a ``ok=False`` answer)."""
        try:
            ok, message, detail = True, *await self._dispatch(request)
        except RequestError as exc:
            ok, message, detail = False, str(exc), {}
        except BitunixError as exc:
            ok, message, detail = False, f"{request.action} failed: {exc}", {}
        self._audit(request, ok, message, detail)
        return ControlAnswer(id=request.id, ok=ok, message=message, ts_ns=time.time_ns(),
                             detail=detail)

    def refuse_unreadable(self, request_id: str, why: str) -> ControlAnswer:
        """The answer to a request that could not be read."""
        return ControlAnswer(id=request_id, ok=False, message=why, ts_ns=time.time_ns())

    async def _dispatch(self, request: ControlRequest) -> tuple[str, dict[str, str]]:
        action, args = request.action, request.args
        reason = args.get("reason", "") or request.who
        if action == "pause":
            return self._pause(reason)
        if action == "resume":
            return self._resume()
        if action in ("kill", "release"):
            return await self._kill(action == "kill", args.get("flatten") == "true", reason,
                                    request.ts_ns, _timeout(args))
        engine = self._engine()
        if action == "order_place":
            return await self._place(engine, args)
        if action == "order_cancel":
            return await self._cancel(engine, args.get("client_id", ""))
        if action == "cancel_all":
            return await self._cancel_all(engine, args.get("symbol", ""), _timeout(args))
        if action == "flatten":
            return await self._flatten(engine, reason, _timeout(args))
        raise RequestError(f"unknown action {action!r}")

    # -- switches ----------------------------------------------------------------------

    def _pause(self, reason: str) -> tuple[str, dict[str, str]]:
        bot = self.bot
        if bot.paused:
            return "already paused: no new entries", {"paused": "true"}
        bot.set_paused(True, reason)
        return ("paused: no new entries (exits and protection orders still go out)",
                {"paused": "true"})

    def _resume(self) -> tuple[str, dict[str, str]]:
        bot = self.bot
        was = bot.paused
        bot.set_paused(False, "")
        message = "resumed: new entries allowed" if was else "not paused: nothing to resume"
        if bot.gate.kill_switch_engaged:
            message += ("; the kill switch is still engaged, so no entry goes out until "
                        "`bitunix-bot kill --release`")
        return message, {"paused": "false", "kill_switch": _flag(bot.gate.kill_switch_engaged)}

    async def _kill(self, engage: bool, flatten: bool, reason: str, ts_ns: int,
                    timeout_s: float) -> tuple[str, dict[str, str]]:
        bot = self.bot
        bot.apply_kill(KillRequest(engage=engage, flatten=False, reason=reason, ts_ns=ts_ns),
                       bot.clock.now_ns())
        if not engage:
            return "kill switch released", {"kill_switch": "false"}
        detail = {"kill_switch": "true"}
        if not flatten:
            return "kill switch engaged: no new entries", detail
        if bot.engine is None:
            return "kill switch engaged; nothing to flatten (dry-run sends no orders)", detail
        report = await bot.engine.flatten(timeout_s=timeout_s)
        detail.update(_flatten_detail(report))
        left = _left(report) or await self._venue_holds(bot.engine)
        if left:
            raise RequestError(f"kill switch engaged, but the flatten left {left}")
        return "kill switch engaged and flat: " + _describe(report), detail

    # -- orders ------------------------------------------------------------------------

    def _engine(self) -> ExecutionEngine:
        engine = self.bot.engine
        if engine is None:
            raise RequestError("the bot runs in dry-run: it sends no orders")
        return engine

    async def _place(self, engine: ExecutionEngine,
                     args: dict[str, str]) -> tuple[str, dict[str, str]]:
        bot = self.bot
        symbol = args.get("symbol", "")
        spec = bot.contracts.get(symbol)
        if spec is None:
            raise RequestError(f"symbol {symbol!r}: the bot trades "
                               f"{', '.join(sorted(bot.contracts)) or 'nothing'}")
        try:
            side = Side(args.get("side", "").upper())
        except ValueError:
            raise RequestError(f"side {args.get('side')!r}: BUY or SELL") from None
        qty_steps = _on_grid(spec, "qty", args.get("qty", ""))
        price_text = args.get("price", "")
        price_ticks = _on_grid(spec, "price", price_text) if price_text else None
        reduce_only = args.get("reduce_only") == "true"
        force = args.get("force") == "true"
        if not engine.ready and not reduce_only:
            raise RequestError("refused: the bot has not reconciled with the venue yet; "
                               "nothing sent")
        reference = price_ticks if price_ticks is not None else engine.portfolio.marks.get(symbol)
        if not force:
            if reference is None:
                raise RequestError(f"refused: no market price of {symbol} yet to check the "
                                   "order against the limits; nothing sent (--force skips "
                                   "the checks)")
            denial = check_manual_order(bot.gate, spec, side, qty_steps=qty_steps,
                                        price_ticks=reference, reduce_only=reduce_only,
                                        exposure=engine.snapshot(), now_ns=bot.clock.now_ns())
            if denial is not None:
                values = ", ".join(f"{k} {v}" for k, v in denial.detail().items())
                raise RequestError(f"refused by risk: {denial.reason}"
                                   + (f" ({values})" if values else "")
                                   + "; nothing sent (--force skips the checks)")
        intent = OrderIntent(
            spec=spec, side=side, qty_steps=qty_steps,
            order_type=OrderType.MARKET if price_ticks is None else OrderType.LIMIT,
            price_ticks=price_ticks,
            time_in_force=None if price_ticks is None else TimeInForce.GTC,
            reduce_only=reduce_only, strategy="operator",
            reason="manual:forced" if force else "manual", ts_ns=bot.clock.now_ns())
        order = engine.submit(intent)
        order = await self._settled(engine, order.client_id, lambda o: o.status
                                    is not OrderStatus.INIT)
        detail = _order_detail(order)
        if order.status is OrderStatus.REJECTED:
            raise RequestError(f"order {order.client_id} rejected: {order.reject_reason}")
        return (f"order {order.client_id} {side.value} {spec.format_qty(qty_steps)} {symbol} "
                f"{detail['status']}" + (" (forced past risk)" if force else "")), detail

    async def _cancel(self, engine: ExecutionEngine,
                      client_id: str) -> tuple[str, dict[str, str]]:
        if not engine.cancel(client_id, "operator"):
            raise RequestError(f"no open order {client_id!r} (see bitunix-bot orders)")
        order = await self._settled(engine, client_id, lambda o: not o.is_open)
        detail = _order_detail(order)
        if order.is_open:
            raise RequestError(f"cancel of {client_id} sent, the order is still "
                               f"{order.status.value} after {self.order_wait_s:.0f} s")
        return f"order {client_id} {order.status.value}", detail

    async def _cancel_all(self, engine: ExecutionEngine, symbol: str,
                          timeout_s: float) -> tuple[str, dict[str, str]]:
        if symbol and symbol not in self.bot.contracts:
            raise RequestError(f"symbol {symbol!r}: the bot trades "
                               f"{', '.join(sorted(self.bot.contracts))}")
        open_before = len(engine.open_orders(symbol or None))
        if symbol:
            engine.journal.record_audit(AuditEntry(
                ts_ns=self.bot.clock.now_ns(), action="cancel-all", symbol=symbol,
                reason=f"{open_before} open", detail={"symbols": symbol}))
            await engine.venue.cancel_all([symbol])
        else:
            await engine.cancel_all()
        deadline = asyncio.get_running_loop().time() + timeout_s
        while engine.open_orders(symbol or None):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            await engine.wait_change(left)
        remaining = [o.client_id for o in engine.open_orders(symbol or None)]
        detail = {"cancelled": str(open_before - len(remaining)), "open": str(len(remaining))}
        if remaining:
            raise RequestError(f"cancel-all sent; still open after {timeout_s:.0f} s: "
                               f"{', '.join(remaining)}")
        return f"{open_before} open orders cancelled" + (f" on {symbol}" if symbol else ""), \
            detail

    async def _flatten(self, engine: ExecutionEngine, reason: str,
                       timeout_s: float) -> tuple[str, dict[str, str]]:
        # A flatten that the strategy undoes at its next signal helps no one: entries stay
        # paused until `resume`.
        self.bot.set_paused(True, f"flatten: {reason}")
        report = await engine.flatten(timeout_s=timeout_s)
        detail = _flatten_detail(report)
        left = _left(report) or await self._venue_holds(engine)
        if left:
            raise RequestError(f"flatten left {left}; entries paused")
        return f"{_describe(report)}; entries paused (resume to trade again)", detail

    async def _venue_holds(self, engine: ExecutionEngine) -> str:
        """What the venue itself still holds after a flatten that looks done locally
        ("" when nothing): a flatten is done when the venue holds nothing of ours."""
        held = {p.spec.symbol: p.spec.format_qty(p.qty_steps)
                for p in await engine.venue.positions(sorted(self.bot.contracts))
                if p.qty_steps}
        return f"{held} at the venue" if held else ""

    async def _settled(self, engine: ExecutionEngine, client_id: str,
                       done: _OrderTest) -> Order:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.order_wait_s
        order = engine.order(client_id)
        assert order is not None
        while not done(order):
            left = deadline - loop.time()
            if left <= 0:
                break
            await engine.wait_change(left)
            order = engine.order(client_id) or order
        return order

    def _audit(self, request: ControlRequest, ok: bool, message: str,
               detail: dict[str, str]) -> None:
        journal = self.bot.journal
        if journal is None:
            return
        journal.record_audit(AuditEntry(
            ts_ns=self.bot.clock.now_ns(), action="operator",
            symbol=request.args.get("symbol", ""), client_id=detail.get("client_id", ""),
            strategy=request.who, reason=request.action,
            detail={**request.args, **detail, "ok": _flag(ok), "result": message}))


class _OrderTest(Protocol):
    def __call__(self, order: Order) -> bool: ...


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _timeout(args: dict[str, str]) -> float:
    try:
        value = float(args.get("timeout_s", "10"))
    except ValueError:
        raise RequestError(f"timeout_s {args.get('timeout_s')!r}: not a number") from None
    if not 0.0 < value <= 600.0:
        raise RequestError(f"timeout_s {value}: not in (0, 600]")
    return value


def _on_grid(spec: ContractSpec, what: str, text: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RequestError(f"{what} {text!r}: not a decimal number") from None
    if not value.is_finite() or value <= 0:
        raise RequestError(f"{what} {text!r}: not a number > 0")
    try:
        if what == "qty":
            return spec.qty_to_steps(value)
        return spec.price_to_ticks(value)
    except BitunixError:
        step = spec.qty_step if what == "qty" else spec.tick_size
        raise RequestError(f"{what} {text}: not a multiple of {spec.symbol}'s "
                           f"{'quantity step' if what == 'qty' else 'tick size'} {step}"
                           ) from None


def _order_detail(order: Order) -> dict[str, str]:
    return {"client_id": order.client_id, "status": order.status.value,
            "symbol": order.symbol, "side": order.side.value, "qty": str(order.qty),
            "filled_qty": order.spec.format_qty(order.filled_steps),
            "avg_price": "" if order.avg_price is None else str(order.avg_price),
            "reject_reason": order.reject_reason}


def _flatten_detail(report: FlattenReport) -> dict[str, str]:
    return {"flat": _flag(report.flat), "cancelled": str(report.cancelled),
            "closes": str(report.closes),
            "remaining": ",".join(f"{k}={v}" for k, v in sorted(report.remaining.items()))}


def _left(report: FlattenReport) -> str:
    if report.flat:
        return ""
    return (f"{report.remaining or report.open_orders} open "
            f"({'; '.join(report.errors) or 'no error reported'})")


def _describe(report: FlattenReport) -> str:
    return f"flat ({report.cancelled} orders cancelled, {report.closes} closing orders)"
