"""Recordings of Bitunix WebSocket pushes: one message per line, ``<recv_ts_ns> <raw JSON>``.

The same line format as the bundled Binance capture (receive time in nanoseconds, a space,
the message exactly as received), so a live session recorded by the bot replays through the
simulator and the backtester. Files ending in ``.gz`` are gzip-compressed.

>>> w = RecordingWriter(path); w.write(ts_ns, raw_text); w.close()
>>> for event in iter_recording_events(path): ...   # TradeEvent / BookEvent
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bitunix.core.errors import BitunixError
from bitunix.data.events import BookEvent, MarketEvent, TradeEvent

__all__ = [
    "RecordingError",
    "RecordingWriter",
    "is_recording",
    "iter_recording",
    "iter_recording_events",
]


class RecordingError(BitunixError, ValueError):
    """A recording line that cannot be read (with file and line number)."""


def _open(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return path.open(mode, encoding="utf-8")


class RecordingWriter:
    """Appends ``<recv_ts_ns> <raw JSON>`` lines; use as a context manager."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh = _open(self.path, "a")
        self.lines = 0

    def write(self, recv_ts_ns: int, message: str | bytes | dict[str, Any]) -> None:
        """Record one message as received (a dict is serialised compactly)."""
        if isinstance(message, dict):
            text = json.dumps(message, separators=(",", ":"))
        elif isinstance(message, bytes):
            text = message.decode("utf-8")
        else:
            text = message
        if "\n" in text:
            raise RecordingError(f"{self.path}: a message must be one line")
        self._fh.write(f"{int(recv_ts_ns)} {text}\n")
        self.lines += 1

    def close(self) -> None:
        """Flush and close the file."""
        self._fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_recording(path: str | Path) -> bool:
    """True if the first line of ``path`` holds a Bitunix push (``"ch"`` or ``"op"`` key)."""
    try:
        with _open(Path(path), "r") as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError, EOFError):
        return False
    _, _, raw = first.partition(" ")
    return raw.lstrip().startswith("{") and ('"ch"' in raw or '"op"' in raw)


def iter_recording(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(recv_ts_ns, message)`` for every line; blank lines are skipped."""
    path = Path(path)
    with _open(path, "r") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            ts_text, _, raw = line.partition(" ")
            try:
                message = json.loads(raw)
                ts_ns = int(ts_text)
            except ValueError as exc:
                raise RecordingError(f"{path}:{lineno}: {exc}") from None
            if not isinstance(message, dict):
                raise RecordingError(f"{path}:{lineno}: not a JSON object")
            yield ts_ns, message


def _pairs(levels: Any) -> list[tuple[str, str]]:
    # Unknown symbols are answered with empty levels ([["",""]]): drop them.
    return [(str(p), str(q)) for p, q in levels if p != "" and q != ""]


def iter_recording_events(path: str | Path, *, symbol: str | None = None
                          ) -> Iterator[MarketEvent]:
    """Yield the trades and depth snapshots of a recording as venue-neutral events.

    ``trade`` pushes give one :class:`TradeEvent` per array item (``s`` is the aggressor
    side), ``depth_book*`` pushes one :class:`BookEvent`; other messages are skipped.
    """
    for ts_ns, msg in iter_recording(path):
        ch = msg.get("ch")
        sym = str(msg.get("symbol", "")).upper()
        if not isinstance(ch, str) or (symbol is not None and sym != symbol.upper()):
            continue
        data = msg.get("data")
        if ch == "trade" and isinstance(data, list):
            for item in data:
                yield TradeEvent(ts_ns=ts_ns, symbol=sym, price=str(item["p"]),
                                 qty=str(item["v"]), is_buy=str(item["s"]).lower() == "buy")
        elif ch.startswith("depth_book") and isinstance(data, dict):
            bids, asks = _pairs(data.get("b", [])), _pairs(data.get("a", []))
            if bids or asks:
                yield BookEvent(ts_ns=ts_ns, symbol=sym, bids=bids, asks=asks)


def iso_to_ns(text: str) -> int:
    """ISO-8601 ``2025-06-01T18:44:52Z`` (optionally with fractions) to epoch ns."""
    stamp, _, frac = text.rstrip("Z").partition(".")
    secs = int(datetime.fromisoformat(stamp + "+00:00").timestamp())
    return secs * 1_000_000_000 + int((frac + "000000000")[:9])
