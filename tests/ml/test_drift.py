"""PSI: near zero on the training distribution, large on shifted data, rolling window."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bitunix.core.errors import ConfigError
from bitunix.features import FEATURE_NAMES
from bitunix.ml.drift import DriftConfig, DriftMonitor, psi, reference_bins, shares
from bitunix.ml.manifest import ModelManifest


def test_psi_of_identical_shares_is_zero_and_grows_with_shift() -> None:
    ref = [0.25, 0.25, 0.25, 0.25]
    assert psi(ref, ref) == 0.0
    small = psi(ref, [0.3, 0.25, 0.25, 0.2])
    big = psi(ref, [0.7, 0.1, 0.1, 0.1])
    assert 0.0 < small < 0.1 < big
    # formula check on one pair: (0.7-0.25)ln(0.7/0.25) + 3*(0.1-0.25)ln(0.1/0.25)
    expected = 0.45 * math.log(2.8) + 3 * (-0.15) * math.log(0.4)
    assert big == pytest.approx(expected)
    with pytest.raises(ValueError, match="length"):
        psi([1.0], [0.5, 0.5])


def test_reference_bins_are_quantiles() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=10_000)
    ref = reference_bins(x, 10, "x")
    assert len(ref.edges) == 9
    assert ref.fractions == pytest.approx([0.1] * 10, abs=1e-3)
    same = shares(rng.normal(size=10_000), ref.edges)
    shifted = shares(rng.normal(0.5, 1.0, size=10_000), ref.edges)
    assert psi(ref.fractions, same) < 0.02
    assert psi(ref.fractions, shifted) > 0.2
    with pytest.raises(ValueError, match="no finite"):
        reference_bins(np.array([np.nan]), 10, "bad")
    assert shares(np.array([]), [0.0]) == [0.0, 0.0]


def test_monitor_flags_only_the_shifted_feature() -> None:
    rng = np.random.default_rng(2)
    train = rng.normal(size=(5000, 3))
    refs = [reference_bins(train[:, j], 10, f"f{j}") for j in range(3)]
    mon = DriftMonitor(refs, DriftConfig(window=1000, min_samples=500))
    for _ in range(499):
        mon.observe(rng.normal(size=3).astype(np.float32))
    assert mon.psi_by_feature() == {}  # not enough samples yet
    live = rng.normal(size=(1500, 3))
    live[:, 1] += 1.0  # feature 1 shifts by one sigma
    for row in live:
        mon.observe(row.astype(np.float32))
    drifted = mon.drifted()
    assert set(drifted) == {"f1"}
    assert mon.psi_by_feature()["f0"] < 0.1


def test_monitor_window_forgets_old_data_and_skips_nan() -> None:
    rng = np.random.default_rng(3)
    refs = [reference_bins(rng.normal(size=5000), 10, "f0")]
    mon = DriftMonitor(refs, DriftConfig(window=200, min_samples=100))
    for _ in range(300):
        mon.observe(np.array([5.0], dtype=np.float32))  # all in the top bin
    assert "f0" in mon.drifted()
    for x in rng.normal(size=200):
        mon.observe(np.array([x], dtype=np.float32))
    assert mon.drifted() == {}
    mon.observe(np.array([np.nan], dtype=np.float32))
    assert mon.observed == 501


def test_training_reference_against_live_like_and_shifted_features(
    manifest: ModelManifest,
) -> None:
    """The shipped-style references: data drawn from them is stable, a shift is flagged."""
    rng = np.random.default_rng(4)
    mon = DriftMonitor(manifest.reference, DriftConfig(window=2000, min_samples=500))
    iz = FEATURE_NAMES.index("vwap_z")
    for _ in range(2000):
        row = np.array(
            [rng.choice(r.edges) if r.edges else 0.0 for r in manifest.reference],
            dtype=np.float32,
        )
        row[iz] += 100.0  # every vwap_z far above anything seen in training
        mon.observe(row)
    assert "vwap_z" in mon.drifted()


@pytest.mark.parametrize("bad", [{"psi_alert": 0.0}, {"window": 10, "min_samples": 20}])
def test_drift_config_validation(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        DriftConfig(**bad)  # type: ignore[arg-type]


def test_a_manifest_without_references_watches_no_drift_instead_of_crashing(
    manifest: ModelManifest,
) -> None:
    """``reference`` is optional in a manifest (default empty); serving such a model made
    the first drift sample raise IndexError inside the tick path (SignalStack.on_tick)."""
    import msgspec

    from bitunix.ml.monitor import ModelHealth

    bare = msgspec.structs.replace(manifest, reference=[])
    health = ModelHealth(bare, DriftConfig(window=5, min_samples=1))
    for _ in range(7):
        health.observe(np.ones(len(FEATURE_NAMES), dtype=np.float32))
    assert health.drift.drifted() == {}
    assert [a for a in health.alerts() if a.kind == "drift"] == []
    # references for only the first columns: those are watched, the rest ignored
    part = DriftMonitor(manifest.reference[:2], DriftConfig(window=5, min_samples=1))
    part.observe(np.ones(len(FEATURE_NAMES), dtype=np.float32))
    assert set(part.psi_by_feature()) == {r.name for r in manifest.reference[:2]}


def test_batch_psi_equals_binning_each_observation_over_the_last_window() -> None:
    """``observe`` only stores the vector; binning the window later must give what
    binning each observation as it came (bisect per feature, NaN skipped) gave."""
    import bisect

    rng = np.random.default_rng(7)
    refs = [reference_bins(rng.normal(size=3000), 10, f"f{j}") for j in range(3)]
    mon = DriftMonitor(refs, DriftConfig(window=50, min_samples=10))
    rows = rng.normal(0.3, 1.2, size=(137, 4)).astype(np.float32)  # a 4th, unreferenced column
    rows[::11, 1] = np.nan
    rows[5, 2] = np.inf
    for row in rows:
        mon.observe(row)
    assert mon.observed == 137
    last = rows[-50:]
    expected = {}
    for j, ref in enumerate(refs):
        counts = [0] * (len(ref.edges) + 1)
        for x in last[:, j].tolist():
            if math.isfinite(x):
                counts[bisect.bisect_right(ref.edges, x)] += 1
        total = sum(counts)
        expected[ref.name] = psi(ref.fractions, [c / total for c in counts])
    got = mon.psi_by_feature()
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert mon.window().shape == (50, 4)
