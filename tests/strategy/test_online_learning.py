"""signal.online_learning: the served logistic model learns from closed OVIR-X positions,
within its bounds, reverts, and changes nothing when off."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from msgspec.structs import replace

from bitunix.config.bot import load_config
from bitunix.core.errors import ConfigError
from bitunix.features import FEATURE_NAMES
from bitunix.ml.manifest import LogisticParams
from bitunix.ml.online import OnlineConfig, OnlineLogistic
from bitunix.ml.registry import ModelRegistry
from bitunix.ml.runtime import LogisticScorer, Predictor
from bitunix.strategy import SignalConfig, SignalKind, StrategySpec, SymbolStrategies
from bitunix.strategy.stack import SignalStack
from tests.ml.conftest import round_trip
from tests.strategy.crafted import NS, frame

REPO_MODELS = Path(__file__).resolve().parents[2] / "models"
N = len(FEATURE_NAMES)
IFLOW = FEATURE_NAMES.index("flow_imbalance")
SPECS = [StrategySpec(kind="ovirx", params={"prob_threshold": 0.0}),
         StrategySpec(kind="mean_reversion")]


@pytest.fixture
def models(tmp_path: Path) -> Path:
    dest = tmp_path / "models"
    shutil.copytree(REPO_MODELS, dest)
    ModelRegistry(dest).promote("ovirx-logit")
    return dest


def config(models: Path | None, *, on: bool, **online: float) -> SignalConfig:
    return SignalConfig(models_dir=None if models is None else str(models), shadow=False,
                        strategies=SPECS, online_learning=on,
                        online=OnlineConfig(**online))  # type: ignore[arg-type]


def trade(stack: SignalStack | SymbolStrategies, k: int, *, flow: float, hit: bool
          ) -> float:
    """Round k: an OVIR-X short entry, its fill and its close as a hit or a miss; the
    entry's probability."""
    ts = (1 + 100 * k) * NS
    reading = frame(z=3.0, tick=-0.5, depth=-0.6, flow=flow)
    if isinstance(stack, SignalStack):
        signals = stack.on_tick("BTCUSDT", ts, reading, True)
        group = stack.by_symbol["BTCUSDT"]
    else:
        signals = stack.on_tick(ts, reading, True)
        group = stack
    enter = next(s for s in signals if s.strategy == "ovirx")
    assert enter.kind is SignalKind.ENTER
    for s in signals:
        group.on_entry_filled(s.strategy, ts, s.price)
    exit_s = 100 * k + 2
    group.on_position_closed(round_trip("target" if hit else "stop", "1" if hit else "-1",
                                        exit_s))
    mr = group.get("mean_reversion")
    if mr is not None and mr.in_position:
        mr.on_position_closed(replace(round_trip("target", "1", exit_s),
                                      strategy="mean_reversion"))
    return enter.probability


def test_on_the_served_logistic_model_learns_within_its_bounds(models: Path) -> None:
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES,
                              config(models, on=True, learning_rate=0.5, max_step=0.05,
                                     max_shift=0.2, revert_margin=10.0))
    online = stack.online
    assert isinstance(online, OnlineLogistic)
    assert stack.predictor.model is online
    status = stack.model_status()
    assert status.model.startswith("ovirx-logit@")
    assert status.model.endswith("+online")
    assert (status.online, status.online_updates, status.online_max_shift) == ("learning", 0,
                                                                               0.0)
    anchor = online.anchor
    probabilities = [trade(stack, k, flow=0.4, hit=True) for k in range(30)]
    status = stack.model_status()
    assert status.online_updates == 30  # OVIR-X's outcomes only, not mean reversion's
    assert 0.0 < status.online_max_shift <= 0.2 + 1e-12
    assert online.weights != anchor.weights
    assert all(abs(w - w0) <= 0.2 + 1e-12 for w, w0 in zip(online.weights, anchor.weights,
                                                            strict=True))
    # every outcome was a hit: the served probability of the same reading rises
    assert probabilities[-1] > probabilities[0]
    assert probabilities == sorted(probabilities)
    online.revert()
    assert online.weights == list(anchor.weights)
    assert stack.model_status().online_reverts == 1


def test_losing_against_the_anchor_reverts_to_it() -> None:
    # an anchor that knows the truth (hit when flow > 0), a fast learner chasing outcomes
    # that flip every 25 trips: it ends up worse than the anchor and reverts by itself
    anchor = LogisticParams(weights=[0.0] * IFLOW + [4.0] + [0.0] * (N - IFLOW - 1),
                            bias=0.0, mean=[0.0] * N, scale=[1.0] * N)
    stack = SignalStack.build(
        ["BTCUSDT"], FEATURE_NAMES,
        config(None, on=True, learning_rate=1.0, max_step=1.0, max_shift=5.0, window=50,
               min_outcomes=20, revert_margin=0.01),
        online_anchor=anchor)
    online = stack.online
    assert online is not None
    assert stack.model_status().model == "anchor+online"
    rng = np.random.default_rng(1)
    reverts = 0
    for k in range(400):
        flow = float(rng.choice([-0.5, 0.5]))
        truth = flow > 0
        trade(stack, k, flow=flow, hit=truth if (k // 25) % 2 == 0 else not truth)
        if online.auto_reverts > reverts:
            reverts = online.auto_reverts
            assert online.weights == anchor.weights
            assert online.bias == anchor.bias
    status = stack.model_status()
    assert status.online_auto_reverts == reverts >= 1
    assert status.online_reverts >= reverts


def test_off_decides_exactly_as_without_the_option(models: Path) -> None:
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, config(models, on=False))
    assert stack.online is None
    assert isinstance(stack.predictor.model, LogisticScorer)
    status = stack.model_status()
    assert (status.online, status.online_updates) == ("off", 0)
    # today's wiring: the same model and strategies, no learner anywhere
    loaded = ModelRegistry(models).load_status("active", FEATURE_NAMES)
    assert loaded is not None
    today = SymbolStrategies.from_specs("BTCUSDT", FEATURE_NAMES, SPECS,
                                        gate=Predictor(loaded.scorer, stack.predictor._fallback))
    outcomes = [(0.4, True), (-0.4, False), (0.4, False), (0.1, True)] * 5
    got = [trade(stack, k, flow=f, hit=h) for k, (f, h) in enumerate(outcomes)]
    want = [trade(today, k, flow=f, hit=h) for k, (f, h) in enumerate(outcomes)]
    assert got == want
    assert got[0] == got[4] == got[8]  # nothing learnt


def test_inactive_without_a_logistic_model(models: Path) -> None:
    ModelRegistry(models).promote("ovirx-gbm")
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, config(models, on=True))
    assert stack.online is None
    status = stack.model_status()
    assert status.online.startswith("inactive: the served model is not a logistic one")
    assert status.model.startswith("ovirx-gbm@")
    trade(stack, 0, flow=0.4, hit=True)  # the learner hook is a no-op
    assert stack.model_status().online_updates == 0
    # a hot swap to the logistic model starts learning from it
    ModelRegistry(models).promote("ovirx-logit")
    assert stack.poll()
    assert stack.model_status().online == "learning"
    assert stack.model_status().model.startswith("ovirx-logit@")
    assert stack.predictor.model is stack.online
    trade(stack, 1, flow=0.4, hit=True)
    assert stack.model_status().online_updates == 1


def test_a_given_anchor_survives_a_hot_swap(models: Path) -> None:
    anchor = LogisticParams(weights=[0.1] * N, bias=0.0, mean=[0.0] * N, scale=[1.0] * N)
    stack = SignalStack.build(["BTCUSDT"], FEATURE_NAMES, config(models, on=True),
                              online_anchor=anchor)
    online = stack.online
    assert online is not None
    assert online.anchor == anchor
    trade(stack, 0, flow=0.4, hit=True)
    ModelRegistry(models).promote("ovirx-gbm")
    assert stack.poll()
    assert stack.online is online  # same anchor: the learnt state is kept
    assert stack.predictor.model is online
    assert stack.model_status().model.startswith("ovirx-gbm@")
    assert stack.model_status().online_updates == 1


def test_an_anchor_of_the_wrong_size_is_refused() -> None:
    anchor = LogisticParams(weights=[0.1], bias=0.0, mean=[0.0], scale=[1.0])
    with pytest.raises(ConfigError, match="the anchor has 1 weights for 8 features"):
        SignalStack.build(["BTCUSDT"], FEATURE_NAMES, config(None, on=True),
                          online_anchor=anchor)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("signal.online.learning_rate", 0, r"key signal\.online\.learning_rate: must be > 0"),
        ("signal.online.revert_margin", -1.0, r"key signal\.online\.revert_margin: must be >= 0"),
        ("signal.online.window", 10, r"key signal\.online: need 1 <= min_outcomes <= window"),
        ("signal.online_learning", "yes", r"key signal\.online_learning: Expected `bool`"),
    ],
)
def test_bad_online_settings_name_the_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, {}, overrides={key: value})
    assert load_config(None, {}, overrides={"signal.online_learning": True}
                       ).signal.online_learning
