"""Round trips: from flat to flat again, who opened them and what closed them.

Pure bookkeeping beside the positions: each fill is split into the part that opens (or
adds to) the position and the part that closes it. A trip ends when the position is flat
again or flips through zero (the rest of a flipping fill opens the next trip). The fee of a
flipping fill goes wholly to the trip it closes, so the fees of all trips add up to the fees
paid, exactly; gross PnL is the position's exact realised value over the trip.
"""

from __future__ import annotations

from decimal import Decimal

from bitunix.model import ContractSpec, Fill, Position
from bitunix.model.records import RoundTrip

__all__ = ["TripBook"]

_ZERO = Decimal(0)


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


class _OpenTrip:
    """A trip under way (mutable, private to :class:`TripBook`)."""

    __slots__ = ("direction", "entry_ns", "entry_steps", "entry_value", "exit_steps",
                 "exit_value", "fees", "funding", "realized_start", "strategy")

    def __init__(self, strategy: str, direction: int, entry_ns: int, realized_start: int) -> None:
        self.strategy = strategy
        self.direction = direction
        self.entry_ns = entry_ns
        self.realized_start = realized_start
        self.entry_steps = 0
        self.entry_value = 0
        self.exit_steps = 0
        self.exit_value = 0
        self.fees = _ZERO
        self.funding = _ZERO

    def finish(self, spec: ContractSpec, after: Position, exit_ns: int, reason: str) -> RoundTrip:
        value_decimals = spec.price_decimals + spec.qty_decimals
        return RoundTrip(
            symbol=spec.symbol,
            strategy=self.strategy,
            direction=self.direction,
            qty=Decimal(self.entry_steps).scaleb(-spec.qty_decimals),
            entry_price=_average(self.entry_value, self.entry_steps, spec.price_decimals),
            exit_price=_average(self.exit_value, self.exit_steps, spec.price_decimals),
            entry_ns=self.entry_ns,
            exit_ns=exit_ns,
            reason=reason,
            gross_pnl=Decimal(after.realized_value - self.realized_start).scaleb(-value_decimals),
            fees=self.fees,
            funding=self.funding,
        )


def _average(value: int, steps: int, price_decimals: int) -> Decimal:
    if not steps:
        return _ZERO
    return (Decimal(value) / Decimal(steps)).scaleb(-price_decimals)


class TripBook:
    """The open trip of each symbol; :meth:`on_fill` returns the trip a fill completes."""

    def __init__(self) -> None:
        self._open: dict[str, _OpenTrip] = {}

    def strategy_of(self, symbol: str) -> str | None:
        """The strategy that opened the trip under way in ``symbol`` (None when flat)."""
        trip = self._open.get(symbol)
        return None if trip is None else trip.strategy

    def entry_ns_of(self, symbol: str) -> int | None:
        """When the trip under way in ``symbol`` opened (None when flat)."""
        trip = self._open.get(symbol)
        return None if trip is None else trip.entry_ns

    def resume(self, position: Position, strategy: str, entry_ns: int) -> None:
        """Take up a trip that is already open (a restored position, an adopted size):
        its open lots count as the entry."""
        if position.is_flat:
            self._open.pop(position.symbol, None)
            return
        trip = _OpenTrip(strategy, _sign(position.qty_steps), entry_ns, position.realized_value)
        trip.entry_steps = abs(position.qty_steps)
        trip.entry_value = abs(position.entry_value)
        self._open[position.symbol] = trip

    def on_fill(self, before: Position, after: Position, fill: Fill, *, strategy: str,
                reason: str) -> RoundTrip | None:
        """Account ``fill`` (which moved the position from ``before`` to ``after``);
        ``strategy`` asked for the order, ``reason`` is why (used when it closes)."""
        symbol = fill.spec.symbol
        held = before.qty_steps
        signed = fill.signed_steps
        qty, price = fill.qty_steps, fill.price_ticks
        trip = self._open.get(symbol)
        if held == 0 or trip is None:
            if held != 0:  # a position we hold without its history: take it up as it is
                self.resume(before, strategy, before.updated_ns)
                trip = self._open[symbol]
            else:
                trip = _OpenTrip(strategy, _sign(signed), fill.ts_ns, before.realized_value)
                self._open[symbol] = trip
                trip.entry_steps += qty
                trip.entry_value += qty * price
                trip.fees += fill.fee
                return None
        if _sign(signed) == _sign(held):
            trip.entry_steps += qty
            trip.entry_value += qty * price
            trip.fees += fill.fee
            return None
        closed = min(qty, abs(held))
        trip.exit_steps += closed
        trip.exit_value += closed * price
        trip.fees += fill.fee
        left = after.qty_steps
        if left != 0 and _sign(left) == _sign(held):
            return None
        done = trip.finish(fill.spec, after, fill.ts_ns, reason)
        del self._open[symbol]
        if left != 0:
            nxt = _OpenTrip(strategy, _sign(left), fill.ts_ns, after.realized_value)
            nxt.entry_steps = abs(left)
            nxt.entry_value = abs(left) * price
            self._open[symbol] = nxt
        return done

    def on_funding(self, symbol: str, paid: Decimal) -> None:
        """A funding payment on the open position of ``symbol`` belongs to its trip."""
        trip = self._open.get(symbol)
        if trip is not None:
            trip.funding += paid
