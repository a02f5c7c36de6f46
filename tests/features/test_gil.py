"""Batch kernels release the GIL: another Python thread runs while one is computing."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from bitunix.features import (
    FeatureEngine,
    RollingVWAP,
    depth_imbalance_batch,
    flow_imbalance_batch,
    realized_vol_batch,
    tick_ratio_batch,
    vwap_batch,
)

N = 24_000_000  # long enough (>= 40 ms) even for the fastest kernel here
TS = np.arange(N, dtype=np.int64) * 1_000
PX = 60_000 + np.cumsum(np.random.default_rng(0).normal(0, 1, N))
QTY = np.full(N, 0.01)
SIDE = np.arange(N) % 2 == 0
BOOK = np.ones((N // 2, 2))
Q = N // 4


@pytest.mark.parametrize(
    "batch",
    [
        lambda: vwap_batch(TS, PX, QTY, 10**10, 600),
        lambda: RollingVWAP(10**10, 600).add_many(TS, PX, QTY),
        lambda: tick_ratio_batch(PX, 50),
        lambda: flow_imbalance_batch(TS, QTY, SIDE, 10**10, 600),
        lambda: realized_vol_batch(TS, PX, 10**10, 600),
        lambda: FeatureEngine(tick_size=0.1).on_trades(TS[:Q], PX[:Q], QTY[:Q], SIDE[:Q]),
        lambda: depth_imbalance_batch(BOOK, BOOK),
    ],
    ids=["vwap_batch", "add_many", "tick_ratio_batch", "flow_imbalance_batch",
         "realized_vol_batch", "FeatureEngine.on_trades", "depth_imbalance_batch"],
)
def test_other_threads_run_during_a_batch(batch: Callable[[], object]) -> None:
    # Any reading inside proves it; a GIL holder allows none. (On a loaded 2-core machine
    # the OS may still give this thread little time, so no large count is demanded.)
    assert _timestamps_inside(batch) > 10


def test_the_method_detects_a_gil_holder() -> None:
    """Negative control: a pure-Python worker holds the GIL between switch intervals."""
    assert _timestamps_inside(lambda: sum(range(30_000_000))) == 0


def _timestamps_inside(batch: Callable[[], object]) -> int:
    """How often this thread read the clock well inside ``batch`` running on another."""
    span: list[float] = []

    def work() -> None:
        span.append(time.perf_counter())
        batch()
        span.append(time.perf_counter())

    worker = threading.Thread(target=work)
    worker.start()
    seen: list[float] = []
    while worker.is_alive() and len(seen) < 5_000_000:
        seen.append(time.perf_counter())
    worker.join(60)
    # A kernel holding the GIL would let this thread run only in the switch intervals
    # around the call, never in the middle of it: look only well inside the call.
    margin = 4 * sys.getswitchinterval()
    start, end = span[0] + margin, span[1] - margin
    assert end - start > margin, "batch too short to tell"
    return sum(1 for t in seen if start < t < end)
