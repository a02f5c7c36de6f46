"""The manifest stored beside every model: what it is, what it expects, how good it was.

A manifest pins the model file (``sha256``), the features it takes (names *and* order,
checked against ``bitunix.features.FEATURE_NAMES`` at load), the data and label
definition it was trained on, its held-out metrics (the yardstick for live degradation
alerts), permutation importance and the per-feature reference distributions that drift
detection compares live features with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import msgspec

from bitunix.ml.errors import FeatureMismatchError, ModelLoadError

MANIFEST_NAME = "manifest.json"


class FeatureReference(msgspec.Struct, frozen=True, kw_only=True):
    """Training distribution of one feature: inner bin edges and the share in each bin."""

    name: str
    edges: list[float]
    fractions: list[float]


class TrainingInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Where the model came from."""

    sources: list[str]
    symbols: list[str]
    start_ns: int
    end_ns: int
    n_samples: int
    n_train: int
    n_calibration: int
    n_validation: int
    positives: int
    label: dict[str, float]
    feature_params: dict[str, Any]
    estimator: str
    params: dict[str, Any]
    seed: int
    libraries: dict[str, str] = msgspec.field(default_factory=dict)


class Metrics(msgspec.Struct, frozen=True, kw_only=True):
    """Held-out (validation, latest in time) metrics.

    ``hit_rate``: share of positives among validation samples scored >= ``threshold``
    (None when none is); ``ece``: expected calibration error over 10 probability bins.
    ``tradable_*``: the same restricted to samples whose target clears the round-trip
    fee (the only ones a strategy with ``min_edge_bps`` would ask about; every other
    sample is a negative by construction, which inflates the overall AUC).
    """

    n: int
    base_rate: float
    auc: float | None
    brier: float
    log_loss: float
    ece: float
    threshold: float
    approvals: int
    hit_rate: float | None
    tradable_n: int = 0
    tradable_base_rate: float | None = None
    tradable_auc: float | None = None


class LogisticParams(msgspec.Struct, frozen=True, kw_only=True):
    """Weights of a ``kind = "logistic"`` model (no model file needed)."""

    weights: list[float]
    bias: float
    mean: list[float]
    scale: list[float]


class ModelManifest(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the registry and runtime need to trust and serve a model."""

    name: str
    version: str
    kind: Literal["onnx", "logistic"]
    file: str
    sha256: str
    features: list[str]
    threshold: float
    training: TrainingInfo
    metrics: Metrics
    importance: dict[str, float] = msgspec.field(default_factory=dict)
    reference: list[FeatureReference] = msgspec.field(default_factory=list)
    logistic: LogisticParams | None = None


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def logistic_sha256(params: LogisticParams) -> str:
    """The identity of a logistic model: sha256 of its parameters' canonical JSON."""
    return hashlib.sha256(msgspec.json.encode(params)).hexdigest()


def save_manifest(manifest: ModelManifest, path: str | Path) -> None:
    """Write ``manifest`` as indented JSON (stable key order, so builds are reproducible)."""
    data = msgspec.json.format(msgspec.json.encode(manifest), indent=2)
    Path(path).write_bytes(data + b"\n")


def load_manifest(path: str | Path) -> ModelManifest:
    """Read and validate a manifest; a missing or malformed file is a ModelLoadError."""
    p = Path(path)
    try:
        return msgspec.json.decode(p.read_bytes(), type=ModelManifest)
    except FileNotFoundError:
        raise ModelLoadError(f"manifest {p} does not exist") from None
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ModelLoadError(f"manifest {p} is invalid: {exc}") from exc


def check_features(manifest: ModelManifest, feature_names: Sequence[str]) -> None:
    """Refuse a model whose feature list differs from the engine's (names or order)."""
    expected = list(feature_names)
    if manifest.features == expected:
        return
    missing = [n for n in manifest.features if n not in expected]
    extra = [n for n in expected if n not in manifest.features]
    detail = (
        f"missing from the engine: {missing}; not in the model: {extra}"
        if missing or extra
        else "same names in a different order"
    )
    raise FeatureMismatchError(
        f"model {manifest.name}@{manifest.version} expects features {manifest.features}, "
        f"the FeatureEngine produces {expected} ({detail}); retrain or pick another model"
    )
