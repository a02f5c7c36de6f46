"""Sanity checks of recorded values: what every reader refuses, and its fast path."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitunix.data.events import (
    BookEvent,
    CheckedLevels,
    TradeEvent,
    check_event,
    check_level,
    check_levels,
    check_ts,
)

BAD_PRICES = ["abc", "", "NaN", "nan", "sNaN", "inf", "-Infinity", "1e308", "-1", "0", "0.000",
              "1000000001"]


@pytest.mark.parametrize("price", BAD_PRICES)
def test_bad_prices_are_refused_by_name_and_value(price: str) -> None:
    with pytest.raises(ValueError, match=rf"price {price!r} is not a"):
        check_level(price, "1")
    with pytest.raises(ValueError, match=rf"price {price!r}"):
        check_event(TradeEvent(1, "BTCUSDT", price, "1", True))


@pytest.mark.parametrize("qty", ["x", "NaN", "inf", "-0.5", "1e13"])
def test_bad_quantities_are_refused(qty: str) -> None:
    with pytest.raises(ValueError, match=rf"quantity {qty!r}"):
        check_level("100", qty)
    with pytest.raises(ValueError, match=rf"quantity {qty!r}"):
        check_event(BookEvent(1, "BTCUSDT", [("100", "1")], [("101", qty)]))


def test_sane_values_pass() -> None:
    check_level("61800.30", "0")  # a zero quantity removes a book level
    check_level("0.00000123", "1000000000")
    check_event(TradeEvent(1, "BTCUSDT", "1e3", "0.001", False))
    check_event(BookEvent(1, "BTCUSDT", [], []))
    with pytest.raises(ValueError, match=r"quantity '0'"):  # but no trade is of nothing
        check_event(TradeEvent(1, "BTCUSDT", "100", "0", False))


def test_time_must_be_an_int64_that_does_not_go_back() -> None:
    check_ts(5, 5)
    with pytest.raises(ValueError, match="receive time 4 goes back in time"):
        check_ts(4, 5)
    for ts in (-1, 2**63):
        with pytest.raises(ValueError, match=f"receive time {ts} is not a nanosecond"):
            check_ts(ts, 0)


_CHECKED = msgspec.json.Decoder(CheckedLevels, strict=False)
_NUMBERISH = st.one_of(
    st.sampled_from([*BAD_PRICES, "1", "0", "1e9", "1e12", "1E-3", "00012.5", "+5", " 7"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)


@given(st.lists(st.tuples(_NUMBERISH, _NUMBERISH), max_size=4))
def test_the_fast_check_is_never_looser_than_check_levels(levels: list[tuple[str, str]]) -> None:
    """Readers check whole books with msgspec and ask check_levels only when it refuses:
    whatever msgspec accepts, check_levels must accept too."""
    try:
        _CHECKED.decode(msgspec.json.encode(levels))
    except msgspec.ValidationError:
        return
    check_levels(levels)
