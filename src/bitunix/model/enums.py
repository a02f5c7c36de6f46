"""Trading enumerations, parsed leniently from whatever the live API sends.

The docs spell values in upper case, but live pushes use ``Buy``/``Sell``, ``Limit``,
``Last``; REST has returned ``NEW_`` and position sides as ``BUY``/``SELL`` (spec 1.4 and
8). Every enum here accepts those forms through its constructor, so
``OrderStatus("NEW_") is OrderStatus.NEW`` and ``Side("Buy") is Side.BUY``; the value of a
member is always the documented spelling, which is what requests send.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "KlineType",
    "MarginMode",
    "OrderStatus",
    "OrderType",
    "PositionMode",
    "PositionSide",
    "Side",
    "StopType",
    "SymbolStatus",
    "TimeInForce",
    "TpslStatus",
    "TradeSide",
]


# Spellings seen live or in older docs, per enum (spec 1.4 and 8).
_ALIASES: dict[str, dict[str, str]] = {
    "PositionSide": {"BUY": "LONG", "SELL": "SHORT"},
    "TimeInForce": {"POSTONLY": "POST_ONLY"},
    "OrderStatus": {"CANCELLED": "CANCELED", "PARTIALLY_FILLED": "PART_FILLED"},
    "TpslStatus": {"CANCELLED": "CANCELED"},
    "MarginMode": {"ISOLATED": "ISOLATION"},
    "PositionMode": {"ONEWAY": "ONE_WAY"},
    "StopType": {"MARK": "MARK_PRICE", "LAST": "LAST_PRICE"},
    "KlineType": {"MARK": "MARK_PRICE", "LAST": "LAST_PRICE"},
}


class _VenueEnum(StrEnum):
    """A StrEnum whose constructor normalises the venue's spellings."""

    @classmethod
    def _missing_(cls, value: object) -> _VenueEnum | None:
        if not isinstance(value, str):
            return None
        key = value.strip().upper().replace("-", "_").replace(" ", "_")
        # REST has returned "NEW_" with a trailing underscore (spec 1.4); strip it.
        key = key.rstrip("_")
        key = _ALIASES.get(cls.__name__, {}).get(key, key)
        for member in cls:
            if member.value == key:
                return member
        return None

    @classmethod
    def parse(cls, value: str) -> _VenueEnum:
        """Like the constructor, with an error message that lists the valid values."""
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown {cls.__name__} {value!r}; expected one of {valid}") from None


class Side(_VenueEnum):
    """Order action. WS and some REST answers send ``Buy``/``Sell``."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        """The other side."""
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        """``+1`` for BUY, ``-1`` for SELL."""
        return 1 if self is Side.BUY else -1


class TradeSide(_VenueEnum):
    """Hedge-mode intent of an order: open or close a position."""

    OPEN = "OPEN"
    CLOSE = "CLOSE"


class PositionSide(_VenueEnum):
    """Direction of a position. REST pending positions send ``BUY``/``SELL`` (spec 4.3)."""


    LONG = "LONG"
    SHORT = "SHORT"


class OrderType(_VenueEnum):
    """Order type; WS ``type`` sends ``Limit``/``Market``."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"


class TimeInForce(_VenueEnum):
    """The ``effect`` field of an order."""


    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "POST_ONLY"


class OrderStatus(_VenueEnum):
    """Order status; ``NEW_`` and mixed case are normalised (spec 1.4).

    ``INIT`` is also the bot's "pending new" (sent, not yet acknowledged). ``REJECTED`` is
    the bot's own terminal state for an order the venue refused outright (a non-zero code
    on ``place_order``, or a lookup proving it was never placed): the venue never sends it,
    since a refused order has no venue state (spec 6.3).
    """

    INIT = "INIT"
    NEW = "NEW"
    PART_FILLED = "PART_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    PART_FILLED_CANCELED = "PART_FILLED_CANCELED"
    EXPIRED = "EXPIRED"
    SYSTEM_CANCELED = "SYSTEM_CANCELED"
    REJECTED = "REJECTED"

    @property
    def is_terminal(self) -> bool:
        """True once the order can no longer fill."""
        return self not in _OPEN_STATUSES

    @property
    def is_open(self) -> bool:
        """True while the order may still fill."""
        return self in _OPEN_STATUSES


_OPEN_STATUSES = frozenset({OrderStatus.INIT, OrderStatus.NEW, OrderStatus.PART_FILLED})


class TpslStatus(_VenueEnum):
    """Status of a TP/SL order; ``FILLED`` means the trigger fired (spec 5.5)."""


    INIT = "INIT"
    NEW = "NEW"
    PENDING_CANCEL = "PENDING_CANCEL"
    TRIGGER_WAIT_PLACE = "TRIGGER_WAIT_PLACE"
    CANCELED = "CANCELED"
    SYSTEM_CANCELED = "SYSTEM_CANCELED"
    FILLED = "FILLED"
    FAILED = "FAILED"


class MarginMode(_VenueEnum):
    """Margin mode; the WS order push calls this field ``positionType``."""


    ISOLATION = "ISOLATION"
    CROSS = "CROSS"


class PositionMode(_VenueEnum):
    """Account-wide position mode."""


    ONE_WAY = "ONE_WAY"
    HEDGE = "HEDGE"


class StopType(_VenueEnum):
    """TP/SL trigger price source; ``MARK``/``Last`` are accepted (spec 1.4)."""


    MARK_PRICE = "MARK_PRICE"
    LAST_PRICE = "LAST_PRICE"


class KlineType(_VenueEnum):
    """Price series of a REST kline request."""


    LAST_PRICE = "LAST_PRICE"
    MARK_PRICE = "MARK_PRICE"


class SymbolStatus(_VenueEnum):
    """Contract trading status; ``PREVIEW`` is undocumented but live (spec 4.1)."""

    OPEN = "OPEN"
    CANCEL_ONLY = "CANCEL_ONLY"
    STOP = "STOP"
    PREVIEW = "PREVIEW"
