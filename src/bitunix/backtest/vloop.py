"""An asyncio event loop on market time, so a backtest runs the live engine's timers.

The execution engine keeps its timeouts, back-offs and sweeps on ``loop.call_later`` and
reads ``loop.time()``. In a backtest the wall clock means nothing: :class:`MarketTimeLoop`
answers ``time()`` from the backtest's :class:`~bitunix.core.clock.ManualClock`, so a
0.5 s acknowledgement timeout fires 0.5 s of *market* time after the request, whatever the
replay speed, and two runs of the same data fire the same timers at the same events.

The replay drives the clock (``clock.set_ns(event.ts_ns)``) and then calls
:meth:`MarketTimeLoop.run_due` between events: it yields to the loop only when a callback
is ready or a timer is due (a check of two lists, so an idle event costs nothing). When the
data has ended and the replay awaits something (a flatten waiting for its fills), the loop
has nothing to wait on but timers: its selector then moves the clock forward to the next
one instead of sleeping, as if the market had gone quiet.
"""

from __future__ import annotations

import asyncio
import math
import selectors
from typing import Any

from bitunix.core.clock import ManualClock

__all__ = ["MarketTimeLoop"]

_NS = 1_000_000_000
#: A timer is due within 1 us of its deadline.
_RESOLUTION_NS = 1_000


class _JumpingSelector(selectors.DefaultSelector):
    """A selector that never sleeps: a wait for a timer moves the market clock to it."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or not timeout or timeout <= 0 or not math.isfinite(timeout):
            # None: no timer at all. The loop would sleep forever; answering at once lets
            # the caller's own await (and its timeout, a timer) decide instead.
            return ready
        self._clock.advance_ns(max(_RESOLUTION_NS, math.ceil(timeout * _NS)))
        return ready


class MarketTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` is ``clock`` (see the module docs)."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(_JumpingSelector(clock))
        self.clock = clock
        # Seconds from the start, not from the epoch: a float keeps nanoseconds there.
        self._base_ns = clock.now_ns()
        self._clock_resolution = _RESOLUTION_NS / _NS

    def time(self) -> float:
        """The market clock, in seconds since the loop was made."""
        return (self.clock.now_ns() - self._base_ns) / _NS

    def has_due(self) -> bool:
        """Is a callback ready, or a timer due, at the market clock's time?"""
        # Called between every two events: the loop's own lists, read directly.
        if self._ready:  # type: ignore[attr-defined]
            return True
        scheduled: Any = self._scheduled  # type: ignore[attr-defined]
        return bool(scheduled) and scheduled[0]._when < (
            (self.clock.now_ns() - self._base_ns) / _NS + self._clock_resolution)

    async def run_due(self) -> None:
        """Run every ready callback and due timer (and what they make ready in turn) before
        returning to the caller. Called from a task on this loop."""
        while self.has_due():
            await asyncio.sleep(0)

    def has_due_before(self, ts_ns: int) -> bool:
        """Is a callback ready, or a timer due before market time ``ts_ns``?"""
        if self._ready:  # type: ignore[attr-defined]
            return True
        scheduled: Any = self._scheduled  # type: ignore[attr-defined]
        return bool(scheduled) and scheduled[0]._when < (ts_ns - self._base_ns) / _NS

    async def advance_to(self, ts_ns: int) -> None:
        """Run, each at its own market time and in order, every callback and timer due
        before ``ts_ns`` (and what they schedule before it); the clock ends at or before
        ``ts_ns``. Called from a task on this loop, before an event at ``ts_ns``."""
        clock = self.clock
        while self.has_due_before(ts_ns):
            if not self._ready:  # type: ignore[attr-defined]
                when_s = self._scheduled[0].when()  # type: ignore[attr-defined]
                when_ns = self._base_ns + round(when_s * _NS)
                if when_ns > clock.now_ns():
                    clock.set_ns(min(when_ns, ts_ns))
            await asyncio.sleep(0)
