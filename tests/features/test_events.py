"""feed_event: venue-neutral events into a FeatureEngine."""

from __future__ import annotations

import pytest

from bitunix.data import BookEvent, TradeEvent
from bitunix.features import BOOK_LEVELS, BookArrays, FeatureEngine, feed_event


def test_feed_event_reports_acceptance() -> None:
    fe = FeatureEngine(tick_size=0.1)
    assert feed_event(fe, TradeEvent(1, "X", "100.5", "1", True))
    assert not feed_event(fe, TradeEvent(2, "X", "-1", "1", True))
    assert feed_event(fe, BookEvent(3, "X", [("100.4", "1")], [("100.6", "1")]))
    assert not feed_event(fe, BookEvent(4, "X", [("100.7", "1")], [("100.6", "1")]))  # crossed
    assert not feed_event(fe, BookEvent(5, "X", [], [("100.6", "1")]))
    assert (fe.last_price, fe.mid, fe.trades_rejected, fe.books_rejected) == (100.5, 100.5, 1, 2)


def test_book_levels_parse_the_exact_strings_into_the_given_buffers() -> None:
    fe, book = FeatureEngine(tick_size=0.1, depth_levels=2), BookArrays(2)
    event = BookEvent(1, "X", [("100.5", "2"), ("100.4", "3"), ("bad", "1")], [("100.6", "0.25")])
    assert feed_event(fe, event, book)  # the third bid is past the buffers: never read
    assert (book.n_bids, book.n_asks) == (2, 1)
    assert fe.mid == (100.5 + 100.6) / 2
    with pytest.raises(ValueError, match="bad"):
        feed_event(fe, event, BookArrays(3))
    assert BOOK_LEVELS == 15


def test_feed_event_refuses_what_is_not_a_market_event() -> None:
    with pytest.raises(TypeError, match="not a market event: str"):
        feed_event(FeatureEngine(tick_size=0.1), "book")  # type: ignore[arg-type]
