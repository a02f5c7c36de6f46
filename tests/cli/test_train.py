"""``bitunix-bot train``: rebuilds the shipped default model bit for bit, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bitunix.cli import main
from bitunix.ml.bundled import bundled_model_dir
from bitunix.ml.manifest import load_manifest


def test_default_training_reproduces_the_shipped_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Byte for byte with the library versions recorded in the manifest (this
    environment); with other versions the bytes may differ and this test says so."""
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
    for name in ("model.onnx", "manifest.json"):
        assert (tmp_path / "b" / name).read_bytes() == (bundled_model_dir() / name).read_bytes()


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
