"""``bitunix-bot train``: rebuilds the shipped default model bit for bit, offline."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bitunix.cli import main
from bitunix.ml.bundled import bundled_model_dir
from bitunix.ml.manifest import load_manifest

#: Derived float metrics (AUC, Brier, ECE, ...) come from numpy reductions whose last bits
#: depend on the CPU's SIMD width (Intel vs AMD); they are written to 12 significant digits
#: and compared with this relative tolerance. Everything else must match exactly.
METRIC_REL_TOL = 1e-9


def assert_same_manifest(got: Any, want: Any, path: str = "manifest") -> None:
    """Exact equality of every field, except floats within :data:`METRIC_REL_TOL`."""
    if isinstance(want, float) and isinstance(got, float):
        assert math.isclose(got, want, rel_tol=METRIC_REL_TOL, abs_tol=1e-15), (path, got, want)
    elif isinstance(want, dict):
        assert isinstance(got, dict), path
        assert sorted(got) == sorted(want), path
        for key, value in want.items():
            assert_same_manifest(got[key], value, f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list), path
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same_manifest(g, w, f"{path}[{i}]")
    else:
        assert type(got) is type(want), (path, got, want)
        assert got == want, (path, got, want)


def test_manifest_comparison_tolerates_only_last_digit_float_noise() -> None:
    base = {"sha256": "ab", "metrics": {"brier": 0.05469044110055089, "n": 182}}
    assert_same_manifest({"sha256": "ab", "metrics": {"brier": 0.054690441100550886,
                                                      "n": 182}}, base)
    for bad in ({"sha256": "ac", "metrics": base["metrics"]},
                {"sha256": "ab", "metrics": {"brier": 0.0547, "n": 182}},
                {"sha256": "ab", "metrics": {"brier": 0.05469044110055089, "n": 183}},
                {"sha256": "ab", "metrics": {"brier": 0.05469044110055089, "n": 182.0}}):
        with pytest.raises(AssertionError):
            assert_same_manifest(bad, base)


def test_default_training_reproduces_the_shipped_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The model byte for byte, the manifest field by field (floats to 1e-9 relative),
    with the library versions recorded in the manifest (this environment)."""
    shipped = load_manifest(bundled_model_dir() / "manifest.json")
    assert set(shipped.training.libraries) == {"scikit-learn", "skl2onnx", "onnx", "numpy"}
    reg = tmp_path / "models"
    bundle = str(tmp_path / "b")
    assert main(["train", "--registry", str(reg), "--promote", "--bundle", bundle]) == 0
    out = capsys.readouterr().out
    assert f"ovirx-gbm@{shipped.version}" in out
    assert "promoted" in out
    index = json.loads((reg / "registry.json").read_text())
    [entry] = index["entries"]
    assert entry["sha256"] == shipped.sha256
    assert entry["status"] == "active"
    model = "model.onnx"
    assert (tmp_path / "b" / model).read_bytes() == (bundled_model_dir() / model).read_bytes()
    got = json.loads((tmp_path / "b" / "manifest.json").read_text())
    want = json.loads((bundled_model_dir() / "manifest.json").read_text())
    assert_same_manifest(got, want)


def test_small_training_on_one_capture_with_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bitunix.data import bundled_capture

    args = [
        "train", "--registry", str(tmp_path), "--data", f"ETHUSDT={bundled_capture('ETHUSDT')}",
        "--tick", "ETHUSDT=0.01", "--trees", "10", "--name", "eth-small", "--version", "t1",
    ]
    assert main(args) == 0
    assert "eth-small@t1" in capsys.readouterr().out
    logit = ["train", "--registry", str(tmp_path), "--estimator", "logistic", "--name", "lg",
             "--bundle", str(tmp_path / "lgb")]
    assert main(logit) == 0
    [lg] = (tmp_path / "lg").iterdir()
    m = load_manifest(lg / "manifest.json")
    assert m.kind == "logistic"
    assert m.logistic is not None
    assert not (lg / "model.onnx").exists()
    assert (tmp_path / "lgb" / "manifest.json").exists()
    assert load_manifest(tmp_path / "eth-small" / "t1" / "manifest.json").training.symbols == [
        "ETHUSDT"
    ]


def test_bad_arguments_are_config_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--data", "XRPUSDT"]) == 1
    assert "no tick size for XRPUSDT" in capsys.readouterr().err
    assert main(["train", "--tick", "BTCUSDT=abc"]) == 1
    assert "not a number" in capsys.readouterr().err
    assert main(["train", "--tick", "=1"]) == 1
    assert "expected SYMBOL=VALUE" in capsys.readouterr().err
