"""A/B shadow: a challenger scores the same features as the champion, without trading.

``ShadowPair`` is a drop-in gate for strategies. ``predict`` returns the champion's
probability (the only one that trades) and also scores the challenger, counting how often
the two agree at the decision threshold. Realised outcomes are credited to both: the
champion's probability arrives with the outcome, the challenger's is looked up from the
scores it gave for the same vector. ``report()`` sums it up for the promote decision;
``figures()`` is the same since the pair started, with both models' Brier scores on the
same closed trades, as the running bot saves it in its store for ``bitunix-bot retrain``
(:mod:`bitunix.ml.refresh`).
"""

from __future__ import annotations

import time
from collections import deque

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.ml.monitor import PerformanceMonitor
from bitunix.ml.runtime import Predictor

_PENDING = 256
#: The store state key under which the running bot saves :class:`ShadowFigures`.
SHADOW_STATE_KEY = "model.shadow"


class ShadowFigures(msgspec.Struct, frozen=True, kw_only=True):
    """The champion and the challenger on the same live decisions, since ``since_ns``.

    ``outcomes``: the champion's closed trades whose entry the challenger also scored;
    ``hits`` of them hits (the champion's live hit rate is ``hits / outcomes``);
    ``challenger_approved``: of those trades, the ones the challenger would have taken too
    (its probability >= ``threshold``), ``challenger_hits`` of them hits (its live hit rate
    on the trades it would share). ``*_brier``: mean squared error of each model's
    probability against the outcome over the same ``outcomes`` (None before any). Trades
    only the challenger would have taken never happen, so they are not counted.
    """

    champion: str
    challenger: str
    threshold: float
    since_ns: int
    updated_ns: int
    scored: int
    agree: int
    outcomes: int
    hits: int
    challenger_approved: int
    challenger_hits: int
    champion_brier: float | None
    challenger_brier: float | None


def encode_figures(figures: ShadowFigures) -> str:
    """JSON text of ``figures`` (the store state value)."""
    return msgspec.json.encode(figures).decode()


def decode_figures(text: str) -> ShadowFigures:
    """:class:`ShadowFigures` from :func:`encode_figures`'s text; msgspec errors pass on."""
    return msgspec.json.decode(text, type=ShadowFigures)


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
        since_ns: int | None = None,
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
        self.since_ns = time.time_ns() if since_ns is None else since_ns
        self.outcomes = 0
        self.hits = 0
        self.challenger_approved = 0
        self.challenger_hits = 0
        self._champion_sq = 0.0
        self._challenger_sq = 0.0

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
                self._count(p, q, hit)
                break

    def _count(self, p: float, q: float, hit: bool) -> None:
        y = 1.0 if hit else 0.0
        self.outcomes += 1
        self.hits += hit
        self._champion_sq += (p - y) ** 2
        self._challenger_sq += (q - y) ** 2
        if q >= self.threshold:
            self.challenger_approved += 1
            self.challenger_hits += hit

    def figures(self, now_ns: int) -> ShadowFigures:
        """Everything counted since the pair started (see :class:`ShadowFigures`)."""
        n = self.outcomes
        return ShadowFigures(
            champion=self.champion.name,
            challenger=self.challenger.name,
            threshold=self.threshold,
            since_ns=self.since_ns,
            updated_ns=now_ns,
            scored=self.scored,
            agree=self.agree,
            outcomes=n,
            hits=self.hits,
            challenger_approved=self.challenger_approved,
            challenger_hits=self.challenger_hits,
            champion_brier=self._champion_sq / n if n else None,
            challenger_brier=self._challenger_sq / n if n else None,
        )

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
