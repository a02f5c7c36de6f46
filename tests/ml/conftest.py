"""A small model trained once per session on the bundled captures (seeded, offline)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bitunix.data import bundled_capture, iter_capture
from bitunix.features import FEATURE_NAMES
from bitunix.ml.dataset import FeatureParams, build_samples
from bitunix.ml.labels import LabelConfig
from bitunix.ml.manifest import ModelManifest
from bitunix.ml.train import Dataset, TrainConfig, TrainedModel, export, fit
from bitunix.model.records import RoundTrip
from tests.strategy.crafted import NS

TICKS = {"BTCUSDT": 0.1, "ETHUSDT": 0.01}
SMALL = TrainConfig(trees=20, importance_repeats=2)
LABELS = LabelConfig(horizon_s=30.0)


@pytest.fixture(scope="session")
def datasets() -> list[Dataset]:
    out = []
    for symbol, tick in TICKS.items():
        params = FeatureParams(tick_size=tick)
        path = bundled_capture(symbol)
        out.append(
            Dataset(
                source=path.name,
                symbol=symbol,
                samples=build_samples(iter_capture(path), params),
                params=params,
            )
        )
    return out


@pytest.fixture(scope="session")
def trained(datasets: list[Dataset]) -> TrainedModel:
    return fit(datasets, FEATURE_NAMES, SMALL, LABELS)


@pytest.fixture(scope="session")
def model_dir(trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model")
    export(trained, FEATURE_NAMES, out, name="ovirx-test")
    return out


@pytest.fixture(scope="session")
def manifest(model_dir: Path) -> ModelManifest:
    from bitunix.ml.manifest import load_manifest

    return load_manifest(model_dir / "manifest.json")


def round_trip(reason: str, net: str, exit_s: int) -> RoundTrip:
    """A short OVIR-X round trip on BTCUSDT as execution reports it (entry at 1 s)."""
    return RoundTrip(symbol="BTCUSDT", strategy="ovirx", direction=-1, qty=Decimal("0.001"),
                     entry_price=Decimal("60090"), exit_price=Decimal("60000"), entry_ns=NS,
                     exit_ns=exit_s * NS, reason=reason, gross_pnl=Decimal(net),
                     fees=Decimal(0), funding=Decimal(0))
