"""The Binance capture reader: real bundled data and crafted lines."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest

from bitunix.data import (
    BookEvent,
    CaptureError,
    CaptureStats,
    TradeEvent,
    bundled_capture,
    iter_capture,
)


def _line(ts: int, msg: dict[str, object]) -> str:
    return f"{ts} {json.dumps(msg)}\n"


def _diff(first: int, u: int, pu: int, b: list[list[str]], a: list[list[str]]) -> dict[str, object]:
    data = {"e": "depthUpdate", "s": "BTCUSDT", "U": first, "u": u, "pu": pu, "b": b, "a": a}
    return {"stream": "btcusdt@depth@0ms", "data": data}


def _trade(p: str, q: str, m: bool, x: str = "MARKET") -> dict[str, object]:
    data = {"e": "trade", "s": "BTCUSDT", "p": p, "q": q, "m": m, "X": x}
    return {"stream": "btcusdt@trade", "data": data}


SNAPSHOT = {"lastUpdateId": 100, "bids": [["10.0", "1"], ["9.9", "2"]],
            "asks": [["10.1", "3"], ["10.2", "4"]]}


def _write(tmp_path: Path, lines: list[str], gz: bool = False) -> Path:
    path = tmp_path / ("c.txt.gz" if gz else "c.txt")
    text = "".join(lines).encode()
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


def test_bundled_btcusdt_matches_its_provenance() -> None:
    stats = CaptureStats()
    events = list(iter_capture(stats=stats))
    trades = [e for e in events if isinstance(e, TradeEvent)]
    books = [e for e in events if isinstance(e, BookEvent)]
    assert stats.trades == len(trades) == 21_313
    assert stats.sequence_gaps == 0
    assert len(books) == stats.books > 6_000
    # SOURCES.md: trades span 61,590.3-61,839.9 with VWAP 61,680.98.
    prices = [Decimal(t.price) for t in trades]
    assert (min(prices), max(prices)) == (Decimal("61590.3"), Decimal("61839.9"))
    notional = sum(Decimal(t.price) * Decimal(t.qty) for t in trades)
    volume = sum(Decimal(t.qty) for t in trades)
    assert round(notional / volume, 2) == Decimal("61680.98")
    assert [e.ts_ns for e in events] == sorted(e.ts_ns for e in events)
    for book in books:
        assert Decimal(book.bids[0][0]) < Decimal(book.asks[0][0])
        bid_px = [Decimal(p) for p, _ in book.bids]
        ask_px = [Decimal(p) for p, _ in book.asks]
        assert bid_px == sorted(bid_px, reverse=True)
        assert ask_px == sorted(ask_px)
        assert len(book.bids) == len(book.asks) == 15


def test_bundled_ethusdt_and_unknown_symbol() -> None:
    stats = CaptureStats()
    n = sum(1 for _ in iter_capture(bundled_capture("ETHUSDT"), stats=stats, depth_levels=5))
    assert stats.trades == 14_076
    assert stats.sequence_gaps == 0
    assert n == stats.trades + stats.books
    with pytest.raises(CaptureError, match="no bundled capture"):
        bundled_capture("DOGEUSDT")


def test_book_rebuild_rules(tmp_path: Path) -> None:
    lines = [
        _line(1, _diff(90, 101, 89, [["10.0", "5"]], [])),   # arrives early, newer than snapshot
        _line(2, _diff(80, 95, 79, [["9.0", "9"]], [])),     # ends before the snapshot: dropped
        _line(3, SNAPSHOT),
        _line(4, _diff(102, 103, 101, [["9.9", "0"]], [["10.05", "1"]])),  # 0 removes a level
        _line(5, _trade("10.05", "0.5", m=True)),
        _line(6, _trade("10.05", "0.5", m=False, x="INSURANCE_FUND")),
        _line(7, _diff(110, 111, 108, [], [["10.2", "0"]])),   # pu breaks the chain
    ]
    stats = CaptureStats()
    events = list(iter_capture(_write(tmp_path, lines, gz=True), stats=stats, depth_levels=2))
    first, second, trade, third = events
    assert isinstance(first, BookEvent)
    assert first.ts_ns == 3  # replayed when the snapshot arrived
    assert first.bids == [("10.0", "5"), ("9.9", "2")]
    assert isinstance(second, BookEvent)
    assert second.bids == [("10.0", "5")]
    assert second.asks == [("10.05", "1"), ("10.1", "3")]
    assert trade == TradeEvent(5, "BTCUSDT", "10.05", "0.5", is_buy=False)
    assert isinstance(third, BookEvent)
    assert third.asks == [("10.05", "1"), ("10.1", "3")]
    assert stats == CaptureStats(trades=1, books=3, diffs_before_snapshot=1, sequence_gaps=1,
                                 skipped_trades=1)


def test_symbol_filter(tmp_path: Path) -> None:
    lines = [_line(1, SNAPSHOT), _line(2, _trade("10", "1", m=False))]
    assert list(iter_capture(_write(tmp_path, lines), symbol="ETHUSDT")) == []
    assert len(list(iter_capture(_write(tmp_path, lines), symbol="BTCUSDT"))) == 1


@pytest.mark.parametrize(
    "bad",
    ["notanumber {}\n", "12 {not json\n", "12\n", '12 {"stream":"x@trade","data":{"p":1}}\n'],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, bad: str) -> None:
    path = _write(tmp_path, [_line(1, SNAPSHOT), "\n", bad])
    with pytest.raises(CaptureError, match=r"c\.txt:3: cannot read capture line"):
        list(iter_capture(path))


def test_depth_levels_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="depth_levels"):
        list(iter_capture(_write(tmp_path, [_line(1, SNAPSHOT)]), depth_levels=0))


@pytest.mark.parametrize(("lines", "where", "what"), [
    # A trade price that is not a number (was accepted, then a ValueError in the features
    # with no file or line).
    ([_line(1, SNAPSHOT), _line(2, _trade("abc", "1", m=False))], 2, "price 'abc'"),
    ([_line(1, SNAPSHOT), _line(2, _trade("1e308", "1", m=False))], 2, "price '1e308'"),
    ([_line(1, SNAPSHOT), _line(2, _trade("NaN", "1", m=False))], 2, "price 'NaN'"),
    ([_line(1, SNAPSHOT), _line(2, _trade("-10", "1", m=False))], 2, "price '-10'"),
    ([_line(1, SNAPSHOT), _line(2, _trade("10", "inf", m=False))], 2, "quantity 'inf'"),
    # A NaN in a book diff: decimal.InvalidOperation when the book was sorted.
    ([_line(1, SNAPSHOT), _line(2, _diff(101, 102, 100, [["NaN", "1"]], []))], 2, "'NaN'"),
    # ... also in a diff read before the snapshot and applied when it comes.
    ([_line(1, _diff(90, 101, 89, [["10.0", "nan"]], [])), _line(2, SNAPSHOT)], 1,
     "quantity 'nan'"),
    ([_line(1, {**SNAPSHOT, "asks": [["sNaN", "1"]]})], 1, "price 'sNaN'"),
    # Time that goes back, or is no int64.
    ([_line(5, SNAPSHOT), _line(4, _trade("10", "1", m=False))], 2, "goes back in time"),
    ([_line(-5, SNAPSHOT)], 1, "receive time -5"),
    ([_line(2**64, SNAPSHOT)], 1, f"receive time {2**64}"),
])
def test_insane_values_name_file_and_line(
    tmp_path: Path, lines: list[str], where: int, what: str
) -> None:
    with pytest.raises(CaptureError, match=rf"c\.txt:{where}: cannot read capture line: .*{what}"):
        list(iter_capture(_write(tmp_path, lines)))


def test_a_price_msgspec_refuses_but_float_reads_is_kept(tmp_path: Path) -> None:
    lines = [_line(1, SNAPSHOT), _line(2, _diff(101, 102, 100, [["0010.00", "1"]], [])),
             _line(3, _trade("1E1", "1", True))]
    [book, trade] = iter_capture(_write(tmp_path, lines))
    assert isinstance(book, BookEvent)
    assert book.bids[0] == ("0010.00", "1")
    assert trade == TradeEvent(3, "BTCUSDT", "1E1", "1", is_buy=False)


@pytest.mark.parametrize(("data", "message"), [
    (b"\x1f\x8b" + bytes(range(200)), r"c\.txt\.gz:1: not valid gzip data"),
    (b"plain text, not gzip\n", r"c\.txt\.gz:1: not valid gzip data"),
])
def test_a_bad_gzip_is_a_capture_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "c.txt.gz"
    path.write_bytes(data)
    with pytest.raises(CaptureError, match=message):
        list(iter_capture(path))


def test_a_truncated_capture_is_a_capture_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(bundled_capture().read_bytes()[:200_000])
    with pytest.raises(CaptureError, match=r"cut\.txt\.gz:\d+: the compressed data end early"):
        list(iter_capture(path))


def test_a_missing_capture_is_a_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match=r"nope\.gz: cannot read: No such file"):
        list(iter_capture(tmp_path / "nope.gz"))


def test_a_line_over_a_mebibyte_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, [_line(1, SNAPSHOT), "2 " + "x" * (1 << 20) + "\n"])
    with pytest.raises(CaptureError, match=r"c\.txt:2: line longer than 1048576 bytes"):
        list(iter_capture(path))
