"""Latency of the order path, measured in the process, without allocating per sample.

The path from a market event to the order's request bytes is measured in two spans that
share one start mark: the trader marks the moment it handles the event or the signal
(:meth:`LatencyProbe.start`), the venue adapter calls :meth:`LatencyProbe.written` right
after the request bytes were handed to the socket. Samples go into a preallocated ring of
``int`` nanoseconds; percentiles are computed on demand (run summary, metrics), never on the
hot path.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable

__all__ = ["LatencyProbe", "LatencyRing"]


class LatencyRing:
    """The last ``capacity`` latencies in nanoseconds."""

    __slots__ = ("_buf", "_capacity", "count")

    def __init__(self, capacity: int = 65536) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, was {capacity}")
        self._capacity = capacity
        self._buf = array("q", bytes(8 * capacity))
        self.count = 0

    def add(self, ns: int) -> None:
        """Record one latency."""
        self._buf[self.count % self._capacity] = ns
        self.count += 1

    def samples(self) -> list[int]:
        """The kept samples (at most ``capacity``), oldest first is not guaranteed."""
        return list(self._buf[: min(self.count, self._capacity)])

    def percentile_us(self, p: float) -> float | None:
        """The ``p``-th percentile (0..100, nearest rank) in microseconds; None if empty."""
        data = sorted(self.samples())
        if not data:
            return None
        rank = max(1, min(len(data), round(p / 100.0 * len(data) + 0.5)))
        return data[rank - 1] / 1000.0


class LatencyProbe:
    """Two spans from one start: event -> bytes written and signal -> bytes written.

    ``start_event()`` when a market push is handed to the bot, ``start_signal()`` when the
    trader takes a signal, ``written()`` when the adapter has written the request. A start
    without a write (no order came of it) is simply overwritten by the next start.
    """

    __slots__ = ("_clock", "_event_ns", "_signal_ns", "event_to_order", "signal_to_order")

    def __init__(self, clock: Callable[[], int] = time.perf_counter_ns,
                 capacity: int = 65536) -> None:
        self._clock = clock
        self._event_ns = 0
        self._signal_ns = 0
        self.event_to_order = LatencyRing(capacity)
        self.signal_to_order = LatencyRing(capacity)

    def start_event(self) -> None:
        """A market event arrived (before its features and signals are computed)."""
        self._event_ns = self._clock()

    def start_signal(self) -> None:
        """The trader took a signal (before risk, sizing, serialisation and signing)."""
        self._signal_ns = self._clock()

    def end_event(self) -> None:
        """The market event's callback is over: an order written later (a timer's exit, a
        retry) is not part of its span."""
        self._event_ns = 0
        self._signal_ns = 0

    def written(self) -> None:
        """The request bytes were written: close both spans that are open."""
        now = self._clock()
        if self._signal_ns:
            self.signal_to_order.add(now - self._signal_ns)
            self._signal_ns = 0
        if self._event_ns:
            self.event_to_order.add(now - self._event_ns)
            self._event_ns = 0
