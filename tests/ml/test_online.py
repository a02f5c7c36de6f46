"""Online learning: learns from outcomes, stays within its bounds, reverts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bitunix.core.errors import ConfigError
from bitunix.features import FEATURE_NAMES
from bitunix.ml.fallback import RuleFallback
from bitunix.ml.manifest import LogisticParams
from bitunix.ml.online import OnlineConfig, OnlineLogistic
from bitunix.ml.runtime import LogisticScorer, Predictor
from bitunix.strategy import OvirxConfig, OvirxStrategy
from tests.ml.conftest import round_trip
from tests.strategy.crafted import NS, frame

N = len(FEATURE_NAMES)
ANCHOR = LogisticParams(weights=[0.0] * N, bias=0.0, mean=[0.0] * N, scale=[1.0] * N)


def row(x0: float) -> np.ndarray:
    v = np.zeros(N, dtype=np.float32)
    v[0] = x0
    return v


def test_starts_at_the_anchor_and_matches_the_static_scorer() -> None:
    anchor = LogisticParams(weights=[0.3] * N, bias=-0.2, mean=[0.1] * N, scale=[2.0] * N)
    m = OnlineLogistic(anchor)
    static = LogisticScorer(anchor.weights, anchor.bias, anchor.mean, anchor.scale)
    v = np.linspace(-1, 1, N).astype(np.float32)
    assert m.score(v) == pytest.approx(static.score(v))
    assert m.max_shift() == 0.0


def test_learns_a_signal_from_outcomes() -> None:
    rng = np.random.default_rng(0)
    m = OnlineLogistic(ANCHOR, OnlineConfig(learning_rate=0.05, max_shift=2.0))
    for _ in range(2000):
        x0 = float(rng.normal())
        m.update(row(x0), x0 > 0)
    assert m.weights[0] > 0.5
    assert m.score(row(2.0)) > 0.7
    assert m.score(row(-2.0)) < 0.3
    assert m.auto_reverts == 0
    assert m.updates == 2000


def test_steps_and_total_shift_are_bounded() -> None:
    cfg = OnlineConfig(learning_rate=10.0, max_step=0.05, max_shift=0.3, revert_margin=1e9)
    m = OnlineLogistic(ANCHOR, cfg)
    m.update(row(1.0), True)
    assert m.max_shift() == pytest.approx(0.05)
    for _ in range(100):
        m.update(row(1.0), True)
    assert m.max_shift() == pytest.approx(0.3)
    assert m.weights[0] == pytest.approx(0.3)


def test_revert_restores_the_anchor_exactly_and_snapshot_round_trips() -> None:
    m = OnlineLogistic(ANCHOR, OnlineConfig(learning_rate=0.5))
    for i in range(20):
        m.update(row(1.0 if i % 2 else -1.0), i % 2 == 1)
    snap = m.snapshot()
    assert snap.weights != ANCHOR.weights
    assert LogisticScorer(snap.weights, snap.bias, snap.mean, snap.scale).score(
        row(1.0)
    ) == pytest.approx(m.score(row(1.0)))
    m.revert()
    assert m.weights == ANCHOR.weights
    assert m.bias == ANCHOR.bias
    assert m.reverts == 1


def test_auto_revert_when_worse_than_the_anchor() -> None:
    # a good anchor; outcomes that flip every 25 steps drag a fast learner astray
    anchor = LogisticParams(weights=[2.0] + [0.0] * (N - 1), bias=0.0, mean=[0.0] * N,
                            scale=[1.0] * N)
    cfg = OnlineConfig(learning_rate=1.0, max_step=1.0, max_shift=5.0, window=50,
                       min_outcomes=20, revert_margin=0.01)
    m = OnlineLogistic(anchor, cfg)
    rng = np.random.default_rng(1)
    for i in range(400):
        x0 = float(rng.normal())
        truth = x0 > 0
        m.update(row(x0), truth if (i // 25) % 2 == 0 else not truth)
    assert m.auto_reverts >= 1


def test_non_finite_features_are_ignored() -> None:
    m = OnlineLogistic(ANCHOR)
    m.update(row(math.nan), True)
    assert m.ignored == 1
    assert m.updates == 0


def test_strategy_learner_hook_feeds_entry_features() -> None:
    m = OnlineLogistic(ANCHOR, OnlineConfig(learning_rate=0.5))
    seen: list[tuple[float, bool]] = []
    gate = Predictor(m, RuleFallback(FEATURE_NAMES))
    s = OvirxStrategy(
        "BTCUSDT",
        FEATURE_NAMES,
        OvirxConfig(prob_threshold=0.5),  # the untrained anchor scores 0.5
        gate=gate,
        learner=lambda v, hit: (seen.append((float(v[0]), hit)), m.update(v, hit)),
    )
    enter = s.on_tick(1 * NS, frame(z=3.0, tick=-0.2, depth=-0.3), True)
    assert enter is not None
    s.on_entry_filled(1 * NS, enter.price)
    s.on_position_closed(round_trip("target", "0.09", exit_s=2))  # execution: hit
    assert seen == [(3.0, True)]
    assert m.updates == 1
    assert m.max_shift() > 0.0


@pytest.mark.parametrize(
    "bad", [{"learning_rate": 0.0}, {"l2_to_anchor": -1.0}, {"window": 5, "min_outcomes": 10}]
)
def test_config_and_anchor_validation(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        OnlineConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        OnlineLogistic(LogisticParams(weights=[1.0], bias=0.0, mean=[0.0, 0.0], scale=[1.0]))
    with pytest.raises(ConfigError):
        OnlineLogistic(LogisticParams(weights=[1.0], bias=0.0, mean=[0.0], scale=[0.0]))
