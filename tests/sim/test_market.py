"""Playback of market data into the engine: sources, stepping, clocks, candles."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from decimal import Decimal
from itertools import islice
from pathlib import Path

import pytest

from bitunix.core.clock import ManualClock
from bitunix.data import BookEvent, MarketEvent, TradeEvent, bundled_capture
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


class VirtualTime:
    """A loop clock that moves only when the replay sleeps: the schedule, not the CPU."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps = 0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


def trades_at(offsets_ms: list[int]) -> list[MarketEvent]:
    return [TradeEvent(ts_ns=START_NS + ms * 1_000_000, symbol="BTCUSDT", price="60000",
                       qty="0.01", is_buy=True) for ms in offsets_ms]


async def replay_times(events: list[MarketEvent], passes: int, speed: float
                       ) -> list[tuple[int, float]]:
    """(pass, virtual loop time) of every event applied over ``passes`` passes."""
    vt = VirtualTime()
    seen: list[tuple[int, float]] = []
    pb = Playback(MatchingEngine(ManualClock(START_NS)), lambda: iter(events), speed=speed,
                  loop=True, on_event=lambda _e: seen.append((pb.passes, vt.now())))
    task = asyncio.create_task(pb.run(now=vt.now, sleep=vt.sleep))
    for _ in range(100_000):
        if len(seen) >= passes * len(events):
            break
        await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return seen[:passes * len(events)]


@pytest.mark.parametrize("speed", [1.0, 4.0])
async def test_every_pass_of_a_looped_source_keeps_market_time(speed: float) -> None:
    """Only the first pass was paced: from the second on, every event was already due and
    the loop replayed hundreds of thousands of events a second (75 % of a core, idle)."""
    offsets = [0, 100, 250, 400, 1000, 1600]
    events = trades_at(offsets)
    seen = await replay_times(events, passes=3, speed=speed)
    assert [p for p, _ in seen] == [1] * 6 + [2] * 6 + [3] * 6
    times = [t for _, t in seen]
    pass_s = (1600 + 1600 / 5) / 1000 / speed   # span plus one mean gap, in loop seconds
    for k in range(3):
        for i, ms in enumerate(offsets):
            assert times[6 * k + i] - times[0] == pytest.approx(
                k * pass_s + ms / 1000 / speed, abs=1e-9), (k, i)


async def test_a_pass_of_one_timestamp_still_takes_a_second_of_market_time() -> None:
    events = trades_at([0, 0, 0])
    seen = await replay_times(events, passes=4, speed=1.0)
    starts = [t for i, (_, t) in enumerate(seen) if i % 3 == 0]
    assert [b - a for a, b in itertools.pairwise(starts)] == pytest.approx([1.0] * 3)


async def test_an_idle_server_replays_at_market_pace_not_in_a_busy_loop() -> None:
    """A looped source of three trades 100 ms apart at speed 1, no client: over ~0.6 s the
    replay may apply at most one event per 100 ms (plus the first), however fast the CPU.
    The unpaced second pass applied thousands."""
    from bitunix.sim.server import SimServer

    events = trades_at([0, 100, 200])
    async with SimServer(source=lambda: iter(events), speed=1.0, loop_data=True,
                         push_interval_s=0.3) as sim:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.sleep(0.6)
        elapsed = loop.time() - t0
        applied = sim.playback.applied
    assert sim.playback.passes >= 2  # the test spans a pass boundary
    assert applied <= elapsed / 0.1 + 2


def test_a_trade_csv_is_a_source_with_books_derived_from_its_trades(tmp_path: Path) -> None:
    """The simulator replays any market-data file; trade-only data gets books (without
    them nothing fills a market order and the bot never decides)."""
    from bitunix.sim.contracts import default_contracts

    data = tmp_path / "BTCUSDT-trades.csv"
    rows = [f"{1723161255000 + i * 100},{60000 + (i % 7) / 10:.1f},0.01,"
            f"{'buy' if i % 2 else 'sell'}" for i in range(40)]
    data.write_text("timestamp,price,qty,side\n" + "\n".join(rows) + "\n")
    plain = list(source_for(data)())
    assert all(isinstance(e, TradeEvent) for e in plain)
    assert len(plain) == 40
    events = list(source_for(data, contracts=default_contracts())())
    books = [e for e in events if isinstance(e, BookEvent)]
    assert len(events) - len(books) == 40
    assert len(books) >= 10  # one per 300 ms of 4 s
    assert all(float(b.bids[0][0]) < float(b.asks[0][0]) for b in books)
