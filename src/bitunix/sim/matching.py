"""Matching of the simulated exchange: which user orders trade against the replayed market.

User orders never enter the public book. A taker walks a private copy of it (consumed until
the next snapshot) and trades at each level's price; a resting order fills as maker at its
own price when a trade prints through it (or at it, with ``fill_at_touch``) or the book
moves across it. The engine applies each fill these generators yield, so a fill's effects
(a reduce-only cap shrinking with the position) are seen by the next one.

:class:`RestingOrders` keeps, per symbol, the highest resting buy and the lowest resting
sell: a market event priced strictly between them cannot fill any resting order, which is
what most events are, and costs the engine one comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

from bitunix.sim.state import BUY, OPEN_STATUSES, ZERO, MarketState, SimLevel, SimOrder

__all__ = [
    "INF",
    "NEG_INF",
    "RestingOrders",
    "available_liquidity",
    "crosses",
    "eligible",
    "trade_fills",
    "walk",
]

INF = Decimal("Infinity")
NEG_INF = Decimal("-Infinity")

#: ``cap(order, qty)``: how much of ``qty`` the order may fill now (0: none).
FillCap = Callable[[SimOrder, Decimal], Decimal]


def eligible(order: SimOrder, price: Decimal) -> bool:
    """Whether ``order`` may trade at ``price`` (a market order at any)."""
    if order.price is None:
        return True
    return price <= order.price if order.side == BUY else price >= order.price


def crosses(order: SimOrder, mkt: MarketState) -> bool:
    """Whether ``order`` takes liquidity now: the opposite best level is within its limit."""
    best = mkt.best_ask() if order.side == BUY else mkt.best_bid()
    if best is None:
        return False
    if order.price is None:
        return True
    return best <= order.price if order.side == BUY else best >= order.price


def available_liquidity(order: SimOrder, mkt: MarketState) -> Decimal:
    """The quantity the book offers within the limit of ``order``."""
    levels = mkt.asks if order.side == BUY else mkt.bids
    return sum((q for p, q in levels if eligible(order, p)), ZERO)


def walk(order: SimOrder, levels: list[SimLevel], maker: bool, cap: FillCap,
         one_fill: bool = False) -> Iterator[tuple[Decimal, Decimal]]:
    """``(qty, price)`` fills of ``order`` against ``levels`` (consumed) while they reach its
    limit: a taker trades at each level's price, a resting order (``maker``) at its own.
    ``one_fill`` stops after the first (fault injection: one partial fill per event)."""
    while levels and order.remaining > 0 and eligible(order, levels[0][0]):
        level = levels[0]
        qty = cap(order, min(order.remaining, level[1]))
        if qty <= 0:
            return
        level[1] -= qty
        if level[1] <= 0:
            levels.pop(0)
        price = order.price if maker and order.price is not None else level[0]
        yield qty, price
        if one_fill:
            return


def trade_fills(candidates: list[SimOrder], price: Decimal, qty: Decimal,
                fill_at_touch: bool, cap: FillCap) -> Iterator[tuple[SimOrder, Decimal]]:
    """``(order, qty)`` maker fills of resting ``candidates`` (in priority order) by a public
    trade of ``qty`` at ``price``; ``qty`` may be 0 (an order the trade reached that may
    fill nothing, e.g. a reduce-only order whose position is gone)."""
    left = qty
    for order in candidates:
        if left <= 0:
            return
        if order.status not in OPEN_STATUSES:
            continue
        assert order.price is not None
        through = price < order.price if order.side == BUY else price > order.price
        if not (through or (fill_at_touch and price == order.price)):
            continue
        take = cap(order, min(order.remaining, left))
        if take > 0:
            left -= take
        yield order, max(take, ZERO)


class RestingOrders:
    """Resting (open, limit, not yet filled) user orders by symbol, in time priority, with
    the highest buy and lowest sell limit of each symbol kept up to date; ``on_change(symbol)``
    is told whenever they may have changed."""

    __slots__ = ("_bounds", "_on_change", "by_symbol")

    def __init__(self, symbols: list[str],
                 on_change: Callable[[str], None] | None = None) -> None:
        self.by_symbol: dict[str, dict[str, SimOrder]] = {s: {} for s in symbols}
        self._bounds: dict[str, tuple[Decimal, Decimal] | None] = dict.fromkeys(
            symbols, (NEG_INF, INF))
        self._on_change = on_change

    def _changed(self, symbol: str) -> None:
        self._bounds[symbol] = None
        if self._on_change is not None:
            self._on_change(symbol)

    def add(self, order: SimOrder) -> None:
        """Rest ``order``."""
        self.by_symbol[order.symbol][order.order_id] = order
        self._changed(order.symbol)

    def discard(self, order: SimOrder) -> None:
        """Take ``order`` out of the book (done, cancelled), if it rests."""
        if self.by_symbol[order.symbol].pop(order.order_id, None) is not None:
            self._changed(order.symbol)

    def repriced(self, symbol: str) -> None:
        """A resting order of ``symbol`` changed its limit."""
        self._changed(symbol)

    def bounds(self, symbol: str) -> tuple[Decimal, Decimal]:
        """``(highest buy limit, lowest sell limit)`` of ``symbol`` (-inf / +inf: none)."""
        cached = self._bounds[symbol]
        if cached is not None:
            return cached
        high_buy, low_sell = NEG_INF, INF
        for order in self.by_symbol[symbol].values():
            if order.price is None:
                continue
            if order.side == BUY:
                high_buy = max(high_buy, order.price)
            else:
                low_sell = min(low_sell, order.price)
        bounds = self._bounds[symbol] = (high_buy, low_sell)
        return bounds

    def priority(self, symbol: str, side: str, reach: Decimal) -> list[SimOrder]:
        """Resting orders of ``side`` whose limit reaches ``reach`` (a buy at or above it, a
        sell at or below it), best price first, then time. Most events match none of
        them, so the filter runs before the sort."""
        if side == BUY:
            orders = [o for o in self.by_symbol[symbol].values()
                      if o.side == BUY and o.price is not None and o.price >= reach]
            orders.sort(key=lambda o: (-(o.price or ZERO), o.ctime_ns, int(o.order_id)))
        else:
            orders = [o for o in self.by_symbol[symbol].values()
                      if o.side != BUY and o.price is not None and o.price <= reach]
            orders.sort(key=lambda o: (o.price or ZERO, o.ctime_ns, int(o.order_id)))
        return orders
