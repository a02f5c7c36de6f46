"""Market-data files of either kind: a Binance-style capture or a recording of Bitunix pushes.

Told apart by their first line (:func:`bitunix.data.recording.is_recording`), so a command
that takes "a market-data file" takes both, and a symbol that is not in a file can be
answered with the symbols that are.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bitunix.data.capture import iter_capture
from bitunix.data.events import MarketEvent
from bitunix.data.recording import is_recording, iter_recording_events


def iter_market_file(path: str | Path, *, symbol: str | None = None) -> Iterator[MarketEvent]:
    """The events of a capture or a recording, only ``symbol``'s when given.

    Errors are the readers' (:class:`~bitunix.data.CaptureError`,
    :class:`~bitunix.data.recording.RecordingError`), naming the file and line.
    """
    if is_recording(path):
        return iter_recording_events(path, symbol=symbol)
    return iter_capture(path, symbol=symbol)


def symbols_in(path: str | Path) -> list[str]:
    """The symbols that have events in ``path``, sorted (reads the whole file)."""
    return sorted({event.symbol for event in iter_market_file(path)})
