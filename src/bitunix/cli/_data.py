"""Market-data arguments of the commands: checked before any work starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bitunix.core.errors import ConfigError


def no_events_error(path: str | Path, symbol: str | None, flag: str = "--symbol") -> ConfigError:
    """The error for a file with nothing to replay, naming the symbols it does have.

    ``flag`` is the option that asked for ``symbol`` (``--symbol``, or ``--data`` for
    ``--data SYMBOL=PATH``).
    """
    from bitunix.data.files import symbols_in

    if symbol is None:
        return ConfigError(f"no market events in {path}")
    have = ", ".join(symbols_in(path)) or "none"
    return ConfigError(f"{flag} {symbol}: no {symbol} events in {path} (its symbols: {have})")


def peek_first(events: Iterator[Any]) -> Any:
    """The first item of ``events`` (None when empty), the source closed after it: a check
    that data is there before any work starts reads one event, not the file."""
    try:
        return next(events, None)
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
