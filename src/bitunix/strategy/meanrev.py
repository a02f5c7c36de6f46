"""Model-free mean reversion: fade any deviation beyond ``entry_z`` sigmas.

The earlier bot ran this beside OVIR-X on every depth update with no model; here it is
one strategy among the registered ones, off unless configured, with the same guards and
exits as OVIR-X and a NaN that never passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from bitunix.strategy.config import MeanReversionConfig
from bitunix.strategy.reversion import Learner, OutcomeSink, ReversionStrategy


class MeanReversionStrategy(ReversionStrategy):
    """Fade |vwap_z| >= entry_z without a model."""

    kind: ClassVar[str] = "mean_reversion"

    def __init__(
        self,
        symbol: str,
        feature_names: Sequence[str],
        config: MeanReversionConfig | None = None,
        *,
        name: str | None = None,
        outcome_sink: OutcomeSink | None = None,
        learner: Learner | None = None,
    ) -> None:
        cfg = config or MeanReversionConfig()
        super().__init__(
            symbol, feature_names, cfg, name=name, outcome_sink=outcome_sink, learner=learner
        )
        self.config = cfg

    def _approve(self, vector: npt.NDArray[np.float32]) -> tuple[bool, float, str]:
        return True, 1.0, "rules"
