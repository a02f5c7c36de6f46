"""A book for data that has none: derived from the trades, so trade-only files backtest.

The strategies decide on book updates and the matching engine fills market orders
against the book, so a trade CSV alone would never trade. :class:`DerivedBooks` passes a
stream through and, for each symbol that has shown no book of its own, adds a book every
``interval_ns`` of market time, built from the trades so far and nothing later (no
look-ahead):

* the ask is the last price a buyer paid (an aggressive buy lifts the ask), the bid the
  last price a seller hit; when one is missing or they cross, the side of the last trade
  is kept and the other one is one tick away;
* ``levels`` levels a tick apart on each side, each with the volume traded since the
  previous derived book (at least the last trade's size, rounded up to the contract's
  step), so an order of the size the market was trading fills at the touch.

The report says which symbols traded on derived books: depth imbalance on them says
nothing about the real book.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import ROUND_CEILING, Decimal

from bitunix.model.market import BookEvent, MarketEvent, TradeEvent

__all__ = ["DerivedBooks"]


class _TradeState:
    __slots__ = ("ask", "bid", "last", "last_buy", "last_qty", "next_ns", "volume")

    def __init__(self) -> None:
        self.bid: str | None = None
        self.ask: str | None = None
        self.last = ""
        self.last_buy = True
        self.last_qty = 0.0
        self.volume = 0.0
        self.next_ns = 0


class DerivedBooks:
    """The events of ``events`` plus derived books (see the module docs); ``derived``
    holds the symbols that got at least one."""

    def __init__(self, events: Iterable[MarketEvent], ticks: Mapping[str, Decimal], *,
                 interval_ns: int, levels: int = 5,
                 steps: Mapping[str, Decimal] | None = None) -> None:
        if interval_ns <= 0 or levels <= 0:
            raise ValueError("a derived book needs interval_ns > 0 and levels > 0")
        self._events = events
        self._ticks = ticks
        self._steps = {s: (steps or {}).get(s, Decimal("0.001")) for s in ticks}
        self._interval_ns = interval_ns
        self._levels = levels
        self.derived: set[str] = set()
        self.books: dict[str, int] = {}

    def __iter__(self) -> Iterator[MarketEvent]:
        real: set[str] = set()
        states: dict[str, _TradeState] = {}
        interval = self._interval_ns
        for event in self._events:
            yield event
            symbol = event.symbol
            if type(event) is not TradeEvent:
                real.add(symbol)
                continue
            if symbol in real or symbol not in self._ticks:
                continue
            state = states.get(symbol)
            if state is None:
                state = states[symbol] = _TradeState()
                state.next_ns = event.ts_ns + interval
            if event.is_buy:
                state.ask = event.price
            else:
                state.bid = event.price
            qty = float(event.qty)
            state.last, state.last_buy, state.last_qty = event.price, event.is_buy, qty
            state.volume += qty
            if event.ts_ns >= state.next_ns:
                yield self._book(symbol, event.ts_ns, state)
                state.volume = 0.0
                state.next_ns = event.ts_ns + interval

    def _book(self, symbol: str, ts_ns: int, state: _TradeState) -> BookEvent:
        tick = self._ticks[symbol]
        bid = None if state.bid is None else Decimal(state.bid)
        ask = None if state.ask is None else Decimal(state.ask)
        if bid is None or ask is None or bid >= ask:
            last = Decimal(state.last)
            bid, ask = (last - tick, last) if state.last_buy else (last, last + tick)
        # A modelling choice, not money: the size shown at each level, on the contract's
        # step (rounded up: never an empty level).
        step = self._steps[symbol]
        qty = str((Decimal(repr(max(state.volume, state.last_qty))) / step).to_integral_value(
            rounding=ROUND_CEILING) * step)
        self.derived.add(symbol)
        self.books[symbol] = self.books.get(symbol, 0) + 1
        n = self._levels
        return BookEvent(
            ts_ns=ts_ns, symbol=symbol,
            bids=[(str(bid - i * tick), qty) for i in range(n) if bid - i * tick > 0],
            asks=[(str(ask + i * tick), qty) for i in range(n)])
