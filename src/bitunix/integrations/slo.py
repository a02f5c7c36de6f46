"""Service-level objectives of a run and their error-budget burn rates (pure: no I/O).

An SLO here is a fraction of good events: feed samples in which the public feed was
fresh, orders acknowledged within the target, orders the venue accepted. Events are
counted in time buckets (:class:`SloWindow`); over a window the *error ratio* is
``bad / (good + bad)`` and the *burn rate* is that ratio over the error budget
``1 - objective``: 1.0 spends the budget exactly over the SLO period, 14.4 spends a 30-day
budget's 2 % in one hour. A :class:`~bitunix.config.alerting.BurnRule` fires while both of
its windows burn at its factor or faster (the multi-window rule of the SRE workbook).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from bitunix.config.alerting import BurnRule, SloSection
from bitunix.model import Order, OrderStatus

__all__ = ["SLO_NAMES", "SloTracker", "SloWindow"]

#: The tracked objectives, in the order they are exported.
SLO_NAMES = ("feed_uptime", "ack_latency", "order_success")


class SloWindow:
    """Good and bad events per ``bucket_s`` bucket, kept for ``horizon_s`` (the longest
    window asked about); memory is bounded by ``horizon_s / bucket_s`` buckets."""

    def __init__(self, objective: float, *, horizon_s: float, bucket_s: float) -> None:
        self.objective = objective
        self.bucket_s = bucket_s
        self._keep = math.ceil(horizon_s / bucket_s) + 1
        #: ``[bucket index, good, bad]``, oldest first.
        self.buckets: deque[list[int]] = deque()
        self.good = 0
        self.bad = 0

    def _index(self, now_s: float) -> int:
        return math.floor(now_s / self.bucket_s)

    def record(self, now_s: float, good: bool) -> None:
        """One event at ``now_s``."""
        index = self._index(now_s)
        buckets = self.buckets
        if not buckets or buckets[-1][0] != index:
            buckets.append([index, 0, 0])
            while buckets and buckets[0][0] <= index - self._keep:
                buckets.popleft()
        bucket = buckets[-1]
        if good:
            bucket[1] += 1
            self.good += 1
        else:
            bucket[2] += 1
            self.bad += 1

    def counts(self, now_s: float, window_s: float) -> tuple[int, int]:
        """``(good, bad)`` in the last ``window_s`` (whole buckets, the current one in)."""
        first = self._index(now_s) - math.ceil(window_s / self.bucket_s) + 1
        good = bad = 0
        for index, g, b in reversed(self.buckets):
            if index < first:
                break
            good += g
            bad += b
        return good, bad

    def error_ratio(self, now_s: float, window_s: float) -> float:
        """Bad events over all events in the window (0.0 with none)."""
        good, bad = self.counts(now_s, window_s)
        total = good + bad
        return bad / total if total else 0.0

    def burn_rate(self, now_s: float, window_s: float) -> float:
        """The window's error ratio over the error budget ``1 - objective``."""
        return self.error_ratio(now_s, window_s) / (1.0 - self.objective)

    def burning(self, rule: BurnRule, now_s: float) -> bool:
        """Whether both of ``rule``'s windows burn at its factor or faster."""
        return (self.burn_rate(now_s, rule.long_window_s) >= rule.factor
                and self.burn_rate(now_s, rule.short_window_s) >= rule.factor)


class SloTracker:
    """The run's three objectives (see the module docs). :meth:`on_order` runs in the
    trading path: a dictionary lookup and, on an acknowledgement, two bucket updates.
    ``now_s`` is the clock of the windows (``time.monotonic``)."""

    def __init__(self, section: SloSection, *,
                 now_s: Callable[[], float] = time.monotonic) -> None:
        self.section = section
        self.now_s = now_s
        horizon = max([r.long_window_s for r in section.burn] or [section.bucket_s])
        objectives = {"feed_uptime": section.feed_uptime, "ack_latency": section.ack_latency,
                      "order_success": section.order_success}
        self.windows = {name: SloWindow(objectives[name], horizon_s=horizon,
                                        bucket_s=section.bucket_s) for name in SLO_NAMES}
        #: Orders sent and not yet answered: client id -> when (``now_s``).
        self._sent: dict[str, float] = {}

    def sample_feed(self, fresh: bool) -> None:
        """One feed sample: fresh or stale."""
        self.windows["feed_uptime"].record(self.now_s(), fresh)

    def on_order(self, order: Order) -> None:
        """An order's latest state: the first one (``INIT``: sent) starts its clock; the
        venue's first answer scores its acknowledgement time and whether it was
        accepted."""
        cid, status = order.client_id, order.status
        if status is OrderStatus.INIT and not order.venue_id:
            if cid not in self._sent and len(self._sent) < 100_000:
                self._sent[cid] = self.now_s()
            return
        sent = self._sent.pop(cid, None)
        if sent is None:
            return
        now = self.now_s()
        self.windows["ack_latency"].record(now, now - sent <= self.section.ack_target_s)
        self.windows["order_success"].record(now, status is not OrderStatus.REJECTED)

    def burning(self) -> list[tuple[str, int, BurnRule]]:
        """``(slo, rule index, rule)`` for every rule firing now."""
        now = self.now_s()
        return [(name, i, rule) for name in SLO_NAMES
                for i, rule in enumerate(self.section.burn)
                if self.windows[name].burning(rule, now)]
