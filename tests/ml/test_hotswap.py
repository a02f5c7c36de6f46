"""Hot swap: the live Predictor follows promote and rollback without a restart."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import numpy as np

from bitunix.features import FEATURE_NAMES
from bitunix.ml.hotswap import ActiveModelWatcher
from bitunix.ml.manifest import load_manifest, save_manifest
from bitunix.ml.registry import ModelRegistry, load_predictor
from bitunix.ml.runtime import SOURCE_FALLBACK, SOURCE_MODEL


def add(reg: ModelRegistry, model_dir: Path, tmp: Path, version: str) -> None:
    out = tmp / version
    shutil.copytree(model_dir, out)
    m = load_manifest(out / "manifest.json")
    save_manifest(msgspec.structs.replace(m, version=version), out / "manifest.json")
    reg.register(out)


def test_watcher_follows_promote_rollback_and_retire(model_dir: Path, tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "models")
    add(reg, model_dir, tmp_path, "a")
    add(reg, model_dir, tmp_path, "b")
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    watcher = ActiveModelWatcher(reg, predictor, FEATURE_NAMES, loaded)
    x = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    predictor.predict(x)
    assert predictor.last_source == SOURCE_FALLBACK
    assert not watcher.poll()  # nothing changed

    reg.promote("ovirx-test", "a")
    assert watcher.poll()
    assert predictor.name == "ovirx-test@a"
    predictor.predict(x)
    assert predictor.last_source == SOURCE_MODEL
    first = predictor.model

    reg.promote("ovirx-test", "b")
    assert watcher.poll()
    assert predictor.name == "ovirx-test@b"
    assert predictor.model is not first

    reg.rollback()
    assert watcher.poll()
    assert predictor.name == "ovirx-test@a"

    reg.retire("ovirx-test", "a")
    assert watcher.poll()
    assert predictor.model is None
    assert watcher.swaps == 4


def test_a_bad_new_model_leaves_the_current_one_serving(model_dir: Path, tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "models")
    add(reg, model_dir, tmp_path, "a")
    add(reg, model_dir, tmp_path, "b")
    reg.promote("ovirx-test", "a")
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    watcher = ActiveModelWatcher(reg, predictor, FEATURE_NAMES, loaded)
    entry = reg.promote("ovirx-test", "b")
    (reg.model_dir(entry) / "model.onnx").write_bytes(b"garbage")
    assert not watcher.poll()
    assert "corrupt" in watcher.last_error
    assert predictor.name == "ovirx-test@a"
    (reg.root / "registry.json").write_text("not json")
    assert not watcher.poll()
    assert "invalid" in watcher.last_error


def test_load_error_follows_the_swaps(model_dir: Path, tmp_path: Path) -> None:
    """``Predictor.load_error`` is "why no model serves (empty when one does)"; a hot swap
    that installs a model used to leave the start-up reason ("no active model ...") in
    place, and one that removes the model left it empty."""
    reg = ModelRegistry(tmp_path / "models")
    add(reg, model_dir, tmp_path, "a")
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    assert "no active model" in predictor.load_error
    watcher = ActiveModelWatcher(reg, predictor, FEATURE_NAMES, loaded)
    reg.promote("ovirx-test", "a")
    assert watcher.poll()
    assert predictor.model is not None
    assert predictor.load_error == ""
    reg.retire("ovirx-test", "a")
    assert watcher.poll()
    assert predictor.model is None
    assert "no active model" in predictor.load_error
