"""Cancel-all and flatten: the way out of every order and position.

:func:`flatten` cancels every open order, closes every position with a reduce-only MARKET
order, and waits (on order and fill events, not by polling) until the books are flat or the
timeout passes; a close that ended without making its symbol flat is sent again, a few
times at most. The report says what remains. Stopping new entries meanwhile is the
caller's job (the kill switch).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import msgspec

from bitunix.execution.errors import RETRYABLE
from bitunix.model.records import AuditEntry

if TYPE_CHECKING:
    from bitunix.execution.engine import ExecutionEngine

__all__ = ["MAX_CLOSES_PER_SYMBOL", "FlattenReport", "cancel_all", "flatten"]

log = logging.getLogger("bitunix.execution.flatten")

MAX_CLOSES_PER_SYMBOL = 5


class FlattenReport(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome: ``flat`` when nothing is left; ``remaining`` the signed size (as a
    decimal string) of each symbol still open, ``open_orders`` the client ids still open."""

    flat: bool
    cancelled: int
    closes: int
    remaining: dict[str, str]
    open_orders: list[str]
    errors: list[str]


async def cancel_all(engine: ExecutionEngine) -> int:
    """Ask the venue to cancel every open order of the traded symbols (and of any symbol
    with an open order); returns how many orders were open locally."""
    open_orders = engine.open_orders()
    symbols = sorted({*engine.symbols, *(o.symbol for o in open_orders)})
    engine.journal.record_audit(AuditEntry(
        ts_ns=engine.clock.now_ns(), action="cancel-all", reason=f"{len(open_orders)} open",
        detail={"symbols": ",".join(symbols)}))
    if symbols:
        await engine.venue.cancel_all(symbols)
    return len(open_orders)


async def flatten(engine: ExecutionEngine, timeout_s: float) -> FlattenReport:
    """Cancel all, close all, wait until flat (at most ``timeout_s``)."""
    loop = engine._loop_()
    deadline = loop.time() + timeout_s
    errors: list[str] = []
    cancelled = 0
    try:
        cancelled = await cancel_all(engine)
    except RETRYABLE as exc:  # the closes below are reduce-only: still safe to send
        errors.append(f"cancel-all failed: {exc}")
        log.warning("flatten: cancel-all failed: %s", exc)
    closes: dict[str, int] = {}
    portfolio = engine.portfolio
    while True:
        for symbol in portfolio.open_symbols():
            busy = any(o.reduce_only for o in engine.open_orders(symbol))
            if busy or closes.get(symbol, 0) >= MAX_CLOSES_PER_SYMBOL:
                continue
            closes[symbol] = closes.get(symbol, 0) + 1
            engine.exits.close_position(symbol, "flatten", engine.clock.now_ns())
        left = deadline - loop.time()
        if portfolio.is_flat or left <= 0:
            break
        if not await engine.wait_change(left):
            break
    remaining = {s: str(portfolio.positions[s].qty) for s in portfolio.open_symbols()}
    report = FlattenReport(flat=portfolio.is_flat, cancelled=cancelled,
                           closes=sum(closes.values()), remaining=remaining,
                           open_orders=[o.client_id for o in engine.open_orders()],
                           errors=errors)
    engine.journal.record_audit(AuditEntry(
        ts_ns=engine.clock.now_ns(), action="flatten",
        reason="flat" if report.flat else "not flat before the timeout",
        detail={"remaining": ",".join(f"{s}={q}" for s, q in remaining.items()),
                "closes": str(report.closes)}))
    return report
