"""Recordings of Bitunix pushes: write, read back, convert to events, reject bad lines."""

from __future__ import annotations

import json
import re
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


def _depth(bid: list[str], ask: list[str] | None = None) -> str:
    data = {"b": [bid], "a": [ask or ["101", "1"]]}
    return json.dumps({"ch": "depth_book1", "symbol": "BTCUSDT", "ts": 1, "data": data})


def _trade(fields: str) -> str:
    return '{"ch":"trade","symbol":"BTCUSDT","ts":1,"data":[{' + fields + "}]}"


@pytest.mark.parametrize(("line", "what"), [
    (_trade('"p":"abc","v":"1","s":"buy"'), "price 'abc' is not a number"),
    (_trade('"p":"NaN","v":"1","s":"buy"'), "price 'NaN' is not a finite number"),
    (_trade('"p":"1e308","v":"1","s":"buy"'), "price '1e308' is not a finite number"),
    (_trade('"p":"100","v":"-1","s":"buy"'), "quantity '-1'"),
    (_trade('"v":"1","s":"buy"'), "no field 'p'"),
    ('{"ch":"trade","symbol":"BTCUSDT","data":[7]}', "bad 'trade' push"),
    ('{"ch":"trade","data":[{"p":"1","v":"1","s":"buy"}]}', "no symbol"),
    (_depth(["nan", "1"]), "price 'nan'"),
    (_depth(["100", "1"], ["101", "inf"]), "quantity 'inf'"),
    (_depth(["100"]), "bad 'depth_book1' push"),
])
def test_bad_pushes_are_reported_with_their_place(tmp_path: Path, line: str, what: str) -> None:
    path = tmp_path / "rec.txt"
    path.write_text(f"1 {_depth(['100', '1'])}\n2 {line}\n")
    with pytest.raises(RecordingError, match=rf"rec\.txt:2: .*{re.escape(what)}"):
        list(iter_recording_events(path))


def test_values_only_float_reads_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "rec.txt"
    path.write_text(f"1 {_depth(['0100.0', '1'])}\n")
    [book] = iter_recording_events(path)
    assert isinstance(book, BookEvent)
    assert book.bids == [("0100.0", "1")]


@pytest.mark.parametrize(("content", "what"), [
    (b"5 {}\n4 {}\n", r"rec\.txt:2: receive time 4 goes back in time \(previous 5\)"),
    (b"1 {}\n2 {\"a\":\xff}\n", r"rec\.txt:2: "),
    (b"1 {}\n2 {\"a\":NaN}\n", r"rec\.txt:2: "),
])
def test_bad_lines_of_any_channel_are_reported(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "rec.txt"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=what):
        list(iter_recording(path))


def test_unreadable_recordings(tmp_path: Path) -> None:
    gz = tmp_path / "rec.txt.gz"
    with RecordingWriter(gz) as w:
        for i in range(2000):
            w.write(i, TRADE)
    gz.write_bytes(gz.read_bytes()[:-200])
    with pytest.raises(RecordingError, match=r"rec\.txt\.gz:\d+: the compressed data end early"):
        list(iter_recording(gz))
    with pytest.raises(RecordingError, match=r"none\.txt: cannot read: No such file"):
        list(iter_recording(tmp_path / "none.txt"))


def test_a_recording_without_newlines_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "blob.txt"
    path.write_bytes(b"1 " + b"7" * (6 << 20))
    tracemalloc.start()
    try:
        assert not is_recording(path)  # read the whole line before
        with pytest.raises(RecordingError, match=r"blob\.txt:1: line longer than"):
            list(iter_recording(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 << 20


FAST_AND_SLOW = [
    TRADE,
    DEPTH,
    '{"ch":"trade","symbol":"ethusdt","data":[{"p":2500.5,"v":"1","s":"SELL"}]}',  # a number
    '{"ch":"trade","symbol":"BTCUSDT","data":[{"p":"1","v":"1","s":"Buy","x":1}],"ts":1}',
    '{"ch":"trade","symbol":"BTCUSDT","data":[]}',
    '{"ch":"trade","symbol":"BTCUSDT","data":{"p":"1"}}',
    '{"ch":"depth_book1","symbol":"BTCUSDT","data":{"b":[["",""]],"a":[["",""]]}}',
    '{"ch":"depth_book5","symbol":"BTCUSDT","data":{"b":[["1","0"]],"a":[]}}',
    '{"ch":"depth_books","symbol":"BTCUSDT","data":{"b":[["0010.00","1"]]}}',
    '{"ch":"depth_book15","symbol":"BTCUSDT","data":{"b":[["1","1"],["",""]],"a":[["2","1"]]}}',
    '{"ch":"ticker","symbol":"BTCUSDT","data":{"la":"1"}}',
    '{"op":"pong","pong":1}',
]


@pytest.mark.parametrize("line", FAST_AND_SLOW)
@pytest.mark.parametrize("symbol", [None, "BTCUSDT", "ETHUSDT"])
def test_the_fast_path_gives_what_the_slow_path_gives(tmp_path: Path, line: str,
                                                       symbol: str | None) -> None:
    from bitunix.data.recording import _slow_events

    path = tmp_path / "one.txt"
    path.write_text(f"7 {line}\n")
    assert list(iter_recording_events(path, symbol=symbol)) == _slow_events(
        path, 1, 7, line.encode(), symbol)


@pytest.mark.parametrize(("line", "message"), [
    ('{"ch":"trade","symbol":"BTCUSDT","data":[{"p":"NaN","v":"1","s":"buy"}]}', "price 'NaN'"),
    ('{"ch":"trade","symbol":"BTCUSDT","data":[{"p":"1","v":"0","s":"buy"}]}', "quantity '0'"),
    ('{"ch":"trade","symbol":"","data":[{"p":"1","v":"1","s":"buy"}]}', "no symbol"),
    ('{"ch":"depth_book1","symbol":"BTCUSDT","data":{"b":[["1","-1"]]}}', "quantity '-1'"),
    ('{"ch":"trade","symbol":"BTCUSDT","data":[{"v":"1","s":"buy"}]}', "no field 'p'"),
    ('{"ch":"trade"', "truncated"),
])
def test_what_the_fast_path_refuses_the_slow_path_names(tmp_path: Path, line: str,
                                                         message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(f"1 {TRADE}\n2 {line}\n")
    with pytest.raises(RecordingError, match=r"bad.txt:2: .*" + re.escape(message)):
        list(iter_recording_events(path))
