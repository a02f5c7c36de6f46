"""Training: labelled samples -> gradient-boosted model -> calibration -> ONNX -> manifest.

Steps (all seeded, no network, scikit-learn imported here only: it is the ``train``
extra):

1. Samples from one or more recordings are merged in time order and labelled
   (:mod:`bitunix.ml.labels`); undefined labels (horizon past the end of data) dropped.
2. Time-ordered split: the earliest part trains, the next calibrates, the latest
   validates; samples whose label horizon reaches into the next part are *purged*, so no
   label of one part reads prices of a later one (no look-ahead, unlike the earlier
   bot's random split and full-data scaler).
3. Mirror augmentation: the fade is symmetric (a short 3 sigma above VWAP is the mirror
   of a long 3 sigma below), so each training and calibration sample is added again
   with its signed features negated (``TrainConfig.mirrored_features``) and the same
   label. Without it a model trained in a rally learns "above VWAP" instead of "far
   from VWAP" and inverts out of sample (measured on the bundled data: validation AUC
   0.16 without, see docs/signal.md). Validation samples are never mirrored.
4. ``GradientBoostingClassifier`` on the raw features (trees need no scaler), then
   Platt (sigmoid) calibration fitted on the calibration part only.
5. Metrics on the validation part (AUC, Brier, log loss, ECE, hit rate at the
   threshold), permutation importance on the same held-out part, and per-feature
   quantile references for drift detection.
6. Export to ONNX without ZipMap (``probabilities`` is a float tensor [N, 2]), then a
   parity check against scikit-learn (max |diff| <= 1e-5) before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.core.errors import ConfigError
from bitunix.ml.dataset import FeatureParams, SampleSet
from bitunix.ml.drift import reference_bins
from bitunix.ml.errors import TrainingError
from bitunix.ml.labels import UNDEFINED, LabelConfig, label_samples
from bitunix.ml.manifest import (
    LogisticParams,
    Metrics,
    ModelManifest,
    TrainingInfo,
    logistic_sha256,
    sha256_file,
)

PARITY_TOLERANCE = 1e-5
ONNX_INPUT = "features"
ONNX_OPSET = {"": 17, "ai.onnx.ml": 3}


class TrainConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Model and split parameters (defaults: 100 trees of depth 3, seed 42, 60/20/20).

    ``estimator``: ``"gbm"`` (gradient boosting + Platt calibration, served by ONNX) or
    ``"logistic"`` (standardised L2 logistic regression fitted on the training and
    calibration parts, served in pure Python from the manifest; ``l2_c`` is its inverse
    regularisation strength).
    """

    estimator: Literal["gbm", "logistic"] = "gbm"
    l2_c: float = 1.0
    trees: int = 100
    max_depth: int = 3
    learning_rate: float = 0.05
    subsample: float = 0.8
    min_samples_leaf: int = 20
    seed: int = 42
    calibration_fraction: float = 0.2
    validation_fraction: float = 0.2
    threshold: float = 0.65
    reference_bins: int = 10
    importance_repeats: int = 5
    min_positives: int = 10
    mirrored_features: tuple[str, ...] = (
        "vwap_z",
        "tick_ratio",
        "flow_imbalance",
        "depth_imbalance",
        "microprice_offset_bps",
        "vwap_dev_bps",
    )

    def __post_init__(self) -> None:
        if self.trees < 1 or self.max_depth < 1 or self.min_samples_leaf < 1:
            raise ConfigError("train: trees, max_depth and min_samples_leaf must be >= 1")
        if not 0.0 < self.learning_rate <= 1.0 or not 0.0 < self.subsample <= 1.0:
            raise ConfigError("train: learning_rate and subsample must be in (0, 1]")
        fractions = self.calibration_fraction + self.validation_fraction
        if not (self.calibration_fraction > 0 and self.validation_fraction > 0 and fractions < 1):
            raise ConfigError("train: calibration and validation fractions must be > 0, sum < 1")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"train.threshold must be in (0, 1), was {self.threshold}")


class Dataset(msgspec.Struct, kw_only=True):
    """One recording's samples with where they came from."""

    source: str
    symbol: str
    samples: SampleSet
    params: FeatureParams


class TrainedModel(msgspec.Struct, kw_only=True):
    """The fitted estimator and everything measured about it."""

    estimator: Any
    metrics: Metrics
    importance: dict[str, float]
    info: TrainingInfo
    x_train: npt.NDArray[np.float32]
    x_validation: npt.NDArray[np.float32]


def time_split(
    ts_ns: npt.NDArray[np.int64], horizon_ns: int, cal_fraction: float, val_fraction: float
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Indices of train, calibration and validation parts of time-sorted ``ts_ns``.

    Cut points are time quantiles; a sample is kept only if ``ts + horizon`` is before the
    start of the next part (purge), so its label reads no price of a later part.
    """
    if ts_ns.shape[0] > 1 and bool(np.any(np.diff(ts_ns) < 0)):
        raise ValueError("time_split: samples must be in time order")
    t0, t1 = int(ts_ns[0]), int(ts_ns[-1])
    span = t1 - t0
    cal_start = t0 + int(span * (1.0 - cal_fraction - val_fraction))
    val_start = t0 + int(span * (1.0 - val_fraction))
    idx = np.arange(ts_ns.shape[0])
    train = idx[ts_ns + horizon_ns < cal_start]
    cal = idx[(ts_ns >= cal_start) & (ts_ns + horizon_ns < val_start)]
    val = idx[ts_ns >= val_start]
    return train, cal, val


#: Significant digits kept in derived metrics. numpy's float reductions depend on the CPU's
#: SIMD width (Intel and AMD disagree in the last bit or two), so a manifest written with
#: full precision is not reproducible across machines; 12 digits are far below anything a
#: metric is judged by and far above that noise.
METRIC_DIGITS = 12


def round_metric(value: float) -> float:
    """``value`` to :data:`METRIC_DIGITS` significant digits (NaN and inf unchanged)."""
    return float(f"{value:.{METRIC_DIGITS}g}")


def expected_calibration_error(p: npt.NDArray[np.float64], y: npt.NDArray[np.int8]) -> float:
    """Mean |mean predicted - observed rate| over 10 equal-width bins, weighted by size."""
    bins = np.minimum((p * 10).astype(int), 9)
    total = 0.0
    for b in range(10):
        mask = bins == b
        if mask.any():
            total += float(mask.sum()) * abs(float(p[mask].mean()) - float(y[mask].mean()))
    return round_metric(total / max(len(p), 1))


def evaluate(
    p: npt.NDArray[np.float64],
    y: npt.NDArray[np.int8],
    threshold: float,
    tradable: npt.NDArray[np.bool_] | None = None,
) -> Metrics:
    """Held-out metrics of probabilities ``p`` against labels ``y``.

    ``tradable`` marks the samples whose target clears the fees (default: all).
    """
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    approved = p >= threshold
    both = len(np.unique(y)) == 2
    t = np.ones(len(y), dtype=bool) if tradable is None else tradable
    yt = y[t]
    return Metrics(
        n=len(y),
        base_rate=round_metric(float(y.mean())),
        auc=round_metric(float(roc_auc_score(y, p))) if both else None,
        brier=round_metric(float(brier_score_loss(y, p))),
        log_loss=round_metric(float(log_loss(y, p, labels=[0, 1]))),
        ece=expected_calibration_error(p, y),
        threshold=threshold,
        approvals=int(approved.sum()),
        hit_rate=round_metric(float(y[approved].mean())) if approved.any() else None,
        tradable_n=int(t.sum()),
        tradable_base_rate=round_metric(float(yt.mean())) if len(yt) else None,
        tradable_auc=(round_metric(float(roc_auc_score(yt, p[t])))
                      if len(np.unique(yt)) == 2 else None),
    )


def _merge(datasets: Sequence[Dataset], labels: LabelConfig) -> tuple[Any, ...]:
    xs, ys, ts, ok = [], [], [], []
    for ds in datasets:
        s = ds.samples
        y = label_samples(s, labels)
        keep = y != UNDEFINED
        gain_bps = labels.target_fraction * np.abs(s.vwap - s.price) / s.price * 1e4
        xs.append(s.features[keep])
        ys.append(y[keep])
        ts.append(s.ts_ns[keep])
        ok.append(gain_bps[keep] > 2.0 * labels.fee_bps)
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    t = np.concatenate(ts)
    tradable = np.concatenate(ok)
    order = np.argsort(t, kind="stable")
    return x[order], y[order], t[order], tradable[order]


def mirror(
    x: npt.NDArray[np.float32], y: npt.NDArray[np.int8], signed: Sequence[int]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int8]]:
    """Append each row with the ``signed`` columns negated; labels repeat."""
    flipped = x.copy()
    flipped[:, list(signed)] *= -1.0
    return np.concatenate([x, flipped]), np.concatenate([y, y])


def fit(
    datasets: Sequence[Dataset],
    feature_names: Sequence[str],
    config: TrainConfig | None = None,
    labels: LabelConfig | None = None,
) -> TrainedModel:
    """Label, split, fit, calibrate and evaluate; see the module doc."""
    try:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.ensemble import GradientBoostingClassifier
        from sklearn.frozen import FrozenEstimator
        from sklearn.inspection import permutation_importance
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise TrainingError(
            "training needs the train extra: pip install 'bitunix-bot[train]'"
        ) from exc
    cfg = config or TrainConfig()
    lab = labels or LabelConfig()
    if not datasets:
        raise TrainingError("no data to train on")
    x, y, t, tradable = _merge(datasets, lab)
    if x.shape[0] == 0 or x.shape[1] != len(feature_names):
        raise TrainingError(f"no usable samples (shape {x.shape}, {len(feature_names)} features)")
    horizon_ns = int(lab.horizon_s * 1e9)
    tr, ca, va = time_split(t, horizon_ns, cfg.calibration_fraction, cfg.validation_fraction)
    for part, idx in (("train", tr), ("calibration", ca), ("validation", va)):
        pos = int(y[idx].sum())
        if pos < cfg.min_positives or len(idx) - pos < cfg.min_positives:
            raise TrainingError(
                f"{part} part has {pos} positives of {len(idx)} samples; need at least "
                f"{cfg.min_positives} of each class (more data, or other label settings)"
            )
    names = list(feature_names)
    unknown = [n for n in cfg.mirrored_features if n not in names]
    if unknown:
        raise TrainingError(f"mirrored features {unknown} are not in {names}")
    signed = [names.index(n) for n in cfg.mirrored_features]
    x_tr, y_tr = mirror(x[tr], y[tr], signed)
    x_ca, y_ca = mirror(x[ca], y[ca], signed)
    if cfg.estimator == "logistic":
        calibrated = _fit_logistic(
            np.concatenate([x_tr, x_ca]), np.concatenate([y_tr, y_ca]), cfg.l2_c
        )
    else:
        gbm = GradientBoostingClassifier(
            n_estimators=cfg.trees,
            max_depth=cfg.max_depth,
            learning_rate=cfg.learning_rate,
            subsample=cfg.subsample,
            min_samples_leaf=cfg.min_samples_leaf,
            random_state=cfg.seed,
        ).fit(x_tr, y_tr)
        calibrated = CalibratedClassifierCV(FrozenEstimator(gbm), method="sigmoid").fit(
            x_ca, y_ca
        )
        # skl2onnx knows GradientBoostingClassifier, not FrozenEstimator (a pass-through
        # wrapper); the fitted calibrator keeps using the same trees either way.
        calibrated.calibrated_classifiers_[0].estimator = gbm
    p_val = calibrated.predict_proba(x[va])[:, 1].astype(np.float64)
    metrics = evaluate(p_val, y[va], cfg.threshold, tradable[va])
    imp = permutation_importance(
        calibrated,
        x[va],
        y[va],
        scoring="neg_brier_score",
        n_repeats=cfg.importance_repeats,
        random_state=cfg.seed,
    )
    importance = {
        n: round(float(v), 8) for n, v in zip(feature_names, imp.importances_mean, strict=True)
    }
    info = TrainingInfo(
        sources=[d.source for d in datasets],
        symbols=[d.symbol for d in datasets],
        start_ns=int(t[0]),
        end_ns=int(t[-1]),
        n_samples=int(x.shape[0]),
        n_train=len(tr),
        n_calibration=len(ca),
        n_validation=len(va),
        positives=int(y.sum()),
        label=msgspec.to_builtins(lab),
        feature_params={d.symbol: msgspec.to_builtins(d.params) for d in datasets},
        estimator=(
            "sklearn StandardScaler + LogisticRegression"
            if cfg.estimator == "logistic"
            else "sklearn GradientBoostingClassifier + sigmoid calibration"
        ),
        params=msgspec.to_builtins(cfg),
        seed=cfg.seed,
        libraries=_library_versions(),
    )
    return TrainedModel(
        estimator=calibrated,
        metrics=metrics,
        importance=importance,
        info=info,
        x_train=x[tr],  # the real (unmirrored) distribution, for drift
        x_validation=x[va],
    )


def _library_versions() -> dict[str, str]:
    """Versions that shape the model bytes (provenance for reproducing it)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for dist in ("scikit-learn", "skl2onnx", "onnx", "numpy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:  # pragma: no cover - all are installed with [train]
            out[dist] = "not installed"
    return out


def _fit_logistic(x: npt.NDArray[np.float32], y: npt.NDArray[np.int8], c: float) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline([("scale", StandardScaler()), ("logit", LogisticRegression(C=c))])
    return pipe.fit(x.astype(np.float64), y)


def logistic_params(estimator: Any) -> LogisticParams:
    """The weights of a fitted StandardScaler + LogisticRegression pipeline."""
    scaler = estimator.named_steps["scale"]
    logit = estimator.named_steps["logit"]
    return LogisticParams(
        weights=[float(w) for w in logit.coef_[0]],
        bias=float(logit.intercept_[0]),
        mean=[float(m) for m in scaler.mean_],
        scale=[float(s) for s in scaler.scale_],
    )


def to_onnx_bytes(estimator: Any, n_features: int) -> bytes:
    """Export a fitted classifier to ONNX without ZipMap; return the serialised model.

    A sigmoid-calibrated gradient-boosting model is exported as *one* tree-ensemble node:
    Platt scaling ``p = 1 / (1 + exp(a * F + b))`` over the ensemble's raw score
    ``F = base + sum(leaves)`` is the same as an ensemble with every leaf weight and the
    base scaled by ``-a`` and ``-b`` added to the base, so the calibration is folded into
    the trees. skl2onnx would otherwise emit fifteen nodes for the calibrator, each with
    its own kernel dispatch (measured: about twice the per-row latency). The parity check
    in :func:`export` compares the folded graph with scikit-learn's calibrated output.
    """
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    fold: tuple[float, float] | None = None
    model = estimator
    calibrated = getattr(estimator, "calibrated_classifiers_", None)
    if calibrated is not None and len(calibrated) == 1 and estimator.method == "sigmoid":
        base = calibrated[0].estimator
        if type(base).__name__ == "GradientBoostingClassifier":
            cal = calibrated[0].calibrators[0]
            fold = (float(cal.a_), float(cal.b_))
            model = base
    onx = to_onnx(
        model,
        initial_types=[(ONNX_INPUT, FloatTensorType([None, n_features]))],
        options={id(model): {"zipmap": False}},
        target_opset=ONNX_OPSET,
    )
    if fold is not None:
        _fold_platt(onx, *fold)
    # skl2onnx lists opset imports in set order (string hash, so per process); sort them
    # so the same data and seed give the same bytes, hence the same sha256 and version.
    imports = sorted((o.domain, o.version) for o in onx.opset_import)
    del onx.opset_import[:]
    for domain, version in imports:
        entry = onx.opset_import.add()
        entry.domain = domain
        entry.version = version
    data: bytes = onx.SerializeToString()
    return data


def _fold_platt(onx: Any, a: float, b: float) -> None:
    """Scale a binary TreeEnsembleClassifier's score by ``-a`` and shift it by ``-b``."""
    [node] = [n for n in onx.graph.node if n.op_type == "TreeEnsembleClassifier"]
    attrs = {attr.name: attr for attr in node.attribute}
    if attrs["post_transform"].s != b"LOGISTIC" or len(attrs["base_values"].floats) != 1:
        raise TrainingError("cannot fold calibration: not a binary logistic tree ensemble")
    weights = [-a * w for w in attrs["class_weights"].floats]
    del attrs["class_weights"].floats[:]
    attrs["class_weights"].floats.extend(weights)
    base = [-a * v - b for v in attrs["base_values"].floats]
    del attrs["base_values"].floats[:]
    attrs["base_values"].floats.extend(base)


def check_parity(model_path: Path, estimator: Any, x: npt.NDArray[np.float32]) -> float:
    """Max |ONNX - scikit-learn| probability over ``x``; TrainingError above 1e-5."""
    from bitunix.ml.runtime import import_onnxruntime

    ort = import_onnxruntime()
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    onnx_p = sess.run(["probabilities"], {ONNX_INPUT: x})[0][:, 1]
    sk_p = estimator.predict_proba(x)[:, 1]
    diff = float(np.max(np.abs(onnx_p - sk_p))) if len(x) else 0.0
    if not diff <= PARITY_TOLERANCE:
        raise TrainingError(f"ONNX export differs from scikit-learn by {diff} > {PARITY_TOLERANCE}")
    return diff


def check_logistic_parity(
    params: LogisticParams, estimator: Any, x: npt.NDArray[np.float32]
) -> float:
    """Max |LogisticScorer - scikit-learn| over ``x``; TrainingError above 1e-5."""
    from bitunix.ml.runtime import LogisticScorer

    scorer = LogisticScorer(params.weights, params.bias, params.mean, params.scale)
    ours = np.array([scorer.score(row) for row in x])
    theirs = estimator.predict_proba(x.astype(np.float64))[:, 1]
    diff = float(np.max(np.abs(ours - theirs))) if len(x) else 0.0
    if not diff <= PARITY_TOLERANCE:
        raise TrainingError(f"logistic scorer differs from scikit-learn by {diff}")
    return diff


def export(
    trained: TrainedModel,
    feature_names: Sequence[str],
    out_dir: str | Path,
    *,
    name: str,
    version: str | None = None,
    bins: int = 10,
) -> ModelManifest:
    """Write ``model.onnx`` and ``manifest.json`` into ``out_dir``; return the manifest.

    ``version`` defaults to the first 12 hex digits of the model's sha256, so the same
    data and seed give the same version. Drift references come from the training part.
    ``name`` and ``version`` must be plain names (``registry.check_name``; RegistryError
    before anything is written).
    """
    from bitunix.ml.manifest import MANIFEST_NAME, save_manifest
    from bitunix.ml.registry import check_name

    # Before anything is written: a name or version becomes a registry directory.
    check_name(name, "name")
    if version is not None:
        check_name(version, "version")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    logistic: LogisticParams | None = None
    if trained.info.params.get("estimator") == "logistic":
        logistic = logistic_params(trained.estimator)
        check_logistic_parity(logistic, trained.estimator, trained.x_validation)
        kind: Literal["onnx", "logistic"] = "logistic"
        file_name = ""
        sha = logistic_sha256(logistic)
    else:
        model_path = out / "model.onnx"
        model_path.write_bytes(to_onnx_bytes(trained.estimator, len(feature_names)))
        check_parity(model_path, trained.estimator, trained.x_validation)
        kind = "onnx"
        file_name = model_path.name
        sha = sha256_file(model_path)
    manifest = ModelManifest(
        name=name,
        version=version or sha[:12],
        kind=kind,
        file=file_name,
        sha256=sha,
        features=list(feature_names),
        threshold=trained.metrics.threshold,
        training=trained.info,
        metrics=trained.metrics,
        importance=trained.importance,
        reference=[
            reference_bins(trained.x_train[:, j].astype(np.float64), bins, n)
            for j, n in enumerate(feature_names)
        ],
        logistic=logistic,
    )
    save_manifest(manifest, out / MANIFEST_NAME)
    return manifest
