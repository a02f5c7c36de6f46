"""Playback of market data into the engine: sources, stepping, clocks, candles."""

from __future__ import annotations

from decimal import Decimal
from itertools import islice
from pathlib import Path

from bitunix.core.clock import ManualClock
from bitunix.data import BookEvent, TradeEvent, bundled_capture
from bitunix.data.recording import RecordingWriter
from bitunix.sim.engine import MatchingEngine
from bitunix.sim.market import Candles, Playback, book_event, source_for, to_levels

from .conftest import START_NS, flat_market

D = Decimal


def test_to_levels_and_book_event() -> None:
    levels = to_levels([("60000.10", "1.500")])
    assert levels == [[D("60000.1"), D("1.5")]]
    ev = book_event("BTCUSDT", 5, levels, [[D("60000.2"), D("2")]])
    assert ev.bids == [("60000.10", "1.500")]
    assert ev.asks == [("60000.2", "2")]


def test_stepping_with_a_manual_clock_follows_event_time() -> None:
    clock = ManualClock(0)
    engine = MatchingEngine(clock)
    seen: list[object] = []
    events = [*flat_market(), TradeEvent(ts_ns=START_NS + 20, symbol="DOGEUSDT", price="1",
                                         qty="1", is_buy=True)]
    pb = Playback(engine, lambda: iter(events), clock=clock, on_event=seen.append)
    assert pb.step(2) == 2
    assert clock.now_ns() == START_NS + 1
    assert pb.step(100) == 3  # the unknown symbol is skipped, not applied
    assert pb.applied == 4
    assert len(seen) == 4
    assert engine.markets["BTCUSDT"].last == D("60000")
    candle = pb.trades["BTCUSDT"].current(60)
    assert candle is not None
    assert candle.close == D("60000")
    assert candle.base_volume == D("0.01")
    assert pb.marks["BTCUSDT"].current(60) is not None
    assert pb.step() == 0


def test_loop_restarts_the_source() -> None:
    engine = MatchingEngine(ManualClock(0))
    pb = Playback(engine, lambda: iter(flat_market()), loop=True)
    assert pb.step(10) == 10


def test_candles_roll_over_buckets_and_fold_longer_intervals() -> None:
    c = Candles()
    assert c.current(60) is None
    c.add(60_000, D("10"), D("1"))
    c.add(61_000, D("12"), D("1"))
    c.add(62_000, D("9"), D("2"))
    c.add(120_000, D("11"), D("1"))
    c.add(300_000, D("13"))
    first, second, third = c.series(60)
    assert (first.open, first.high, first.low, first.close) == (D(10), D(12), D(9), D(9))
    assert first.base_volume == D(4)
    assert first.quote_volume == D(10 + 12 + 18)
    assert (second.open_ms, third.open_ms) == (120_000, 300_000)
    five = c.series(300)
    assert [k.open_ms for k in five] == [0, 300_000]
    assert (five[0].open, five[0].high, five[0].low, five[0].close) == (D(10), D(12), D(9),
                                                                       D(11))
    assert five[0].base_volume == D(5)
    now = c.current(300)
    assert now is not None
    assert (now.open_ms, now.close, now.base_volume) == (300_000, D(13), 0)
    hour = c.current(3600)
    assert hour is not None
    assert (hour.high, hour.low, hour.base_volume) == (D(13), D(9), D(5))


def test_sources(tmp_path: Path) -> None:
    bundled = next(iter(source_for(None)()))
    assert bundled.symbol == "BTCUSDT"
    explicit = next(iter(source_for(bundled_capture())()))
    assert explicit == bundled
    synth = list(islice(source_for("synthetic:3", symbol="ETHUSDT")(), 300))
    assert {e.symbol for e in synth} == {"ETHUSDT"}
    rec = tmp_path / "r.txt"
    with RecordingWriter(rec) as w:
        w.write(7, '{"ch":"depth_book1","symbol":"BTCUSDT","ts":1,"data":{"b":[["1","2"]],'
                   '"a":[["3","4"]]}}')
    assert list(source_for(rec)()) == [BookEvent(ts_ns=7, symbol="BTCUSDT", bids=[("1", "2")],
                                                 asks=[("3", "4")])]


async def test_fast_replay_yields_to_other_tasks() -> None:
    import asyncio

    from bitunix.data import TradeEvent

    engine = MatchingEngine(ManualClock(0))
    events = [TradeEvent(ts_ns=1, symbol="BTCUSDT", price="1", qty="1", is_buy=True)
              for _ in range(1000)]
    pb = Playback(engine, lambda: iter(events), speed=1.0)
    seen: list[int] = []

    async def other() -> None:
        while pb.applied < len(events):
            seen.append(pb.applied)
            await asyncio.sleep(0)

    await asyncio.gather(pb.run(), other())
    assert pb.applied == 1000
    assert len(seen) > 5  # the other task ran while the replay was behind schedule
    assert seen[-1] < 1000
