"""Training on the bundled captures: time split, metrics, export, reproducibility."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bitunix.core.errors import ConfigError
from bitunix.features import FEATURE_NAMES
from bitunix.ml.errors import TrainingError
from bitunix.ml.labels import LabelConfig
from bitunix.ml.manifest import ModelManifest, sha256_file
from bitunix.ml.train import (
    Dataset,
    TrainConfig,
    TrainedModel,
    check_parity,
    evaluate,
    expected_calibration_error,
    export,
    fit,
    time_split,
)
from tests.ml.conftest import LABELS, SMALL

NS = 1_000_000_000


def test_time_split_orders_parts_and_purges_the_horizon() -> None:
    ts = np.arange(0, 100 * NS, NS // 2, dtype=np.int64)
    tr, ca, va = time_split(ts, 5 * NS, 0.2, 0.2)
    assert ts[tr].max() + 5 * NS < ts[ca].min()
    assert ts[ca].max() + 5 * NS < ts[va].min()
    assert len(set(tr) | set(ca) | set(va)) == len(tr) + len(ca) + len(va)
    with pytest.raises(ValueError, match="time order"):
        time_split(ts[::-1].copy(), NS, 0.2, 0.2)


def test_trained_model_metrics_and_split(trained: TrainedModel) -> None:
    info = trained.info
    assert info.n_train > info.n_calibration > 0
    # drift references describe the real training rows, not the mirrored copies
    assert trained.x_train.shape[0] == info.n_train
    assert info.n_validation > 0
    assert info.symbols == ["BTCUSDT", "ETHUSDT"]
    assert info.label["horizon_s"] == 30.0
    m = trained.metrics
    assert m.n == info.n_validation
    assert 0.0 < m.base_rate < 1.0
    assert m.auc is not None
    assert 0.0 <= m.auc <= 1.0
    assert 0.0 <= m.brier <= 1.0
    assert 0 < m.tradable_n < m.n
    assert m.tradable_base_rate is not None
    assert m.tradable_base_rate > m.base_rate  # the fee floor makes every other sample 0
    assert set(trained.importance) == set(FEATURE_NAMES)


def test_export_writes_model_and_manifest_with_parity(
    model_dir: Path, manifest: ModelManifest, trained: TrainedModel
) -> None:
    assert manifest.sha256 == sha256_file(model_dir / "model.onnx")
    assert manifest.version == manifest.sha256[:12]
    assert manifest.features == list(FEATURE_NAMES)
    assert [r.name for r in manifest.reference] == list(FEATURE_NAMES)
    assert all(abs(sum(r.fractions) - 1.0) < 1e-9 for r in manifest.reference)
    assert check_parity(model_dir / "model.onnx", trained.estimator, trained.x_validation) <= 1e-5


def test_training_is_reproducible(datasets: list[Dataset], model_dir: Path, tmp_path: Path) -> None:
    again = fit(datasets, FEATURE_NAMES, SMALL, LABELS)
    m = export(again, FEATURE_NAMES, tmp_path, name="ovirx-test")
    assert m.sha256 == sha256_file(model_dir / "model.onnx")


def test_too_few_positives_is_a_clear_error(datasets: list[Dataset]) -> None:
    # a 50 bp fee per side leaves no positive label at all
    with pytest.raises(TrainingError, match="positives"):
        fit(datasets, FEATURE_NAMES, SMALL, LabelConfig(horizon_s=30.0, fee_bps=50.0))
    with pytest.raises(TrainingError, match="no data"):
        fit([], FEATURE_NAMES, SMALL, LABELS)
    with pytest.raises(TrainingError, match="no usable samples"):
        fit(datasets, FEATURE_NAMES[:3], SMALL, LABELS)


def test_evaluate_and_ece_on_known_values() -> None:
    p = np.array([0.1, 0.1, 0.9, 0.9])
    y = np.array([0, 0, 1, 0], dtype=np.int8)
    m = evaluate(p, y, 0.65)
    assert m.approvals == 2
    assert m.hit_rate == 0.5
    assert m.auc == pytest.approx(5 / 6)
    assert expected_calibration_error(p, y) == pytest.approx((2 * 0.1 + 2 * 0.4) / 4)
    assert m.tradable_n == 4
    assert m.tradable_auc == m.auc
    sub = evaluate(p, y, 0.65, np.array([False, True, True, False]))
    assert sub.tradable_n == 2
    assert sub.tradable_base_rate == 0.5
    assert sub.tradable_auc == 1.0
    none = evaluate(np.array([0.2, 0.3]), np.array([0, 0], dtype=np.int8), 0.65)
    assert none.auc is None
    assert none.hit_rate is None
    assert none.tradable_auc is None


@pytest.mark.parametrize(
    "bad",
    [{"trees": 0}, {"learning_rate": 0.0}, {"validation_fraction": 0.9}, {"threshold": 1.0}],
)
def test_train_config_validation(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        TrainConfig(**bad)  # type: ignore[arg-type]


def test_mirror_negates_only_signed_columns() -> None:
    from bitunix.ml.train import mirror

    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    y = np.array([1], dtype=np.int8)
    xm, ym = mirror(x, y, [0, 2])
    assert xm.tolist() == [[1.0, 2.0, 3.0], [-1.0, 2.0, -3.0]]
    assert ym.tolist() == [1, 1]


def test_mirrored_model_is_symmetric_on_validation_rows(trained: TrainedModel) -> None:
    """A fade is symmetric: mirroring a row barely changes its score (the augmentation)."""
    signed = [FEATURE_NAMES.index(n) for n in TrainConfig().mirrored_features]
    x = trained.x_validation
    flipped = x.copy()
    flipped[:, signed] *= -1.0
    p = trained.estimator.predict_proba(x)[:, 1]
    q = trained.estimator.predict_proba(flipped)[:, 1]
    assert np.median(np.abs(p - q)) < 0.05


def test_unknown_mirrored_feature_is_refused(datasets: list[Dataset]) -> None:
    cfg = TrainConfig(trees=5, mirrored_features=("nope",))
    with pytest.raises(TrainingError, match="mirrored features"):
        fit(datasets, FEATURE_NAMES, cfg, LABELS)


def test_logistic_estimator_exports_weights_with_parity(
    datasets: list[Dataset], tmp_path: Path
) -> None:
    from bitunix.ml.manifest import logistic_sha256
    from bitunix.ml.runtime import LogisticScorer

    trained = fit(datasets, FEATURE_NAMES, TrainConfig(estimator="logistic"), LABELS)
    m = export(trained, FEATURE_NAMES, tmp_path, name="lg")
    assert m.kind == "logistic"
    assert m.logistic is not None
    assert m.sha256 == logistic_sha256(m.logistic)
    assert not (tmp_path / "model.onnx").exists()
    lp = m.logistic
    scorer = LogisticScorer(lp.weights, lp.bias, lp.mean, lp.scale)
    x = trained.x_validation
    ours = np.array([scorer.score(r) for r in x])
    theirs = trained.estimator.predict_proba(x.astype(np.float64))[:, 1]
    assert np.max(np.abs(ours - theirs)) <= 1e-5
    assert "LogisticRegression" in m.training.estimator


@pytest.mark.parametrize(("name", "version"), [("ovirx", "../../x"), ("../x", None),
                                               ("ok", ""), (".hid", "v1")])
def test_export_refuses_a_name_or_version_that_is_not_a_plain_name(
    trained: TrainedModel, tmp_path: Path, name: str, version: str | None
) -> None:
    """Checked before anything is written (``train --version ../../x`` wrote the model
    outside the registry)."""
    from bitunix.ml.errors import RegistryError

    out = tmp_path / "out"
    with pytest.raises(RegistryError, match="is not a plain name"):
        export(trained, FEATURE_NAMES, out, name=name, version=version)
    assert not out.exists()
