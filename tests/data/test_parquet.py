"""Parquet: the events table round-trips exactly; trades tables of every time type; bad rows
named by file, row and value; bounded memory on a million rows."""

from __future__ import annotations

import itertools
import resource
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bitunix.data import BookEvent, MarketEvent, TradeEvent, bundled_capture, iter_capture
from bitunix.data.files import file_kind, iter_market_file
from bitunix.data.parquet import (
    EVENT_COLUMNS,
    ParquetError,
    events_schema,
    iter_parquet,
    write_parquet,
)

T0 = 1_723_075_200_000_000_000
EVENTS: list[MarketEvent] = [
    BookEvent(T0, "BTCUSDT", [("100.0", "1.5"), ("99.9", "0")], [("100.1", "2")]),
    TradeEvent(T0 + 1, "BTCUSDT", "100.05", "0.001", True),
    TradeEvent(T0 + 1, "ETHUSDT", "2500.10", "3", False),
    BookEvent(T0 + 2, "ETHUSDT", [], [("2500.2", "1")]),
]


def test_round_trip_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    assert write_parquet(EVENTS, path, row_group_rows=3) == 4
    assert pq.ParquetFile(path).metadata.num_row_groups == 2
    assert file_kind(path) == "parquet"
    assert list(iter_parquet(path, batch_rows=3)) == EVENTS
    assert list(iter_market_file(path, symbol="ethusdt")) == EVENTS[2:]
    table = pq.read_table(path)
    assert table.schema.names == list(EVENT_COLUMNS)
    assert table.schema.metadata == events_schema().metadata
    assert table.column("kind").to_pylist() == ["book", "trade", "trade", "book"]
    assert table.column("price").to_pylist() == [None, "100.05", "2500.10", None]
    assert table.column("bids").to_pylist()[0] == [{"price": "100.0", "qty": "1.5"},
                                                   {"price": "99.9", "qty": "0"}]


def test_the_bundled_capture_round_trips(tmp_path: Path) -> None:
    events = list(itertools.islice(iter_capture(bundled_capture("ETHUSDT")), 5000))
    path = tmp_path / "eth.parquet"
    write_parquet(events, path, row_group_rows=1000)
    assert list(iter_parquet(path, batch_rows=777)) == events


def test_an_empty_stream_writes_a_readable_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "none.parquet"
    assert write_parquet([], path) == 0
    assert list(iter_parquet(path)) == []


def _trades(path: Path, **columns: Any) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


@pytest.mark.parametrize("timestamp", [
    pa.array([T0 // 10**6, T0 // 10**6 + 1], pa.int64()),                 # ms
    pa.array([T0 // 1000, T0 // 1000 + 1000], pa.int64()),                # us
    pa.array([T0, T0 + 10**6], pa.int64()),                               # ns
    pa.array([T0 // 10**6, T0 // 10**6 + 1], pa.timestamp("ms", tz="UTC")),
    pa.array([T0 // 1000, T0 // 1000 + 1000], pa.timestamp("us")),
    pa.array(["2024-08-08T00:00:00Z", "2024-08-08T00:00:00.001Z"]),
])
def test_trades_table_times(tmp_path: Path, timestamp: Any) -> None:
    path = _trades(tmp_path / "BTCUSDT-trades.parquet", timestamp=timestamp,
                   price=["100.5", "100.6"], qty=["1", "2"], side=["buy", "SELL"])
    assert list(iter_market_file(path)) == [
        TradeEvent(T0, "BTCUSDT", "100.5", "1", True),
        TradeEvent(T0 + 10**6, "BTCUSDT", "100.6", "2", False),
    ]


def test_trades_table_numbers_and_symbols(tmp_path: Path) -> None:
    path = _trades(tmp_path / "t.parquet", timestamp=pa.array([T0, T0]),
                   price=pa.array([Decimal("100.50"), Decimal("7")], pa.decimal128(10, 2)),
                   qty=[0.25, 3.0], side=["buy", "sell"], symbol=["btcusdt", "ETHUSDT"])
    assert list(iter_parquet(path)) == [
        TradeEvent(T0, "BTCUSDT", "100.50", "0.25", True),
        TradeEvent(T0, "ETHUSDT", "7.00", "3.0", False),
    ]
    assert [e.symbol for e in iter_parquet(path, symbol="ETHUSDT")] == ["ETHUSDT"]
    named = _trades(tmp_path / "ETHUSDT.parquet", timestamp=[T0], price=["1"], qty=["1"],
                    side=["buy"])
    assert list(iter_parquet(named, symbol="BTCUSDT")) == []
    nameless = _trades(tmp_path / "x.parquet", timestamp=[T0], price=["1"], qty=["1"],
                       side=["buy"])
    assert [e.symbol for e in iter_parquet(nameless, symbol="solusdt")] == ["SOLUSDT"]
    with pytest.raises(ParquetError, match=r"x.parquet: no symbol"):
        list(iter_parquet(nameless))


def _events_table(path: Path, rows: list[dict[str, Any]]) -> Path:
    base = {"ts_ns": T0, "symbol": "BTCUSDT", "kind": "trade", "price": "1", "qty": "1",
            "is_buy": True, "bids": None, "asks": None}
    table = pa.Table.from_pylist([{**base, **row} for row in rows],
                                 schema=events_schema())
    pq.write_table(table, path)
    return path


GOOD_BOOK = {"kind": "book", "price": None, "qty": None, "is_buy": None,
             "bids": [{"price": "1", "qty": "1"}], "asks": [{"price": "2", "qty": "1"}]}
# (rows after one good row, what the message must contain)
BAD_EVENTS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "nan": ({"price": "NaN"}, ["row 2", "price 'NaN'"]),
    "inf": ({"qty": "inf"}, ["row 2", "quantity 'inf'"]),
    "negative": ({"price": "-1"}, ["row 2", "price '-1'"]),
    "zero": ({"qty": "0"}, ["row 2", "quantity '0'"]),
    "text": ({"price": "abc"}, ["row 2", "price 'abc'"]),
    "null_price": ({"price": None}, ["row 2", "null"]),
    "back": ({"ts_ns": T0 - 1}, ["row 2", "goes back in time"]),
    "null_ts": ({"ts_ns": None}, ["row 2", "no timestamp"]),
    "negative_ts": ({"ts_ns": -1}, ["row 2", "-1"]),
    "kind": ({"kind": "quote"}, ["row 2", "'quote'"]),
    "symbol": ({"symbol": ""}, ["row 2", "no symbol"]),
    "book_price": ({**GOOD_BOOK, "bids": [{"price": "0", "qty": "1"}]}, ["row 2", "price '0'"]),
    "book_qty": ({**GOOD_BOOK, "asks": [{"price": "2", "qty": "-1"}]}, ["row 2", "quantity '-1'"]),
    "book_nan": ({**GOOD_BOOK, "asks": [{"price": "nan", "qty": "1"}]}, ["row 2", "'nan'"]),
}


@pytest.mark.parametrize("case", sorted(BAD_EVENTS))
def test_bad_event_rows_name_file_row_and_value(tmp_path: Path, case: str) -> None:
    row, fragments = BAD_EVENTS[case]
    path = _events_table(tmp_path / f"{case}.parquet", [{}, row])
    with pytest.raises(ParquetError) as info:
        list(iter_parquet(path))
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_row_numbers_count_across_batches(tmp_path: Path) -> None:
    rows = [{"ts_ns": T0 + i} for i in range(10)] + [{"ts_ns": T0 + 10, "price": "nan"}]
    path = _events_table(tmp_path / "late.parquet", rows)
    with pytest.raises(ParquetError, match=r"row 11: price 'nan'"):
        list(iter_parquet(path, batch_rows=4))


BAD_TRADES: dict[str, tuple[dict[str, Any], str]] = {
    "side": ({"side": ["buy", "long"]}, r"row 2: side 'long'"),
    "price": ({"price": [1.0, float("nan")]}, r"row 2: price 'nan'"),
    "qty": ({"qty": ["1", "-2"]}, r"row 2: quantity '-2'"),
    "iso": ({"timestamp": ["2024-08-08T00:00:00Z", "soon"]}, r"row 2: timestamp 'soon'"),
    "seconds": ({"timestamp": [1_723_075_200, 1_723_075_201]}, r"row 1: .*seconds"),
    "unit": ({"timestamp": [T0 // 10**6, T0]}, r"row 2: .*not in ms"),
    "back": ({"timestamp": [T0, T0 - 5]}, r"row 2: .*goes back in time"),
    "time_type": ({"timestamp": [1.5, 2.5]}, r"column timestamp of type double"),
    "price_type": ({"price": [True, False]}, r"column price of type bool is not a number"),
}


@pytest.mark.parametrize("case", sorted(BAD_TRADES))
def test_bad_trade_rows(tmp_path: Path, case: str) -> None:
    override, pattern = BAD_TRADES[case]
    columns: dict[str, Any] = {"timestamp": [T0, T0], "price": ["1", "2"], "qty": ["1", "1"],
                               "side": ["buy", "sell"], **override}
    path = _trades(tmp_path / f"BTCUSDT-{case}.parquet", **columns)
    with pytest.raises(ParquetError, match=pattern):
        list(iter_parquet(path))


def test_not_parquet_and_unknown_tables(tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    write_parquet(EVENTS, path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ParquetError, match=r"cut.parquet: not a readable Parquet file"):
        list(iter_parquet(path))
    other = _trades(tmp_path / "other.parquet", a=[1], b=[2])
    with pytest.raises(ParquetError, match=r"columns \['a', 'b'\] are neither"):
        list(iter_parquet(other))
    with pytest.raises(ParquetError, match="cannot write"):
        write_parquet(EVENTS, tmp_path / "no" / "such" / "dir.parquet")


def test_a_corrupt_page_is_named(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.parquet"
    write_parquet([TradeEvent(T0 + i, "BTCUSDT", f"{i + 1}.5", "1", True) for i in range(5000)],
                  path)
    data = bytearray(path.read_bytes())
    for i in range(200, 2000):  # inside the first column chunk's pages
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(ParquetError, match=r"corrupt.parquet"):
        list(iter_parquet(path))


MILLION = """
import resource, sys
from bitunix.data import TradeEvent
from bitunix.data.parquet import iter_parquet, write_parquet
path = sys.argv[1]
n = write_parquet((TradeEvent(1_723_075_200_000_000_000 + i, "BTCUSDT", f"{60000 + i % 997}.5",
                              "0.001", i % 3 == 0) for i in range(1_000_000)), path)
count = sum(1 for _ in iter_parquet(path))
print(n, count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_a_million_rows_in_bounded_memory(tmp_path: Path) -> None:
    baseline = subprocess.run(
        [sys.executable, "-c", "import pyarrow.parquet, bitunix.data.parquet, resource;"
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
        capture_output=True, text=True, check=True, timeout=120)
    done = subprocess.run([sys.executable, "-c", MILLION, str(tmp_path / "m.parquet")],
                          capture_output=True, text=True, check=True, timeout=300)
    written, read, rss_kib = map(int, done.stdout.split())
    assert written == read == 1_000_000
    # A million events held in memory would take about 250 MiB; a row group a few MiB.
    assert rss_kib - int(baseline.stdout) < 80 * 1024, (rss_kib, baseline.stdout)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
