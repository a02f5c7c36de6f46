"""The capture reader's book: float-keyed levels, only the best kept sorted, give the books a
Decimal rebuild gives, and the bookTicker lines it never replays are dropped unread."""

from __future__ import annotations

import gzip
import itertools
import json
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bitunix.data import BookEvent, CaptureStats, TradeEvent, bundled_capture, iter_capture
from bitunix.data.capture import _BookSide


def _reference_books(lines: list[bytes], depth: int) -> list[BookEvent]:
    """Books by the rules, the slow and obvious way: Decimal prices, a sort per book."""
    bids: dict[Decimal, tuple[str, str]] = {}
    asks: dict[Decimal, tuple[str, str]] = {}
    last_u: int | None = None
    early: list[tuple[int, dict[str, object]]] = []
    out: list[BookEvent] = []

    def apply(ts: int, d: dict[str, object]) -> None:
        nonlocal last_u
        if last_u is None:
            early.append((ts, d))
            return
        if int(d["u"]) <= last_u:  # type: ignore[call-overload]
            return
        for side, levels in ((bids, d["b"]), (asks, d["a"])):
            for px, qty in levels:  # type: ignore[attr-defined]
                if Decimal(qty) == 0:
                    side.pop(Decimal(px), None)
                else:
                    side[Decimal(px)] = (px, qty)
        last_u = int(d["u"])  # type: ignore[call-overload]
        top_b = [bids[k] for k in sorted(bids, reverse=True)[:depth]]
        top_a = [asks[k] for k in sorted(asks)[:depth]]
        out.append(BookEvent(ts, str(d["s"]), top_b, top_a))

    for line in lines:
        ts_text, payload = line.split(b" ", 1)
        msg = json.loads(payload)
        if "lastUpdateId" in msg:
            bids.clear()
            asks.clear()
            bids.update((Decimal(p), (p, q)) for p, q in msg["bids"] if Decimal(q) != 0)
            asks.update((Decimal(p), (p, q)) for p, q in msg["asks"] if Decimal(q) != 0)
            last_u = msg["lastUpdateId"]
            pending, early[:] = list(early), []
            for _, d in pending:
                apply(int(ts_text), d)
        elif "@depth" in msg["stream"]:
            apply(int(ts_text), msg["data"])
    return out


def test_books_equal_a_decimal_rebuild_of_the_same_lines(tmp_path: Path) -> None:
    with gzip.open(bundled_capture(), "rb") as fh:
        lines = [line.rstrip(b"\n") for line in itertools.islice(fh, 6_000)]
    path = tmp_path / "head.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    books = [e for e in iter_capture(path, depth_levels=10) if isinstance(e, BookEvent)]
    expected = _reference_books(lines, 10)
    assert len(books) == len(expected) > 300
    assert books == expected


def test_book_ticker_lines_are_dropped_unread(tmp_path: Path) -> None:
    # Not even valid JSON after the stream name: the reader must not decode it.
    path = tmp_path / "c.txt"
    path.write_text(
        '1 {"stream":"btcusdt@bookTicker","data":{"b":"not json\n'
        '2 {"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","p":"10.5","q":"2",'
        '"m":false,"X":"MARKET"}}\n')
    stats = CaptureStats()
    assert list(iter_capture(path, stats=stats)) == [TradeEvent(2, "BTCUSDT", "10.5", "2", True)]
    assert stats.trades == 1


updates = st.lists(st.tuples(st.integers(1, 40), st.integers(0, 3)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.lists(updates, min_size=1, max_size=12), st.booleans(), st.integers(1, 5),
       st.integers(1, 6))
def test_book_side_top_is_the_best_levels_whatever_the_window(
        diffs: list[list[tuple[int, int]]], descending: bool, window: int, depth: int) -> None:
    side = _BookSide(descending=descending, window=window)
    reference: dict[int, tuple[str, str]] = {}
    for diff in diffs:
        texts = [(f"{p}.0", str(q)) for p, q in diff]
        side.apply(texts, [(float(p), float(q)) for p, q in diff])
        for (p, q), text in zip(diff, texts, strict=True):
            if q:
                reference[p] = text
            else:
                reference.pop(p, None)
        best = sorted(reference, reverse=descending)[:depth]
        assert side.top(depth) == [reference[p] for p in best]
