"""Manifests: round trip, validation, the feature check against the FeatureEngine."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitunix.features import FEATURE_NAMES
from bitunix.ml.errors import FeatureMismatchError, ModelLoadError
from bitunix.ml.manifest import ModelManifest, check_features, load_manifest, save_manifest


def test_round_trip(manifest: ModelManifest, tmp_path: Path) -> None:
    save_manifest(manifest, tmp_path / "m.json")
    assert load_manifest(tmp_path / "m.json") == manifest


def test_feature_check_accepts_the_engine_list(manifest: ModelManifest) -> None:
    check_features(manifest, FEATURE_NAMES)


def test_feature_check_refuses_order_and_name_changes(manifest: ModelManifest) -> None:
    swapped = list(FEATURE_NAMES)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    with pytest.raises(FeatureMismatchError, match="different order"):
        check_features(manifest, swapped)
    with pytest.raises(FeatureMismatchError, match=r"not in the model: \['new'\]"):
        check_features(manifest, [*FEATURE_NAMES, "new"])
    with pytest.raises(FeatureMismatchError, match="missing from the engine"):
        check_features(manifest, FEATURE_NAMES[:-1])


def test_missing_and_invalid_manifest(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_manifest(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text('{"name": 1}')
    with pytest.raises(ModelLoadError, match="invalid"):
        load_manifest(tmp_path / "bad.json")
