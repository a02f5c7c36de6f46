"""Native kernels against pure-Python and numpy baselines, in the same run.

Per tick: ``add`` + ``vwap`` + ``std`` from Python, over 1,000 prepared ticks per round.
Batch: the same kernel over 10^6 samples with the GIL released.
Profile with: ``perf record -g .venv/bin/python -m pytest bench/test_bench_kernels.py``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np
import pytest

from bench.conftest import RATIOS
from bitunix.features import FeatureEngine, RollingVWAP, vwap_batch

WINDOW_NS, CAP, TICKS, BATCH = 30_000_000_000, 600, 1_000, 1_000_000

RATIOS.extend([
    ("native vs pure-Python deque (per tick)", "tick/python_deque", "tick/native"),
    ("native vs numpy recompute (per tick)", "tick/numpy_recompute", "tick/native"),
    ("batch add_many vs per-tick from Python", "tick/native", "batch/add_many"),
])


class DequeVWAP:
    """The fair pure-Python baseline: the same O(1) running sums, over a deque."""

    def __init__(self, window_ns: int, max_samples: int) -> None:
        self.window_ns, self.max_samples = window_ns, max_samples
        self.samples: deque[tuple[int, float, float]] = deque()
        self.q = self.pq = self.ppq = 0.0

    def add(self, price: float, qty: float, ts_ns: int) -> None:
        self.samples.append((ts_ns, price, qty))
        self.q += qty
        self.pq += price * qty
        self.ppq += price * price * qty
        cutoff = ts_ns - self.window_ns
        while self.samples and (self.samples[0][0] <= cutoff
                                or len(self.samples) > self.max_samples):
            _, p, q = self.samples.popleft()
            self.q -= q
            self.pq -= p * q
            self.ppq -= p * p * q

    @property
    def vwap(self) -> float:
        return self.pq / self.q if self.q else 0.0

    @property
    def std(self) -> float:
        if not self.q:
            return 0.0
        m = self.pq / self.q
        return math.sqrt(max(self.ppq / self.q - m * m, 0.0))


def _ticks(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = np.cumsum(rng.integers(1, 50_000_000, n), dtype=np.int64)
    px = 60_000 + np.cumsum(rng.standard_t(3, n) * 0.5)
    qty = rng.lognormal(-4, 1.2, n)
    return ts, px, qty


@pytest.fixture(scope="module")
def ticks() -> list[tuple[float, float, int]]:
    ts, px, qty = _ticks(TICKS)
    return list(zip(px.tolist(), qty.tolist(), ts.tolist(), strict=True))


def _per_tick(kernel_factory: Callable[[], object],
              ticks: list[tuple[float, float, int]]) -> Callable[[], float]:
    def run() -> float:
        k = kernel_factory()
        add = k.add
        total = 0.0
        for price, qty, ts in ticks:
            add(price, qty, ts)
            total += k.vwap + k.std
        return total
    return run


def test_tick_native(benchmark, record, ticks) -> None:
    benchmark(_per_tick(lambda: RollingVWAP(WINDOW_NS, CAP), ticks))
    record("tick/native", benchmark, TICKS)


def test_tick_python_deque(benchmark, record, ticks) -> None:
    benchmark(_per_tick(lambda: DequeVWAP(WINDOW_NS, CAP), ticks))
    record("tick/python_deque", benchmark, TICKS)


def test_tick_numpy_recompute(benchmark, record, ticks) -> None:
    ts = np.array([t for *_, t in ticks], dtype=np.int64)
    px = np.array([p for p, _, _ in ticks])
    qty = np.array([q for _, q, _ in ticks])

    def run() -> float:
        total = 0.0
        for i in range(len(ts)):
            lo = max(0, i + 1 - CAP)
            lo += int(np.searchsorted(ts[lo:i + 1], ts[i] - WINDOW_NS, side="right"))
            p, q = px[lo:i + 1], qty[lo:i + 1]
            vwap = float(np.average(p, weights=q))
            total += vwap + math.sqrt(float(np.average((p - vwap) ** 2, weights=q)))
        return total

    benchmark(run)
    record("tick/numpy_recompute", benchmark, TICKS)


def test_batch_add_many(benchmark, record) -> None:
    ts, px, qty = _ticks(BATCH)

    def run() -> int:
        return RollingVWAP(WINDOW_NS, CAP).add_many(ts, px, qty)

    assert benchmark(run) == BATCH
    record("batch/add_many", benchmark, BATCH)


def test_batch_vwap_with_outputs(benchmark, record) -> None:
    ts, px, qty = _ticks(BATCH)
    vwap, _ = benchmark(vwap_batch, ts, px, qty, WINDOW_NS, CAP)
    assert vwap.shape == (BATCH,)
    record("batch/vwap_batch(vwap+std per row)", benchmark, BATCH)


def test_batch_feature_engine(benchmark, record) -> None:
    ts, px, qty = _ticks(BATCH)
    side = np.random.default_rng(2).random(BATCH) < 0.5

    def run() -> object:
        fe = FeatureEngine(tick_size=0.1)
        return fe.on_trades(ts, px, qty, side)

    benchmark(run)
    record("batch/FeatureEngine.on_trades (8 features/row)", benchmark, BATCH)


def test_tick_feature_engine(benchmark, record, ticks) -> None:
    fe = FeatureEngine(tick_size=0.1)
    fe.on_book(np.array([59_999.9]), np.array([1.0]), np.array([60_000.1]), np.array([2.0]), 0)

    def run() -> None:
        fe.reset()
        on_trade, write = fe.on_trade, fe.write
        for price, qty, ts in ticks:
            on_trade(price, qty, ts, True)
            write()

    benchmark(run)
    record("tick/FeatureEngine on_trade+write", benchmark, TICKS)
