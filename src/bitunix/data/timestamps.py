"""Timestamps of trade files to epoch nanoseconds, exactly.

Exchange exports write a trade's time as an integer count since the Unix epoch, in
milliseconds (Binance futures), microseconds (Binance spot since 2025) or nanoseconds, or as
ISO-8601 text. The unit of an integer is told by its magnitude (any time between 1973 and
5138 has a different number of digits in each unit), once per file, from its first row.

>>> unit_of(1723075200123)
'ms'
>>> to_ns(1723075200123, 'ms')
1723075200123000000
>>> iso_to_ns('2024-08-08T00:00:00.5+02:00')
1723068000500000000
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["UNITS", "IsoParser", "iso_to_ns", "to_ns", "unit_of"]

#: Nanoseconds per unit, and the smallest value read in that unit. Below 1e11 nothing is
#: guessed: seconds would be read as milliseconds of 1970, a time no market data has.
UNITS: dict[str, tuple[int, int]] = {
    "ms": (1_000_000, 10**11),
    "us": (1_000, 10**14),
    "ns": (1, 10**17),
}
_MAX_NS = 2**63 - 1

_ISO = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?"
    r"(Z|z|[+-]\d{2}:?\d{2})?"
)


def unit_of(value: int) -> str:
    """The unit of an epoch count by its magnitude: ``ms``, ``us`` or ``ns``.

    Raises ``ValueError`` for a value below 1e11 (seconds, or not a time) or beyond int64
    nanoseconds.
    """
    if not 0 <= value <= _MAX_NS:
        raise ValueError(f"timestamp {value} is not an epoch time in ms, us or ns")
    for unit in ("ns", "us", "ms"):
        if value >= UNITS[unit][1]:
            return unit
    raise ValueError(f"timestamp {value} is too small for an epoch time in ms, us or ns "
                     "(seconds are not read: write milliseconds)")


def to_ns(value: int, unit: str) -> int:
    """``value`` in ``unit`` as epoch nanoseconds; ``ValueError`` unless it has the
    magnitude of that unit (a file does not change units between rows)."""
    per_unit, low = UNITS[unit]
    high = UNITS["us" if unit == "ms" else "ns"][1] if unit != "ns" else _MAX_NS + 1
    if not low <= value < high:
        raise ValueError(f"timestamp {value} is not in {unit} like the file's first row")
    return value * per_unit


def iso_to_ns(text: str) -> int:
    """ISO-8601 date and time to epoch ns: ``2024-08-08T12:00:00.123456789Z``, a ``+hh:mm``
    offset, or none (UTC); up to nine fraction digits, kept exactly."""
    return IsoParser()(text)


class IsoParser:
    """:func:`iso_to_ns` for the rows of one file: a trade file holds many rows per second,
    so the seconds of the last few texts are kept (a datetime costs about 2 us)."""

    def __init__(self) -> None:
        self._secs: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        """Epoch nanoseconds of ``text``; ``ValueError`` naming it if it is not ISO-8601."""
        match = _ISO.fullmatch(text)
        if match is None:
            raise ValueError(f"timestamp {text!r} is not an ISO-8601 time or an epoch count")
        day, clock, frac, zone = match.groups()
        key = f"{day}T{clock}{zone or ''}"
        secs = self._secs.get(key)
        if secs is None:
            secs = _seconds(text, day, clock, zone)
            if len(self._secs) >= 64:
                self._secs.clear()
            self._secs[key] = secs
        ns = secs * 1_000_000_000 + (int((frac + "00000000")[:9]) if frac else 0)
        if not 0 <= ns <= _MAX_NS:
            raise ValueError(f"timestamp {text!r} is before 1970 or after 2262")
        return ns


def _seconds(text: str, day: str, clock: str, zone: str | None) -> int:
    try:
        stamp = datetime.fromisoformat(f"{day}T{clock}")
    except ValueError:
        raise ValueError(f"timestamp {text!r} is not a valid date and time") from None
    tz = UTC
    if zone and zone not in "Zz":
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:])))
    return int(stamp.replace(tzinfo=tz).timestamp())
