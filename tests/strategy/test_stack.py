"""The decision layer built from one config: model, shadow, health, hot swap."""

from __future__ import annotations

import asyncio
import shutil
from decimal import Decimal
from pathlib import Path

import msgspec
import numpy as np
import pytest

from bitunix.features import FEATURE_NAMES
from bitunix.ml.manifest import load_manifest, save_manifest
from bitunix.ml.registry import ModelRegistry
from bitunix.ml.runtime import SOURCE_FALLBACK
from bitunix.ml.shadow import ShadowPair
from bitunix.model.records import RoundTrip
from bitunix.strategy import SignalKind, StrategySpec
from bitunix.strategy.stack import SignalConfig, SignalStack
from tests.strategy.crafted import NS, frame

REPO_MODELS = Path(__file__).resolve().parents[2] / "models"
SHORT = {"z": 3.0, "tick": -0.5, "depth": -0.6}


@pytest.fixture
def models(tmp_path: Path) -> Path:
    dest = tmp_path / "models"
    shutil.copytree(REPO_MODELS, dest)
    return dest


def test_without_a_registry_the_fallback_trades() -> None:
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, SignalConfig(models_dir=None))
    assert stack.load_error == "no model registry configured"
    assert stack.shadow is None
    assert stack.health is None
    assert stack.alerts() == []
    assert not stack.poll()
    [sig] = stack.on_tick("BTCUSDT", 1 * NS, frame(**SHORT), True)
    assert sig.kind is SignalKind.ENTER
    assert sig.score_source == SOURCE_FALLBACK


def test_registry_model_shadow_health_and_outcomes(models: Path) -> None:
    cfg = SignalConfig(
        models_dir=str(models),
        strategies=[StrategySpec(kind="ovirx", params={"prob_threshold": 0.0})],
        drift_sample_every=1,
    )
    stack = SignalStack.build(["BTCUSDT", "ETHUSDT"], FEATURE_NAMES, cfg)
    assert stack.load_error == ""
    assert stack.predictor.name.startswith("ovirx-gbm@")
    assert isinstance(stack.shadow, ShadowPair)
    assert stack.shadow.threshold == 0.0
    assert stack.health is not None
    [enter] = stack.on_tick("BTCUSDT", 1 * NS, frame(**SHORT), True)
    assert enter.score_source == "model"
    assert stack.shadow.scored == 1
    # execution reports the round trip: the outcome reaches health and the shadow pair
    group = stack.by_symbol["BTCUSDT"]
    group.on_entry_filled(enter.strategy, 1 * NS, enter.price)
    group.on_position_closed(RoundTrip(
        symbol="BTCUSDT", strategy=enter.strategy, direction=int(enter.direction),
        qty=Decimal("0.001"), entry_price=Decimal("60090"), exit_price=Decimal("60000"),
        entry_ns=1 * NS, exit_ns=2 * NS, reason="target", gross_pnl=Decimal("0.09"),
        fees=Decimal(0), funding=Decimal(0)))
    assert stack.health.performance.count == 1
    assert stack.shadow.report()["challenger_outcomes"] == 1
    # the other symbol has its own strategies
    assert stack.on_tick("ETHUSDT", 3 * NS, frame(z=0.5), True) == []
    assert stack.health.drift.observed == 1  # only the entry frame has |z| >= 1


def test_poll_follows_promotion_and_rebuilds_health(models: Path) -> None:
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, SignalConfig(models_dir=str(models)))
    assert not stack.poll()
    ModelRegistry(models).promote("ovirx-logit")
    assert stack.poll()
    assert stack.predictor.name.startswith("ovirx-logit@")
    assert stack.health is not None
    assert stack.health.model.startswith("ovirx-logit@")
    ModelRegistry(models).retire("ovirx-logit")
    assert stack.poll()
    assert stack.health is None


def test_shadow_can_be_switched_off(models: Path) -> None:
    stack = SignalStack.build(
        ["BTCUSDT"], FEATURE_NAMES, SignalConfig(models_dir=str(models), shadow=False)
    )
    assert stack.shadow is None
    assert stack.health is not None


def test_bad_strategy_params_are_config_errors(models: Path) -> None:
    from bitunix.core.errors import ConfigError

    cfg = SignalConfig(
        models_dir=str(models), strategies=[StrategySpec(kind="ovirx", params={"nope": 1})]
    )
    with pytest.raises(ConfigError, match="nope"):
        SignalStack.build(["BTCUSDT"], FEATURE_NAMES, cfg)


@pytest.mark.parametrize("bad", [{"drift_sample_every": 0}, {"drift_sample_every": -3},
                                 {"drift_min_abs_z": float("nan")}])
def test_bad_drift_sampling_is_a_config_error_not_a_crash_on_a_tick(bad: dict[str, float]) -> None:
    """drift_sample_every = 0 passed the config and raised ZeroDivisionError on the first
    valid tick (inside the trading loop); a NaN cut silently disabled drift sampling."""
    from bitunix.core.errors import ConfigError

    with pytest.raises(ConfigError):
        SignalConfig(models_dir=None, **bad)  # type: ignore[arg-type]


def test_after_a_hot_swap_the_shadow_credits_the_new_champion(models: Path) -> None:
    """The ShadowPair's champion monitor kept the old model's name and validation figures
    after a hot swap, so the new model's live outcomes were judged (and reported) as the
    old model's."""
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, SignalConfig(models_dir=str(models)))
    assert stack.shadow is not None
    old = stack.shadow.champion_monitor
    stack.shadow.record_outcome(0.9, True)
    ModelRegistry(models).promote("ovirx-logit")
    assert stack.poll()
    mon = stack.shadow.champion_monitor
    assert mon.model == stack.predictor.name
    assert mon.model.startswith("ovirx-logit@")
    assert stack.health is not None
    assert mon.reference == stack.health.performance.reference
    assert mon.count == 0
    assert old.count == 1


# -- issue 15: what the run reports about the model, and the off-loop hot swap ---------


def test_model_status_reports_the_served_model_and_its_counters(models: Path) -> None:
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, SignalConfig(models_dir=str(models)))
    status = stack.model_status()
    assert status.model == stack.predictor.name
    assert status.model.startswith("ovirx-gbm@")
    assert status.source == "model"
    assert (status.load_error, status.swap_failures, status.last_swap_error) == ("", 0, "")
    stack.predictor.predict(frame(**SHORT).vector)
    status = stack.model_status()
    assert (status.calls, status.model_calls, status.fallback_calls) == (1, 1, 0)
    assert status.refused_calls == 0
    assert status.late_calls <= 1  # a first call may be cold; its answer is the model's
    assert status.demoted is False
    assert msgspec.json.decode(msgspec.json.encode(status))["model"] == status.model


def test_without_a_registry_the_status_says_the_fallback_decides() -> None:
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, SignalConfig(models_dir=None))
    status = stack.model_status()
    assert (status.model, status.source) == ("", "fallback")
    assert status.load_error == "no model registry configured"
    assert asyncio.run(stack.poll_async()) is False


def test_a_failed_hot_swap_is_reported_and_the_current_model_keeps_serving(
    models: Path, tmp_path: Path
) -> None:
    """``ActiveModelWatcher.last_error`` was never read: a failed swap was silent."""
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, SignalConfig(models_dir=str(models)))
    serving = stack.predictor.name
    reg = ModelRegistry(models)
    src = tmp_path / "broken"
    shutil.copytree(reg.model_dir(reg.get("ovirx-gbm")), src)
    m = load_manifest(src / "manifest.json")
    save_manifest(msgspec.structs.replace(m, version="broken"), src / "manifest.json")
    entry = reg.register(src)
    reg.promote(entry.name, entry.version)
    (reg.model_dir(entry) / "model.onnx").write_bytes(b"garbage")
    assert not stack.poll()
    status = stack.model_status()
    assert status.model == serving
    assert status.swap_failures == 1
    assert "corrupt" in status.last_swap_error
    assert not asyncio.run(stack.poll_async())  # not retried: nothing changed
    assert stack.model_status().swap_failures == 1


def test_poll_async_follows_promotion_and_rebuilds_health(models: Path) -> None:
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, SignalConfig(models_dir=str(models)))
    ModelRegistry(models).promote("ovirx-logit")
    assert asyncio.run(stack.poll_async())
    assert stack.model_status().model.startswith("ovirx-logit@")
    assert stack.model_status().swaps == 1
    assert stack.health is not None
    assert stack.health.model.startswith("ovirx-logit@")
    # the shadow was the model promoted: nothing is left to score beside it
    assert stack.shadow is None


def test_poll_async_follows_the_registrys_shadow(models: Path) -> None:
    cfg = SignalConfig(models_dir=str(models),
                       strategies=[StrategySpec(kind="ovirx", params={"prob_threshold": 0.0})])
    registry = ModelRegistry(models)
    registry.retire("ovirx-logit")
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, cfg)
    assert stack.shadow is None
    assert not asyncio.run(stack.poll_async())
    # a shadow registered while the bot runs (bitunix-bot retrain) is scored from the next
    # poll on, by the strategies built before it
    registry.shadow("ovirx-logit")
    assert not asyncio.run(stack.poll_async())  # the served model did not change
    assert stack.shadow is not None
    assert stack.shadow.challenger.name.startswith("ovirx-logit@")
    assert stack.shadow.champion is stack.predictor
    [enter] = stack.on_tick("BTCUSDT", 1 * NS, frame(**SHORT), True)
    assert enter.score_source == "model"
    assert stack.shadow.scored == 1
    # retired: dropped, the served model decides alone
    pair = stack.shadow
    registry.retire("ovirx-logit")
    asyncio.run(stack.poll_async())
    assert stack.shadow is None
    row = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    assert stack.gate.predict(row) == stack.predictor.predict(row)
    assert pair.scored == 1  # no longer scored


def test_a_broken_shadow_is_reported_and_not_reloaded_every_poll(models: Path) -> None:
    registry = ModelRegistry(models)
    registry.retire("ovirx-logit")
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, SignalConfig(models_dir=str(models)))
    entry = registry.get("ovirx-logit")
    (registry.model_dir(entry) / "manifest.json").write_bytes(b"not a model")
    registry.shadow("ovirx-logit")
    asyncio.run(stack.poll_async())
    assert stack.shadow is None
    assert stack.shadow_error != ""
    tried = stack._shadow_tried
    asyncio.run(stack.poll_async())
    assert stack._shadow_tried == tried  # not tried again until the registry changes
    assert stack.shadow is None
