"""The rule-based scorer used when no model is installed, loaded, fast or healthy.

It turns the same feature vector into a probability with a fixed logistic formula over
the features that describe exhaustion of a deviation from VWAP::

    d = sign(vwap_z)                       # +1 price above VWAP (fade = sell), -1 below
    x = bias + w_z * |vwap_z| - w_tick * d * tick_ratio
             - w_depth * d * depth_imbalance - w_flow * d * flow_imbalance
    p = 1 / (1 + exp(-x))

so the score rises with the size of the deviation and with order flow and book pressure
leaning *against* it. Unlike the earlier bot's heuristic it is direction-aware: buying
pressure never backs a sell. The weights are configuration (:class:`RuleFallbackConfig`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.core.errors import ConfigError
from bitunix.ml.errors import FeatureMismatchError

#: Features the fallback reads, by name (looked up in the engine's FEATURE_NAMES).
FALLBACK_FEATURES: tuple[str, ...] = ("vwap_z", "tick_ratio", "depth_imbalance", "flow_imbalance")


class RuleFallbackConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Weights of the fallback's logistic score.

    With the defaults a 2.5-sigma deviation with tick ratio -0.2 and depth imbalance
    -0.3 (for a price above VWAP) scores about 0.73 and passes a 0.65 gate, while a bare
    2-sigma deviation with neutral flow scores 0.5 and does not: the fallback is more
    conservative than a trained model is expected to be.
    """

    bias: float = -2.0
    weight_abs_z: float = 1.0
    weight_tick: float = 1.0
    weight_depth: float = 1.0
    weight_flow: float = 0.5

    def __post_init__(self) -> None:
        for name in ("bias", "weight_abs_z", "weight_tick", "weight_depth", "weight_flow"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"fallback.{name} must be finite, was {getattr(self, name)!r}")


def feature_index(feature_names: Sequence[str], name: str) -> int:
    """Return the position of ``name`` in ``feature_names`` or raise FeatureMismatchError."""
    try:
        return list(feature_names).index(name)
    except ValueError:
        raise FeatureMismatchError(
            f"feature {name!r} is not produced by the FeatureEngine (it has {list(feature_names)})"
        ) from None


class RuleFallback:
    """Probability of reversion from a fixed, configured formula; never fails, never slow."""

    __slots__ = ("_cfg", "_i_depth", "_i_flow", "_i_tick", "_i_z")

    def __init__(
        self, feature_names: Sequence[str], config: RuleFallbackConfig | None = None
    ) -> None:
        self._cfg = config or RuleFallbackConfig()
        self._i_z = feature_index(feature_names, "vwap_z")
        self._i_tick = feature_index(feature_names, "tick_ratio")
        self._i_depth = feature_index(feature_names, "depth_imbalance")
        self._i_flow = feature_index(feature_names, "flow_imbalance")

    def score(self, vector: npt.NDArray[np.float32]) -> float:
        """Return P(reversion) in [0, 1]; 0.0 when a feature it reads is not finite."""
        v = vector.tolist()
        z = v[self._i_z]
        d = 1.0 if z > 0.0 else -1.0
        cfg = self._cfg
        x = (
            cfg.bias
            + cfg.weight_abs_z * abs(z)
            - cfg.weight_tick * d * v[self._i_tick]
            - cfg.weight_depth * d * v[self._i_depth]
            - cfg.weight_flow * d * v[self._i_flow]
        )
        if not math.isfinite(x):
            return 0.0
        # Split by sign so exp never overflows.
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
