"""BookArrays: books into the engine's four float64 arrays, parsed in C, in reused buffers."""

from __future__ import annotations

import gc
import math
import struct
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitunix.features import BookArrays, FeatureEngine
from bitunix.wire import decode

DEPTH = (b'{"ch":"depth_book15","symbol":"BTCUSDT","ts":1,"data":{"b":[["86699.6","2.274"],'
         b'["86699.5","2.7407"],["86699.4","3.093"]],"a":[["86699.7","0.7095"]]}}')


def _book(raw: bytes = DEPTH) -> object:
    return decode(raw).data  # type: ignore[union-attr]


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_load_reads_the_wire_book_best_first_up_to_capacity() -> None:
    arrays = BookArrays(capacity=2)
    bp, bq, ap, aq = arrays.load(_book())
    assert bp.tolist() == [86699.6, 86699.5]  # capped at capacity
    assert bq.tolist() == [2.274, 2.7407]
    assert (ap.tolist(), aq.tolist()) == ([86699.7], [0.7095])
    assert (arrays.n_bids, arrays.n_asks, arrays.capacity) == (2, 1, 2)
    assert all(a.dtype == np.float64 and a.flags.c_contiguous for a in (bp, bq, ap, aq))
    empty = decode(b'{"ch":"depth_book15","symbol":"X","ts":1,"data":{"b":[],"a":[]}}')
    bp2, _, ap2, _ = arrays.load(empty.data)  # type: ignore[union-attr]
    assert (len(bp2), len(ap2)) == (0, 0)
    bp3, _, _, _ = arrays.load(_book())
    assert np.shares_memory(bp, bp3)  # the same buffers, every time
    assert repr(arrays) == "BookArrays(capacity=2, n_bids=2, n_asks=1)"


def test_load_levels_parses_strings_and_floats_exactly() -> None:
    arrays = BookArrays()
    bp, bq, ap, aq = arrays.load_levels([("100.5", "2"), ["100.4", 3.0]], ((100.6, "0.25"),))
    assert (bp.tolist(), bq.tolist()) == ([100.5, 100.4], [2.0, 3.0])
    assert (ap.tolist(), aq.tolist()) == ([100.6], [0.25])
    # Pairs that are neither tuples nor lists, and values that are neither str nor float.
    bp, bq, _, _ = arrays.load_levels([np.array([7, 8])], [])
    assert (bp.tolist(), bq.tolist()) == ([7.0], [8.0])


@dataclass
class PlainLevel:
    """A level whose fields are not slots: read through getattr."""

    px: float
    qty: float


class PropertyLevel:
    """A level whose fields are properties."""

    def __init__(self, px: str, qty: str) -> None:
        self._px, self._qty = px, qty

    @property
    def px(self) -> str:
        return self._px

    @property
    def qty(self) -> str:
        return self._qty


@dataclass
class Side:
    b: list[object]
    a: list[object]


def test_load_takes_any_level_type_and_switches_between_them() -> None:
    arrays = BookArrays(4)
    wire = _book()
    bp, _, ap, aq = arrays.load(wire)
    assert bp.tolist() == [86699.6, 86699.5, 86699.4]
    mixed = Side(b=[PlainLevel(10.0, 1.0), PropertyLevel("9.5", "2")],
                 a=[wire.a[0], PlainLevel(11.0, 3.0)])  # type: ignore[attr-defined]
    bp, bq, ap, aq = arrays.load(mixed)
    assert (bp.tolist(), bq.tolist()) == ([10.0, 9.5], [1.0, 2.0])
    assert (ap.tolist(), aq.tolist()) == ([86699.7, 11.0], [0.7095, 3.0])


def test_bad_values_raise_clear_errors() -> None:
    arrays = BookArrays()
    with pytest.raises(ValueError, match="abc"):
        arrays.load_levels([("abc", "1")], [])
    with pytest.raises(ValueError, match="could not convert"):
        arrays.load_levels([("", "1")], [])
    with pytest.raises(TypeError):
        arrays.load_levels([(None, "1")], [])
    with pytest.raises(ValueError, match=r"bids\[1\] is not a \(price, qty\) pair"):
        arrays.load_levels([("1", "1"), ("1", "2", "3")], [])
    with pytest.raises(TypeError, match="sequences of"):
        arrays.load_levels(5, [])
    with pytest.raises(TypeError, match="sequences of levels"):
        arrays.load(Side(b=5, a=[]))  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        arrays.load(Side(b=[object()], a=[]))
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        BookArrays(0)


decimal_text = st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{0,25})?", fullmatch=True)
odd_text = st.sampled_from([" 1.5", "1.5 ", "1_000.25", "1e-3", "+2", "2E5", ".5", "-.5", "1.",
                            "-0", "0.000", "9007199254740993", "0.1234567890123456789012345",
                            "inf", "-Infinity", "1e999"])


@given(st.one_of(decimal_text, odd_text,
                 st.floats(allow_nan=False).map(repr), st.floats(allow_nan=False).map(str)))
def test_strings_parse_to_the_same_double_as_float(text: str) -> None:
    bp, _, _, _ = BookArrays(1).load_levels([(text, "1")], [])
    assert _bits(bp[0]) == _bits(float(text)), text


def test_nan_text_parses_to_nan() -> None:
    bp, _, _, _ = BookArrays(1).load_levels([("nan", "1")], [])
    assert math.isnan(bp[0])


def test_feed_matches_on_book_and_counts_rejections() -> None:
    via_views, via_feed = FeatureEngine(tick_size=0.1), FeatureEngine(tick_size=0.1)
    arrays = BookArrays()
    assert via_views.on_book(*arrays.load(_book()), 1)
    assert arrays.feed(via_feed, _book(), 1)
    assert via_feed.mid == via_views.mid == (86699.6 + 86699.7) / 2
    via_views.write()
    via_feed.write()
    np.testing.assert_array_equal(via_feed.vector, via_views.vector)
    assert not arrays.feed_levels(via_feed, [], [("1", "1")], 2)             # empty side
    assert not arrays.feed_levels(via_feed, [("2", "1")], [("1", "1")], 3)   # crossed
    assert arrays.feed_levels(via_feed, [("99", "1")], [("101", "1")], 4)
    assert (via_feed.books_rejected, via_feed.mid) == (2, 100.0)
    with pytest.raises(TypeError):
        arrays.feed(None, _book(), 1)  # type: ignore[arg-type]


def _peak_above_current(call: Callable[[], object], repeat: int = 1_000) -> int:
    """Bytes allocated and freed again inside ``repeat`` calls (tracemalloc's peak over
    current), less what the same loop around a call that does nothing shows."""

    def nothing() -> None:
        pass

    def probe(fn: Callable[[], object]) -> int:
        fn()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            current, _ = tracemalloc.get_traced_memory()
            for _ in range(repeat):
                fn()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak - current

    # A tracer (coverage's) makes the interpreter allocate around calls it traces: measure
    # the code, not the instrument.
    tracer = sys.gettrace()
    sys.settrace(None)
    gc.disable()
    try:
        # An allocation per call shows every time; a stray one elsewhere does not.
        return min(probe(call) - probe(nothing) for _ in range(3))
    finally:
        gc.enable()
        sys.settrace(tracer)


def test_feed_creates_no_object_per_book() -> None:
    engine, arrays, book = FeatureEngine(tick_size=0.1), BookArrays(), _book()
    bids, asks = [("86699.6", "2.274")] * 15, [("86699.7", "0.7095")] * 15
    # The methods are bound once: under a tracer (coverage) the interpreter builds a bound
    # method object per call of ``arrays.feed(...)``, which is the harness, not feed.
    feed, feed_levels = arrays.feed, arrays.feed_levels
    assert _peak_above_current(lambda: feed(engine, book, 1)) == 0
    assert _peak_above_current(lambda: feed_levels(engine, bids, asks, 1)) == 0
    assert _peak_above_current(lambda: arrays.load(book)) > 0  # views: the probe sees them
