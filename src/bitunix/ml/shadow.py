"""A/B shadow: a challenger scores the same features as the champion, without trading.

``ShadowPair`` is a drop-in gate for strategies. ``predict`` returns the champion's
probability (the only one that trades) and also scores the challenger, counting how often
the two agree at the decision threshold. Realised outcomes are credited to both: the
champion's probability arrives with the outcome, the challenger's is looked up from the
scores it gave for the same vector. ``report()`` sums it up for the promote decision.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

from bitunix.ml.monitor import PerformanceMonitor
from bitunix.ml.runtime import Predictor

_PENDING = 256


class ShadowPair:
    """Champion + challenger behind one ``predict``; only the champion's answer is used."""

    def __init__(
        self,
        champion: Predictor,
        challenger: Predictor,
        threshold: float,
        *,
        champion_monitor: PerformanceMonitor,
        challenger_monitor: PerformanceMonitor,
    ) -> None:
        self.champion = champion
        self.challenger = challenger
        self.threshold = threshold
        self.champion_monitor = champion_monitor
        self.challenger_monitor = challenger_monitor
        self.scored = 0
        self.agree = 0
        self.champion_only = 0
        self.challenger_only = 0
        self._pending: deque[tuple[float, float]] = deque(maxlen=_PENDING)

    @property
    def last_source(self) -> str:
        """Source of the champion's last answer."""
        return self.champion.last_source

    def predict(self, vector: npt.NDArray[np.float32]) -> float:
        """Return the champion's probability; score the challenger on the same row."""
        p = self.champion.predict(vector)
        q = self.challenger.predict(vector)
        self.scored += 1
        a, b = p >= self.threshold, q >= self.threshold
        if a == b:
            self.agree += 1
        elif a:
            self.champion_only += 1
        else:
            self.challenger_only += 1
        self._pending.append((p, q))
        return p

    def record_outcome(self, probability: float, hit: bool) -> None:
        """Outcome sink: credit the champion and the challenger's score of that entry."""
        self.champion_monitor.record(probability, hit)
        for p, q in reversed(self._pending):
            if p == probability:
                self.challenger_monitor.record(q, hit)
                break

    def report(self) -> dict[str, float | int]:
        """Agreement counts and both models' live hit rates."""
        return {
            "scored": self.scored,
            "agree": self.agree,
            "champion_only": self.champion_only,
            "challenger_only": self.challenger_only,
            "champion_outcomes": self.champion_monitor.count,
            "champion_hit_rate": self.champion_monitor.hit_rate(),
            "challenger_outcomes": self.challenger_monitor.count,
            "challenger_hit_rate": self.challenger_monitor.hit_rate(),
        }
