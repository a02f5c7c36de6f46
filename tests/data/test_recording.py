"""Recordings of Bitunix pushes: write, read back, convert to events, reject bad lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitunix.data import BookEvent, TradeEvent
from bitunix.data.recording import (
    RecordingError,
    RecordingWriter,
    is_recording,
    iso_to_ns,
    iter_recording,
    iter_recording_events,
)

TRADE = ('{"ch":"trade","symbol":"BTCUSDT","ts":1748803492958,"data":[{"p":"104350","s":"buy",'
         '"t":"2025-06-01T18:44:52Z","v":"1.1536"},{"p":"104349.9","s":"sell",'
         '"t":"2025-06-01T18:44:52Z","v":"0.01"}]}')
DEPTH = ('{"ch":"depth_book15","symbol":"BTCUSDT","ts":1790126515693,"data":{"b":[["86699.6",'
         '"2.274"]],"a":[["86699.7","0.7095"]]}}')


@pytest.mark.parametrize("name", ["rec.txt", "rec.txt.gz"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with RecordingWriter(path) as w:
        w.write(1, '{"op":"connect","data":{"result":true}}')
        w.write(2, TRADE.encode())
        w.write(3, {"ch": "depth_book15", "symbol": "ETHUSDT", "ts": 5,
                    "data": {"b": [["", ""]], "a": [["", ""]]}})
        w.write(4, DEPTH)
        assert w.lines == 4
    assert is_recording(path)
    raw = list(iter_recording(path))
    assert [ts for ts, _ in raw] == [1, 2, 3, 4]
    assert raw[0][1] == {"op": "connect", "data": {"result": True}}
    events = list(iter_recording_events(path))
    assert events == [
        TradeEvent(ts_ns=2, symbol="BTCUSDT", price="104350", qty="1.1536", is_buy=True),
        TradeEvent(ts_ns=2, symbol="BTCUSDT", price="104349.9", qty="0.01", is_buy=False),
        BookEvent(ts_ns=4, symbol="BTCUSDT", bids=[("86699.6", "2.274")],
                  asks=[("86699.7", "0.7095")]),
    ]
    assert list(iter_recording_events(path, symbol="ethusdt")) == []


def test_bad_lines_are_reported_with_their_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("1 {\"ch\":\"trade\"}\n\nnotanumber {}\n")
    with pytest.raises(RecordingError, match=r"bad.txt:3"):
        list(iter_recording(path))
    path.write_text("1 [1, 2]\n")
    with pytest.raises(RecordingError, match="not a JSON object"):
        list(iter_recording(path))
    with RecordingWriter(tmp_path / "w.txt") as w, pytest.raises(RecordingError):
        w.write(1, "two\nlines")


def test_is_recording_tells_captures_apart(tmp_path: Path) -> None:
    binance = tmp_path / "b.txt"
    binance.write_text('1 {"stream":"btcusdt@trade","data":{}}\n')
    assert not is_recording(binance)
    assert not is_recording(tmp_path / "missing.txt")


def test_iso_to_ns() -> None:
    assert iso_to_ns("1970-01-01T00:00:01Z") == 1_000_000_000
    assert iso_to_ns("2025-04-26T17:06:13.155255000Z") % 1_000_000_000 == 155_255_000
