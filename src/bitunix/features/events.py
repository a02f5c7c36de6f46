"""Venue-neutral market events (:mod:`bitunix.model.market`) into a FeatureEngine.

One conversion for every consumer of recorded events: the in-process replay, the training
dataset and any embedding bot. The exact decimal strings become floats here, which is
where they belong (features are floats; money never passes through this module). The
conversion is :class:`EventFeeder`'s, in C: this module is its Python face.
"""

from __future__ import annotations

from bitunix._native import EventFeeder, FeatureEngine
from bitunix.model.market import MarketEvent

BOOK_LEVELS = 15
"""Levels of a book event read by default (the depth the bot subscribes to)."""


def feed_event(
    engine: FeatureEngine, event: MarketEvent, feeder: EventFeeder | None = None
) -> bool:
    """Feed one trade or book to ``engine``; return whether the engine accepted it.

    Pass one :class:`EventFeeder` for a whole run: its buffers are reused, so no event
    allocates. Without it a fresh ``EventFeeder(BOOK_LEVELS)`` is made for the call.
    """
    return (feeder or EventFeeder(BOOK_LEVELS)).feed(engine, event)
