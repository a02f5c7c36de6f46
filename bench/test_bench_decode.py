"""Frame bytes -> typed message: bitunix.wire vs json.loads / orjson + dict access.

All three produce the same values (floats for prices and sizes, the side as a bool) from
the same bytes, so the ratios are like for like. Targets: trade <= 0.5 us, depth15 <= 3.5 us.

    PYTHONPATH=src python -m pytest bench/test_bench_decode.py --benchmark-only \
        --benchmark-columns=min,median,mean,ops --benchmark-group-by=group
Profile: ``perf record -g python -m pytest bench/test_bench_decode.py --benchmark-only``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pytest

from bench.conftest import RATIOS
from bitunix.features import BookArrays, FeatureEngine
from bitunix.wire import decode, decode_public
from bitunix.wire.public import Book

RATIOS.extend([
    ("decode trade: json.loads / wire", "decode/trade_json_loads", "decode/trade_wire"),
    ("decode trade: orjson / wire", "decode/trade_orjson", "decode/trade_wire"),
    ("decode depth15: json.loads / wire", "decode/depth15_json_loads", "decode/depth15_wire"),
    ("decode depth15: orjson / wire", "decode/depth15_orjson", "decode/depth15_wire"),
    ("depth15 -> arrays: np.array of tuples / BookArrays", "arrays/depth15_np_array",
     "arrays/depth15_book_arrays"),
    ("depth15 -> arrays: Python loop / BookArrays", "arrays/depth15_python_loop",
     "arrays/depth15_book_arrays"),
    ("depth15 -> engine: Python loop + on_book / feed", "arrays/depth15_python_loop_on_book",
     "arrays/depth15_feed"),
    ("depth15 strings -> engine: np.array / feed_levels", "arrays/depth15_str_np_array_on_book",
     "arrays/depth15_str_feed_levels"),
])

TRADE = (b'{"ch":"trade","symbol":"BTCUSDT","ts":1748803492958,"data":[{"p":"104350","s":"buy",'
         b'"t":"2025-06-01T18:44:52Z","v":"1.1536"}]}')


def _depth15() -> bytes:
    bids = ",".join(f'["{86699.6 - i * 0.1:.1f}","{2.274 + i * 0.37:.4f}"]' for i in range(15))
    asks = ",".join(f'["{86699.7 + i * 0.1:.1f}","{0.7095 + i * 0.41:.4f}"]' for i in range(15))
    return (f'{{"ch":"depth_book15","symbol":"BTCUSDT","ts":1790126515693,'
            f'"data":{{"b":[{bids}],"a":[{asks}]}}}}').encode()


DEPTH15 = _depth15()


def dict_trade(d: dict[str, Any]) -> list[tuple[float, float, bool]]:
    return [(float(t["p"]), float(t["v"]), t["s"] == "buy") for t in d["data"]]


def dict_depth(d: dict[str, Any]) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    data = d["data"]
    return ([(float(p), float(q)) for p, q in data["b"]],
            [(float(p), float(q)) for p, q in data["a"]])


def struct_trade(raw: bytes) -> list[tuple[float, float, bool]]:
    return [(t.p, t.v, t.s == "buy") for t in decode_public(raw).data]


def struct_depth(raw: bytes) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    b = decode_public(raw).data
    return [(lv.px, lv.qty) for lv in b.b], [(lv.px, lv.qty) for lv in b.a]


@pytest.mark.benchmark(group="decode-trade")
def test_trade_wire_decode(benchmark: Any, record: Callable[..., None]) -> None:
    msg = benchmark(decode_public, TRADE)
    record("decode/trade_wire", benchmark)
    # Like for like: every decoder yields the same values.
    assert struct_trade(TRADE) == dict_trade(json.loads(TRADE)) == dict_trade(orjson.loads(TRADE))
    assert msg.data[0].p == 104350.0


@pytest.mark.benchmark(group="decode-trade")
def test_trade_wire_decode_any_channel(benchmark: Any, record: Callable[..., None]) -> None:
    msg = benchmark(decode, TRADE)
    record("decode/trade_wire_any_channel", benchmark)
    assert msg.data[0].v == 1.1536


@pytest.mark.benchmark(group="decode-trade")
def test_trade_baseline_json_loads(benchmark: Any, record: Callable[..., None]) -> None:
    out = benchmark(lambda: dict_trade(json.loads(TRADE)))
    record("decode/trade_json_loads", benchmark)
    assert out[0][0] == 104350.0


@pytest.mark.benchmark(group="decode-trade")
def test_trade_baseline_orjson(benchmark: Any, record: Callable[..., None]) -> None:
    out = benchmark(lambda: dict_trade(orjson.loads(TRADE)))
    record("decode/trade_orjson", benchmark)
    assert out[0][0] == 104350.0


@pytest.mark.benchmark(group="decode-depth15")
def test_depth15_wire_decode(benchmark: Any, record: Callable[..., None]) -> None:
    msg = benchmark(decode_public, DEPTH15)
    record("decode/depth15_wire", benchmark)
    assert struct_depth(DEPTH15) == dict_depth(json.loads(DEPTH15)) == dict_depth(
        orjson.loads(DEPTH15))
    assert decode(DEPTH15) == msg
    assert len(msg.data.b) == 15


@pytest.mark.benchmark(group="decode-depth15")
def test_depth15_baseline_json_loads(benchmark: Any, record: Callable[..., None]) -> None:
    out = benchmark(lambda: dict_depth(json.loads(DEPTH15)))
    record("decode/depth15_json_loads", benchmark)
    assert len(out[0]) == 15


@pytest.mark.benchmark(group="decode-depth15")
def test_depth15_baseline_orjson(benchmark: Any, record: Callable[..., None]) -> None:
    out = benchmark(lambda: dict_depth(orjson.loads(DEPTH15)))
    record("decode/depth15_orjson", benchmark)
    assert len(out[0]) == 15


def _np_array_of_tuples(book: Any) -> tuple[Any, Any, Any, Any]:
    bids = np.array([(lv.px, lv.qty) for lv in book.b], dtype=np.float64).reshape(-1, 2)
    asks = np.array([(lv.px, lv.qty) for lv in book.a], dtype=np.float64).reshape(-1, 2)
    return (np.ascontiguousarray(bids[:, 0]), np.ascontiguousarray(bids[:, 1]),
            np.ascontiguousarray(asks[:, 0]), np.ascontiguousarray(asks[:, 1]))


F64 = npt.NDArray[np.float64]


class PythonBookArrays:
    """The baseline: the reused-buffer Python loop BookArrays replaced (exchange.convert)."""

    def __init__(self, capacity: int = 15) -> None:
        self.capacity = capacity
        self._bp = np.empty(capacity, dtype=np.float64)
        self._bq = np.empty(capacity, dtype=np.float64)
        self._ap = np.empty(capacity, dtype=np.float64)
        self._aq = np.empty(capacity, dtype=np.float64)

    def load(self, book: Book) -> tuple[F64, F64, F64, F64]:
        bp, bq, ap, aq = self._bp, self._bq, self._ap, self._aq
        cap = self.capacity
        nb = 0
        for lv in book.b:
            if nb == cap:
                break
            bp[nb] = lv.px
            bq[nb] = lv.qty
            nb += 1
        na = 0
        for lv in book.a:
            if na == cap:
                break
            ap[na] = lv.px
            aq[na] = lv.qty
            na += 1
        return bp[:nb], bq[:nb], ap[:na], aq[:na]


@pytest.mark.benchmark(group="depth15-to-arrays")
def test_depth15_book_arrays(benchmark: Any, record: Callable[..., None]) -> None:
    book = decode_public(DEPTH15).data
    arrays = BookArrays(15)
    bp, _, _, aq = benchmark(arrays.load, book)
    record("arrays/depth15_book_arrays", benchmark)
    expected = _np_array_of_tuples(book)
    assert bp.tolist() == expected[0].tolist()
    assert aq.tolist() == expected[3].tolist()


@pytest.mark.benchmark(group="depth15-to-arrays")
def test_depth15_baseline_python_loop(benchmark: Any, record: Callable[..., None]) -> None:
    book = decode_public(DEPTH15).data
    bp, _, _, _ = benchmark(PythonBookArrays(15).load, book)
    record("arrays/depth15_python_loop", benchmark)
    assert bp.tolist() == BookArrays(15).load(book)[0].tolist()


@pytest.mark.benchmark(group="depth15-to-arrays")
def test_depth15_baseline_np_array(benchmark: Any, record: Callable[..., None]) -> None:
    book = decode_public(DEPTH15).data
    out = benchmark(_np_array_of_tuples, book)
    record("arrays/depth15_np_array", benchmark)
    assert len(out[0]) == 15


# What MarketPipeline.on_depth pays per book between the decoded push and the engine.
@pytest.mark.benchmark(group="depth15-to-engine")
def test_depth15_feed(benchmark: Any, record: Callable[..., None]) -> None:
    book, engine, arrays = decode_public(DEPTH15).data, FeatureEngine(tick_size=0.1), BookArrays()
    assert benchmark(arrays.feed, engine, book, 1)
    record("arrays/depth15_feed", benchmark)
    assert engine.mid == (86699.6 + 86699.7) / 2


@pytest.mark.benchmark(group="depth15-to-engine")
def test_depth15_baseline_python_loop_on_book(benchmark: Any,
                                              record: Callable[..., None]) -> None:
    book, engine, arrays = decode_public(DEPTH15).data, FeatureEngine(tick_size=0.1), \
        PythonBookArrays()
    assert benchmark(lambda: engine.on_book(*arrays.load(book), 1))
    record("arrays/depth15_python_loop_on_book", benchmark)


# What features.feed_event pays per recorded book (exact decimal strings).
def _str_levels() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    book = decode_public(DEPTH15).data
    return ([(repr(lv.px), repr(lv.qty)) for lv in book.b],
            [(repr(lv.px), repr(lv.qty)) for lv in book.a])


@pytest.mark.benchmark(group="depth15-to-engine")
def test_depth15_str_feed_levels(benchmark: Any, record: Callable[..., None]) -> None:
    (bids, asks), engine, arrays = _str_levels(), FeatureEngine(tick_size=0.1), BookArrays()
    assert benchmark(arrays.feed_levels, engine, bids, asks, 1)
    record("arrays/depth15_str_feed_levels", benchmark)


@pytest.mark.benchmark(group="depth15-to-engine")
def test_depth15_str_baseline_np_array_on_book(benchmark: Any,
                                               record: Callable[..., None]) -> None:
    (bids, asks), engine = _str_levels(), FeatureEngine(tick_size=0.1)

    def old_feed_event() -> bool:  # what features.book_arrays + on_book did
        b = np.array(bids, dtype=np.float64).reshape(-1, 2)
        a = np.array(asks, dtype=np.float64).reshape(-1, 2)
        return engine.on_book(np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1]),
                              np.ascontiguousarray(a[:, 0]), np.ascontiguousarray(a[:, 1]), 1)

    assert benchmark(old_feed_event)
    record("arrays/depth15_str_np_array_on_book", benchmark)
