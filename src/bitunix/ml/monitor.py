"""Live model quality: realised hit rate and calibration against the manifest's figures.

Strategies report each closed position as ``(probability at entry, hit)``. Over the last
``window`` outcomes the monitor computes the hit rate and the calibration gap (mean
probability minus hit rate). Once ``min_outcomes`` are in, it alerts when

* the hit rate falls more than ``hit_rate_tolerance`` below the manifest's validation
  hit rate (or its base rate when validation approved nothing), or
* the absolute calibration gap exceeds the manifest's ECE by more than
  ``calibration_tolerance``.

This is what the earlier bot lacked ("model quality degrading with nothing noticing").
"""

from __future__ import annotations

import math
from collections import deque

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.core.errors import ConfigError
from bitunix.ml.drift import DriftConfig, DriftMonitor
from bitunix.ml.manifest import Metrics, ModelManifest


class MonitorConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Degradation alert thresholds (defaults: 100 outcomes, 50 minimum, 0.1 tolerances)."""

    window: int = 100
    min_outcomes: int = 50
    hit_rate_tolerance: float = 0.1
    calibration_tolerance: float = 0.1

    def __post_init__(self) -> None:
        if not 1 <= self.min_outcomes <= self.window:
            raise ConfigError("monitor: need 1 <= min_outcomes <= window")
        for name in ("hit_rate_tolerance", "calibration_tolerance"):
            value = getattr(self, name)
            if not (value >= 0.0 and math.isfinite(value)):
                raise ConfigError(f"monitor.{name} must be >= 0, was {value!r}")


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """A degradation or drift finding, ready for logs and metrics."""

    kind: str
    model: str
    value: float
    limit: float
    message: str


class PerformanceMonitor:
    """Rolling hit rate and calibration of one model's approved trades."""

    def __init__(self, model: str, reference: Metrics, config: MonitorConfig | None = None) -> None:
        self.model = model
        self.reference = reference
        self.config = config or MonitorConfig()
        self._outcomes: deque[tuple[float, bool]] = deque(maxlen=self.config.window)

    def record(self, probability: float, hit: bool) -> None:
        """Add one realised outcome (the strategies' ``outcome_sink``)."""
        if math.isfinite(probability):
            self._outcomes.append((probability, hit))

    @property
    def count(self) -> int:
        """Outcomes in the window."""
        return len(self._outcomes)

    def hit_rate(self) -> float:
        """Share of hits in the window (NaN when empty)."""
        if not self._outcomes:
            return math.nan
        return sum(1 for _, h in self._outcomes if h) / len(self._outcomes)

    def calibration_gap(self) -> float:
        """Mean predicted probability minus the hit rate (NaN when empty)."""
        if not self._outcomes:
            return math.nan
        return sum(p for p, _ in self._outcomes) / len(self._outcomes) - self.hit_rate()

    def check(self) -> list[Alert]:
        """Alerts for the current window (empty before ``min_outcomes``)."""
        cfg = self.config
        if len(self._outcomes) < cfg.min_outcomes:
            return []
        alerts: list[Alert] = []
        ref = self.reference
        expected = ref.hit_rate if ref.hit_rate is not None else ref.base_rate
        floor = expected - cfg.hit_rate_tolerance
        rate = self.hit_rate()
        if rate < floor:
            alerts.append(
                Alert(
                    kind="hit_rate",
                    model=self.model,
                    value=rate,
                    limit=floor,
                    message=f"{self.model}: live hit rate {rate:.3f} over {self.count} trades is "
                    f"below {floor:.3f} (validation {expected:.3f} - {cfg.hit_rate_tolerance})",
                )
            )
        gap = self.calibration_gap()
        limit = ref.ece + cfg.calibration_tolerance
        if abs(gap) > limit:
            alerts.append(
                Alert(
                    kind="calibration",
                    model=self.model,
                    value=gap,
                    limit=limit,
                    message=f"{self.model}: mean probability exceeds the hit rate by {gap:+.3f} "
                    f"over {self.count} trades (limit {limit:.3f} = ECE {ref.ece:.3f} + "
                    f"{cfg.calibration_tolerance})",
                )
            )
        return alerts


class ModelHealth:
    """Everything watched about one served model: feature drift and live outcomes.

    Feed ``observe`` with the feature vectors the model scores (or a sample of ticks)
    and ``record`` with realised outcomes (a strategy's ``outcome_sink``); ``alerts``
    returns drift alerts (PSI per feature above the limit) and degradation alerts.
    """

    def __init__(
        self,
        manifest: ModelManifest,
        drift: DriftConfig | None = None,
        monitor: MonitorConfig | None = None,
    ) -> None:
        self.model = f"{manifest.name}@{manifest.version}"
        self.drift = DriftMonitor(manifest.reference, drift)
        self.performance = PerformanceMonitor(self.model, manifest.metrics, monitor)

    def observe(self, vector: npt.NDArray[np.float32]) -> None:
        """Add one scored feature vector to the drift window."""
        self.drift.observe(vector)

    def record(self, probability: float, hit: bool) -> None:
        """Add one realised outcome."""
        self.performance.record(probability, hit)

    def alerts(self) -> list[Alert]:
        """Current drift and degradation alerts."""
        limit = self.drift.config.psi_alert
        out = [
            Alert(
                kind="drift",
                model=self.model,
                value=value,
                limit=limit,
                message=f"{self.model}: feature {name} drifted, PSI {value:.3f} > {limit} "
                f"over the last {min(self.drift.observed, self.drift.config.window)} vectors",
            )
            for name, value in sorted(self.drift.drifted().items())
        ]
        out.extend(self.performance.check())
        return out
