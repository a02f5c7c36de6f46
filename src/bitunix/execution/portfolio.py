"""Positions and PnL from fills, exactly: the bot's own books.

Every fill is applied once (by trade id) with :func:`bitunix.model.apply_fill`; funding with
:func:`bitunix.model.apply_funding`. From those: realised PnL (gross, fees, funding, all
exact), unrealised PnL at the last mark, the UTC-day PnL that the daily loss limit reads
(realised + unrealised, fees and funding included, reset at UTC midnight by the injected
clock), the round trips, and equity from the venue's balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from bitunix.core.clock import Clock
from bitunix.execution.trips import TripBook
from bitunix.model import Balance, ContractSpec, Fill, Position, apply_fill, apply_funding
from bitunix.model.records import RoundTrip

__all__ = ["DAY_NS", "FillOutcome", "Portfolio"]

DAY_NS = 86_400 * 1_000_000_000
_ZERO = Decimal(0)

#: What a new fill did: the position after it, and the round trip it completed (if any).
FillOutcome = tuple[Position, RoundTrip | None]


def _units(units: int, spec: ContractSpec) -> Decimal:
    return Decimal(units).scaleb(-(spec.price_decimals + spec.qty_decimals))


class Portfolio:
    """Positions per symbol, built from fills and funding (see the module docs)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.positions: dict[str, Position] = {}
        #: Last price seen per symbol (ticks), for unrealised PnL and notional.
        self.marks: dict[str, int] = {}
        self.balance: Balance | None = None
        self.trips = TripBook()
        self._seen: set[str] = set()
        self._day = -1
        #: (gross realised, fees, funding, unrealised) when the UTC day started.
        self._day_start: tuple[Decimal, Decimal, Decimal, Decimal] = (_ZERO, _ZERO, _ZERO, _ZERO)
        self.day_start_equity: Decimal | None = None

    # ------------------------------------------------------------------ state
    def position(self, symbol: str) -> Position | None:
        """The position of ``symbol`` (None if it never traded)."""
        return self.positions.get(symbol)

    def qty_steps(self, symbol: str) -> int:
        """Signed size of ``symbol`` (0 when flat or never traded)."""
        pos = self.positions.get(symbol)
        return 0 if pos is None else pos.qty_steps

    def has_fill(self, trade_id: str) -> bool:
        """True when the fill ``trade_id`` is already in the books."""
        return trade_id in self._seen

    def open_symbols(self) -> list[str]:
        """Symbols with a position."""
        return [s for s, p in self.positions.items() if p.lots]

    @property
    def is_flat(self) -> bool:
        """True when no symbol has a position."""
        return not any(p.lots for p in self.positions.values())

    # ------------------------------------------------------------------ updates
    def apply_fill(self, fill: Fill, *, strategy: str = "", reason: str = "") -> FillOutcome | None:
        """Book ``fill`` once; None when its trade id is already booked (a duplicate)."""
        if fill.trade_id in self._seen:
            return None
        self._roll(fill.ts_ns)
        self._seen.add(fill.trade_id)
        symbol = fill.spec.symbol
        before = self.positions.get(symbol) or Position(spec=fill.spec)
        after = apply_fill(before, fill)
        self.positions[symbol] = after
        trip = self.trips.on_fill(before, after, fill, strategy=strategy, reason=reason)
        return after, trip

    def apply_funding(self, spec: ContractSpec, paid: Decimal, ts_ns: int) -> Position:
        """Book a funding settlement: ``paid`` > 0 paid, < 0 received."""
        self._roll(ts_ns)
        before = self.positions.get(spec.symbol) or Position(spec=spec)
        after = apply_funding(before, paid, ts_ns)
        self.positions[spec.symbol] = after
        self.trips.on_funding(spec.symbol, paid)
        return after

    def set_mark(self, symbol: str, price_ticks: int) -> None:
        """The latest price of ``symbol`` (cheap: called per tick)."""
        self.marks[symbol] = price_ticks

    def set_balance(self, balance: Balance) -> None:
        """The venue's latest balance."""
        self.balance = balance
        if self.day_start_equity is None and self._day >= 0:
            equity = self.equity()
            if equity is not None:
                self.day_start_equity = equity - self.day_pnl()

    def restore(self, positions: Iterable[Position], fills: Iterable[Fill],
                strategies: Mapping[str, str] | None = None) -> None:
        """Take up positions and booked fill ids from the store (before any new fill).

        ``strategies`` names who opened each open position (for its round trip)."""
        for fill in fills:
            self._seen.add(fill.trade_id)
        for pos in positions:
            self.positions[pos.symbol] = pos
            if pos.lots:
                owner = (strategies or {}).get(pos.symbol, "")
                self.trips.resume(pos, owner, pos.updated_ns)

    def restore_day(self, ts_ns: int, pnl_so_far: Decimal) -> None:
        """After a restart: ``pnl_so_far`` was already made on the UTC day of ``ts_ns``, so
        the daily loss limit does not forget it."""
        self._day = ts_ns // DAY_NS
        gross, fees, funding, unrealized = self._parts()
        self._day_start = (gross - pnl_so_far, fees, funding, unrealized)
        equity = self.equity()
        self.day_start_equity = None if equity is None else equity - pnl_so_far

    # ------------------------------------------------------------------ figures
    def net_realized(self) -> Decimal:
        """Realised PnL of every symbol after fees and funding."""
        return sum((p.net_realized_pnl for p in self.positions.values()), _ZERO)

    def fees(self) -> Decimal:
        """Fees paid (negative: rebates received)."""
        return sum((p.fees for p in self.positions.values()), _ZERO)

    def funding(self) -> Decimal:
        """Funding paid (negative: received)."""
        return sum((p.funding for p in self.positions.values()), _ZERO)

    def unrealized(self) -> Decimal:
        """PnL of the open lots at the last marks (a symbol without a mark counts 0)."""
        total = _ZERO
        for symbol, pos in self.positions.items():
            mark = self.marks.get(symbol)
            if pos.lots and mark is not None:
                total += _units(pos.unrealized_value(mark), pos.spec)
        return total

    def notional(self, symbol: str) -> Decimal:
        """Absolute exposure of ``symbol`` at its mark (entry prices without a mark)."""
        pos = self.positions.get(symbol)
        if pos is None or not pos.lots:
            return _ZERO
        mark = self.marks.get(symbol)
        if mark is None:
            return _units(abs(pos.entry_value), pos.spec)
        return _units(abs(pos.qty_steps) * mark, pos.spec)

    def wallet(self) -> Decimal | None:
        """The venue's wallet balance (available + frozen + margin), None before the first."""
        b = self.balance
        return None if b is None else b.available + b.frozen + b.margin

    def equity(self) -> Decimal | None:
        """Wallet plus unrealised PnL (None before the first balance)."""
        wallet = self.wallet()
        return None if wallet is None else wallet + self.unrealized()

    def gross_realized(self) -> Decimal:
        """Realised price PnL of every symbol, before fees and funding."""
        return sum((p.realized_pnl for p in self.positions.values()), _ZERO)

    def day_figures(self) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        """The current UTC day so far: ``(gross realised, fees, funding, unrealised now,
        unrealised when the day started)``."""
        self._roll(self._clock.now_ns())
        gross, fees, funding, unrealized = self._parts()
        g0, f0, u0, start_unrealized = self._day_start
        return gross - g0, fees - f0, funding - u0, unrealized, start_unrealized

    def day_pnl(self) -> Decimal:
        """PnL of the current UTC day: realised + unrealised, fees and funding included."""
        gross, fees, funding, unrealized, start_unrealized = self.day_figures()
        return gross - fees - funding + unrealized - start_unrealized

    def _parts(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        return self.gross_realized(), self.fees(), self.funding(), self.unrealized()

    def _roll(self, ts_ns: int) -> None:
        day = ts_ns // DAY_NS
        if day <= self._day:
            return
        self._day = day
        self._day_start = self._parts()
        self.day_start_equity = self.equity()
