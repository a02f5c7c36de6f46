"""10^7 updates leave memory flat: no allocation per update on the hot path."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np

from bitunix.features import FeatureEngine, RollingVWAP, TickImbalance


def _rss_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096


def test_ten_million_batch_updates_keep_rss_flat() -> None:
    rng = np.random.default_rng(3)
    n = 100_000
    ts = np.arange(n, dtype=np.int64) * 1_000
    px = 60_000 + np.cumsum(rng.normal(0, 1, n))
    qty = rng.lognormal(-3, 1, n)
    side = rng.random(n) < 0.5
    vwap = RollingVWAP(30_000_000_000, 600)
    fe = FeatureEngine(tick_size=0.1)
    samples = []
    for i in range(100):  # 100 x 10^5 updates through each kernel: 10^7
        assert vwap.add_many(ts, px, qty) == n
        fe.on_trades(ts, px, qty, side)
        ts += n * 1_000  # in place: nothing allocated per loop but on_trades' output
        if i in (10, 99):
            samples.append(_rss_bytes())
    # After the allocator has settled (10 loops), 9 x 10^6 more updates must not grow RSS:
    # a per-update leak of even one byte would add ~9 MB.
    assert samples[1] - samples[0] < 512 * 1024


def test_python_per_tick_path_allocates_nothing_that_survives() -> None:
    vwap = RollingVWAP(30_000_000_000, 600)
    tick = TickImbalance(50)
    fe = FeatureEngine(tick_size=0.1, min_samples=1)
    book = np.array([60_000.0, 59_999.9]), np.array([1.0, 2.0])
    ask = np.array([60_000.1, 60_000.2]), np.array([1.5, 0.5])
    fe.on_book(book[0], book[1], ask[0], ask[1], 0)

    def run(start: int, count: int) -> None:
        for i in range(start, start + count):
            price = 60_000.0 + (i % 17) * 0.1
            vwap.add(price, 0.01, i * 1_000)
            tick.add(price)
            fe.on_trade(price, 0.01, i * 1_000, i % 3 == 0)
            fe.write()
            _ = vwap.vwap + vwap.std + tick.ratio

    run(0, 10_000)
    tracemalloc.start()
    try:
        snap_before = tracemalloc.take_snapshot()
        run(10_000, 200_000)
        snap_after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in snap_after.compare_to(snap_before, "filename")
                if s.size_diff > 0)
    assert grown < 64 * 1024
