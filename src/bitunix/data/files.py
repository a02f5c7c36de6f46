"""Market-data files of every kind the bot reads, as one stream of events.

:func:`iter_market_file` takes a file, a directory or a glob pattern and reads each file by
its kind (:func:`file_kind`): a Binance-style capture, a recording of Bitunix pushes (what
``bitunix-bot record`` writes), a trade CSV (:mod:`bitunix.data.csvtrades`) or Parquet
(:mod:`bitunix.data.parquet`). A directory or pattern is a set of parts read in name order
(the recorder's rotated parts, a folder of daily exports) whose times must run on from
part to part; its last part may be a truncated gzip file (the part a killed recorder was
writing): it is read up to its last complete line, with a warning.

>>> for event in iter_market_file("BTCUSDT-trades-2024-08-08.csv.gz"): ...
>>> for event in iter_market_file("recordings/", symbol="ETHUSDT"): ...
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from bitunix.data.capture import iter_capture
from bitunix.data.csvtrades import iter_csv_trades
from bitunix.data.events import MarketEvent
from bitunix.data.lines import DataFileError, read_lines
from bitunix.data.recording import iter_recording_events

__all__ = [
    "EmptyFileError",
    "FileKind",
    "file_kind",
    "iter_market_file",
    "iter_market_files",
    "market_paths",
    "symbols_in",
]

log = logging.getLogger("bitunix.data")


class EmptyFileError(DataFileError):
    """A market-data file without a single line."""

FileKind = Literal["capture", "recording", "csv", "parquet"]

_PARQUET_MAGIC = b"PAR1"
_GLOB_CHARS = frozenset("*?[")


def market_paths(path: str | Path) -> list[Path]:
    """The files ``path`` stands for: itself, a directory's files (not hidden, by name) or
    the matches of a glob pattern (sorted). :class:`DataFileError` if there are none."""
    p = Path(path)
    if p.is_dir():
        parts = sorted((f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")),
                       key=lambda f: f.name)
        if not parts:
            raise DataFileError(f"{p}: no market-data files in the directory")
        return parts
    text = str(path)
    if not p.exists() and _GLOB_CHARS & set(text):
        matches = sorted(Path(m) for m in glob.glob(text) if Path(m).is_file())
        if not matches:
            raise DataFileError(f"{text}: no file matches the pattern")
        return matches
    if not p.is_file():
        raise DataFileError(f"{p}: no such market-data file")
    return [p]


def file_kind(path: str | Path, *, truncated_ok: bool = False) -> FileKind:
    """What ``path`` holds, by its first bytes and first line.

    Parquet by its magic number; a JSON line with ``"ch"`` or ``"op"`` is a recording, any
    other JSON line a capture; a first line with commas and no JSON (or a ``.csv`` name) is
    a CSV header. A file with no line at all is a :class:`DataFileError`, as is one that
    cannot be read (``truncated_ok``: see :func:`~bitunix.data.lines.read_lines`).
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if magic == _PARQUET_MAGIC:
        return "parquet"
    lines = read_lines(path, truncated_ok=truncated_ok)
    first = next((line for _, line in lines if line.strip()), None)
    del lines  # closes the file now (CPython), not at the next collection
    if first is None:
        raise EmptyFileError(f"no market events in {path}: the file is empty")
    head = first.lstrip()
    if b"{" not in head:
        if b"," in head or ".csv" in path.suffixes:
            return "csv"
        return "capture"  # whose reader says what is wrong with the line
    _, _, raw = head.partition(b" ")
    if raw.lstrip().startswith(b"{") and (b'"ch"' in raw or b'"op"' in raw):
        return "recording"
    return "capture"


def _iter_one(path: Path, symbol: str | None, truncated_ok: bool) -> Iterator[MarketEvent]:
    try:
        kind = file_kind(path, truncated_ok=truncated_ok)
    except EmptyFileError:
        if not truncated_ok:
            raise
        # The part a recorder had just opened when it was killed.
        log.warning("%s: no complete line in the last part; skipped", path)
        return iter(())
    if kind == "recording":
        return iter_recording_events(path, symbol=symbol, truncated_ok=truncated_ok)
    if kind == "csv":
        return iter_csv_trades(path, symbol=symbol, truncated_ok=truncated_ok)
    if kind == "parquet":
        from bitunix.data.parquet import iter_parquet

        return iter_parquet(path, symbol=symbol)
    return iter_capture(path, symbol=symbol)


def iter_market_file(path: str | Path, *, symbol: str | None = None) -> Iterator[MarketEvent]:
    """The events of a market-data file, directory or glob pattern, only ``symbol``'s when
    given.

    Errors are :class:`~bitunix.data.DataFileError` subclasses naming the file and line
    (row for Parquet) and the bad value; a set whose next part starts before the previous
    one ended is one too.
    """
    paths = market_paths(path)
    if len(paths) == 1 and Path(path).is_file():
        return _iter_one(paths[0], symbol, truncated_ok=False)
    return _iter_parts(paths, symbol)


def iter_market_files(paths: list[str | Path], *, symbol: str | None = None
                      ) -> Iterator[MarketEvent]:
    """Several inputs (files, directories, patterns) read in the order given as one set of
    parts: times must run on from each to the next. One file alone is
    :func:`iter_market_file`."""
    if len(paths) == 1:
        return iter_market_file(paths[0], symbol=symbol)
    return _iter_parts([part for path in paths for part in market_paths(path)], symbol)


def _iter_parts(paths: list[Path], symbol: str | None) -> Iterator[MarketEvent]:
    last_ts = 0
    previous: Path | None = None
    for i, part in enumerate(paths):
        events = _iter_one(part, symbol, truncated_ok=i == len(paths) - 1)
        first = next(events, None)
        if first is None:
            continue
        if first.ts_ns < last_ts:
            raise DataFileError(f"{part}: starts at {first.ts_ns} ns, before {previous} "
                                f"ended ({last_ts} ns): parts out of order")
        yield first
        event: MarketEvent = first
        for event in events:  # the last one is kept
            yield event
        last_ts, previous = event.ts_ns, part


def symbols_in(path: str | Path) -> list[str]:
    """The symbols that have events in ``path``, sorted (reads all of it)."""
    return sorted({event.symbol for event in iter_market_file(path)})
