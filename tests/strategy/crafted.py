"""Crafted feature readings and a fixed-probability gate for strategy tests."""

from __future__ import annotations

import numpy as np

from bitunix.features import FEATURE_NAMES
from bitunix.strategy import FeatureFrame

NS = 1_000_000_000


def frame(
    *,
    z: float = 0.0,
    tick: float = 0.0,
    depth: float = 0.0,
    flow: float = 0.0,
    spread: float = 1.0,
    vwap: float = 60_000.0,
    std: float = 30.0,
    price: float | None = None,
) -> FeatureFrame:
    """A reading whose last price sits ``z`` sigmas from ``vwap`` unless ``price`` is given."""
    values = dict.fromkeys(FEATURE_NAMES, 0.0)
    values.update(
        vwap_z=z, tick_ratio=tick, depth_imbalance=depth, flow_imbalance=flow, spread_ticks=spread
    )
    last = vwap + z * std if price is None else price
    vec = np.array([values[n] for n in FEATURE_NAMES], dtype=np.float32)
    return FeatureFrame(vec, vwap=vwap, std=std, last_price=last)


class FixedGate:
    """A gate answering a fixed probability, recording what it was asked."""

    def __init__(self, p: float) -> None:
        self.p = p
        self.calls = 0
        self.last_source = "model"

    def predict(self, vector: np.ndarray) -> float:
        self.calls += 1
        return self.p
