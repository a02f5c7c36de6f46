"""``bitunix-bot models``: list (JSON), register, promote, shadow, retire, rollback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest

from bitunix.cli import main
from bitunix.features import FEATURE_NAMES
from bitunix.ml.bundled import bundled_model_dir
from bitunix.ml.manifest import load_manifest, save_manifest


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_install_default_then_list_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "models")
    code, out, err = run(capsys, "models", "--dir", d, "list")
    assert code == 1  # no registry there: said, with how to get one
    assert f"no model registry at {tmp_path / 'models'}" in err
    code, out, _ = run(capsys, "models", "--dir", d, "install-default")
    assert code == 0
    assert "is active" in out
    code, out, _ = run(capsys, "models", "--dir", d, "install-default")  # idempotent
    assert code == 0
    code, out, _ = run(capsys, "models", "--dir", d, "list", "--json")
    rows = json.loads(out)
    shipped = load_manifest(bundled_model_dir() / "manifest.json")
    assert len(rows) == 1
    row = rows[0]
    assert row["name"] == shipped.name
    assert row["version"] == shipped.version
    assert row["sha256"] == shipped.sha256
    assert row["features"] == list(FEATURE_NAMES)
    assert row["status"] == "active"
    assert Path(row["path"]).is_absolute()
    assert (Path(row["path"]) / "model.onnx").is_file()


def test_promote_shadow_rollback_retire_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = str(tmp_path / "models")
    run(capsys, "models", "--dir", d, "install-default")
    second = tmp_path / "second"
    skip = shutil.ignore_patterns("*.py", "__pycache__")
    shutil.copytree(bundled_model_dir(), second, ignore=skip)
    m = load_manifest(second / "manifest.json")
    save_manifest(msgspec.structs.replace(m, version="v2"), second / "manifest.json")
    assert run(capsys, "models", "--dir", d, "register", str(second))[0] == 0
    code, out, _ = run(capsys, "models", "--dir", d, "shadow", "ovirx-gbm", "v2")
    assert "v2 is now shadow" in out
    code, out, _ = run(capsys, "models", "--dir", d, "list")
    assert "shadow" in out
    assert "active" in out
    code, out, _ = run(capsys, "models", "--dir", d, "promote", "ovirx-gbm", "v2")
    assert "v2 is now active" in out
    code, out, _ = run(capsys, "models", "--dir", d, "rollback")
    assert f"ovirx-gbm@{m.version} is active" in out
    code, out, _ = run(capsys, "models", "--dir", d, "show", "ovirx-gbm", "v2")
    assert json.loads(out)["version"] == "v2"
    code, out, _ = run(capsys, "models", "--dir", d, "retire", "ovirx-gbm", "v2")
    assert "retired" in out
    code, _, err = run(capsys, "models", "--dir", d, "rollback")
    assert code == 1
    assert "nothing to roll back" in err
    code, _, err = run(capsys, "models", "--dir", d, "promote", "nope")
    assert code == 1
    assert "no model nope" in err


def test_repository_registry_serves_the_shipped_model() -> None:
    """models/ at the repository root holds the same active model as the package."""
    from bitunix.ml.registry import ModelRegistry, load_predictor

    root = Path(__file__).resolve().parents[2] / "models"
    reg = ModelRegistry(root)
    active = reg.with_status("active")
    assert active is not None
    shipped = load_manifest(bundled_model_dir() / "manifest.json")
    assert (active.name, active.version, active.sha256) == (
        shipped.name, shipped.version, shipped.sha256
    )
    predictor, loaded = load_predictor(reg, FEATURE_NAMES)
    assert loaded is not None
    assert predictor.load_error == ""
    challenger, shadow = load_predictor(reg, FEATURE_NAMES, status="shadow")
    assert shadow is not None
    assert shadow.manifest.kind == "logistic"
    assert shadow.entry.name != active.name
    assert challenger.load_error == ""


@pytest.mark.parametrize("action", [["list"], ["list", "--json"], ["show", "ovirx-gbm"],
                                    ["promote", "ovirx-gbm"], ["rollback"]])
def test_away_from_a_registry_the_cli_says_so_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    action: list[str],
) -> None:
    """``models list`` away from a checkout said ``no models in models`` and exited 0."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "models", *action)
    assert code == 1
    assert out == ""
    [line] = err.splitlines()
    assert f"no model registry at {tmp_path / 'models'}" in line
    assert "models install-default" in line
    assert "--registry" in line
    assert not (tmp_path / "models").exists()


def test_an_empty_registry_directory_lists_no_models_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "reg").mkdir()
    code, out, _ = run(capsys, "models", "--registry", str(tmp_path / "reg"), "list")
    assert code == 0
    assert f"no models registered in {tmp_path / 'reg'}" in out
    assert "install-default" in out
    code, out, _ = run(capsys, "models", "--registry", str(tmp_path / "reg"), "list", "--json")
    assert (code, out.strip()) == (0, "[]")
