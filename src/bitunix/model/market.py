"""Venue-neutral market events: what a capture, a recording or a live feed replays.

They live in ``model`` (the bottom layer) so that ``features``, ``ml``, ``sim`` and the
backtester read one definition without reaching sideways into ``data``. Prices and
quantities stay the exact decimal strings the venue sent; consumers convert them (to float
for features, to integer ticks for anything that becomes money).
"""

from __future__ import annotations

import msgspec

__all__ = ["BookEvent", "MarketEvent", "TradeEvent"]


class TradeEvent(msgspec.Struct, frozen=True, gc=False):
    """One trade. ``is_buy``: the aggressor (taker) was the buyer."""

    ts_ns: int
    symbol: str
    price: str
    qty: str
    is_buy: bool


class BookEvent(msgspec.Struct, frozen=True, gc=False):
    """A snapshot of the top of the book, ``(price, qty)`` levels best first."""

    ts_ns: int
    symbol: str
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


MarketEvent = TradeEvent | BookEvent
