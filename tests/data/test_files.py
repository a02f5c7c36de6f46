"""One entry for every market-data input: files by kind, directories and patterns of parts."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from bitunix.data import BookEvent, TradeEvent, bundled_capture
from bitunix.data.files import (
    EmptyFileError,
    file_kind,
    iter_market_file,
    market_paths,
    symbols_in,
)
from bitunix.data.lines import DataFileError
from bitunix.data.recording import RecordingWriter

T0 = 1_723_075_200_000


def _trade(ts_ns: int, price: str = "100.5", symbol: str = "BTCUSDT") -> str:
    return json.dumps({"ch": "trade", "symbol": symbol, "ts": ts_ns // 10**6,
                       "data": [{"p": price, "v": "1", "s": "buy", "t": "x"}]})


def _recording(path: Path, times: list[int], symbol: str = "BTCUSDT") -> Path:
    with RecordingWriter(path) as w:
        w.write(times[0], '{"op":"connect","data":{"result":true}}')
        for ts in times:
            w.write(ts, _trade(ts, symbol=symbol))
    return path


def test_kinds(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("timestamp,price,qty,side\n")
    (tmp_path / "b.txt").write_text("timestamp,price,qty,side\n")
    (tmp_path / "c.csv").write_text("what is this\n")
    _recording(tmp_path / "d.txt.gz", [1])
    (tmp_path / "e.txt").write_text('1 {"stream":"btcusdt@trade","data":{}}\n')
    (tmp_path / "f.parquet").write_bytes(b"PAR1 and more")
    (tmp_path / "g.txt").write_text("plain garbage\n")
    kinds = {p.name: file_kind(p) for p in sorted(tmp_path.iterdir())}
    assert kinds == {"a.csv": "csv", "b.txt": "csv", "c.csv": "csv", "d.txt.gz": "recording",
                     "e.txt": "capture", "f.parquet": "parquet", "g.txt": "capture"}
    assert file_kind(bundled_capture()) == "capture"


def test_empty_and_unreadable(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(EmptyFileError, match=r"no market events in .*empty.txt: the file is"):
        list(iter_market_file(tmp_path / "empty.txt"))
    (tmp_path / "empty.gz").write_bytes(gzip.compress(b"\n\n"))
    with pytest.raises(EmptyFileError):
        file_kind(tmp_path / "empty.gz")
    with pytest.raises(DataFileError, match=r"missing.csv: no such market-data file"):
        iter_market_file(tmp_path / "missing.csv")
    (tmp_path / "noread.txt").mkdir()
    with pytest.raises(DataFileError, match="cannot read"):
        file_kind(tmp_path / "noread.txt")


def test_garbage_gzip_is_named(tmp_path: Path) -> None:
    path = tmp_path / "junk.gz"
    path.write_bytes(bytes((i * 97 + 13) % 256 for i in range(4096)))
    with pytest.raises(DataFileError, match=r"junk.gz:1: not valid gzip"):
        list(iter_market_file(path))


def test_every_kind_reads_through_one_call(tmp_path: Path) -> None:
    csv = tmp_path / "BTCUSDT-trades.csv"
    csv.write_text(f"timestamp,price,qty,side\n{T0},100.5,1,buy\n")
    rec = _recording(tmp_path / "rec.txt", [T0 * 10**6])
    want = [TradeEvent(T0 * 10**6, "BTCUSDT", "100.5", "1", True)]
    assert list(iter_market_file(csv)) == want
    assert list(iter_market_file(str(rec))) == want
    assert symbols_in(csv) == ["BTCUSDT"]
    capture = list(iter_market_file(bundled_capture(), symbol="BTCUSDT"))
    assert any(isinstance(e, BookEvent) for e in capture[:200])


def test_a_directory_is_its_parts_in_name_order(tmp_path: Path) -> None:
    parts = tmp_path / "rec"
    parts.mkdir()
    _recording(parts / "part-000002.txt.gz", [30, 40])
    _recording(parts / "part-000001.txt.gz", [10, 20])
    (parts / ".hidden").write_text("not read")
    (parts / "sub").mkdir()
    assert [p.name for p in market_paths(parts)] == ["part-000001.txt.gz", "part-000002.txt.gz"]
    assert [e.ts_ns for e in iter_market_file(parts)] == [10, 20, 30, 40]
    assert [e.ts_ns for e in iter_market_file(parts / "part-*.txt.gz")] == [10, 20, 30, 40]
    assert list(iter_market_file(parts, symbol="ETHUSDT")) == []


def test_mixed_kinds_in_one_set(tmp_path: Path) -> None:
    (tmp_path / "1-BTCUSDT.csv").write_text(f"timestamp,price,qty,side\n{T0},1,1,buy\n")
    _recording(tmp_path / "2.txt", [T0 * 10**6 + 1])
    assert [e.ts_ns for e in iter_market_file(tmp_path)] == [T0 * 10**6, T0 * 10**6 + 1]


def test_parts_out_of_order_are_refused(tmp_path: Path) -> None:
    _recording(tmp_path / "a.txt", [10, 50])
    _recording(tmp_path / "b.txt", [40])
    with pytest.raises(DataFileError, match=r"b.txt: starts at 40 ns, before .*a.txt ended"):
        list(iter_market_file(tmp_path))


def test_sets_that_match_nothing(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no market-data files in the directory"):
        iter_market_file(tmp_path)
    with pytest.raises(DataFileError, match=r"nope-\*.gz: no file matches the pattern"):
        iter_market_file(tmp_path / "nope-*.gz")


def _truncated_part(path: Path, first_ts: int, n: int = 5000) -> None:
    lines = "".join(f"{first_ts + i} {_trade(first_ts + i, f'{100 + i % 9}.5')}\n"
                    for i in range(n))
    path.write_bytes(gzip.compress(lines.encode())[:-100])


def test_a_truncated_last_part_is_read_to_its_last_line_and_said(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _recording(tmp_path / "part-1.txt.gz", [10, 20])
    _truncated_part(tmp_path / "part-2.txt.gz", 100)
    with caplog.at_level(logging.WARNING, logger="bitunix.data"):
        times = [e.ts_ns for e in iter_market_file(tmp_path)]
    assert times[:3] == [10, 20, 100]
    assert times == [10, 20, *range(100, 100 + len(times) - 2)]
    assert 2 < len(times) < 5002
    assert "part-2.txt.gz" in caplog.text
    assert "read up to its last complete line" in caplog.text
    # Named alone, the same file is an error: only the part being written may be cut short.
    with pytest.raises(DataFileError, match="end early"):
        list(iter_market_file(tmp_path / "part-2.txt.gz"))


def test_a_truncated_part_before_the_last_is_an_error(tmp_path: Path) -> None:
    _truncated_part(tmp_path / "part-1.txt.gz", 10)
    _recording(tmp_path / "part-2.txt.gz", [10**6])
    with pytest.raises(DataFileError, match=r"part-1.txt.gz:\d+: the compressed data end early"):
        list(iter_market_file(tmp_path))


def test_an_empty_last_part_is_skipped_and_said(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _recording(tmp_path / "part-1.txt.gz", [10])
    (tmp_path / "part-2.txt.gz").write_bytes(gzip.compress(b"")[:5])  # killed at once
    with caplog.at_level(logging.WARNING, logger="bitunix.data"):
        assert [e.ts_ns for e in iter_market_file(tmp_path)] == [10]
    assert "part-2.txt.gz" in caplog.text
    (tmp_path / "part-0.txt.gz").write_bytes(b"")
    with pytest.raises(EmptyFileError, match=r"part-0.txt.gz"):
        list(iter_market_file(tmp_path))
