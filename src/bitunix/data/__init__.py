"""Market data the bot replays: venue-neutral events and the real captures bundled with it.

``iter_capture()`` with no argument replays the bundled BTCUSDT capture (real Binance USD-M
data, about 344 s); see ``SOURCES.md`` in this folder for provenance.
"""

from bitunix.data.capture import CaptureError, CaptureStats, bundled_capture, iter_capture
from bitunix.data.events import BookEvent, MarketEvent, TradeEvent
from bitunix.data.lines import DataFileError

__all__ = [
    "BookEvent",
    "CaptureError",
    "CaptureStats",
    "DataFileError",
    "MarketEvent",
    "TradeEvent",
    "bundled_capture",
    "iter_capture",
]
