"""Degradation alerts: live hit rate and calibration against the manifest's figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bitunix.core.errors import ConfigError
from bitunix.features import FEATURE_NAMES
from bitunix.ml.drift import DriftConfig
from bitunix.ml.manifest import Metrics, ModelManifest
from bitunix.ml.monitor import ModelHealth, MonitorConfig, PerformanceMonitor

REF = Metrics(
    n=500, base_rate=0.1, auc=0.7, brier=0.1, log_loss=0.3, ece=0.05, threshold=0.65,
    approvals=50, hit_rate=0.6,
)
CFG = MonitorConfig(window=100, min_outcomes=50)


def test_no_verdict_before_min_outcomes() -> None:
    mon = PerformanceMonitor("m@1", REF, CFG)
    assert math.isnan(mon.hit_rate())
    assert math.isnan(mon.calibration_gap())
    for _ in range(49):
        mon.record(0.7, False)
    assert mon.check() == []


def test_healthy_model_raises_nothing() -> None:
    mon = PerformanceMonitor("m@1", REF, CFG)
    for i in range(100):
        mon.record(0.65, i % 5 < 3)  # 60 % hits at p 0.65
    assert mon.hit_rate() == pytest.approx(0.6)
    assert mon.check() == []


def test_hit_rate_drop_and_overconfidence_alert() -> None:
    mon = PerformanceMonitor("m@1", REF, CFG)
    for i in range(100):
        mon.record(0.8, i % 10 < 3)  # 30 % hits at p 0.8
    kinds = {a.kind: a for a in mon.check()}
    assert set(kinds) == {"hit_rate", "calibration"}
    assert kinds["hit_rate"].value == pytest.approx(0.3)
    assert kinds["hit_rate"].limit == pytest.approx(0.5)
    assert kinds["calibration"].value == pytest.approx(0.5)
    assert "m@1" in kinds["hit_rate"].message


def test_window_rolls_and_nan_probabilities_are_ignored() -> None:
    mon = PerformanceMonitor("m@1", REF, CFG)
    for _ in range(100):
        mon.record(0.6, False)
    for _ in range(100):
        mon.record(0.6, True)
    mon.record(float("nan"), False)
    assert mon.count == 100
    assert mon.hit_rate() == 1.0


def test_base_rate_is_the_yardstick_when_validation_approved_nothing() -> None:
    ref = Metrics(
        n=500, base_rate=0.4, auc=None, brier=0.2, log_loss=0.6, ece=0.5, threshold=0.65,
        approvals=0, hit_rate=None,
    )
    mon = PerformanceMonitor("m@1", ref, CFG)
    for i in range(60):
        mon.record(0.7, i % 5 == 0)  # 20 % < 0.4 - 0.1
    assert [a.kind for a in mon.check()] == ["hit_rate"]


@pytest.mark.parametrize(
    "bad", [{"window": 10, "min_outcomes": 20}, {"hit_rate_tolerance": -0.1}]
)
def test_monitor_config_validation(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        MonitorConfig(**bad)  # type: ignore[arg-type]


def test_model_health_reports_drift_and_degradation(manifest: ModelManifest) -> None:
    health = ModelHealth(
        manifest,
        DriftConfig(window=300, min_samples=200),
        MonitorConfig(window=60, min_outcomes=50),
    )
    assert health.alerts() == []
    rng = np.random.default_rng(5)
    iv = FEATURE_NAMES.index("realized_vol_bps")
    for _ in range(300):
        row = np.array([rng.choice(r.edges) for r in manifest.reference], dtype=np.float32)
        row[iv] = 1e4  # far beyond anything in training
        health.observe(row)
    for _ in range(60):
        health.record(0.9, False)
    alerts = health.alerts()
    drift = [a for a in alerts if a.kind == "drift"]
    assert "realized_vol_bps" in " ".join(a.message for a in drift)
    # p 0.9 with no hit is far off calibration; the hit-rate floor depends on the manifest
    assert {a.kind for a in alerts} >= {"drift", "calibration"}
