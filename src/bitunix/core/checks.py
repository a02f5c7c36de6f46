"""Checks of configuration values, shared by every typed config: one line naming the key
and the bad value (:class:`~bitunix.core.errors.ConfigError`)."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from bitunix.core.errors import ConfigError

__all__ = ["check_flag", "check_number", "check_url"]


def _fmt(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def check_number(key: str, value: object, lo: float, hi: float = math.inf, *,
                 lo_open: bool = False, integer: bool = False) -> None:
    """Refuse a non-number, NaN, infinity or a value outside ``lo``..``hi`` (``lo``
    excluded when ``lo_open``); a bool is not a number."""
    kind = "an integer" if integer else "a number"
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        raise ConfigError(f"{key} must be {kind}, was {value!r}")
    assert isinstance(value, int | float)
    if math.isfinite(value) and (lo < value if lo_open else lo <= value) and value <= hi:
        return
    low = f"> {_fmt(lo)}" if lo_open else f">= {_fmt(lo)}"
    bound = low if hi == math.inf else f"{low} and <= {_fmt(hi)}"
    raise ConfigError(f"{key} must be {kind} {bound}, was {value!r}")


def check_flag(key: str, value: object) -> None:
    """Refuse anything but a bool."""
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, was {value!r}")


def check_url(key: str, value: object, schemes: tuple[str, ...]) -> None:
    """Refuse anything but an absolute ``schemes`` URL with a host (and a valid port)."""
    want = " or ".join(f"{s}://" for s in schemes)
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
        ok = (parts is not None and parts.scheme in schemes and bool(parts.hostname)
              and (parts.port is None or parts.port > 0))
    except ValueError:  # a port that is not a number, a bad IPv6 literal
        ok = False
    if not ok:
        raise ConfigError(f"{key} must be a {want} URL with a host, was {value!r}")
