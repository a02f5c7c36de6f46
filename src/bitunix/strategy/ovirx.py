"""OVIR-X: fade an exhausted deviation from VWAP when the model agrees.

Open-Volume-Imbalance-Reversal-eXtended, after the earlier bot's intent (spec 4.9): the
last price is ``entry_z`` or more VWAP sigmas away, trade ticks have stopped pushing the
move, the book leans against it, and P(reversion) from the model (or the rule fallback
when no model serves) clears ``prob_threshold``. Rules are in :class:`OvirxConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from bitunix.ml.fallback import RuleFallback, feature_index
from bitunix.ml.runtime import SOURCE_INVALID, SOURCE_REFUSED, Predictor
from bitunix.strategy.config import OvirxConfig
from bitunix.strategy.reversion import Learner, OutcomeSink, ReversionStrategy

_NO_ANSWER = frozenset({SOURCE_REFUSED, SOURCE_INVALID})


class Gate(Protocol):
    """What OVIR-X asks for a probability (``ml.runtime.Predictor`` or ``ml.shadow.ShadowPair``)."""

    @property
    def last_source(self) -> str:
        """Where the last probability came from (model, fallback, refused, invalid)."""
        ...

    def predict(self, vector: npt.NDArray[np.float32]) -> float:
        """Return P(reversion) for one feature vector; never raises."""
        ...


class OvirxStrategy(ReversionStrategy):
    """The OVIR-X strategy for one symbol; see :class:`OvirxConfig` for every rule."""

    kind: ClassVar[str] = "ovirx"

    def __init__(
        self,
        symbol: str,
        feature_names: Sequence[str],
        config: OvirxConfig | None = None,
        *,
        gate: Gate | None = None,
        name: str | None = None,
        outcome_sink: OutcomeSink | None = None,
        learner: Learner | None = None,
    ) -> None:
        cfg = config or OvirxConfig()
        super().__init__(
            symbol, feature_names, cfg, name=name, outcome_sink=outcome_sink, learner=learner
        )
        self.config = cfg
        self._itick = feature_index(feature_names, "tick_ratio")
        self._idepth = feature_index(feature_names, "depth_imbalance")
        self.gate: Gate = gate if gate is not None else Predictor(None, RuleFallback(feature_names))

    def _rules_pass(self, v: list[float], d: int) -> bool:
        cfg = self.config
        return (
            d * v[self._itick] <= cfg.max_tick_ratio
            and -d * v[self._idepth] >= cfg.min_depth_lean
        )

    def _approve(self, vector: npt.NDArray[np.float32]) -> tuple[bool, float, str]:
        gate = self.gate
        p = gate.predict(vector)
        source = gate.last_source
        # A refusal (the served model could not answer) or bad input is 0.0, which a
        # threshold of 0 would otherwise pass.
        approved = p >= self.config.prob_threshold and source not in _NO_ANSWER
        return approved, p, source
