"""DerivedBooks: a book from the trades for data that has none, without look-ahead."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from bitunix.data.books import DerivedBooks
from bitunix.model.market import BookEvent, MarketEvent, TradeEvent

D = Decimal
MS = 1_000_000
T0 = 1_723_075_200_000 * MS
TICKS = {"BTCUSDT": D("0.1"), "ETHUSDT": D("0.01")}


def trade(ms: int, price: str, is_buy: bool, qty: str = "0.010",
          symbol: str = "BTCUSDT") -> TradeEvent:
    return TradeEvent(ts_ns=T0 + ms * MS, symbol=symbol, price=price, qty=qty, is_buy=is_buy)


def book(ms: int, symbol: str = "BTCUSDT") -> BookEvent:
    return BookEvent(ts_ns=T0 + ms * MS, symbol=symbol, bids=[("59999.9", "1")],
                     asks=[("60000.0", "1")])


def derive(events: list[MarketEvent], interval_ms: int = 300,
           levels: int = 5) -> tuple[DerivedBooks, list[MarketEvent]]:
    books = DerivedBooks(events, TICKS, interval_ns=interval_ms * MS, levels=levels)
    return books, list(books)


def levels(side: list[tuple[str, str]]) -> list[tuple[str, Decimal]]:
    """Prices as written, sizes by value (a size's trailing zeros are not its meaning)."""
    return [(price, D(qty)) for price, qty in side]


def derived_only(out: list[MarketEvent], events: list[MarketEvent]) -> list[BookEvent]:
    return [e for e in out if isinstance(e, BookEvent) and e not in events]


def test_trade_only_data_gets_one_book_per_interval() -> None:
    events: list[MarketEvent] = [
        trade(ms, "60000.0", ms % 200 == 0) for ms in range(0, 3_001, 100)]
    books, out = derive(events, interval_ms=300)
    derived = derived_only(out, events)
    # The first trade starts the clock; a book follows the first trade at or past each
    # interval, stamped with that trade's time.
    assert [b.ts_ns - T0 for b in derived] == [ms * MS for ms in range(300, 3_001, 300)]
    assert books.derived == {"BTCUSDT"}
    assert books.books == {"BTCUSDT": 10}
    # Every input event comes through, in order, each derived book right after its trade.
    assert [e for e in out if e not in derived] == events
    for b in derived:
        assert out[out.index(b) - 1].ts_ns == b.ts_ns


def test_the_interval_counts_from_the_trade_that_made_the_last_book() -> None:
    events: list[MarketEvent] = [trade(ms, "100.0", True) for ms in (0, 250, 700, 800, 1_050)]
    _, out = derive(events, interval_ms=300)
    # 700 >= 0 + 300: a book; next at 1000; 800 is early; 1050 is past it.
    assert [b.ts_ns - T0 for b in derived_only(out, events)] == [700 * MS, 1_050 * MS]


def test_no_book_is_derived_for_a_symbol_whose_real_book_arrives_within_the_interval(
        ) -> None:
    events: list[MarketEvent] = [trade(0, "60000.0", True), book(100)]
    events += [trade(ms, "60000.0", True) for ms in range(200, 3_000, 100)]
    books, out = derive(events, interval_ms=300)
    assert out == events
    assert books.derived == set()
    assert books.books == {}


def test_a_real_book_stops_the_derived_ones() -> None:
    events: list[MarketEvent] = [trade(ms, "60000.0", True) for ms in range(0, 700, 100)]
    events += [book(700)] + [trade(ms, "60000.0", True) for ms in range(800, 3_000, 100)]
    books, out = derive(events, interval_ms=300)
    assert [b.ts_ns - T0 for b in derived_only(out, events)] == [300 * MS, 600 * MS]
    assert books.books == {"BTCUSDT": 2}


def _touch(events: list[MarketEvent], tick: str = "0.1") -> tuple[str, str]:
    books = DerivedBooks(events, {"BTCUSDT": D(tick)}, interval_ns=100 * MS, levels=1)
    last = derived_only(list(books), events)[-1]
    return last.bids[0][0], last.asks[0][0]


def test_bid_is_the_last_sell_hit_and_ask_the_last_buy_lift() -> None:
    assert _touch([trade(0, "100.0", False), trade(50, "100.4", True),
                   trade(100, "100.1", False)]) == ("100.1", "100.4")
    assert _touch([trade(0, "100.4", True), trade(50, "100.1", False),
                   trade(100, "100.5", True)]) == ("100.1", "100.5")


def test_crossed_prices_keep_the_last_trade_and_put_the_other_side_one_tick_away() -> None:
    # Last sell at 100.5 above the last buy at 100.2: crossed.
    assert _touch([trade(0, "100.2", True), trade(100, "100.5", False)]) == (
        "100.5", "100.6")  # the last trade was a sell: it is the bid
    assert _touch([trade(0, "100.5", False), trade(100, "100.2", True)]) == (
        "100.1", "100.2")  # the last trade was a buy: it is the ask
    # Equal prices cross too (a bid at the ask is no book).
    assert _touch([trade(0, "100.2", False), trade(100, "100.2", True)]) == (
        "100.1", "100.2")


def test_a_missing_side_is_one_tick_from_the_last_trade() -> None:
    assert _touch([trade(0, "100.2", True), trade(100, "100.3", True)]) == ("100.2", "100.3")
    assert _touch([trade(0, "100.2", False), trade(100, "100.3", False)]) == (
        "100.3", "100.4")
    assert _touch([trade(0, "2000.10", False), trade(100, "2000.11", False)], "0.01") == (
        "2000.11", "2000.12")


def test_levels_are_a_tick_apart_with_the_volume_traded_since_the_last_book() -> None:
    events: list[MarketEvent] = [
        trade(0, "100.0", False, "0.5"), trade(50, "100.3", True, "0.25"),
        trade(100, "100.2", True, "1.25"),                 # book 1: volume 2.00
        trade(150, "100.1", False, "0.5"),
        trade(200, "100.1", False, "0.125"),               # book 2: volume 0.625
        trade(300, "100.1", False, "0.001")]               # book 3: the last size, 0.001
    books = DerivedBooks(events, TICKS, interval_ns=100 * MS, levels=3)
    first, second, third = derived_only(list(books), events)
    assert levels(first.bids) == [("100.0", D(2)), ("99.9", D(2)), ("99.8", D(2))]
    assert levels(first.asks) == [("100.2", D(2)), ("100.3", D(2)), ("100.4", D(2))]
    assert levels(second.bids)[0] == ("100.1", D("0.625"))
    assert levels(second.asks)[0] == ("100.2", D("0.625"))
    assert levels(third.bids)[0] == ("100.1", D("0.001"))  # only its own trade since book 2


def test_the_first_book_counts_the_volume_since_the_first_trade() -> None:
    events: list[MarketEvent] = [trade(0, "50.0", True, "3"), trade(100, "50.0", True, "2")]
    books = DerivedBooks(events, TICKS, interval_ns=100 * MS, levels=1)
    (only,) = derived_only(list(books), events)
    assert levels(only.asks) == [("50.0", D(5))]
    assert levels(only.bids) == [("49.9", D(5))]


def test_no_bid_level_at_or_below_zero() -> None:
    events: list[MarketEvent] = [trade(0, "0.2", False), trade(100, "0.2", False)]
    (only,) = derived_only(list(DerivedBooks(events, TICKS, interval_ns=100 * MS,
                                             levels=5)), events)
    assert [p for p, _ in only.bids] == ["0.2", "0.1"]
    assert [p for p, _ in only.asks] == ["0.3", "0.4", "0.5", "0.6", "0.7"]


def test_no_look_ahead_a_book_is_made_before_the_next_event_is_read() -> None:
    read: list[int] = []

    def source() -> Iterator[MarketEvent]:
        for ms in range(0, 2_000, 70):
            read.append(ms)
            yield trade(ms, f"{100 + (ms % 7) / 10:.1f}", ms % 3 == 0)

    made = 0
    for event in DerivedBooks(source(), TICKS, interval_ns=300 * MS):
        if isinstance(event, BookEvent):
            # Nothing after the book's own time has been read when it comes out.
            assert T0 + read[-1] * MS == event.ts_ns
            made += 1
    assert made == 5  # at 350, 700, 1050, 1400 and 1750 ms


def test_no_look_ahead_changing_later_trades_changes_no_earlier_book() -> None:
    events: list[MarketEvent] = [
        trade(ms, f"{100 + (ms * 7 % 13) / 10:.1f}", ms % 3 == 0, f"0.{ms % 9 + 1}")
        for ms in range(0, 3_000, 50)]
    cut = T0 + 1_500 * MS
    mutated = [e if e.ts_ns <= cut else trade((e.ts_ns - T0) // MS, "150.0", True, "9")
               for e in events]
    base = [e for e in derive(events)[1] if e.ts_ns <= cut]
    changed = [e for e in derive(mutated)[1] if e.ts_ns <= cut]
    assert base == changed
    assert len(derived_only(base, events)) == 5
    assert derive(events)[1] != derive(mutated)[1]  # the change does show after the cut


def test_symbols_without_a_tick_are_passed_through() -> None:
    events: list[MarketEvent] = [
        trade(ms, "1.2345", True, symbol="XYZUSDT") for ms in range(0, 2_000, 100)]
    events += [trade(ms, "2000.00", False, symbol="ETHUSDT") for ms in range(0, 700, 100)]
    events.sort(key=lambda e: e.ts_ns)
    books, out = derive(events, interval_ms=300)
    derived = derived_only(out, events)
    assert {b.symbol for b in derived} == {"ETHUSDT"}
    assert books.derived == {"ETHUSDT"}
    assert books.books == {"ETHUSDT": 2}
    assert [e for e in out if e not in derived] == events


def test_each_symbol_has_its_own_trades_and_interval() -> None:
    events: list[MarketEvent] = [
        trade(0, "60000.0", True), trade(10, "2000.00", False, symbol="ETHUSDT"),
        trade(300, "60000.5", True), trade(310, "2000.01", False, symbol="ETHUSDT")]
    _, out = derive(events, interval_ms=300, levels=1)
    btc, eth = derived_only(out, events)
    assert (btc.symbol, btc.ts_ns, levels(btc.bids), levels(btc.asks)) == (
        "BTCUSDT", T0 + 300 * MS, [("60000.4", D("0.02"))], [("60000.5", D("0.02"))])
    assert (eth.symbol, eth.ts_ns, levels(eth.bids), levels(eth.asks)) == (
        "ETHUSDT", T0 + 310 * MS, [("2000.01", D("0.02"))], [("2000.02", D("0.02"))])


@pytest.mark.parametrize(("interval_ns", "levels"), [(0, 5), (-1, 5), (MS, 0), (MS, -3)])
def test_interval_and_levels_must_be_positive(interval_ns: int, levels: int) -> None:
    with pytest.raises(ValueError, match="interval_ns > 0 and levels > 0"):
        DerivedBooks([], TICKS, interval_ns=interval_ns, levels=levels)


def test_level_sizes_are_rounded_up_to_the_contract_step() -> None:
    events: list[MarketEvent] = [trade(0, "100.0", True, "0.004"),
                                 trade(100, "100.0", True, "0.0011")]
    books = DerivedBooks(events, TICKS, interval_ns=100 * MS, levels=1,
                         steps={"BTCUSDT": D("0.01")})
    (only,) = derived_only(list(books), events)
    assert levels(only.asks) == [("100.0", D("0.01"))]  # 0.0051 up to the step, never 0
    # Without a step the size is on 0.001.
    (default,) = derived_only(list(DerivedBooks(events, TICKS, interval_ns=100 * MS,
                                                levels=1)), events)
    assert levels(default.asks) == [("100.0", D("0.006"))]
