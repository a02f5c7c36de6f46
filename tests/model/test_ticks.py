"""parse_ticks / format_ticks are exact and agree with Decimal."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitunix.model.ticks import (
    ROUNDING_MODES,
    PrecisionError,
    decimal_to_ticks,
    format_ticks,
    parse_ticks,
    ticks_to_decimal,
)

decimals_st = st.integers(min_value=0, max_value=18)
ticks_st = st.integers(min_value=-(10**24), max_value=10**24)


@pytest.mark.parametrize(
    ("text", "decimals", "expected"),
    [
        ("86699.6", 1, 866996),
        ("86699.60", 1, 866996),
        ("0.001", 3, 1),
        ("0.001", 5, 100),
        ("60000", 1, 600000),
        ("-0.00077", 5, -77),
        ("+1.5", 1, 15),
        (".5", 1, 5),
        ("5.", 0, 5),
        ("1E-3", 3, 1),
        ("1e2", 0, 100),
        ("0", 0, 0),
        ("-0", 2, 0),
    ],
)
def test_parse_ticks_examples(text: str, decimals: int, expected: int) -> None:
    assert parse_ticks(text, decimals) == expected


@pytest.mark.parametrize("text", ["", ".", "-", "abc", "1.2.3", " 1", "1 ", "1_000", "NaN",
                                  "inf", "-Infinity", "0x10", "1,5"])
def test_parse_ticks_rejects_malformed(text: str) -> None:
    with pytest.raises(PrecisionError, match="not a decimal"):
        parse_ticks(text, 2)


def test_parse_ticks_rejects_extra_decimals_without_rounding() -> None:
    with pytest.raises(PrecisionError, match="more than 1 decimals"):
        parse_ticks("86699.65", 1)
    with pytest.raises(PrecisionError, match="more than 0 decimals"):
        parse_ticks("1.5e0", 0)


@pytest.mark.parametrize(
    ("text", "rounding", "expected"),
    [
        ("0.0015", decimal.ROUND_DOWN, 1),
        ("0.0015", decimal.ROUND_UP, 2),
        ("0.0015", decimal.ROUND_HALF_EVEN, 2),
        ("0.0025", decimal.ROUND_HALF_EVEN, 2),
        ("-0.0015", decimal.ROUND_FLOOR, -2),
        ("-0.0015", decimal.ROUND_CEILING, -1),
    ],
)
def test_parse_ticks_with_rounding(text: str, rounding: str, expected: int) -> None:
    assert parse_ticks(text, 3, rounding) == expected


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("1", -1), "decimals must be in"),
        (("1", 19), "decimals must be in"),
        (("1", 1.5), "decimals must be an int"),
        (("1", True), "decimals must be an int"),
        (("1", 2, "ROUND_SIDEWAYS"), "unknown rounding"),
        ((1.5, 2), "expected a decimal string"),
    ],
)
def test_parse_ticks_bad_arguments(args: tuple[object, ...], match: str) -> None:
    with pytest.raises(PrecisionError, match=match):
        parse_ticks(*args)  # type: ignore[arg-type]


def test_format_ticks_examples() -> None:
    assert format_ticks(866996, 1) == "86699.6"
    assert format_ticks(-5, 3) == "-0.005"
    assert format_ticks(5, 0) == "5"
    assert format_ticks(0, 4) == "0.0000"
    assert format_ticks(600000, 1) == "60000.0"
    with pytest.raises(PrecisionError, match="ticks must be an int"):
        format_ticks(1.0, 1)  # type: ignore[arg-type]
    with pytest.raises(PrecisionError, match="ticks must be an int"):
        format_ticks(True, 1)


def test_decimal_to_ticks_rejects_non_finite() -> None:
    with pytest.raises(PrecisionError, match="not a finite Decimal"):
        decimal_to_ticks(Decimal("NaN"), 2)
    with pytest.raises(PrecisionError, match="not a finite Decimal"):
        decimal_to_ticks(1.5, 2)  # type: ignore[arg-type]


@given(ticks_st, decimals_st)
def test_format_then_parse_round_trips(ticks: int, decimals: int) -> None:
    text = format_ticks(ticks, decimals)
    assert parse_ticks(text, decimals) == ticks
    assert Decimal(text) == Decimal(ticks).scaleb(-decimals)
    assert "e" not in text.lower()
    assert ticks_to_decimal(ticks, decimals) == Decimal(text)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=8,
                   min_value=Decimal("-1e12"), max_value=Decimal("1e12")),
       st.integers(min_value=0, max_value=12), st.sampled_from(sorted(ROUNDING_MODES)))
def test_parse_ticks_matches_decimal_quantize(value: Decimal, decimals: int,
                                             rounding: str) -> None:
    text = format(value, "f")
    quantum = Decimal(1).scaleb(-decimals)
    with decimal.localcontext() as ctx:
        ctx.prec = 100
        expected = value.quantize(quantum, rounding=rounding)
    got = parse_ticks(text, decimals, rounding)
    assert ticks_to_decimal(got, decimals) == expected
    exact = value == value.quantize(quantum, rounding=decimal.ROUND_DOWN)
    if exact:
        assert parse_ticks(text, decimals) == got
        assert decimal_to_ticks(value, decimals) == got
    else:
        with pytest.raises(PrecisionError):
            parse_ticks(text, decimals)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6,
                   min_value=Decimal("-1e9"), max_value=Decimal("1e9")))
def test_exponent_form_agrees_with_plain_form(value: Decimal) -> None:
    sci = f"{value:e}"
    assert parse_ticks(sci, 6) == parse_ticks(format(value, "f"), 6)
