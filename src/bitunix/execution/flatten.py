"""Cancel-all and flatten: the way out of every order and position.

:func:`flatten` cancels every open order, closes every position with a reduce-only MARKET
order, and waits (on order and fill events, not by polling) until the books are flat or the
timeout passes; a close that ended without making its symbol flat is sent again, until
:data:`MAX_CLOSES_PER_SYMBOL` closes of a symbol have ended with no fill at all. A
remainder below the contract's minimum order size, which no order may close, is closed by
the venue's flash close (as often, at most). The report says what remains. Stopping new
entries meanwhile is the caller's job (the kill switch).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

import msgspec

from bitunix.core.errors import BitunixError
from bitunix.execution.errors import RETRYABLE
from bitunix.model import ContractSpec
from bitunix.model.records import AuditEntry

if TYPE_CHECKING:
    from bitunix.execution.engine import ExecutionEngine

__all__ = ["MAX_CLOSES_PER_SYMBOL", "FlattenReport", "cancel_all", "flatten"]

log = logging.getLogger("bitunix.execution.flatten")

MAX_CLOSES_PER_SYMBOL = 5
#: How long the fills of a flash close may take before it is asked again.
FLASH_WAIT_S = 1.0
#: The pause before a refused flash close is asked again, times the attempts so far.
FLASH_RETRY_S = 0.1


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


def closing(engine: ExecutionEngine, symbol: str, closes: Iterable[str]) -> bool:
    """Whether a close of ``symbol`` is still under way: a reduce-only order of it is open,
    or one of ``closes`` (the flatten's own) is reported filled beyond its booked fills (a
    FILLED report may come before its fills; another close then would be one too many)."""
    if any(o.reduce_only for o in engine.open_orders(symbol)):
        return True
    for client_id in closes:
        order = engine.order(client_id)
        if order is not None and order.filled_steps > engine.booked_steps(client_id):
            return True
    return False


def fruitless(engine: ExecutionEngine, closes: Iterable[str]) -> int:
    """How many of ``closes`` ended without a fill (refused, cancelled unfilled): the ones
    that count against :data:`MAX_CLOSES_PER_SYMBOL`. A close that filled part of the
    position made progress; the next one closes the rest."""
    count = 0
    for client_id in closes:
        order = engine.order(client_id)
        if order is not None and not order.is_open and order.filled_steps == 0:
            count += 1
    return count


async def flash_close(engine: ExecutionEngine, spec: ContractSpec, qty: Decimal) -> str:
    """Ask the venue to close ``spec``'s whole position (audited); the error, if any."""
    engine.journal.record_audit(AuditEntry(
        ts_ns=engine.clock.now_ns(), action="flash-close", symbol=spec.symbol,
        reason="below the minimum order size", detail={"qty": str(qty),
                                                       "min_qty": str(spec.min_qty)}))
    try:
        if not await engine.venue.close_position(spec):
            log.info("flatten: the venue holds no %s position to flash-close (closed "
                     "already: its fills are on their way)", spec.symbol)
    except (BitunixError, OSError) as exc:
        log.warning("flatten: flash close of %s failed: %s", spec.symbol, exc)
        return f"flash close of {spec.symbol} failed: {exc}"
    return ""


class _Closer:
    """The closes of one flatten, symbol by symbol: reduce-only market orders, or the
    venue's flash close for a remainder below the minimum order size."""

    def __init__(self, engine: ExecutionEngine, errors: list[str]) -> None:
        self.engine = engine
        self.errors = errors
        self.loop = engine._loop_()
        self.sent: dict[str, list[str]] = {}
        self.flashes: dict[str, int] = {}
        self.flashed_qty: dict[str, int] = {}
        self.flash_wait_until: dict[str, float] = {}

    @property
    def closes(self) -> int:
        """Close orders sent and flash closes asked."""
        return sum(map(len, self.sent.values())) + sum(self.flashes.values())

    def next_retry_in(self, now: float) -> float | None:
        """Seconds until a flash close may be asked again (None: none waits)."""
        waits = [t - now for t in self.flash_wait_until.values() if t > now]
        return min(waits) if waits else None

    async def advance(self, symbol: str) -> bool:
        """Close ``symbol`` if nothing is closing it; False once there is nothing more to
        try (every attempt used)."""
        engine = self.engine
        mine = self.sent.setdefault(symbol, [])
        if closing(engine, symbol, mine):
            return True
        position = engine.portfolio.positions[symbol]
        if abs(position.qty_steps) < position.spec.min_order_steps:
            return await self._flash(position.spec, position.qty_steps, position.qty)
        if fruitless(engine, mine) >= MAX_CLOSES_PER_SYMBOL:
            return False
        order = engine.exits.close_position(symbol, "flatten", engine.clock.now_ns())
        if order is not None:
            mine.append(order.client_id)
        return True

    async def _flash(self, spec: ContractSpec, qty_steps: int, qty: Decimal) -> bool:
        # Below the minimum order size no order may close it (30017, reduce-only too): the
        # venue's flash close does, its fills booked as they come (not asked again while
        # the last one's may still be on their way).
        symbol, now = spec.symbol, self.loop.time()
        if self.flashed_qty.get(symbol) == qty_steps and \
                now < self.flash_wait_until.get(symbol, 0.0):
            return True
        attempts = self.flashes.get(symbol, 0)
        if attempts >= MAX_CLOSES_PER_SYMBOL:
            return False
        self.flashes[symbol] = attempts + 1
        self.flashed_qty[symbol] = qty_steps
        self.flash_wait_until[symbol] = now + FLASH_WAIT_S
        error = await flash_close(self.engine, spec, qty)
        if error:
            self.errors.append(error)  # asked again after a pause that grows
            self.flash_wait_until[symbol] = self.loop.time() + FLASH_RETRY_S * (attempts + 1)
        return True


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
    closer = _Closer(engine, errors)
    portfolio = engine.portfolio
    gave_up = False
    while True:
        under_way = [await closer.advance(symbol) for symbol in portfolio.open_symbols()]
        left = deadline - loop.time()
        gave_up = not portfolio.is_flat and not any(under_way)
        if portfolio.is_flat or left <= 0 or gave_up:
            break
        pause = closer.next_retry_in(loop.time())
        if not await engine.wait_change(left if pause is None else min(left, pause)) \
                and pause is None:
            break
    remaining = {s: str(portfolio.positions[s].qty) for s in portfolio.open_symbols()}
    report = FlattenReport(flat=portfolio.is_flat, cancelled=cancelled,
                           closes=closer.closes, remaining=remaining,
                           open_orders=[o.client_id for o in engine.open_orders()],
                           errors=errors)
    engine.journal.record_audit(AuditEntry(
        ts_ns=engine.clock.now_ns(), action="flatten",
        reason="flat" if report.flat else "not flat: every close attempt used" if gave_up
        else "not flat before the timeout",
        detail={"remaining": ",".join(f"{s}={q}" for s, q in remaining.items()),
                "closes": str(report.closes)}))
    return report
