"""feed_event: venue-neutral events into a FeatureEngine."""

from __future__ import annotations

import numpy as np

from bitunix.data import BookEvent, TradeEvent
from bitunix.features import FeatureEngine, book_arrays, feed_event


def test_book_arrays_parse_the_exact_strings_best_first() -> None:
    event = BookEvent(1, "X", [("100.5", "2"), ("100.4", "3")], [("100.6", "0.25")])
    bid_px, bid_qty, ask_px, ask_qty = book_arrays(event)
    np.testing.assert_array_equal(bid_px, [100.5, 100.4])
    np.testing.assert_array_equal(bid_qty, [2.0, 3.0])
    np.testing.assert_array_equal(ask_px, [100.6])
    np.testing.assert_array_equal(ask_qty, [0.25])
    assert all(a.flags.c_contiguous for a in (bid_px, bid_qty, ask_px, ask_qty))


def test_feed_event_reports_acceptance() -> None:
    fe = FeatureEngine(tick_size=0.1)
    assert feed_event(fe, TradeEvent(1, "X", "100.5", "1", True))
    assert not feed_event(fe, TradeEvent(2, "X", "-1", "1", True))
    assert feed_event(fe, BookEvent(3, "X", [("100.4", "1")], [("100.6", "1")]))
    assert not feed_event(fe, BookEvent(4, "X", [("100.7", "1")], [("100.6", "1")]))  # crossed
    assert not feed_event(fe, BookEvent(5, "X", [], [("100.6", "1")]))
    assert (fe.last_price, fe.mid, fe.trades_rejected, fe.books_rejected) == (100.5, 100.5, 1, 2)
