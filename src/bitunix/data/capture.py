"""Read a Binance USD-M market-data capture into venue-neutral events.

The capture format (hftbacktest's recorder): one message per line, ``<recv_ns> <json>``,
with ``trade`` and ``depth@0ms`` streams and one REST depth snapshot (the object with
``lastUpdateId``). The book is rebuilt from the snapshot plus the diffs under Binance's
rules (drop diffs that end before the snapshot; each later diff's ``pu`` must equal the
previous ``u``; a quantity of zero removes the level) and emitted as a :class:`BookEvent`
after every applied diff. Events carry the receive time, so they replay in the order the
recorder saw them.

Nothing insane leaves the reader: a price or quantity that is not a finite number in its
bounds (``bitunix.data.events``), a time that goes back, an unreadable or truncated file
or a line over 1 MiB is a :class:`CaptureError` naming the file and line.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from bitunix.data.events import (
    BookEvent,
    CheckedLevels,
    MarketEvent,
    TradeEvent,
    check_event,
    check_levels,
    check_ts,
)
from bitunix.data.lines import DataFileError, read_lines


class CaptureError(DataFileError):
    """A capture that cannot be read (its file and, for a bad line, the line number)."""


class _Trade(msgspec.Struct):
    s: str
    p: str
    q: str
    m: bool
    X: str = "MARKET"


class _Diff(msgspec.Struct):
    s: str
    U: int
    u: int
    pu: int
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]


class _Message(msgspec.Struct):
    """A stream message, or (with ``lastUpdateId``) the REST depth snapshot."""

    stream: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")
    lastUpdateId: int | None = None  # noqa: N815
    bids: list[tuple[str, str]] = []
    asks: list[tuple[str, str]] = []


class _CheckedDiff(msgspec.Struct):
    b: CheckedLevels
    a: CheckedLevels


class _CheckedSnapshot(msgspec.Struct):
    bids: CheckedLevels = []
    asks: CheckedLevels = []


_MESSAGE = msgspec.json.Decoder(_Message)
_CHECKED_DIFF = msgspec.json.Decoder(_CheckedDiff, strict=False)
_CHECKED_SNAPSHOT = msgspec.json.Decoder(_CheckedSnapshot, strict=False)
_TRADE = msgspec.json.Decoder(_Trade)
_DIFF = msgspec.json.Decoder(_Diff)


@dataclass
class _BookSide:
    """One side of the book: exact strings by price, plus a sorted key list for the top."""

    descending: bool
    levels: dict[Decimal, tuple[str, str]] = field(default_factory=dict)
    keys: list[Decimal] = field(default_factory=list)  # ascending order of sort key

    def _key(self, price: Decimal) -> Decimal:
        return -price if self.descending else price

    def set(self, price: str, qty: str) -> None:
        px = Decimal(price)
        key = self._key(px)
        if Decimal(qty) == 0:
            if self.levels.pop(px, None) is not None:
                del self.keys[bisect.bisect_left(self.keys, key)]
            return
        if px not in self.levels:
            bisect.insort(self.keys, key)
        self.levels[px] = (price, qty)

    def top(self, n: int) -> list[tuple[str, str]]:
        return [self.levels[self._key(k)] for k in self.keys[:n]]


@dataclass
class CaptureStats:
    """What reading a capture saw: counts and the sequence gaps it tolerated."""

    trades: int = 0
    books: int = 0
    diffs_before_snapshot: int = 0
    sequence_gaps: int = 0
    skipped_trades: int = 0


class _Book:
    def __init__(self) -> None:
        self.bids = _BookSide(descending=True)
        self.asks = _BookSide(descending=False)
        self.last_u: int | None = None
        self.synced = False  # the first diff after the snapshot has been applied
        # Diffs that arrive before the snapshot may still be newer than it: keep them.
        self.early: list[_Diff] = []

    def load(self, snap: _Message) -> None:
        self.bids = _BookSide(descending=True)
        self.asks = _BookSide(descending=False)
        for px, qty in snap.bids:
            self.bids.set(px, qty)
        for px, qty in snap.asks:
            self.asks.set(px, qty)
        self.last_u = snap.lastUpdateId
        self.synced = False


def bundled_capture(symbol: str = "BTCUSDT") -> Path:
    """Path of the capture bundled with the package for ``symbol`` (BTCUSDT or ETHUSDT)."""
    path = Path(__file__).with_name(f"binance-usdm-{symbol.lower()}-2024-08-08.txt.gz")
    if not path.is_file():
        raise CaptureError(f"no bundled capture for {symbol!r}; bundled: BTCUSDT, ETHUSDT")
    return path


def iter_capture(
    path: str | Path | None = None,
    *,
    symbol: str | None = None,
    depth_levels: int = 15,
    stats: CaptureStats | None = None,
) -> Iterator[MarketEvent]:
    """Yield the trades and book snapshots of a capture in receive-time order.

    ``path`` None reads the bundled BTCUSDT capture; ``symbol`` keeps only that symbol's
    events; ``stats`` (optional) is filled in as the capture is read.
    """
    src = bundled_capture() if path is None else Path(path)
    lines = read_lines(src, error=CaptureError)
    yield from _events(lines, str(src), symbol, depth_levels, stats or CaptureStats())


def _events(
    lines: Iterable[tuple[int, bytes]],
    name: str,
    symbol: str | None,
    depth_levels: int,
    stats: CaptureStats,
) -> Iterator[MarketEvent]:
    if depth_levels <= 0:
        raise ValueError(f"depth_levels must be > 0, was {depth_levels}")
    book = _Book()
    last_ts_ns = 0
    for lineno, line in lines:
        if not line.strip():
            continue
        try:
            ts_text, payload = line.split(b" ", 1)
            ts_ns = int(ts_text)
            check_ts(ts_ns, last_ts_ns)
            last_ts_ns = ts_ns
            msg = _MESSAGE.decode(payload)
            if msg.lastUpdateId is not None:
                _check(_CHECKED_SNAPSHOT, payload, msg.bids, msg.asks)
                book.load(msg)
                early, book.early = book.early, []
                for diff in early:
                    event = _apply_diff(book, diff, ts_ns, depth_levels, stats)
                    if event is not None and (not symbol or event.symbol == symbol):
                        stats.books += 1
                        yield event
                continue
            kind = msg.stream.rsplit("@", 1)[-1] if "@depth" not in msg.stream else "depth"
            if kind == "trade":
                trade = _TRADE.decode(msg.data)
                if trade.X != "MARKET" or (symbol and trade.s != symbol):
                    stats.skipped_trades += 1
                    continue
                # Binance `m`: the buyer was the maker, so the aggressor sold.
                trade_event = TradeEvent(ts_ns, trade.s, trade.p, trade.q, not trade.m)
                check_event(trade_event)
                stats.trades += 1
                yield trade_event
            elif kind == "depth":
                diff = _DIFF.decode(msg.data)
                # Checked on the line that carries them: a diff read before the snapshot
                # is applied lines later, and Decimal would take "NaN" and "1e308".
                _check(_CHECKED_DIFF, msg.data, diff.b, diff.a)
                event = _apply_diff(book, diff, ts_ns, depth_levels, stats)
                if event is not None and (not symbol or event.symbol == symbol):
                    stats.books += 1
                    yield event
        except (ValueError, ArithmeticError, msgspec.DecodeError) as exc:
            # ArithmeticError: decimal.InvalidOperation, should a value pass check_level.
            raise CaptureError(f"{name}:{lineno}: cannot read capture line: {exc}") from exc


def _check(
    checked: msgspec.json.Decoder[Any],
    raw: bytes | msgspec.Raw,
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
) -> None:
    """Raise ``ValueError`` for a level that is not a sane price and quantity."""
    try:
        checked.decode(raw)
    except msgspec.ValidationError:
        check_levels(bids)  # the last word, and the message
        check_levels(asks)


def _apply_diff(
    book: _Book, diff: _Diff, ts_ns: int, depth_levels: int, stats: CaptureStats
) -> BookEvent | None:
    if book.last_u is None:
        book.early.append(diff)
        return None
    if diff.u <= book.last_u:
        stats.diffs_before_snapshot += 1
        return None
    # Every diff must chain on `pu`; the first after the snapshot may instead straddle it.
    # There is no second snapshot to resync from, so a gap is counted and the diff applied.
    chained = diff.pu == book.last_u or (not book.synced and diff.U <= book.last_u + 1 <= diff.u)
    if not chained:
        stats.sequence_gaps += 1
    book.synced = True
    for px, qty in diff.b:
        book.bids.set(px, qty)
    for px, qty in diff.a:
        book.asks.set(px, qty)
    book.last_u = diff.u
    return BookEvent(ts_ns, diff.s, book.bids.top(depth_levels), book.asks.top(depth_levels))
