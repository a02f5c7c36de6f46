"""Feature drift: the population stability index (PSI) of live features against training.

``reference_bins`` cuts a training column into quantile bins (inner edges) and records
the share in each; ``psi`` compares two sets of shares::

    PSI = sum_i (cur_i - ref_i) * ln(cur_i / ref_i)      (shares floored at 1e-4)

Common reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large shift; the alert
threshold is configuration (:class:`DriftConfig`, default 0.25). ``DriftMonitor`` keeps
the bin index of the last ``window`` observations per feature, so PSI always describes
recent data and each observation costs a few bisections.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.core.errors import ConfigError
from bitunix.ml.manifest import FeatureReference

_FLOOR = 1e-4


class DriftConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``psi_alert``: PSI above which a feature is reported (0.25). ``window``: recent
    observations compared (2,000). ``min_samples``: no verdict before this many (500)."""

    psi_alert: float = 0.25
    window: int = 2000
    min_samples: int = 500

    def __post_init__(self) -> None:
        if not (self.psi_alert > 0.0 and math.isfinite(self.psi_alert)):
            raise ConfigError(f"drift.psi_alert must be > 0, was {self.psi_alert!r}")
        if self.window < 1 or not 1 <= self.min_samples <= self.window:
            raise ConfigError("drift: need 1 <= min_samples <= window")


def reference_bins(
    values: npt.NDArray[np.floating], bins: int = 10, name: str = ""
) -> FeatureReference:
    """Quantile bins of a training column (ties merged) and the share of values in each."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError(f"reference_bins: no finite values for {name!r}")
    qs = np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    edges = sorted({float(q) for q in qs})
    return FeatureReference(name=name, edges=edges, fractions=shares(finite, edges))


def shares(values: npt.NDArray[np.floating], edges: Sequence[float]) -> list[float]:
    """Share of ``values`` in each bin defined by the inner ``edges`` (len(edges) + 1 bins)."""
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(np.float64)
    total = counts.sum()
    return [float(c / total) for c in counts] if total else [0.0] * (len(edges) + 1)


def psi(reference: Sequence[float], current: Sequence[float]) -> float:
    """Population stability index of ``current`` shares against ``reference`` shares."""
    if len(reference) != len(current):
        raise ValueError("psi: share vectors differ in length")
    total = 0.0
    for ref, cur in zip(reference, current, strict=True):
        r = max(ref, _FLOOR)
        c = max(cur, _FLOOR)
        total += (c - r) * math.log(c / r)
    return total


class DriftMonitor:
    """Rolling PSI of each feature against its training reference."""

    def __init__(
        self, references: Sequence[FeatureReference], config: DriftConfig | None = None
    ) -> None:
        self.config = config or DriftConfig()
        self.references = list(references)
        self._edges = [r.edges for r in self.references]
        # Plain lists: per observation this is a few list stores, not numpy scalar writes.
        self._bins: list[list[int]] = [[] for _ in range(self.config.window)]
        self._counts = [[0] * (len(r.edges) + 1) for r in self.references]
        self.observed = 0

    def observe(self, vector: npt.NDArray[np.float32]) -> None:
        """Add one feature vector (in the references' order); non-finite values are skipped."""
        row = self.observed % self.config.window
        counts = self._counts
        for j, old in enumerate(self._bins[row]):
            if old >= 0:
                counts[j][old] -= 1
        new: list[int] = []
        # Only the columns that have a reference (a manifest may carry none): zip stops there.
        for j, (x, edges) in enumerate(zip(vector.tolist(), self._edges, strict=False)):
            if math.isfinite(x):
                b = bisect.bisect_right(edges, x)
                counts[j][b] += 1
            else:
                b = -1
            new.append(b)
        self._bins[row] = new
        self.observed += 1

    def psi_by_feature(self) -> dict[str, float]:
        """PSI of each feature over the window (empty before ``min_samples``)."""
        if self.observed < self.config.min_samples:
            return {}
        out: dict[str, float] = {}
        for ref, counts in zip(self.references, self._counts, strict=True):
            total = sum(counts)
            if total:
                out[ref.name] = psi(ref.fractions, [c / total for c in counts])
        return out

    def drifted(self) -> dict[str, float]:
        """Features whose PSI exceeds ``psi_alert``."""
        limit = self.config.psi_alert
        return {k: v for k, v in self.psi_by_feature().items() if v > limit}
