"""The pure parts of a sweep: flags, configurations, windows, order and ranking."""

from __future__ import annotations

import itertools

import pytest

from bitunix.backtest.sweep import (
    Range,
    draw_random,
    expand_grid,
    parse_grid,
    parse_range,
    rank_rows,
    sort_rows,
    walk_forward_windows,
)
from bitunix.core.errors import ConfigError


def test_grid_values_are_toml_scalars_and_bare_words_are_strings() -> None:
    key, values = parse_grid("trader.entry_order=market, limit_ioc")
    assert (key, values) == ("trader.entry_order", ["market", "limit_ioc"])
    assert parse_grid("a.b=1,2.5,true,\"x y\"")[1] == [1, 2.5, True, "x y"]
    assert [type(v) for v in parse_grid("a.b=1,1.0")[1]] == [int, float]


@pytest.mark.parametrize(("text", "says"), [
    ("backtest.latency_ms", "not KEY=V1,V2"),
    ("=1,2", "not KEY=V1,V2"),
    ("backtest.latency_ms=", "not KEY=V1,V2"),
    ("backtest.latency_ms=1,,2", "an empty value"),
    ("backtest.latency_ms=1,1", "'1' is listed twice"),
    ("backtest.latency_ms=[1,2]", "'[1' is not a scalar"),
    ("Backtest.latency_ms=1", "is not a dotted configuration key"),
    ("a..b=1", "is not a dotted configuration key"),
])
def test_bad_grid_flags_name_the_flag_and_value(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_grid(text)
    message = str(err.value)
    assert message.startswith(f"--grid {text!r}: ")
    assert says in message
    assert "\n" not in message


def test_range_parsing() -> None:
    assert parse_range("backtest.slippage_ticks=0:3") == Range("backtest.slippage_ticks", 0, 3)
    assert parse_range("backtest.latency_ms=-1.5:2").integer is False
    assert parse_range("a.b=0:3").integer is True
    for text in ("a.b=0", "a.b=x:1", "a.b=1:true", "a.b=2:1", "a.b=nan:1", "a.b=:1", "a=1"):
        with pytest.raises(ConfigError, match=r"^--range "):
            parse_range(text.replace("a=1", "a=1:"))


def test_the_grid_is_every_combination_in_order() -> None:
    configs = expand_grid([("a", [1, 2]), ("b", ["x", "y"]), ("c", [True, False])])
    assert len(configs) == 8
    assert configs[0] == {"a": 1, "b": "x", "c": True}
    assert configs[-1] == {"a": 2, "b": "y", "c": False}
    assert len({tuple(c.values()) for c in configs}) == 8
    with pytest.raises(ConfigError, match="key a is given twice"):
        expand_grid([("a", [1]), ("a", [2])])


def test_random_search_is_reproducible_from_its_seed() -> None:
    ranges = [Range("a", 0, 10), Range("b", 0.0, 1.0), Range("c", 1, 2.5)]
    first = draw_random(ranges, 20, seed=7)
    assert first == draw_random(ranges, 20, seed=7)
    assert first != draw_random(ranges, 20, seed=8)
    assert all(isinstance(c["a"], int) and 0 <= c["a"] <= 10 for c in first)
    assert all(isinstance(c["b"], float) and 0.0 <= c["b"] <= 1.0 for c in first)
    assert all(isinstance(c["c"], float) and 1 <= c["c"] <= 2.5 for c in first)
    assert len({c["a"] for c in first}) > 3  # it does draw
    with pytest.raises(ConfigError, match="given twice"):
        draw_random([Range("a", 0, 1), Range("a", 0, 2)], 1, seed=0)


@pytest.mark.parametrize(("first", "last", "k"),
                         [(0, 99, 2), (5, 6, 1), (10**18, 10**18 + 7_777, 5)])
def test_walk_forward_windows_are_consecutive_disjoint_and_cover_the_span(
        first: int, last: int, k: int) -> None:
    windows = walk_forward_windows(first, last, k)
    assert len(windows) == k + 1
    assert [w.index for w in windows] == list(range(k + 1))
    assert windows[0].start_ns == first
    assert windows[-1].end_ns == last + 1
    for a, b in itertools.pairwise(windows):
        assert a.end_ns == b.start_ns
        assert a.start_ns < a.end_ns
    for ts in (first, last, (first + last) // 2):
        assert sum(w.contains(ts) for w in windows) == 1
    lengths = [w.end_ns - w.start_ns for w in windows]
    assert max(lengths) - min(lengths) <= 1


def test_walk_forward_refuses_no_fold_or_a_too_short_span() -> None:
    with pytest.raises(ConfigError, match="at least one fold"):
        walk_forward_windows(0, 10, 0)
    with pytest.raises(ConfigError, match="too short"):
        walk_forward_windows(0, 1, 5)


def test_rows_sort_by_parameters_whatever_the_finishing_order() -> None:
    rows = [{"a": 2, "b": "y"}, {"a": 1.5, "b": "x"}, {"a": None, "b": "z"},
            {"a": 2, "b": "x"}, {"a": "text", "b": "x"}]
    got = sort_rows(rows, ["a", "b"])
    assert [(r["a"], r["b"]) for r in got] == [
        (None, "z"), (1.5, "x"), (2, "x"), (2, "y"), ("text", "x")]
    assert sort_rows(list(reversed(rows)), ["a", "b"]) == got


def test_ranking_puts_the_best_first_and_missing_metrics_last() -> None:
    rows = [{"id": 0, "sharpe": 1.0, "max_drawdown": 0.3, "pnl": "-1"},
            {"id": 1, "sharpe": None, "max_drawdown": None, "pnl": None},
            {"id": 2, "sharpe": 3.0, "max_drawdown": 0.1, "pnl": "2.5"},
            {"id": 3, "sharpe": float("nan"), "max_drawdown": 0.2, "pnl": "nan"},
            {"id": 4, "sharpe": 1.0, "max_drawdown": 0.1, "pnl": "10"}]
    assert [r["id"] for r in rank_rows(rows, "sharpe")] == [2, 0, 4, 1, 3]  # ties keep order
    assert [r["id"] for r in rank_rows(rows, "max_drawdown")] == [2, 4, 3, 0, 1]
    assert [r["id"] for r in rank_rows(rows, "pnl")] == [4, 2, 0, 1, 3]
    assert rank_rows(rows, "pnl")[0]["pnl"] == "10"
    with pytest.raises(ConfigError, match="--rank-by 'speed'"):
        rank_rows(rows, "speed")
