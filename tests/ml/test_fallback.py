"""The rule fallback: direction-aware, finite, configured."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bitunix.core.errors import ConfigError
from bitunix.features import FEATURE_NAMES
from bitunix.ml.errors import FeatureMismatchError
from bitunix.ml.fallback import RuleFallback, RuleFallbackConfig


def vec(**values: float) -> np.ndarray:
    v = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    for k, x in values.items():
        v[FEATURE_NAMES.index(k)] = x
    return v


FB = RuleFallback(FEATURE_NAMES)


def test_documented_examples() -> None:
    assert FB.score(vec(vwap_z=2.5, tick_ratio=-0.2, depth_imbalance=-0.3)) == pytest.approx(
        1 / (1 + math.exp(-1.0)), abs=1e-6
    )
    assert FB.score(vec(vwap_z=2.0)) == pytest.approx(0.5)


def test_pressure_with_the_move_lowers_the_score_on_both_sides() -> None:
    against = FB.score(vec(vwap_z=3.0, tick_ratio=-0.5, depth_imbalance=-0.5))
    along = FB.score(vec(vwap_z=3.0, tick_ratio=0.5, depth_imbalance=0.5))
    assert against > along
    # mirrored for a price below VWAP
    assert FB.score(vec(vwap_z=-3.0, tick_ratio=0.5, depth_imbalance=0.5)) == pytest.approx(
        against
    )


def test_non_finite_and_extreme_inputs() -> None:
    assert FB.score(vec(vwap_z=math.nan)) == 0.0
    assert FB.score(vec(vwap_z=1e30)) == 1.0
    assert 0.0 <= FB.score(vec(vwap_z=0.0, tick_ratio=1e30)) <= 1.0


def test_missing_feature_and_bad_config() -> None:
    with pytest.raises(FeatureMismatchError, match="tick_ratio"):
        RuleFallback(["vwap_z"])
    with pytest.raises(ConfigError):
        RuleFallbackConfig(bias=math.inf)
    custom = RuleFallback(FEATURE_NAMES, RuleFallbackConfig(bias=0.0, weight_abs_z=0.0))
    assert custom.score(vec(vwap_z=3.0)) == pytest.approx(0.5)
