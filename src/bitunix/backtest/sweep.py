"""The pure parts of a parameter sweep: the configurations, the windows, the ranking.

A sweep runs one backtest per configuration (and data file, or time window) and collects
one row per run. What to run is decided here, without I/O or a cluster, so it is tested
in microseconds and is the same on the client whichever engine runs the tasks:

* :func:`expand_grid`: the product of every key's values (a grid search);
* :func:`draw_random`: ``n`` draws from ranges with ``random.Random(seed)`` (random search);
* :func:`walk_forward_windows`: ``k + 1`` consecutive, disjoint windows of a time span;
* :func:`sort_rows` / :func:`rank_rows`: the table's deterministic order and its ranking.

Parameter values are TOML scalars (``int``, ``float``, ``bool``, ``str``) under dotted
configuration keys (``backtest.latency_ms``); the configuration itself is checked by the
task that loads it (a bad value is that task's error, not the sweep's).
"""

from __future__ import annotations

import itertools
import math
import random
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bitunix.core.errors import ConfigError

__all__ = [
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "RANK_METRICS",
    "Param",
    "Range",
    "Window",
    "draw_random",
    "expand_grid",
    "parse_grid",
    "parse_range",
    "rank_rows",
    "row_key",
    "sort_rows",
    "walk_forward_windows",
]

#: A parameter value: a TOML scalar.
Param = int | float | bool | str

#: Metrics a sweep may be ranked by; the higher the better ...
HIGHER_IS_BETTER = ("sharpe", "sortino", "calmar", "total_return", "annual_return",
                    "win_rate", "profit_factor", "pnl")
#: ... or the lower the better.
LOWER_IS_BETTER = ("max_drawdown", "volatility", "fees")
RANK_METRICS = HIGHER_IS_BETTER + LOWER_IS_BETTER

_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_./:+-]*")
_KEY = re.compile(r"[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)*")


def _check_key(flag: str, text: str, key: str) -> None:
    if not _KEY.fullmatch(key):
        raise ConfigError(f"{flag} {text!r}: {key!r} is not a dotted configuration key "
                          "like backtest.latency_ms")


def _scalar(text: str) -> Param:
    """``text`` as a TOML scalar (``3``, ``2.5``, ``true``, ``"a b"``); a bare word that is
    not one (``market``, ``limit_ioc``) is that string; anything else (``[1``) is a
    ValueError."""
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if _BARE.fullmatch(text):
            return text
        raise ValueError(text) from None
    if not isinstance(value, (int, float, bool, str)):  # an array, a table, a date
        raise ValueError(text)
    return value


def parse_grid(text: str) -> tuple[str, list[Param]]:
    """``KEY=V1,V2,...`` (one ``--grid`` flag) as the key and its values, in order.

    >>> parse_grid("backtest.latency_ms=0,20.5")
    ('backtest.latency_ms', [0, 20.5])
    """
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ConfigError(f"--grid {text!r}: not KEY=V1,V2,... (a dotted configuration key "
                          "and comma-separated values)")
    _check_key("--grid", text, key)
    parsed: list[Param] = []
    for raw in values.split(","):
        item = raw.strip()
        if not item:
            raise ConfigError(f"--grid {text!r}: an empty value")
        try:
            value = _scalar(item)
        except ValueError:
            raise ConfigError(f"--grid {text!r}: {item!r} is not a scalar value "
                              "(a number, true/false or a string)") from None
        if (type(value), value) in {(type(p), p) for p in parsed}:
            raise ConfigError(f"--grid {text!r}: {item!r} is listed twice")
        parsed.append(value)
    return key, parsed


@dataclass(frozen=True)
class Range:
    """A random search's range of one key: integers when both ends are integers."""

    key: str
    low: int | float
    high: int | float

    @property
    def integer(self) -> bool:
        """Whether draws are integers (both ends are)."""
        return isinstance(self.low, int) and isinstance(self.high, int)


def parse_range(text: str) -> Range:
    """``KEY=LO:HI`` (one ``--range`` flag).

    >>> parse_range("backtest.slippage_ticks=0:3")
    Range(key='backtest.slippage_ticks', low=0, high=3)
    """
    key, sep, bounds = text.partition("=")
    key = key.strip()
    low_text, colon, high_text = bounds.partition(":")
    if not sep or not key or not colon:
        raise ConfigError(f"--range {text!r}: not KEY=LO:HI (a dotted configuration key "
                          "and two numbers)")
    _check_key("--range", text, key)
    ends: list[int | float] = []
    for end in (low_text.strip(), high_text.strip()):
        try:
            value = _scalar(end) if end else None
        except ValueError:
            value = None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not math.isfinite(value)):
            raise ConfigError(f"--range {text!r}: {end!r} is not a finite number")
        ends.append(value)
    if ends[0] > ends[1]:
        raise ConfigError(f"--range {text!r}: LO {ends[0]} is above HI {ends[1]}")
    return Range(key, ends[0], ends[1])


def expand_grid(grid: Sequence[tuple[str, Sequence[Param]]]) -> list[dict[str, Param]]:
    """Every combination of the keys' values (the first key varies slowest).

    >>> expand_grid([("a", [1, 2]), ("b", ["x", "y"])])
    [{'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}, {'a': 2, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    """
    _unique_keys("--grid", [k for k, _ in grid])
    keys = [k for k, _ in grid]
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(values for _, values in grid))]


def draw_random(ranges: Sequence[Range], n: int, seed: int) -> list[dict[str, Param]]:
    """``n`` configurations drawn from ``ranges`` by ``random.Random(seed)``: the same
    seed gives the same draws. An integer range draws with ``randint`` (both ends
    included), a float range with ``uniform``; draws go config by config, key by key in
    the order given."""
    _unique_keys("--range", [r.key for r in ranges])
    rng = random.Random(seed)  # nosec B311  # seeded random search of a sweep, not a secret
    configs: list[dict[str, Param]] = []
    for _ in range(n):
        config: dict[str, Param] = {}
        for r in ranges:
            if r.integer:
                config[r.key] = rng.randint(int(r.low), int(r.high))
            else:
                config[r.key] = rng.uniform(float(r.low), float(r.high))
        configs.append(config)
    return configs


def _unique_keys(flag: str, keys: Sequence[str]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ConfigError(f"{flag}: key {key} is given twice")
        seen.add(key)


@dataclass(frozen=True)
class Window:
    """A half-open span of market time, ``start_ns <= ts_ns < end_ns``."""

    index: int
    start_ns: int
    end_ns: int

    def contains(self, ts_ns: int) -> bool:
        """Whether ``ts_ns`` falls in the window."""
        return self.start_ns <= ts_ns < self.end_ns


def walk_forward_windows(first_ns: int, last_ns: int, k: int) -> list[Window]:
    """``k + 1`` consecutive, disjoint windows of equal length covering
    ``[first_ns, last_ns]``: fold ``i`` chooses on window ``i`` and tests on ``i + 1``.

    >>> [(w.start_ns, w.end_ns) for w in walk_forward_windows(0, 99, 2)]
    [(0, 33), (33, 66), (66, 100)]
    """
    if k < 1:
        raise ConfigError(f"--walk-forward {k}: needs at least one fold (K >= 1)")
    end = last_ns + 1  # the last event belongs to the last window
    span = end - first_ns
    if span < k + 1:
        raise ConfigError(f"--walk-forward {k}: the data spans {span} ns, too short for "
                          f"{k + 1} windows")
    bounds = [first_ns + span * i // (k + 1) for i in range(k + 1)] + [end]
    return [Window(i, bounds[i], bounds[i + 1]) for i in range(k + 1)]


def _order(value: Any) -> tuple[int, Any]:
    """A total order over mixed parameter values: missing, numbers, then text."""
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))


def row_key(row: Mapping[str, Any], keys: Sequence[str]) -> tuple[tuple[int, Any], ...]:
    """The sort key of ``row`` by each of ``keys`` in turn."""
    return tuple(_order(row.get(k)) for k in keys)


def sort_rows(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """``rows`` in the table's deterministic order: by each of ``keys`` in turn (the
    parameters, then the data and the window), whatever order the tasks finished in."""
    return sorted((dict(r) for r in rows), key=lambda r: row_key(r, keys))


def _metric(value: Any) -> float | Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return value
    return None


def rank_rows(rows: Sequence[Mapping[str, Any]], metric: str) -> list[dict[str, Any]]:
    """``rows`` best first by ``metric`` (higher or lower is better, see
    :data:`RANK_METRICS`); rows without the metric (a failed run, a Sharpe ratio of a flat
    curve) come last; ties keep the given order (the table's, so the ranking is
    deterministic too)."""
    if metric not in RANK_METRICS:
        raise ConfigError(f"--rank-by {metric!r}: not one of {', '.join(RANK_METRICS)}")
    sign = -1 if metric in HIGHER_IS_BETTER else 1
    indexed = [(i, dict(r)) for i, r in enumerate(rows)]

    def key(item: tuple[int, dict[str, Any]]) -> tuple[int, float | Decimal, int]:
        value = _metric(item[1].get(metric))
        if value is None:
            return (1, 0, item[0])
        return (0, sign * value, item[0])

    return [r for _, r in sorted(indexed, key=key)]
