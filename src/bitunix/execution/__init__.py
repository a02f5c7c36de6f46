"""Orders, positions and PnL: the side of the bot that handles money.

``Venue`` (``execution.venue``) is the one interface to an exchange; ``Journal`` and
``TradeFeedback`` (``execution.ports``) are what execution needs from the store and the
strategies. See ``docs/trading.md``.
"""

from bitunix.execution.ports import Journal, TradeFeedback
from bitunix.execution.venue import SubmitError, Venue, VenueListener, VenueOrder, VenuePosition

__all__ = [
    "Journal",
    "SubmitError",
    "TradeFeedback",
    "Venue",
    "VenueListener",
    "VenueOrder",
    "VenuePosition",
]
