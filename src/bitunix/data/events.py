"""The market events replayed by ``bitunix.data`` (defined in :mod:`bitunix.model.market`),
and the sanity checks every reader applies to them before they leave it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import msgspec

from bitunix.model.market import BookEvent, MarketEvent, TradeEvent

__all__ = [
    "MAX_PRICE",
    "MAX_QTY",
    "MAX_TS_NS",
    "BookEvent",
    "CheckedLevels",
    "CheckedPrice",
    "CheckedQty",
    "MarketEvent",
    "TradeEvent",
    "check_amount",
    "check_event",
    "check_level",
    "check_levels",
    "check_ts",
]


#: Sanity bounds of recorded values. No USDT-M contract trades above 1e9 (BTC is about
#: 1e5) or with 1e12 contracts in one trade or level; a value outside (e.g. ``1e308``) is a
#: corrupt file, and float features of it would overflow to inf/NaN.
MAX_PRICE = 1e9
MAX_QTY = 1e12
#: Receive times are int64 nanoseconds in the native engine.
MAX_TS_NS = 2**63 - 1


def check_amount(text: str, what: str, *, limit: float, zero_ok: bool = False) -> None:
    """Raise ``ValueError`` unless ``text`` is a number in ``(0, limit]`` (``[0, limit]``
    with ``zero_ok``); NaN, infinities and values like ``1e308`` are refused."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {text!r} is not a number") from None
    low_ok = value >= 0.0 if zero_ok else value > 0.0
    if not (low_ok and value <= limit):  # also False for NaN
        bound = "[0" if zero_ok else "(0"
        raise ValueError(f"{what} {text!r} is not a finite number in {bound}, {limit:g}]")


def check_level(price: str, qty: str) -> None:
    """Raise ``ValueError`` unless a book level has a sane price and a quantity >= 0."""
    check_amount(price, "price", limit=MAX_PRICE)
    check_amount(qty, "quantity", limit=MAX_QTY, zero_ok=True)


def check_levels(levels: Iterable[tuple[str, str]]) -> None:
    """:func:`check_level` of every level."""
    for price, qty in levels:
        check_level(price, qty)


#: Level types that msgspec checks while decoding (lax mode reads the venue's decimal
#: strings as floats): the fast way to check a whole book, about one JSON decode, where
#: ``float()`` per number costs five. A level they refuse is then looked at with
#: :func:`check_levels`, which has the last word and says what is wrong.
CheckedPrice = Annotated[float, msgspec.Meta(gt=0.0, le=MAX_PRICE)]
CheckedQty = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_QTY)]
CheckedLevels = list[tuple[CheckedPrice, CheckedQty]]


def check_ts(ts_ns: int, previous_ns: int) -> None:
    """Raise ``ValueError`` unless ``ts_ns`` is a valid int64 time not before ``previous_ns``.

    Every consumer (features, labels, the simulator's pacing) assumes time order.
    """
    if not 0 <= ts_ns <= MAX_TS_NS:
        raise ValueError(f"receive time {ts_ns} is not a nanosecond timestamp in [0, 2**63)")
    if ts_ns < previous_ns:
        raise ValueError(f"receive time {ts_ns} goes back in time (previous {previous_ns})")


def check_event(event: MarketEvent) -> None:
    """Raise ``ValueError`` naming the first insane price or quantity of ``event``."""
    if isinstance(event, TradeEvent):
        check_amount(event.price, "price", limit=MAX_PRICE)
        check_amount(event.qty, "quantity", limit=MAX_QTY)
        return
    check_levels(event.bids)
    check_levels(event.asks)
