"""Simulator throughput replaying a recording in process, against decoding it alone.

A recording of Bitunix-shaped pushes (``trade`` and ``depth_book15``, ``<recv_ts_ns> <json>``
lines) is written from the first 5,000 events of the bundled real BTCUSDT capture. Measured:

* "sim/decode_recording": read and convert the recording to events (the floor);
* "sim/replay_recording": the same, applied to the matching engine through ``Playback`` on a
  manual clock, with an account holding 20 resting limit orders and a position with TP/SL
  (every event matches resting orders and checks triggers);
* "sim/engine_only": pre-decoded events into the engine (no file, no JSON).

events/s of each is in ``extra_info``; the summary prints the in-run ratios.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from itertools import islice
from pathlib import Path

import pytest

from bench.conftest import RATIOS
from bitunix.core.clock import ManualClock
from bitunix.data import BookEvent, MarketEvent, TradeEvent, iter_capture
from bitunix.data.recording import RecordingWriter, iter_recording_events
from bitunix.sim.engine import MatchingEngine, OrderRequest
from bitunix.sim.market import Playback

EVENTS = 5_000

RATIOS.extend([
    ("sim/replay_recording vs decode floor", "sim/replay_recording", "sim/decode_recording"),
    ("sim/engine_only vs decode floor", "sim/engine_only", "sim/decode_recording"),
])


def _push(event: MarketEvent) -> dict[str, object]:
    if isinstance(event, TradeEvent):
        return {"ch": "trade", "symbol": event.symbol, "ts": event.ts_ns // 1_000_000,
                "data": [{"p": event.price, "v": event.qty, "s": "buy" if event.is_buy
                          else "sell", "t": "2024-08-08T23:54:15Z"}]}
    return {"ch": "depth_book15", "symbol": event.symbol, "ts": event.ts_ns // 1_000_000,
            "data": {"b": [list(lv) for lv in event.bids], "a": [list(lv) for lv in event.asks]}}


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "btcusdt.txt"
    with RecordingWriter(path) as w:
        for event in islice(iter_capture(), EVENTS):
            w.write(event.ts_ns, _push(event))
    return path


def _engine() -> tuple[MatchingEngine, ManualClock]:
    first_book = next(e for e in iter_capture() if isinstance(e, BookEvent))
    clock = ManualClock(first_book.ts_ns)
    engine = MatchingEngine(clock)
    engine.add_account("bench", Decimal("10000000"))
    engine.on_book("BTCUSDT", [[Decimal(p), Decimal(q)] for p, q in first_book.bids],
                   [[Decimal(p), Decimal(q)] for p, q in first_book.asks])
    mid = engine.markets["BTCUSDT"].mark
    assert mid is not None
    engine.place_order("bench", OrderRequest(symbol="BTCUSDT", side="BUY", order_type="MARKET",
                                             qty=Decimal("0.01")))
    (pos,) = engine.accounts["bench"].positions.values()
    engine.place_tpsl("bench", "BTCUSDT", pos.position_id, tp_price=(mid * 2).quantize(1),
                      sl_price=(mid / 2).quantize(1), position_level=True)
    for i in range(10):  # far from the market: checked on every event, rarely filled
        for side, k in (("BUY", -1), ("SELL", 1)):
            price = (mid * (1 + k * Decimal("0.03") * (i + 1) / 10)).quantize(Decimal("0.1"))
            engine.place_order("bench", OrderRequest(symbol="BTCUSDT", side=side,
                                                     order_type="LIMIT", qty=Decimal("0.001"),
                                                     price=price))
    return engine, clock


def _count(events: Iterator[MarketEvent]) -> int:
    return sum(1 for _ in events)


def test_decode_recording(benchmark, record, recording: Path) -> None:  # type: ignore[no-untyped-def]
    n = benchmark(lambda: _count(iter_recording_events(recording)))
    assert n >= EVENTS
    benchmark.extra_info["events_per_s"] = n / benchmark.stats.stats.median
    record("sim/decode_recording", benchmark, n)


def test_replay_recording(benchmark, record, recording: Path) -> None:  # type: ignore[no-untyped-def]
    def setup() -> tuple[tuple[Playback], dict[str, object]]:
        engine, clock = _engine()
        return (Playback(engine, lambda: iter_recording_events(recording), clock=clock),), {}

    n = benchmark.pedantic(lambda pb: pb.step(10**9), setup=setup, rounds=5)
    assert n >= EVENTS
    benchmark.extra_info["events_per_s"] = n / benchmark.stats.stats.median
    record("sim/replay_recording", benchmark, n)


def test_engine_only(benchmark, record, recording: Path) -> None:  # type: ignore[no-untyped-def]
    events = list(iter_recording_events(recording))

    def setup() -> tuple[tuple[Playback], dict[str, object]]:
        engine, clock = _engine()
        return (Playback(engine, lambda: iter(events), clock=clock),), {}

    n = benchmark.pedantic(lambda pb: pb.step(10**9), setup=setup, rounds=5)
    assert n == len(events)
    benchmark.extra_info["events_per_s"] = n / benchmark.stats.stats.median
    record("sim/engine_only", benchmark, n)
