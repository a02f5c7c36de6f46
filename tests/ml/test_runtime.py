"""ONNX serving: parity with scikit-learn, refusal of bad models, the guard and fallback."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bitunix.core.errors import ConfigError
from bitunix.features import FEATURE_NAMES
from bitunix.ml.errors import ModelLoadError
from bitunix.ml.fallback import RuleFallback
from bitunix.ml.runtime import (
    SOURCE_FALLBACK,
    SOURCE_INVALID,
    SOURCE_MODEL,
    LogisticScorer,
    OnnxScorer,
    Predictor,
    RuntimeConfig,
)
from bitunix.ml.train import TrainedModel, to_onnx_bytes

N = len(FEATURE_NAMES)


def test_onnx_matches_scikit_learn_to_1e5_row_by_row(
    model_dir: Path, trained: TrainedModel
) -> None:
    scorer = OnnxScorer(model_dir / "model.onnx", N)
    x = trained.x_validation
    expected = trained.estimator.predict_proba(x)[:, 1]
    got = np.array([scorer.score(row) for row in x])
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-5
    assert np.unique(got.round(4)).size > 5  # not a constant model


def test_zipmap_model_is_refused(trained: TrainedModel, tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    onx = to_onnx(
        trained.estimator,
        initial_types=[("features", FloatTensorType([None, N]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
    )  # ZipMap on by default
    path = tmp_path / "zipmap.onnx"
    path.write_bytes(onx.SerializeToString())
    with pytest.raises(ModelLoadError, match="ZipMap"):
        OnnxScorer(path, N)


def test_wrong_feature_count_missing_and_corrupt_files_are_refused(
    trained: TrainedModel, tmp_path: Path
) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(to_onnx_bytes(trained.estimator, N))
    with pytest.raises(ModelLoadError, match="does not take 3 features"):
        OnnxScorer(path, 3)
    with pytest.raises(ModelLoadError, match="does not exist"):
        OnnxScorer(tmp_path / "nope.onnx", N)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelLoadError, match="cannot load"):
        OnnxScorer(bad, N)


class Boom:
    def score(self, vector: np.ndarray) -> float:
        raise RuntimeError("kaput")


class Const:
    def __init__(self, p: float) -> None:
        self.p = p
        self.calls = 0

    def score(self, vector: np.ndarray) -> float:
        self.calls += 1
        return self.p


class FakeTimer:
    """Each model call appears to take ``step_ns``."""

    def __init__(self, step_ns: int) -> None:
        self.now = 0
        self.step_ns = step_ns

    def __call__(self) -> int:
        self.now += self.step_ns
        return self.now


def vec(**values: float) -> np.ndarray:
    v = np.zeros(N, dtype=np.float32)
    for k, x in values.items():
        v[FEATURE_NAMES.index(k)] = x
    return v


FALLBACK = RuleFallback(FEATURE_NAMES)
STRONG = vec(vwap_z=3.0, tick_ratio=-0.5, depth_imbalance=-0.6)


def test_model_answer_within_budget() -> None:
    model = Const(0.8)
    pr = Predictor(model, FALLBACK, timer_ns=FakeTimer(1_000))
    assert pr.predict(STRONG) == 0.8
    assert pr.last_source == SOURCE_MODEL
    assert pr.stats.model_calls == 1
    assert pr.latency_percentiles_ns()["p99"] == pytest.approx(1_000)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_features_never_reach_the_model(bad: float) -> None:
    model = Const(0.9)
    pr = Predictor(model, FALLBACK)
    assert pr.predict(vec(vwap_z=3.0, depth_imbalance=bad)) == 0.0
    assert model.calls == 0
    assert pr.last_source == SOURCE_INVALID
    assert pr.stats.invalid_inputs == 1


def test_without_a_model_the_fallback_answers() -> None:
    pr = Predictor(None, FALLBACK)
    assert pr.predict(STRONG) == pytest.approx(FALLBACK.score(STRONG))
    assert pr.last_source == SOURCE_FALLBACK
    assert pr.latency_percentiles_ns() == {}


def test_failing_model_falls_back_counts_and_demotes_after_three() -> None:
    pr = Predictor(Boom(), FALLBACK, RuntimeConfig(probe_every_calls=5))
    for _ in range(3):
        assert pr.predict(STRONG) == pytest.approx(FALLBACK.score(STRONG))
    assert pr.stats.errors == 3
    assert pr.demoted
    assert pr.stats.demotions == 1
    for _ in range(4):  # demoted: the model is not even called
        pr.predict(STRONG)
    assert pr.stats.errors == 3
    pr.predict(STRONG)  # fifth call probes, fails again
    assert pr.stats.probes == 1
    assert pr.stats.errors == 4
    assert pr.demoted


@pytest.mark.parametrize("p", [math.nan, -0.1, 1.5])
def test_out_of_range_probability_is_an_error(p: float) -> None:
    pr = Predictor(Const(p), FALLBACK)
    assert 0.0 <= pr.predict(STRONG) <= 1.0
    assert pr.stats.errors == 1
    assert pr.last_source == SOURCE_FALLBACK


def test_slow_model_falls_back_demotes_and_recovers_after_a_fast_probe() -> None:
    timer = FakeTimer(500_000)  # 500 us per call, budget 100 us
    model = Const(0.9)
    cfg = RuntimeConfig(budget_us=100, probe_every_calls=10)
    pr = Predictor(model, FALLBACK, cfg, timer_ns=timer)
    for _ in range(3):
        assert pr.predict(STRONG) == pytest.approx(FALLBACK.score(STRONG))
    assert pr.stats.overruns == 3
    assert pr.demoted
    calls_before = model.calls
    for _ in range(9):
        pr.predict(STRONG)
    assert model.calls == calls_before
    timer.step_ns = 10_000  # the model is fast again
    assert pr.predict(STRONG) == 0.9  # the probe
    assert not pr.demoted
    assert pr.stats.probes == 1
    assert pr.predict(STRONG) == 0.9


def test_a_single_overrun_does_not_demote() -> None:
    timer = FakeTimer(600_000)  # over the default 500 us budget
    pr = Predictor(Const(0.9), FALLBACK, timer_ns=timer)
    pr.predict(STRONG)
    timer.step_ns = 1_000
    assert pr.predict(STRONG) == 0.9
    assert not pr.demoted
    assert pr.stats.overruns == 1


def test_hot_swap_replaces_the_model_and_clears_demotion() -> None:
    pr = Predictor(Boom(), FALLBACK, name="a")
    for _ in range(3):
        pr.predict(STRONG)
    assert pr.demoted
    old = pr.swap(Const(0.7), name="b")
    assert isinstance(old, Boom)
    assert pr.name == "b"
    assert not pr.demoted
    assert pr.predict(STRONG) == 0.7
    assert pr.stats.as_dict()["demotions"] == 1


def test_logistic_scorer_matches_the_formula() -> None:
    w = [0.5, -1.0] + [0.0] * (N - 2)
    mean = [1.0] * N
    scale = [2.0] * N
    s = LogisticScorer(w, 0.25, mean, scale)
    x = vec(vwap_z=3.0, tick_ratio=-1.0)
    z = 0.25 + 0.5 * (3.0 - 1.0) / 2.0 - 1.0 * (-1.0 - 1.0) / 2.0
    assert s.score(x) == pytest.approx(1.0 / (1.0 + math.exp(-z)))
    assert s.score(vec(vwap_z=-200.0)) == pytest.approx(0.0, abs=1e-20)
    with pytest.raises(ModelLoadError):
        LogisticScorer([1.0], 0.0, [0.0, 1.0], [1.0])
    with pytest.raises(ModelLoadError):
        LogisticScorer([1.0], 0.0, [0.0], [0.0])


@pytest.mark.parametrize(
    "bad", [{"budget_us": 0.0}, {"budget_us": math.nan}, {"max_consecutive_overruns": 0}]
)
def test_runtime_config_validation(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        RuntimeConfig(**bad)  # type: ignore[arg-type]
