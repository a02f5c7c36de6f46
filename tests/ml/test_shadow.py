"""Shadow A/B: the challenger scores every row, only the champion decides."""

from __future__ import annotations

import numpy as np

from bitunix.features import FEATURE_NAMES
from bitunix.features import FEATURE_NAMES as NAMES
from bitunix.ml.fallback import RuleFallback
from bitunix.ml.manifest import Metrics
from bitunix.ml.monitor import PerformanceMonitor
from bitunix.ml.runtime import Predictor
from bitunix.ml.shadow import ShadowPair
from bitunix.strategy import OvirxStrategy
from tests.ml.conftest import round_trip
from tests.strategy.crafted import NS, frame

REF = Metrics(
    n=1, base_rate=0.1, auc=None, brier=0.1, log_loss=0.1, ece=0.1, threshold=0.65,
    approvals=0, hit_rate=None,
)


class Seq:
    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.i = 0

    def score(self, vector: np.ndarray) -> float:
        v = self.values[self.i % len(self.values)]
        self.i += 1
        return v


def pair(champion: list[float], challenger: list[float]) -> ShadowPair:
    fb = RuleFallback(NAMES)
    return ShadowPair(
        Predictor(Seq(champion), fb, name="champ"),
        Predictor(Seq(challenger), fb, name="chall"),
        0.65,
        champion_monitor=PerformanceMonitor("champ", REF),
        challenger_monitor=PerformanceMonitor("chall", REF),
    )


def test_champion_decides_and_agreement_is_counted() -> None:
    sp = pair([0.9, 0.9, 0.1, 0.1], [0.9, 0.1, 0.9, 0.1])
    x = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    assert [sp.predict(x) for _ in range(4)] == [0.9, 0.9, 0.1, 0.1]
    r = sp.report()
    assert (r["scored"], r["agree"], r["champion_only"], r["challenger_only"]) == (4, 2, 1, 1)
    assert sp.last_source == "model"


def test_outcomes_are_credited_to_both_models_through_the_strategy() -> None:
    sp = pair([0.9, 0.8], [0.3, 0.7])
    s = OvirxStrategy("BTCUSDT", NAMES, gate=sp, outcome_sink=sp.record_outcome)
    for t, (reason, net) in ((1, ("target", "0.09")), (10, ("stop", "-0.21"))):  # hit, miss
        enter = s.on_tick(t * NS, frame(z=3.0, tick=-0.2, depth=-0.3), True)
        assert enter is not None
        s.on_entry_filled(t * NS, enter.price)
        s.on_position_closed(round_trip(reason, net, exit_s=t + 1))
    r = sp.report()
    assert r["champion_outcomes"] == 2
    assert r["challenger_outcomes"] == 2
    assert sp.champion_monitor.hit_rate() == 0.5
    assert sp.challenger_monitor.calibration_gap() == (0.3 + 0.7) / 2 - 0.5
