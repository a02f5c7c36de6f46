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
from typing import IO, Annotated, Any

import msgspec

from bitunix.data.events import (
    MAX_QTY,
    BookEvent,
    CheckedLevels,
    CheckedPrice,
    MarketEvent,
    TradeEvent,
    check_event,
    check_ts,
)
from bitunix.data.lines import DataFileError, read_lines

__all__ = [
    "RecordingError",
    "RecordingWriter",
    "is_recording",
    "iter_recording",
    "iter_recording_events",
]


class RecordingError(DataFileError):
    """A recording that cannot be read (its file and, for a bad line, the line number)."""


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
    """True if the first line of ``path`` holds a Bitunix push (``"ch"`` or ``"op"`` key).

    A file that cannot be read is not a recording (the capture reader then says why).
    """
    try:
        first = next(read_lines(Path(path)), (0, b""))[1]
    except DataFileError:
        return False
    _, _, raw = first.partition(b" ")
    return raw.lstrip().startswith(b"{") and (b'"ch"' in raw or b'"op"' in raw)


def _numbered(path: Path, truncated_ok: bool = False
              ) -> Iterator[tuple[int, int, bytes, dict[str, Any]]]:
    """``(line number, recv_ts_ns, raw JSON, message)`` of every non-blank line."""
    last_ts_ns = 0
    for lineno, line in read_lines(path, error=RecordingError, truncated_ok=truncated_ok):
        if not line.strip():
            continue
        ts_text, _, raw = line.partition(b" ")
        try:
            ts_ns = int(ts_text)
            check_ts(ts_ns, last_ts_ns)
            # msgspec: half the time of json.loads, and NaN/Infinity literals are errors.
            message = msgspec.json.decode(raw)
        except ValueError as exc:
            raise RecordingError(f"{path}:{lineno}: {exc}") from None
        if not isinstance(message, dict):
            raise RecordingError(f"{path}:{lineno}: not a JSON object")
        last_ts_ns = ts_ns
        yield lineno, ts_ns, raw, message


def iter_recording(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(recv_ts_ns, message)`` for every line; blank lines are skipped.

    Raises :class:`RecordingError` (file and line) for a line that is not ``<ns> <JSON
    object>``, a time that goes backwards, or a file that cannot be read.
    """
    for _, ts_ns, _, message in _numbered(Path(path)):
        yield ts_ns, message


def _pairs(levels: Any) -> list[tuple[str, str]]:
    # Unknown symbols are answered with empty levels ([["",""]]): drop them.
    return [(str(p), str(q)) for p, q in levels if p != "" and q != ""]


def iter_recording_events(path: str | Path, *, symbol: str | None = None,
                          truncated_ok: bool = False) -> Iterator[MarketEvent]:
    """Yield the trades and depth snapshots of a recording as venue-neutral events.

    ``trade`` pushes give one :class:`TradeEvent` per array item (``s`` is the aggressor
    side), ``depth_book*`` pushes one :class:`BookEvent`; other messages are skipped. A
    trade or depth push without its fields, or with a price or quantity that is not a
    sane finite number, is a :class:`RecordingError` naming the file and line.
    ``truncated_ok`` reads a truncated gzip file (the part a killed recorder was writing)
    up to its last complete line, with a warning.
    """
    path = Path(path)
    wanted = symbol.upper() if symbol is not None else None
    fast = _FAST_PUSH.decode
    checked_trades = _CHECKED_TRADES.decode
    checked_depth = _CHECKED_DEPTH.decode
    fast_errors = (msgspec.ValidationError, msgspec.DecodeError)
    last_ts_ns = 0
    for lineno, line in read_lines(path, error=RecordingError, truncated_ok=truncated_ok):
        if not line.strip():
            continue
        ts_text, _, raw = line.partition(b" ")
        try:
            ts_ns = int(ts_text)
            check_ts(ts_ns, last_ts_ns)
        except ValueError as exc:
            raise RecordingError(f"{path}:{lineno}: {exc}") from None
        last_ts_ns = ts_ns
        # The fast path: trade and depth pushes of the usual shape, typed and checked by
        # msgspec in C (two decodes: 4x faster than a dict and float() per value). Anything
        # else, or anything it refuses, goes the slow way, which has the last word and
        # says what is wrong.
        try:
            push = fast(raw)
            sym = push.symbol.upper()
            if wanted is not None and sym != wanted:
                continue
            if sym:
                if type(push) is _TradePush:
                    checked_trades(raw)
                    for item in push.data:
                        yield TradeEvent(ts_ns, sym, item.p, item.v, item.s.lower() == "buy")
                    continue
                levels = push.data
                bids, asks = _pairs(levels.b), _pairs(levels.a)
                if not (bids or asks):
                    continue
                checked_depth(raw)
                yield BookEvent(ts_ns, sym, bids, asks)
                continue
        except fast_errors:
            pass
        yield from _slow_events(path, lineno, ts_ns, raw, wanted)


def _slow_events(path: Path, lineno: int, ts_ns: int, raw: bytes, wanted: str | None
                 ) -> list[MarketEvent]:
    """The events of one line read as any JSON object (the fast path's fallback)."""
    try:
        # msgspec: half the time of json.loads, and NaN/Infinity literals are errors.
        msg = msgspec.json.decode(raw)
    except ValueError as exc:
        raise RecordingError(f"{path}:{lineno}: {exc}") from None
    if not isinstance(msg, dict):
        raise RecordingError(f"{path}:{lineno}: not a JSON object")
    ch = msg.get("ch")
    sym = str(msg.get("symbol", "")).upper()
    if not isinstance(ch, str) or (wanted is not None and sym != wanted):
        return []
    try:
        events = _events_of(ch, sym, ts_ns, msg.get("data"))
        for event in events:
            if isinstance(event, TradeEvent):
                check_event(event)
                continue
            try:
                _CHECKED_DEPTH.decode(raw)
            except msgspec.ValidationError:
                check_event(event)  # the last word, and the message
    except (KeyError, TypeError, ValueError) as exc:
        what = f"no field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise RecordingError(f"{path}:{lineno}: bad {ch!r} push: {what}") from None
    return events


class _TradeText(msgspec.Struct, gc=False):
    p: str
    v: str
    s: str


class _TradePush(msgspec.Struct, tag_field="ch", tag="trade", gc=False):
    symbol: str
    data: list[_TradeText]


class _LevelsText(msgspec.Struct, gc=False):
    b: list[tuple[str, str]] = []
    a: list[tuple[str, str]] = []


class _DepthPush(msgspec.Struct, tag_field="ch", gc=False):
    symbol: str
    data: _LevelsText


class _DepthBook1(_DepthPush, tag="depth_book1"):
    pass


class _DepthBook5(_DepthPush, tag="depth_book5"):
    pass


class _DepthBook15(_DepthPush, tag="depth_book15"):
    pass


class _DepthBooks(_DepthPush, tag="depth_books"):
    pass


_FAST_PUSH = msgspec.json.Decoder(
    _TradePush | _DepthBook1 | _DepthBook5 | _DepthBook15 | _DepthBooks)


class _CheckedTrade(msgspec.Struct):
    p: CheckedPrice
    v: Annotated[float, msgspec.Meta(gt=0.0, le=MAX_QTY)]


class _CheckedTrades(msgspec.Struct):
    data: list[_CheckedTrade]


_CHECKED_TRADES = msgspec.json.Decoder(_CheckedTrades, strict=False)


class _CheckedDepthData(msgspec.Struct):
    b: CheckedLevels = []
    a: CheckedLevels = []


class _CheckedDepthPush(msgspec.Struct):
    data: _CheckedDepthData


_CHECKED_DEPTH = msgspec.json.Decoder(_CheckedDepthPush, strict=False)


def _events_of(ch: str, sym: str, ts_ns: int, data: Any) -> list[MarketEvent]:
    """The events of one push (empty for channels that carry none)."""
    if ch == "trade" and isinstance(data, list):
        if not sym:
            raise ValueError("no symbol")
        return [TradeEvent(ts_ns=ts_ns, symbol=sym, price=str(item["p"]), qty=str(item["v"]),
                           is_buy=str(item["s"]).lower() == "buy") for item in data]
    if ch.startswith("depth_book") and isinstance(data, dict):
        bids, asks = _pairs(data.get("b", [])), _pairs(data.get("a", []))
        if not (bids or asks):
            return []
        if not sym:
            raise ValueError("no symbol")
        return [BookEvent(ts_ns=ts_ns, symbol=sym, bids=bids, asks=asks)]
    return []


def iso_to_ns(text: str) -> int:
    """ISO-8601 ``2025-06-01T18:44:52Z`` (optionally with fractions) to epoch ns."""
    stamp, _, frac = text.rstrip("Z").partition(".")
    secs = int(datetime.fromisoformat(stamp + "+00:00").timestamp())
    return secs * 1_000_000_000 + int((frac + "000000000")[:9])
