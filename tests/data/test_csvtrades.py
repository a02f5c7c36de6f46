"""Trade CSV files: the three headers, symbols, time units, and every bad input named."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bitunix.data import TradeEvent
from bitunix.data.csvtrades import CsvError, iter_csv_trades, symbol_from_name
from bitunix.data.lines import DataFileError

T0 = 1_723_075_200_123  # ms


def _write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_plain_header_any_case_and_order(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "\ufeffPrice,Side,Timestamp,QTY\r\n"
                  f"100.50,buy,{T0},0.001\r\n\r\n100.4,SELL,{T0 + 1},2\r\n")
    assert list(iter_csv_trades(path, symbol="btcusdt")) == [
        TradeEvent(T0 * 10**6, "BTCUSDT", "100.50", "0.001", True),
        TradeEvent((T0 + 1) * 10**6, "BTCUSDT", "100.4", "2", False),
    ]


def test_binance_export_is_buyer_maker_means_the_aggressor_sold(tmp_path: Path) -> None:
    path = _write(tmp_path / "ETHUSDT-trades-2024-08-08.csv.gz",
                  "id,price,qty,quote_qty,time,is_buyer_maker\n"
                  f"1,2500.01,1.5,3750.015,{T0},true\n"
                  f"2,2500.02,0.5,1250.01,{T0},False\n")
    events = list(iter_csv_trades(path))
    assert [(e.symbol, e.price, e.is_buy) for e in events] == [
        ("ETHUSDT", "2500.01", False), ("ETHUSDT", "2500.02", True)]


def test_binance_agg_trades_and_microseconds(tmp_path: Path) -> None:
    path = _write(tmp_path / "BTCUSDT-aggTrades-2025-01-01.csv",
                  "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
                  f"is_buyer_maker\n7,95000.1,0.002,10,11,{T0 * 1000 + 5},false\n")
    (event,) = iter_csv_trades(path)
    assert event == TradeEvent((T0 * 1000 + 5) * 1000, "BTCUSDT", "95000.1", "0.002", True)


def test_iso_times_and_a_symbol_column_filtered(tmp_path: Path) -> None:
    path = _write(tmp_path / "mixed.csv", "timestamp,price,qty,side,symbol\n"
                  '"2024-08-08T00:00:00.5Z","1.5","2",buy,btcusdt\n'
                  "2024-08-08T02:00:01+02:00,2.5,3,sell,ETHUSDT\n")
    assert [e.symbol for e in iter_csv_trades(path)] == ["BTCUSDT", "ETHUSDT"]
    (eth,) = iter_csv_trades(path, symbol="ETHUSDT")
    assert eth.ts_ns == 1_723_075_201 * 10**9
    assert eth.price == "2.5"


def test_symbol_from_the_name_wins_and_filters(tmp_path: Path) -> None:
    path = _write(tmp_path / "ETHUSDT-trades.csv", f"timestamp,price,qty,side\n{T0},1,1,buy\n")
    assert list(iter_csv_trades(path, symbol="BTCUSDT")) == []
    assert [e.symbol for e in iter_csv_trades(path, symbol="ETHUSDT")] == ["ETHUSDT"]


@pytest.mark.parametrize(("name", "symbol"), [
    ("BTCUSDT-trades-2024-08-08.csv", "BTCUSDT"),
    ("data_1000PEPEUSDT_2024.csv.gz", "1000PEPEUSDT"),
    ("btcusdt.csv", None),
    ("trades.csv", None),
    ("USDT.csv", None),
])
def test_symbol_from_name(name: str, symbol: str | None) -> None:
    assert symbol_from_name(name) == symbol


def test_no_symbol_anywhere_is_a_clear_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "trades.csv", f"timestamp,price,qty,side\n{T0},1,1,buy\n")
    with pytest.raises(CsvError, match=r"trades.csv: no symbol.*--data SYMBOL=PATH"):
        list(iter_csv_trades(path))


HEADER = "timestamp,price,qty,side\n"
# (file content, what the message must contain besides the file's name)
BAD: dict[str, tuple[str, list[str]]] = {
    "empty": ("", ["no market events in", "empty"]),
    "blank": ("\n\n  \n", ["the file is empty"]),
    "header": ("time,px,size,dir\n1,2,3,buy\n", [":1:", "'time,px,size,dir'",
                                                "none of the known"]),
    "duplicate_header": ("price,price,qty,side,timestamp\n", [":1:", "none of the known"]),
    "nan_price": (HEADER + f"{T0},NaN,1,buy\n", [":2:", "price 'NaN'"]),
    "inf_qty": (HEADER + f"{T0},1,inf,buy\n", [":2:", "quantity 'inf'"]),
    "negative": (HEADER + f"{T0},1,1,buy\n{T0},-5,1,buy\n", [":3:", "price '-5'"]),
    "zero_qty": (HEADER + f"{T0},1,0,sell\n", [":2:", "quantity '0'"]),
    "zero_price": (HEADER + f"{T0},0,1,sell\n", [":2:", "price '0'"]),
    "text_price": (HEADER + f"{T0},abc,1,sell\n", [":2:", "price 'abc'"]),
    "backwards": (HEADER + f"{T0},1,1,buy\n{T0 - 1},1,1,buy\n", [":3:", "goes back in time"]),
    "bad_ts": (HEADER + f"{T0},1,1,buy\n{T0}x,1,1,buy\n", [":3:", f"'{T0}x'"]),
    "bad_iso": (HEADER + "2024-02-30T00:00:00Z,1,1,buy\n", [":2:", "2024-02-30"]),
    "seconds": (HEADER + "1723075200,1,1,buy\n", [":2:", "1723075200", "seconds"]),
    "unit_change": (HEADER + f"{T0},1,1,buy\n{T0 * 1000},1,1,buy\n", [":3:", "not in ms"]),
    "side": (HEADER + f"{T0},1,1,long\n", [":2:", "side 'long'"]),
    "fields": (HEADER + f"{T0},1,1\n", [":2:", "3 fields where the header has 4"]),
    "garbage": ("\x00\x01binary,\xff\xfe\n", [":1:", "none of the known"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_names_the_file_line_and_value(tmp_path: Path, case: str) -> None:
    text, fragments = BAD[case]
    path = _write(tmp_path / f"BTCUSDT-{case}.csv", text)
    with pytest.raises(CsvError) as info:
        list(iter_csv_trades(path))
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_binance_flag_errors(tmp_path: Path) -> None:
    path = _write(tmp_path / "BTCUSDT-x.csv", "id,price,qty,quote_qty,time,is_buyer_maker\n"
                  f"1,1,1,1,{T0},maybe\n")
    with pytest.raises(CsvError, match=r":2: is_buyer_maker 'maybe' is not true or false"):
        list(iter_csv_trades(path))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-x.csv"
    path.write_bytes(HEADER.encode() + b"\xff\xfe,1,1,buy\n")
    with pytest.raises(CsvError, match=r"x.csv:2: not UTF-8"):
        list(iter_csv_trades(path))


def test_truncated_gzip_is_an_error_unless_allowed(tmp_path: Path) -> None:
    rows = "".join(f"{T0 + i},{100 + i % 7}.5,1,buy\n" for i in range(20_000))
    path = tmp_path / "BTCUSDT-t.csv.gz"
    path.write_bytes(gzip.compress((HEADER + rows).encode())[:-200])
    with pytest.raises(CsvError, match=r"BTCUSDT-t.csv.gz:\d+: the compressed data end early"):
        list(iter_csv_trades(path))
    events = list(iter_csv_trades(path, truncated_ok=True))
    assert 10_000 < len(events) < 20_000
    assert events[-1].ts_ns == (T0 + len(events) - 1) * 10**6  # complete rows only


def test_errors_are_data_file_errors(tmp_path: Path) -> None:
    assert issubclass(CsvError, DataFileError)
    with pytest.raises(DataFileError, match="cannot read"):
        list(iter_csv_trades(tmp_path / "missing.csv"))
