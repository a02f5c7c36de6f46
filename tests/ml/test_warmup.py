"""Warm-up rows: every training bin of every referenced feature, finite, deterministic."""

from __future__ import annotations

import numpy as np

from bitunix.features import FEATURE_NAMES
from bitunix.ml.manifest import FeatureReference, ModelManifest
from bitunix.ml.warmup import warmup_rows


def test_rows_visit_every_bin_of_every_feature(manifest: ModelManifest) -> None:
    rows = warmup_rows(manifest.reference, FEATURE_NAMES)
    assert rows.shape == (64, len(FEATURE_NAMES))
    assert rows.dtype == np.float32
    assert np.isfinite(rows).all()
    for ref in manifest.reference:
        j = list(FEATURE_NAMES).index(ref.name)
        bins = set(np.searchsorted(np.asarray(ref.edges), rows[:, j].astype(np.float64)))
        assert bins == set(range(len(ref.edges) + 1)), ref.name
    assert np.array_equal(rows, warmup_rows(manifest.reference, FEATURE_NAMES))


def test_features_without_a_reference_are_zero() -> None:
    refs = [FeatureReference(name="tick_ratio", edges=[0.5], fractions=[0.5, 0.5])]
    rows = warmup_rows(refs, FEATURE_NAMES, count=8)
    j = list(FEATURE_NAMES).index("tick_ratio")
    assert set(rows[:, j].tolist()) == {-0.5, 0.5, 1.5}
    others = np.delete(rows, j, axis=1)
    assert not others.any()
