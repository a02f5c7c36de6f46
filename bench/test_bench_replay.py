"""``bitunix-bot replay`` against the features path fed directly, over the bundled capture.

Per event, in the same run:
* direct: the capture's events already parsed (floats, book arrays), straight into
  ``FeatureEngine.on_trade``/``on_book`` + ``write``: the floor of the features path;
* in memory: ``replay_features`` over the decoded ``TradeEvent``/``BookEvent`` list (exact
  strings parsed per event, the summary kept);
* capture: ``replay_features(iter_capture(path))``, what the command runs: inflate, split,
  decode, rebuild the book, then the above;
* inflate: only ``gzip`` reading the capture's lines, the I/O floor under the command.

    .venv/bin/python -m pytest bench/test_bench_replay.py --benchmark-only
Profile: ``python -m cProfile -s tottime -m bitunix replay``.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np
import pytest

from bench.conftest import RATIOS
from bitunix.app.replay import replay_features
from bitunix.data import MarketEvent, TradeEvent, bundled_capture, iter_capture
from bitunix.features import BOOK_LEVELS, FeatureEngine

RATIOS.extend([
    ("replay: capture / direct", "replay/capture", "replay/direct"),
    ("replay: capture / in memory", "replay/capture", "replay/in_memory"),
    ("replay: in memory / direct", "replay/in_memory", "replay/direct"),
    ("replay: capture / inflate alone", "replay/capture", "replay/inflate"),
    ("replay: capture / decode floor", "replay/capture", "replay/decode_floor"),
])

Prepared = list[tuple[Any, ...]]


def _engine(_symbol: str) -> FeatureEngine:
    return FeatureEngine(tick_size=0.1)


@pytest.fixture(scope="module")
def events() -> list[MarketEvent]:
    return list(iter_capture())


@pytest.fixture(scope="module")
def prepared(events: list[MarketEvent]) -> Prepared:
    rows: Prepared = []
    for e in events:
        if isinstance(e, TradeEvent):
            rows.append((True, float(e.price), float(e.qty), e.ts_ns, e.is_buy))
            continue
        bids = np.array(e.bids[:BOOK_LEVELS], dtype=np.float64).reshape(-1, 2)
        asks = np.array(e.asks[:BOOK_LEVELS], dtype=np.float64).reshape(-1, 2)
        rows.append((False, *(np.ascontiguousarray(a) for a in (bids[:, 0], bids[:, 1],
                                                                  asks[:, 0], asks[:, 1])),
                     e.ts_ns))
    return rows


def direct(rows: Prepared) -> int:
    engine = FeatureEngine(tick_size=0.1)
    on_trade, on_book, write = engine.on_trade, engine.on_book, engine.write
    valid = 0
    for row in rows:
        if row[0]:
            on_trade(row[1], row[2], row[3], row[4])
        else:
            on_book(row[1], row[2], row[3], row[4], row[5])
        valid += write()
    return valid


MINS_NS: dict[str, float] = {}  # fastest round per event: the least disturbed by load


def _run(benchmark: Any, fn: Callable[[], Any]) -> Any:
    return benchmark.pedantic(fn, rounds=5, iterations=1, warmup_rounds=1)


def _keep_min(name: str, benchmark: Any, events: int) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        MINS_NS[name] = stats.stats.min * 1e9 / events


def _assert_ratio(slow: str, fast: str, at_most: float) -> None:
    if slow in MINS_NS and fast in MINS_NS:
        ratio = MINS_NS[slow] / MINS_NS[fast]
        assert ratio <= at_most, f"{slow} is {ratio:.2f}x {fast} (at most {at_most}x)"


def test_replay_direct(benchmark: Any, record: Callable[..., None], prepared: Prepared) -> None:
    valid = _run(benchmark, lambda: direct(prepared))
    record("replay/direct", benchmark, len(prepared))
    _keep_min("replay/direct", benchmark, len(prepared))
    assert valid > 0.9 * len(prepared)


def test_replay_in_memory(benchmark: Any, record: Callable[..., None],
                          events: list[MarketEvent], prepared: Prepared) -> None:
    summary = _run(benchmark, lambda: replay_features(events, _engine))
    record("replay/in_memory", benchmark, len(events))
    _keep_min("replay/in_memory", benchmark, len(events))
    _assert_ratio("replay/in_memory", "replay/direct", MAX_IN_MEMORY_OVER_DIRECT)
    assert summary.events == len(events)
    assert summary.rejected == 0
    assert summary.valid_vectors == direct(prepared)  # the same features, like for like


def test_capture_inflate_alone(benchmark: Any, record: Callable[..., None],
                               events: list[MarketEvent]) -> None:
    path = bundled_capture()

    def inflate() -> int:
        with gzip.open(path, "rb") as fh:
            return sum(1 for _ in fh)

    assert _run(benchmark, inflate) > len(events)
    record("replay/inflate", benchmark, len(events))


def test_capture_decode_floor(benchmark: Any, record: Callable[..., None],
                              events: list[MarketEvent]) -> None:
    """What any reader of the capture does: inflate, split the lines, parse the JSON of
    each line it keeps once (generic msgspec: no types, no checks, no book)."""
    path, decode = bundled_capture(), msgspec.json.Decoder().decode

    def floor() -> int:
        kept = 0
        with gzip.open(path, "rb") as fh:
            for line in fh:
                payload = line.split(b" ", 1)[1]
                if b"@bookTicker" not in payload[:48]:
                    decode(payload)
                    kept += 1
        return kept

    assert _run(benchmark, floor) > len(events)
    record("replay/decode_floor", benchmark, len(events))
    _keep_min("replay/decode_floor", benchmark, len(events))


def test_replay_capture(benchmark: Any, record: Callable[..., None],
                        events: list[MarketEvent]) -> None:
    summary = _run(benchmark, lambda: replay_features(iter_capture(), _engine))
    record("replay/capture", benchmark, len(events))
    _keep_min("replay/capture", benchmark, len(events))
    assert summary.events == len(events)
    _assert_ratio("replay/capture", "replay/decode_floor", MAX_CAPTURE_OVER_DECODE_FLOOR)


# replay_features over decoded events against the engine fed pre-parsed floats: the replay
# loop runs in C (EventFeeder.replay), so what remains is parsing the exact strings of
# events scattered over the heap (2.1-2.5x measured; 7x with the loop in Python).
MAX_IN_MEMORY_OVER_DIRECT = 3.0
# The command against what any reader of the capture does (inflate + one untyped JSON
# decode of each kept line): the typed, checked decode, the book and the features cost
# about as much again as that floor (2.4-2.5x measured). The Decimal book (about 5x) or
# decoding the bookTicker lines again breaks it.
MAX_CAPTURE_OVER_DECODE_FLOOR = 3.0
