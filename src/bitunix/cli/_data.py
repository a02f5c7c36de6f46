"""Market-data arguments of the commands: checked before any work starts."""

from __future__ import annotations

from pathlib import Path

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
