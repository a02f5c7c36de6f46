"""The market events replayed by ``bitunix.data``; defined in :mod:`bitunix.model.market`."""

from bitunix.model.market import BookEvent, MarketEvent, TradeEvent

__all__ = ["BookEvent", "MarketEvent", "TradeEvent"]
