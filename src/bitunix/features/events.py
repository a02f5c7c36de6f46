"""Venue-neutral market events (``bitunix.data``) into a FeatureEngine.

One conversion for every consumer of recorded events: the in-process replay, the training
dataset and any embedding bot. The exact decimal strings become floats here, which is
where they belong (features are floats; money never passes through this module).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bitunix._native import FeatureEngine
from bitunix.data.events import BookEvent, MarketEvent, TradeEvent

F64 = npt.NDArray[np.float64]


def book_arrays(event: BookEvent) -> tuple[F64, F64, F64, F64]:
    """Bid prices, bid sizes, ask prices, ask sizes of ``event`` (contiguous, best first)."""
    bids = np.array(event.bids, dtype=np.float64).reshape(-1, 2)
    asks = np.array(event.asks, dtype=np.float64).reshape(-1, 2)
    return (np.ascontiguousarray(bids[:, 0]), np.ascontiguousarray(bids[:, 1]),
            np.ascontiguousarray(asks[:, 0]), np.ascontiguousarray(asks[:, 1]))


def feed_event(engine: FeatureEngine, event: MarketEvent) -> bool:
    """Feed one trade or book to ``engine``; return whether the engine accepted it."""
    if isinstance(event, TradeEvent):
        return engine.on_trade(float(event.price), float(event.qty), event.ts_ns, event.is_buy)
    return engine.on_book(*book_arrays(event), event.ts_ns)
