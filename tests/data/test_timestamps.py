"""Epoch counts by magnitude, ISO-8601 exactly."""

from __future__ import annotations

import pytest

from bitunix.data.timestamps import IsoParser, iso_to_ns, to_ns, unit_of

MS = 1_723_075_200_123  # 2024-08-08T00:00:00.123Z


@pytest.mark.parametrize(("value", "unit", "ns"), [
    (MS, "ms", MS * 1_000_000),
    (MS * 1000 + 456, "us", (MS * 1000 + 456) * 1000),
    (MS * 1_000_000 + 456_789, "ns", MS * 1_000_000 + 456_789),
])
def test_units_by_magnitude(value: int, unit: str, ns: int) -> None:
    assert unit_of(value) == unit
    assert to_ns(value, unit) == ns


@pytest.mark.parametrize("value", [1_723_075_200, 0, -5, 2**63])
def test_seconds_and_non_times_are_refused(value: int) -> None:
    with pytest.raises(ValueError, match=str(value)):
        unit_of(value)


def test_a_row_in_another_unit_than_the_first_is_refused() -> None:
    with pytest.raises(ValueError, match="not in ms like the file's first row"):
        to_ns(MS * 1000, "ms")
    with pytest.raises(ValueError, match="not in us"):
        to_ns(MS, "us")


@pytest.mark.parametrize(("text", "ns"), [
    ("2024-08-08T00:00:00Z", 1_723_075_200_000_000_000),
    ("2024-08-08T00:00:00.123456789Z", 1_723_075_200_123_456_789),
    ("2024-08-08 00:00:00.5", 1_723_075_200_500_000_000),       # naive = UTC
    ("2024-08-08T02:00:00+02:00", 1_723_075_200_000_000_000),
    ("2024-08-07T19:30:00.000001-0430", 1_723_075_200_000_001_000),
])
def test_iso(text: str, ns: int) -> None:
    assert iso_to_ns(text) == ns


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01T00:00:00Z", "2024-08-08",
                                  "2024-08-08T00:00:00.1234567890Z", "1969-12-31T23:59:59Z"])
def test_bad_iso(text: str) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        iso_to_ns(text)


def test_parser_cache_stays_small_and_right() -> None:
    parse = IsoParser()
    for s in range(200):
        assert parse(f"2024-08-08T00:{s // 60:02d}:{s % 60:02d}.7Z") == (
            1_723_075_200 + s) * 10**9 + 700_000_000
    assert len(parse._secs) <= 64
