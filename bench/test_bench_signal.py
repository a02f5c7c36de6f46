"""Features to decision per tick: OVIR-X with the rule fallback, the shipped ONNX model and
a logistic model, against the floor of reading the feature vector, in the same run.

Inputs are 1,000 real feature frames from the bundled BTCUSDT capture. "decide/*" runs
``OvirxStrategy.on_tick`` with the entry rules relaxed so that *every* tick reaches the
gate (the worst case; with default rules most ticks stop at the first comparison,
"decide/default_rules") and ``prob_threshold = 1.0`` so nothing is entered and every
tick does the same work. p50/p99 per call are measured one call at a time (timer
overhead of about 40 ns included) and reported in ``extra_info`` and the summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from bench.conftest import MEDIANS_NS, RATIOS
from bitunix.data import TradeEvent, iter_capture
from bitunix.features import FEATURE_NAMES, FeatureEngine
from bitunix.ml.bundled import bundled_model_dir
from bitunix.ml.fallback import RuleFallback
from bitunix.ml.runtime import LogisticScorer, OnnxScorer, Predictor, RuntimeConfig
from bitunix.strategy import FeatureFrame, OvirxConfig, OvirxStrategy
from bitunix.strategy.exits import ExitConfig

FRAMES = 1_000
N = len(FEATURE_NAMES)

RATIOS.extend([
    ("decide/fallback vs vector read floor", "decide/fallback", "floor/tolist"),
    ("decide/onnx_100_trees vs decide/fallback", "decide/onnx_100_trees", "decide/fallback"),
    ("decide/logistic vs decide/fallback", "decide/logistic", "decide/fallback"),
    ("stack/drift_every_tick vs stack/drift_off", "stack/drift_every_tick", "stack/drift_off"),
])


@pytest.fixture(scope="module")
def frames() -> list[FeatureFrame]:
    fe = FeatureEngine(tick_size=0.1)
    out: list[FeatureFrame] = []
    for ev in iter_capture():
        if isinstance(ev, TradeEvent):
            fe.on_trade(float(ev.price), float(ev.qty), ev.ts_ns, ev.is_buy)
            continue
        b = np.array(ev.bids, dtype=np.float64)
        a = np.array(ev.asks, dtype=np.float64)
        fe.on_book(b[:, 0].copy(), b[:, 1].copy(), a[:, 0].copy(), a[:, 1].copy(), ev.ts_ns)
        if fe.write():
            out.append(
                FeatureFrame(fe.vector.copy(), vwap=fe.vwap, std=fe.std,
                             last_price=fe.last_price, mid=fe.mid)
            )
            if len(out) == FRAMES:
                break
    return out


EVERY_TICK = OvirxConfig(
    entry_z=1e-9, max_entry_z=1e9, max_tick_ratio=1.0, min_depth_lean=-1.0,
    max_spread_ticks=1e9, min_std_bps=0.0, min_edge_bps=0.0, prob_threshold=1.0,
    exits=ExitConfig(),
)


def ovirx(gate: Predictor | None, cfg: OvirxConfig = EVERY_TICK) -> OvirxStrategy:
    return OvirxStrategy("BTCUSDT", FEATURE_NAMES, cfg, gate=gate)


def onnx_predictor() -> Predictor:
    scorer = OnnxScorer(bundled_model_dir() / "model.onnx", N)
    return Predictor(scorer, RuleFallback(FEATURE_NAMES), RuntimeConfig(budget_us=1_000))


def logistic_predictor() -> Predictor:
    w = [0.5, -0.3, -0.2, -0.4, 0.0, 0.0, 0.1, 0.2]
    scorer = LogisticScorer(w, -1.0, [0.0] * N, [1.0] * N)
    return Predictor(scorer, RuleFallback(FEATURE_NAMES))


def per_call_percentiles(name: str, call: Callable[[FeatureFrame], object],
                         frames: list[FeatureFrame]) -> tuple[float, float]:
    """p50 and p99 of single calls in ns (timer overhead included, about 40 ns)."""
    lat = np.empty(len(frames) * 5, dtype=np.int64)
    clock = time.perf_counter_ns
    k = 0
    for _ in range(5):
        for f in frames:
            t0 = clock()
            call(f)
            lat[k] = clock() - t0
            k += 1
    p50, p99 = float(np.percentile(lat, 50)), float(np.percentile(lat, 99))
    return p50, p99


def run_case(name: str, benchmark, record, frames: list[FeatureFrame],
             call: Callable[[FeatureFrame], object]) -> None:
    def loop() -> None:
        for f in frames:
            call(f)

    benchmark(loop)
    record(name, benchmark, len(frames))
    p50, p99 = per_call_percentiles(name, call, frames)
    benchmark.extra_info.update(p50_ns=p50, p99_ns=p99)
    MEDIANS_NS[f"{name} single-call p50"] = p50
    MEDIANS_NS[f"{name} single-call p99"] = p99


def test_floor_tolist(benchmark, record, frames: list[FeatureFrame]) -> None:
    run_case("floor/tolist", benchmark, record, frames, lambda f: f.vector.tolist())


def test_decide_default_rules(benchmark, record, frames: list[FeatureFrame]) -> None:
    s = ovirx(Predictor(None, RuleFallback(FEATURE_NAMES)), OvirxConfig(prob_threshold=1.0))
    ts = iter(range(10**12))
    run_case("decide/default_rules", benchmark, record, frames,
             lambda f: s.on_tick(next(ts), f, True))


def test_decide_fallback(benchmark, record, frames: list[FeatureFrame]) -> None:
    s = ovirx(Predictor(None, RuleFallback(FEATURE_NAMES)))
    run_case("decide/fallback", benchmark, record, frames, lambda f: s.on_tick(1, f, True))
    assert s.counters.rejected_by_model > 0


def test_decide_onnx(benchmark, record, frames: list[FeatureFrame]) -> None:
    gate = onnx_predictor()
    s = ovirx(gate)
    run_case("decide/onnx_100_trees", benchmark, record, frames, lambda f: s.on_tick(1, f, True))
    # Every answer is the model's, late (preempted on a shared machine) or not.
    assert gate.stats.model_calls == gate.stats.calls
    assert gate.stats.refusals == gate.stats.fallback_calls == 0


def test_decide_logistic(benchmark, record, frames: list[FeatureFrame]) -> None:
    gate = logistic_predictor()
    s = ovirx(gate)
    run_case("decide/logistic", benchmark, record, frames, lambda f: s.on_tick(1, f, True))
    assert gate.stats.model_calls > 0


def test_write_plus_decide_onnx(benchmark, record, frames: list[FeatureFrame]) -> None:
    """``FeatureEngine.write()`` on a warm engine, then the ONNX-gated decision."""
    fe = FeatureEngine(tick_size=0.1)
    last = frames[-1]
    for i in range(100):
        fe.on_trade(last.last_price + (i % 3) * 0.1, 0.01, i * 10_000_000, i % 2 == 0)
    b = np.array([last.mid - 0.05, last.mid - 0.15])
    a = np.array([last.mid + 0.05, last.mid + 0.15])
    fe.on_book(b, np.array([1.0, 2.0]), a, np.array([1.5, 0.5]), 100 * 10_000_000)
    assert fe.write()
    s = ovirx(onnx_predictor())
    run_case("decide/write_plus_onnx", benchmark, record, frames,
             lambda _f: s.on_tick(1, fe, fe.write()))


def test_stack_default_config(benchmark, record, frames: list[FeatureFrame]) -> None:
    """The app's path: ``SignalStack`` with the repository registry (GBM active, logistic
    shadow), default OVIR-X rules and drift sampling."""
    from pathlib import Path

    from bitunix.strategy import SignalConfig, SignalStack

    models = Path(__file__).resolve().parents[1] / "models"
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, SignalConfig(models_dir=str(models)))
    assert stack.load_error == ""
    ts = iter(range(10**12))
    run_case("stack/default_config", benchmark, record, frames,
             lambda f: stack.on_tick("BTCUSDT", next(ts), f, True))


def _stack_every_tick_to_drift(sample_every: int):  # type: ignore[no-untyped-def]
    from pathlib import Path

    from bitunix.strategy import SignalConfig, SignalStack

    models = Path(__file__).resolve().parents[1] / "models"
    cfg = SignalConfig(models_dir=str(models), drift_sample_every=sample_every,
                       drift_min_abs_z=0.0)
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, cfg)
    assert stack.health is not None
    return stack


@pytest.mark.parametrize(("name", "sample_every"),
                         [("stack/drift_off", 10**12), ("stack/drift_every_tick", 1)])
def test_stack_drift_sampling(benchmark, record, frames: list[FeatureFrame], name: str,
                              sample_every: int) -> None:
    """The tick path with drift sampling on every tick (the worst case: the default
    samples one valid tick in ten with |vwap_z| >= 1) against sampling off, same stack
    and rules. The difference is the cost of ``ModelHealth.observe`` on the tick; PSI is
    computed from ``alerts()`` on a timer."""
    stack = _stack_every_tick_to_drift(sample_every)
    ts = iter(range(10**12))
    run_case(name, benchmark, record, frames,
             lambda f: stack.on_tick("BTCUSDT", next(ts), f, True))
    assert stack.health is not None
    assert (stack.health.drift.observed > 0) == (sample_every == 1)


def test_model_onnx_score_alone(benchmark, record, frames: list[FeatureFrame]) -> None:
    scorer = OnnxScorer(bundled_model_dir() / "model.onnx", N)
    run_case("model/onnx_score", benchmark, record, frames, lambda f: scorer.score(f.vector))
