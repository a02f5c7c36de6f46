"""bench/peers/run.py: the rows of the peer comparison from each side's JSON (no peer run)."""

from __future__ import annotations

import math

from bench.peers.run import ROWS, compare, format_ns


def _side(scale: float) -> dict[str, object]:
    return {
        "vwap_ns": 100.0 * scale, "decode_ns": 500.0 * scale,
        "backtest_vwap": {"ns_per_trade": 20_000.0 * scale},
        "backtest_orders": {"ns_per_trade": 40_000.0 * scale},
        "tick_to_order": {"p50_ns": 90_000.0 * scale, "p99_ns": 3_000_000.0 * scale},
    }


def test_every_row_is_theirs_over_ours() -> None:
    rows = compare(_side(1.0), _side(2.5))
    assert [r["key"] for r in rows] == [key for key, _, _ in ROWS]
    for r in rows:
        assert r["theirs"] == 2.5 * r["ours"]
        assert math.isclose(r["ratio"], 2.5)
    assert rows[0]["ours"] == 100.0
    assert rows[-1]["theirs"] == 7_500_000.0


def test_a_zero_or_missing_sample_is_not_a_ratio() -> None:
    ours = _side(1.0)
    ours["tick_to_order"] = {"p50_ns": 0.0, "p99_ns": float("nan")}
    rows = {r["key"]: r for r in compare(ours, _side(1.0))}
    assert math.isnan(rows["tick_to_order_p50"]["ratio"])
    assert math.isnan(rows["tick_to_order_p99"]["ratio"])
    assert format_ns(rows["tick_to_order_p99"]["ours"]) == "n/a"


def test_format_ns() -> None:
    assert format_ns(85.2) == "85.2 ns"
    assert format_ns(7_810.0) == "7.81 us"
    assert format_ns(3_130_000.0) == "3.13 ms"
