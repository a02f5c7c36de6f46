"""Venue-neutral market events (``bitunix.data``) into a FeatureEngine.

One conversion for every consumer of recorded events: the in-process replay, the training
dataset and any embedding bot. The exact decimal strings become floats here, which is
where they belong (features are floats; money never passes through this module).
"""

from __future__ import annotations

from bitunix._native import BookArrays, FeatureEngine
from bitunix.data.events import BookEvent, MarketEvent, TradeEvent

BOOK_LEVELS = 15
"""Levels of a book event read by default (the depth the bot subscribes to)."""


def feed_event(engine: FeatureEngine, event: MarketEvent, book: BookArrays | None = None) -> bool:
    """Feed one trade or book to ``engine``; return whether the engine accepted it.

    A book's levels are parsed into ``book``'s buffers (levels beyond its capacity are not
    read); pass one :class:`BookArrays` for a whole replay, so no book allocates. Without
    it a fresh ``BookArrays(BOOK_LEVELS)`` is made for the call.
    """
    if isinstance(event, TradeEvent):
        return engine.on_trade(float(event.price), float(event.qty), event.ts_ns, event.is_buy)
    if not isinstance(event, BookEvent):
        raise TypeError(f"not a market event: {type(event).__name__}")
    if book is None:
        book = BookArrays(BOOK_LEVELS)
    return book.feed_levels(engine, event.bids, event.asks, event.ts_ns)
