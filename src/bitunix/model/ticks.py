"""Exact conversion between the venue's decimal strings and integer ticks.

Bitunix sends every price and quantity as a decimal string (``"86699.6"``). Money is
held as an integer count of the instrument's smallest unit: ``parse_ticks("86699.6", 1)``
is ``866996`` ticks of ``0.1``. The conversion is exact: a value with more decimals than
the grid allows is an error unless the caller names a rounding mode, so nothing is lost
silently.
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Callable
from decimal import Decimal

from bitunix.core.errors import BitunixError

__all__ = [
    "ROUNDING_MODES",
    "FloatGrid",
    "PrecisionError",
    "decimal_to_ticks",
    "float_to_ticks",
    "format_ticks",
    "parse_ticks",
    "ticks_to_decimal",
]

MAX_DECIMALS = 18

ROUNDING_MODES = frozenset(
    {
        decimal.ROUND_DOWN,
        decimal.ROUND_UP,
        decimal.ROUND_FLOOR,
        decimal.ROUND_CEILING,
        decimal.ROUND_HALF_UP,
        decimal.ROUND_HALF_DOWN,
        decimal.ROUND_HALF_EVEN,
        decimal.ROUND_05UP,
    }
)

_PLAIN = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?")
# Wide enough for any price or quantity times 10**18 without rounding.
_CTX = decimal.Context(prec=200, Emax=10_000, Emin=-10_000, traps=[decimal.InvalidOperation])


class PrecisionError(BitunixError, ValueError):
    """A decimal value that is malformed or does not fit the requested grid."""


def _check_args(decimals: int, rounding: str | None) -> None:
    if not isinstance(decimals, int) or isinstance(decimals, bool):
        raise PrecisionError(f"decimals must be an int, was {decimals!r}")
    if not 0 <= decimals <= MAX_DECIMALS:
        raise PrecisionError(f"decimals must be in 0..{MAX_DECIMALS}, was {decimals}")
    if rounding is not None and rounding not in ROUNDING_MODES:
        raise PrecisionError(f"unknown rounding mode {rounding!r}")


def decimal_to_ticks(value: Decimal, decimals: int, rounding: str | None = None) -> int:
    """Return ``value * 10**decimals`` as an int, exactly.

    Raises :class:`PrecisionError` when ``value`` is not finite, or has more than
    ``decimals`` significant decimals and ``rounding`` is ``None``; with a rounding mode
    (one of the ``decimal.ROUND_*`` constants) the value is rounded onto the grid.
    """
    _check_args(decimals, rounding)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise PrecisionError(f"not a finite Decimal: {value!r}")
    scaled = _CTX.scaleb(value, decimals)
    whole = scaled.to_integral_value(rounding=decimal.ROUND_DOWN)
    if whole == scaled:
        return int(whole)
    if rounding is None:
        raise PrecisionError(
            f"{value} has more than {decimals} decimals and no rounding mode was given"
        )
    return int(scaled.to_integral_value(rounding=rounding))


#: A float within this relative distance of a grid point is taken to mean that point: a
#: few units in the last place of a double (about 1.1e-16 relative, and ``value * 10**d``
#: adds at most one more), so only float noise is snapped (``61839.1 * 10`` is
#: ``618391.0000000001``). Anything further away is a real value and is rounded in the
#: caller's direction, so a safe rounding is never undone by the snap.
SNAP_REL = 8 * 2.0**-52
#: Beyond this many ticks a float's spacing is no longer far below a tick (at 2**40 it is
#: 2**-12 of one), so the exact Decimal path takes over.
_EXACT_FLOAT_INT = 2.0**40


def _away_from_zero(x: float) -> int:
    return math.ceil(x) if x > 0 else math.floor(x)


_FLOAT_ROUNDING: dict[str, Callable[[float], int]] = {
    decimal.ROUND_FLOOR: math.floor,
    decimal.ROUND_CEILING: math.ceil,
    decimal.ROUND_DOWN: math.trunc,
    decimal.ROUND_UP: _away_from_zero,
    decimal.ROUND_HALF_EVEN: round,
}


def float_to_ticks(value: float, decimals: int, rounding: str) -> int:
    """Round a float (a feature-side price or size) onto the grid of ``10**-decimals``.

    ``rounding`` is required (a ``decimal.ROUND_*`` mode among FLOOR, CEILING, DOWN, UP,
    HALF_EVEN): the caller decides which direction is safe. A value within
    :data:`SNAP_REL` of a grid point is that point (``61839.1`` with one decimal is 618391
    ticks under any rounding, although the float is ``61839.09999999999854``). This is the
    hot-path conversion (no Decimal); beyond 2**40 ticks it falls back to exact Decimal
    arithmetic. NaN and infinities raise :class:`PrecisionError`.

    >>> float_to_ticks(61839.1, 1, "ROUND_FLOOR")
    618391
    >>> float_to_ticks(0.0019, 3, "ROUND_DOWN")
    1
    """
    round_fn = _FLOAT_ROUNDING.get(rounding)
    if round_fn is None:
        raise PrecisionError(f"float_to_ticks needs one of {sorted(_FLOAT_ROUNDING)}, "
                             f"was {rounding!r}")
    if not isinstance(value, float | int) or isinstance(value, bool) or not math.isfinite(value):
        raise PrecisionError(f"not a finite number: {value!r}")
    if not isinstance(decimals, int) or not 0 <= decimals <= MAX_DECIMALS:
        raise PrecisionError(f"decimals must be in 0..{MAX_DECIMALS}, was {decimals!r}")
    scaled = value * _POW10[decimals]
    if abs(scaled) >= _EXACT_FLOAT_INT:
        return decimal_to_ticks(Decimal(repr(float(value))), decimals, rounding)
    nearest = round(scaled)
    if abs(scaled - nearest) <= SNAP_REL * max(1.0, abs(scaled)):
        return int(nearest)
    return int(round_fn(scaled))


_POW10 = [10.0**d for d in range(MAX_DECIMALS + 1)]


class FloatGrid:
    """:func:`float_to_ticks` of positive values on one grid, with its scale computed once:
    the hot-path form (one floor or ceil and a comparison per price, no argument checks;
    the same arithmetic, so the same ticks). Values must be finite and positive (prices,
    sizes and distances are)."""

    __slots__ = ("decimals", "scale")

    def __init__(self, decimals: int) -> None:
        _check_args(decimals, None)
        self.decimals = decimals
        self.scale = _POW10[decimals]

    def floor(self, value: float) -> int:
        """Ticks at or below ``value`` (float noise just under a tick snapped up onto it)."""
        scaled = value * self.scale
        if scaled >= _EXACT_FLOAT_INT:
            return float_to_ticks(value, self.decimals, decimal.ROUND_FLOOR)
        low = math.floor(scaled)
        if (low + 1) - scaled <= SNAP_REL * (scaled if scaled > 1.0 else 1.0):
            return low + 1
        return low

    def ceil(self, value: float) -> int:
        """Ticks at or above ``value`` (float noise just over a tick snapped down onto it)."""
        scaled = value * self.scale
        if scaled >= _EXACT_FLOAT_INT:
            return float_to_ticks(value, self.decimals, decimal.ROUND_CEILING)
        high = math.ceil(scaled)
        if scaled - (high - 1) <= SNAP_REL * (scaled if scaled > 1.0 else 1.0):
            return high - 1
        return high

    def nearest(self, value: float) -> int:
        """The nearest tick (ties to even)."""
        scaled = value * self.scale
        if scaled >= _EXACT_FLOAT_INT:
            return float_to_ticks(value, self.decimals, decimal.ROUND_HALF_EVEN)
        return round(scaled)


def parse_ticks(text: str, decimals: int, rounding: str | None = None) -> int:
    """Parse a decimal string into integer ticks of ``10**-decimals``.

    >>> parse_ticks("86699.6", 1)
    866996
    >>> parse_ticks("0.0015", 3, rounding="ROUND_DOWN")
    1

    Accepts an optional sign, trailing zeros beyond the grid (``"1.50"`` with one
    decimal) and exponent notation (``"1E-3"``). Raises :class:`PrecisionError` for
    empty or malformed text, NaN/infinity, or extra non-zero decimals without a
    ``rounding`` mode.
    """
    _check_args(decimals, rounding)
    if not isinstance(text, str):
        raise PrecisionError(f"expected a decimal string, was {type(text).__name__}: {text!r}")
    m = _PLAIN.fullmatch(text)
    if m is None:
        try:
            value = Decimal(text)
        except decimal.InvalidOperation:
            raise PrecisionError(f"not a decimal number: {text!r}") from None
        if not value.is_finite() or text.strip() != text or "_" in text:
            raise PrecisionError(f"not a decimal number: {text!r}")
        return decimal_to_ticks(value, decimals, rounding)
    sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
    if not whole and not frac:
        raise PrecisionError(f"not a decimal number: {text!r}")
    if len(frac) > decimals:
        extra = frac[decimals:]
        if extra.strip("0"):
            if rounding is None:
                raise PrecisionError(
                    f"{text} has more than {decimals} decimals and no rounding mode was given"
                )
            return decimal_to_ticks(Decimal(text), decimals, rounding)
        frac = frac[:decimals]
    ticks = int((whole or "0") + frac.ljust(decimals, "0"))
    return -ticks if sign == "-" else ticks


def format_ticks(ticks: int, decimals: int) -> str:
    """Format integer ticks as a plain decimal string with exactly ``decimals`` decimals.

    >>> format_ticks(866996, 1)
    '86699.6'
    >>> format_ticks(-5, 3)
    '-0.005'

    The result never uses exponent notation, so it can be sent to the exchange as is.
    """
    _check_args(decimals, None)
    if not isinstance(ticks, int) or isinstance(ticks, bool):
        raise PrecisionError(f"ticks must be an int, was {ticks!r}")
    sign = "-" if ticks < 0 else ""
    digits = str(abs(ticks))
    if decimals == 0:
        return sign + digits
    digits = digits.rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def ticks_to_decimal(ticks: int, decimals: int) -> Decimal:
    """Return the exact :class:`~decimal.Decimal` worth ``ticks`` of ``10**-decimals``."""
    return Decimal(format_ticks(ticks, decimals))
