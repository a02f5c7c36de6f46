"""Argument types shared by the commands: a bad value is argparse's one-line error.

Each function is an argparse ``type=``: it returns the parsed value or raises
``argparse.ArgumentTypeError`` with the value quoted, so argparse prints
``bitunix-bot CMD: error: argument --flag: 'value' is not ...`` and exits 2, before the
command starts anything.
"""

from __future__ import annotations

import argparse
import math
from decimal import Decimal, InvalidOperation

#: The largest money amount a command takes (USDT): far above any real balance, far below
#: where Decimal arithmetic on it would need more precision than its context has.
MAX_AMOUNT = Decimal("1e15")


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def positive_float(text: str) -> float:
    """A finite number > 0 (``nan``, ``inf``, 0 and negatives are refused)."""
    value = _float(text)
    if not (value > 0.0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number > 0")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _float(text)
    if not (value >= 0.0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number >= 0")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1")
    return value


def open_fraction(text: str) -> float:
    """A number strictly between 0 and 1."""
    value = _float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number in (0, 1)")
    return value


def seed(text: str) -> int:
    """A random seed, 0 to 2**32 - 1 (what numpy and scikit-learn accept)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed in [0, 2**32)")
    return value


def port(text: str) -> int:
    """A TCP port, 0-65535 (0: any free port)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port in 0-65535")
    return value


def amount(text: str) -> Decimal:
    """A decimal amount of money, finite, in ``[0, MAX_AMOUNT]``."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number") from None
    if not (value.is_finite() and 0 <= value <= MAX_AMOUNT):
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in [0, {MAX_AMOUNT:f}]")
    return value
