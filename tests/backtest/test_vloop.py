"""MarketTimeLoop: the engine's timers on the data's clock, not the wall clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from bitunix.backtest.vloop import MarketTimeLoop
from bitunix.core.clock import ManualClock

T = TypeVar("T")
S = 1_000_000_000
MS = 1_000_000
#: 2024-08-08T00:00:00Z: a realistic epoch, where a float of seconds loses nanoseconds.
BASE = 1_723_075_200 * S


@pytest.fixture
def loop() -> Iterator[MarketTimeLoop]:
    market = MarketTimeLoop(ManualClock(BASE))
    try:
        yield market
    finally:
        market.close()


def _run(loop: MarketTimeLoop, body: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await body()

    return loop.run_until_complete(main())


def test_time_is_seconds_from_the_start_exact_in_ns(loop: MarketTimeLoop) -> None:
    assert loop.time() == 0.0
    loop.clock.set_ns(BASE + 1)
    assert loop.time() == 1e-9
    loop.clock.set_ns(BASE + 123_456_789)
    assert loop.time() == 0.123456789
    loop.clock.set_ns(BASE + 3 * 3600 * S + 7)
    assert round(loop.time() * S) == 3 * 3600 * S + 7
    # From the epoch, a float could not tell these nanoseconds apart.
    assert (BASE + 3 * 3600 * S + 7) / S == (BASE + 3 * 3600 * S + 8) / S


def test_call_later_fires_at_market_time(loop: MarketTimeLoop) -> None:
    fired: list[int] = []

    async def body() -> None:
        loop.call_later(0.5, lambda: fired.append(loop.clock.now_ns()))
        await loop.run_due()
        assert fired == []
        loop.clock.set_ns(BASE + 499 * MS)
        await loop.run_due()
        assert fired == []  # 1 ms early: no wall-clock time makes it due
        loop.clock.set_ns(BASE + 500 * MS)
        await loop.run_due()
        assert fired == [BASE + 500 * MS]

    started = time.monotonic()
    _run(loop, body)
    assert time.monotonic() - started < 0.4  # the 0.5 s were market time, not slept


def test_run_due_runs_ready_callbacks_and_what_they_make_ready(loop: MarketTimeLoop) -> None:
    order: list[str] = []

    def first() -> None:
        order.append("first")
        loop.call_soon(lambda: order.append("made ready by first"))

    async def body() -> None:
        loop.call_soon(first)
        loop.call_soon(lambda: order.append("second"))
        assert loop.has_due()
        await loop.run_due()
        assert not loop.has_due()

    _run(loop, body)
    assert order == ["first", "second", "made ready by first"]


def test_run_due_runs_only_timers_due_now(loop: MarketTimeLoop) -> None:
    fired: list[str] = []

    async def body() -> None:
        loop.call_later(0.2, fired.append, "0.2 s")
        loop.call_later(1.0, fired.append, "1 s")
        loop.clock.set_ns(BASE + 600 * MS)
        await loop.run_due()

    _run(loop, body)
    assert fired == ["0.2 s"]


def test_advance_to_runs_earlier_timers_in_order_at_their_own_times(
        loop: MarketTimeLoop) -> None:
    seen: list[tuple[str, int]] = []

    def at(name: str) -> Callable[[], None]:
        return lambda: seen.append((name, loop.clock.now_ns()))

    def chain() -> None:
        # A timer scheduled by a timer, still before the event: it runs too, at its time.
        seen.append(("chain", loop.clock.now_ns()))
        loop.call_later(0.15, at("chained"))

    async def body() -> None:
        loop.call_later(0.3, at("c"))
        loop.call_later(0.1, at("a"))
        loop.call_later(0.2, chain)
        loop.call_later(1.0, at("at the event"))
        loop.call_later(2.0, at("after the event"))
        await loop.advance_to(BASE + S)

    _run(loop, body)
    assert seen == [
        ("a", BASE + 100 * MS),
        ("chain", BASE + 200 * MS),
        ("c", BASE + 300 * MS),
        ("chained", BASE + 350 * MS),
    ]
    # The clock stops at the last timer run, not past the event.
    assert loop.clock.now_ns() == BASE + 350 * MS
    assert not loop.has_due_before(BASE + S)
    assert loop.has_due_before(BASE + S + 1)


def test_advance_to_with_nothing_due_leaves_the_clock(loop: MarketTimeLoop) -> None:
    async def body() -> None:
        loop.call_later(5.0, lambda: None)
        await loop.advance_to(BASE + S)

    _run(loop, body)
    assert loop.clock.now_ns() == BASE


def test_advance_to_runs_ready_callbacks_without_moving_the_clock(
        loop: MarketTimeLoop) -> None:
    ran: list[int] = []

    async def body() -> None:
        loop.call_soon(lambda: ran.append(loop.clock.now_ns()))
        await loop.advance_to(BASE + S)

    _run(loop, body)
    assert ran == [BASE]
    assert loop.clock.now_ns() == BASE


def test_a_sleep_with_no_events_jumps_the_clock(loop: MarketTimeLoop) -> None:
    async def body() -> int:
        await asyncio.sleep(10)
        return loop.clock.now_ns()

    started = time.monotonic()
    woke = _run(loop, body)
    assert time.monotonic() - started < 2.0
    # The selector moved the market clock to the timer (within the loop's 1 us resolution).
    assert abs(woke - (BASE + 10 * S)) <= 1_000
    assert loop.clock.now_ns() == woke


def test_a_timeout_fires_on_market_time_when_the_data_has_ended(loop: MarketTimeLoop) -> None:
    """A flatten waiting for fills that never come gives up at its own timeout."""

    async def body() -> int:
        never: asyncio.Future[None] = loop.create_future()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(never, timeout=2.5)
        return loop.clock.now_ns()

    woke = _run(loop, body)
    assert abs(woke - (BASE + 2_500 * MS)) <= 1_000
