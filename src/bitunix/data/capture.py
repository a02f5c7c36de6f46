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
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
    bids: CheckedLevels = msgspec.field(name="b")
    asks: CheckedLevels = msgspec.field(name="a")


class _CheckedSnapshot(msgspec.Struct):
    bids: CheckedLevels = []
    asks: CheckedLevels = []


_Values = list[tuple[float, float]]
_MESSAGE = msgspec.json.Decoder(_Message)
# The recorder writes `<ts> {"stream":"<symbol>@bookTicker",...`: 70% of a capture's lines,
# never replayed, so they are dropped on sight, before any splitting or decoding.
_BOOK_TICKER = b'@bookTicker"'
_HEAD_BYTES = 80  # time, `{"stream":"` and any symbol
_CHECKED_DIFF = msgspec.json.Decoder(_CheckedDiff, strict=False)
_CHECKED_SNAPSHOT = msgspec.json.Decoder(_CheckedSnapshot, strict=False)
_TRADE = msgspec.json.Decoder(_Trade)
_DIFF = msgspec.json.Decoder(_Diff)


@dataclass
class _BookSide:
    """One side of the book: the exact strings of each level by sort key, plus the best keys
    in order. The key is the checked float price (negated for bids): a float tells apart
    any two prices a venue quotes, at a fraction of a Decimal's cost (the Decimal book took
    78% of a replay).

    Only the best ``window`` keys are kept sorted: a capture's book grows to thousands of
    levels, and a sorted list of them all cost a memmove of kilobytes per new or removed
    level (half the reader's time). ``best`` always holds the ``len(best)`` smallest keys of
    ``levels``; when removals drain it below what :meth:`top` asks, it is refilled."""

    descending: bool
    window: int = 64
    levels: dict[float, tuple[str, str]] = field(default_factory=dict)
    best: list[float] = field(default_factory=list)  # ascending

    def apply(self, texts: list[tuple[str, str]], values: _Values) -> None:
        """Set each level (``texts`` as sent, ``values`` the same levels checked as floats);
        a quantity of zero removes the level."""
        levels, best, window = self.levels, self.best, self.window
        insort, bisect_left = bisect.insort, bisect.bisect_left
        sign = -1.0 if self.descending else 1.0
        for text, (price, qty) in zip(texts, values, strict=True):
            key = sign * price
            if qty:
                if key not in levels:
                    if best and key < best[-1]:
                        insort(best, key)
                        if len(best) > window:
                            best.pop()
                    elif len(best) < window and len(best) == len(levels):
                        best.append(key)  # every level is in `best`, and this is the last
                levels[key] = text
            elif levels.pop(key, None) is not None and best and key <= best[-1]:
                del best[bisect_left(best, key)]

    def top(self, n: int) -> list[tuple[str, str]]:
        levels, best = self.levels, self.best
        if len(best) < n and len(levels) > len(best):
            best[:] = heapq.nsmallest(max(n, self.window), levels)
        return [levels[k] for k in best[:n]]


@dataclass
class CaptureStats:
    """What reading a capture saw: counts and the sequence gaps it tolerated."""

    trades: int = 0
    books: int = 0
    diffs_before_snapshot: int = 0
    sequence_gaps: int = 0
    skipped_trades: int = 0


class _Book:
    def __init__(self, window: int) -> None:
        self.window = window
        self.bids = _BookSide(descending=True, window=window)
        self.asks = _BookSide(descending=False, window=window)
        self.last_u: int | None = None
        self.synced = False  # the first diff after the snapshot has been applied
        # Diffs that arrive before the snapshot may still be newer than it: keep them.
        self.early: list[tuple[_Diff, tuple[_Values, _Values]]] = []

    def load(self, snap: _Message, values: tuple[_Values, _Values]) -> None:
        self.bids = _BookSide(descending=True, window=self.window)
        self.asks = _BookSide(descending=False, window=self.window)
        self.bids.apply(snap.bids, values[0])
        self.asks.apply(snap.asks, values[1])
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
    book = _Book(window=max(64, 4 * depth_levels))
    last_ts_ns = 0
    for lineno, line in lines:
        if line.find(_BOOK_TICKER, 0, _HEAD_BYTES) >= 0 or not line.strip():
            continue
        try:
            ts_text, payload = line.split(b" ", 1)
            ts_ns = int(ts_text)
            check_ts(ts_ns, last_ts_ns)
            last_ts_ns = ts_ns
            msg = _MESSAGE.decode(payload)
            if msg.lastUpdateId is not None:
                book.load(msg, _check(_CHECKED_SNAPSHOT, payload, msg.bids, msg.asks))
                early, book.early = book.early, []
                for diff, values in early:
                    event = _apply_diff(book, diff, values, ts_ns,
                                        depth_levels=depth_levels, stats=stats)
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
                # is applied lines later. The checked floats key the book.
                values = _check(_CHECKED_DIFF, msg.data, diff.b, diff.a)
                event = _apply_diff(book, diff, values, ts_ns,
                                    depth_levels=depth_levels, stats=stats)
                if event is not None and (not symbol or event.symbol == symbol):
                    stats.books += 1
                    yield event
        except (ValueError, ArithmeticError, msgspec.DecodeError) as exc:
            # ArithmeticError: decimal.InvalidOperation, should a value pass check_level.
            raise CaptureError(f"{name}:{lineno}: cannot read capture line: {exc}") from exc


def _check(
    checked: msgspec.json.Decoder[_CheckedDiff] | msgspec.json.Decoder[_CheckedSnapshot],
    raw: bytes | msgspec.Raw,
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
) -> tuple[_Values, _Values]:
    """The bid and ask levels as checked floats; ``ValueError`` for a level that is not a
    sane price and quantity."""
    try:
        values = checked.decode(raw)
    except msgspec.ValidationError:
        check_levels(bids)  # the last word, and the message
        check_levels(asks)
        # What msgspec refuses and float() reads ("0010.00") is kept, read by float().
        return _floats(bids), _floats(asks)
    return values.bids, values.asks


def _floats(levels: list[tuple[str, str]]) -> _Values:
    return [(float(price), float(qty)) for price, qty in levels]


def _apply_diff(
    book: _Book,
    diff: _Diff,
    values: tuple[_Values, _Values],
    ts_ns: int,
    *,
    depth_levels: int,
    stats: CaptureStats,
) -> BookEvent | None:
    if book.last_u is None:
        book.early.append((diff, values))
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
    book.bids.apply(diff.b, values[0])
    book.asks.apply(diff.a, values[1])
    book.last_u = diff.u
    return BookEvent(ts_ns, diff.s, book.bids.top(depth_levels), book.asks.top(depth_levels))
