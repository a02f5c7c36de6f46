"""The vectorised research path over one million real trades, against baselines in the run.

The bundled ETHUSDT trades (14,076, read by ``bitunix.data.files.iter_market_file``) are
repeated to 10^6, each copy shifted in time after the previous one. Events per second of:

* screen: ``research.screen`` (features, the rule and the fill model in one native pass,
  then the PnL with numpy), the measured path (target >= 50,000,000 events/s), by the wall
  clock and by the thread's CPU time;
* batch kernels: ``vwap_batch`` + ``tick_ratio_batch`` + ``flow_imbalance_batch``, the same
  three features by the live kernels, one after the other (what the screen would cost
  built from them);
* numpy cumsum: ``np.cumsum`` over the prices, a memory-speed floor for one sequential pass.

    .venv/bin/python -m pytest bench/test_bench_research.py --benchmark-only -p no:cacheprovider
Profile: ``perf record -g .venv/bin/python -m pytest bench/test_bench_research.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bench.conftest import MEDIANS_NS, RATIOS
from bitunix.backtest.research import ScreenParams, TradeArrays, load_trades, screen
from bitunix.data.capture import bundled_capture
from bitunix.features import flow_imbalance_batch, tick_ratio_batch, vwap_batch

EVENTS = 1_000_000
S = 1_000_000_000

RATIOS.extend([
    ("research: batch kernels / screen", "research/batch_kernels", "research/screen"),
    ("research: screen / numpy cumsum", "research/screen", "research/numpy_cumsum"),
])


@pytest.fixture(scope="module")
def million() -> TradeArrays:
    day = load_trades(bundled_capture("ETHUSDT"))
    reps = -(-EVENTS // len(day))
    span = int(day.ts_ns[-1] - day.ts_ns[0]) + 1
    ts = (day.ts_ns[None, :] + np.arange(reps, dtype=np.int64)[:, None] * span).ravel()
    return TradeArrays(ts[:EVENTS], np.tile(day.price, reps)[:EVENTS],
                       np.tile(day.qty, reps)[:EVENTS], np.tile(day.is_buy, reps)[:EVENTS],
                       source="ETHUSDT x repeated")


def _run(benchmark: Any, fn: Callable[[], Any]) -> Any:
    return benchmark.pedantic(fn, rounds=7, iterations=1, warmup_rounds=1)


def _rate(name: str, benchmark: Any) -> float:
    """Events/s from the fastest round (a shared VM's noise only ever slows a round);
    into extra_info and the session summary."""
    stats = getattr(benchmark, "stats", None)
    if stats is None:  # --benchmark-disable
        return 0.0
    best_s = stats.stats.min
    MEDIANS_NS[f"{name} (min)"] = best_s * 1e9 / EVENTS
    rate = EVENTS / best_s
    benchmark.extra_info["events_per_s"] = round(rate)
    print(f"\n{name}: {rate / 1e6:.1f} M events/s (fastest of {len(stats.stats.data)} rounds)")
    return rate


def test_screen(benchmark: Any, record: Callable[..., None], million: TradeArrays) -> None:
    params = ScreenParams()
    result = _run(benchmark, lambda: screen(million, params))
    record("research/screen", benchmark, EVENTS)
    _rate("research/screen", benchmark)
    assert result.events == EVENTS
    assert result.n_trades > 0
    # The thread's CPU time too: on the shared VM other jobs preempt the pass, which the
    # wall clock counts and the CPU clock does not (caches shared with them still cost).
    cpu_ns = []
    for _ in range(7):
        start = time.thread_time_ns()
        screen(million, params)
        cpu_ns.append(time.thread_time_ns() - start)
    best = min(cpu_ns)
    MEDIANS_NS["research/screen (min, cpu time)"] = best / EVENTS
    benchmark.extra_info["events_per_cpu_s"] = round(EVENTS / best * 1e9)


def test_batch_kernels(benchmark: Any, record: Callable[..., None],
                       million: TradeArrays) -> None:
    a = million

    def features() -> np.ndarray:
        vwap_batch(a.ts_ns, a.price, a.qty, 30 * S, 600)
        tick_ratio_batch(a.price, 50)
        return flow_imbalance_batch(a.ts_ns, a.qty, a.is_buy, 30 * S, 4096)

    assert _run(benchmark, features).shape == (EVENTS,)
    record("research/batch_kernels", benchmark, EVENTS)
    _rate("research/batch_kernels", benchmark)


def test_numpy_cumsum(benchmark: Any, record: Callable[..., None],
                      million: TradeArrays) -> None:
    assert _run(benchmark, lambda: np.cumsum(million.price)).shape == (EVENTS,)
    record("research/numpy_cumsum", benchmark, EVENTS)
    _rate("research/numpy_cumsum", benchmark)
