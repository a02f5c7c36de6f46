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
    SOURCE_REFUSED,
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
    assert pr.source == SOURCE_FALLBACK
    assert pr.stats.fallback_calls == 1
    assert pr.latency_percentiles_ns() == {}


def test_failing_model_is_refused_counted_and_demoted_after_three() -> None:
    pr = Predictor(Boom(), FALLBACK, RuntimeConfig(probe_every_calls=5))
    for _ in range(3):
        assert pr.predict(STRONG) == 0.0
        assert pr.last_source == SOURCE_REFUSED
    assert pr.stats.errors == 3
    assert pr.demoted
    assert pr.stats.demotions == 1
    for _ in range(4):  # demoted: the model is not even called
        assert pr.predict(STRONG) == 0.0
    assert pr.stats.errors == 3
    pr.predict(STRONG)  # fifth call probes, fails again
    assert pr.stats.probes == 1
    assert pr.stats.errors == 4
    assert pr.demoted
    assert pr.stats.refusals == 8
    assert pr.stats.fallback_calls == 0


@pytest.mark.parametrize("p", [math.nan, -0.1, 1.5])
def test_out_of_range_probability_is_an_error(p: float) -> None:
    pr = Predictor(Const(p), FALLBACK)
    assert pr.predict(STRONG) == 0.0
    assert pr.stats.errors == 1
    assert pr.last_source == SOURCE_REFUSED


def test_slow_model_answers_demotes_and_recovers_after_a_fast_probe() -> None:
    timer = FakeTimer(500_000)  # 500 us per call, warm or not; budget 100 us
    model = Const(0.9)
    cfg = RuntimeConfig(budget_us=100, probe_every_calls=10)
    pr = Predictor(model, FALLBACK, cfg, timer_ns=timer)
    for _ in range(3):
        assert pr.predict(STRONG) == 0.9  # late: still the model's answer
    assert pr.stats.late == 3
    assert pr.stats.slow == 3
    assert pr.demoted
    calls_before = model.calls
    for _ in range(9):
        assert pr.predict(STRONG) == 0.0
    assert model.calls == calls_before
    timer.step_ns = 10_000  # the model is fast again
    assert pr.predict(STRONG) == 0.9  # the probe
    assert not pr.demoted
    assert pr.stats.probes == 1
    assert pr.predict(STRONG) == 0.9


def test_a_single_slow_call_does_not_demote() -> None:
    timer = FakeTimer(600_000)  # over the default 500 us budget
    pr = Predictor(Const(0.9), FALLBACK, timer_ns=timer)
    assert pr.predict(STRONG) == 0.9
    timer.step_ns = 1_000
    assert pr.predict(STRONG) == 0.9
    assert not pr.demoted
    assert pr.stats.late == 1
    assert pr.stats.slow == 1
    assert pr.source == SOURCE_MODEL


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


# -- issue 15: a late answer is the model's answer; nothing stands in looser ------------

REFUSED_BY_MODEL = 0.14  # the model refuses STRONG, which the rule fallback approves


def test_the_fallback_approves_the_vector_the_model_refuses() -> None:
    """The premise of the tests below: on STRONG the rule fallback approves (>= 0.65)."""
    assert FALLBACK.score(STRONG) > 0.8


def test_a_late_refusal_stays_a_refusal() -> None:
    """A call over the budget (cold after a load or a hot swap: 470-660 us against 500)
    was answered by the rule fallback, which approved (p 0.83-0.85) entries the model had
    just refused (p 0.13-0.15)."""
    timer = FakeTimer(660_000)
    pr = Predictor(Const(REFUSED_BY_MODEL), FALLBACK, timer_ns=timer)
    p = pr.predict(STRONG)
    assert p == REFUSED_BY_MODEL
    assert pr.last_source == SOURCE_MODEL
    assert pr.stats.late == 1
    assert pr.stats.fallback_calls == 0


def test_a_demoted_model_is_replaced_by_a_refusal_never_by_the_fallback() -> None:
    timer = FakeTimer(5_000_000)  # 5 ms per call, even warm: a model that turned slow
    model = Const(REFUSED_BY_MODEL)
    pr = Predictor(model, FALLBACK, RuntimeConfig(probe_every_calls=4), timer_ns=timer)
    answers = [pr.predict(STRONG) for _ in range(3)]
    assert answers == [REFUSED_BY_MODEL] * 3  # late, still the model's
    assert pr.demoted
    calls = model.calls
    for _ in range(3):
        assert pr.predict(STRONG) == 0.0
        assert pr.last_source == SOURCE_REFUSED
    assert model.calls == calls  # demoted: not called
    assert pr.stats.refusals == 3
    assert pr.stats.fallback_calls == 0
    assert pr.predict(STRONG) == REFUSED_BY_MODEL  # the probe: the model's answer
    assert pr.stats.probes == 1
    assert pr.demoted  # still slow when warm


def test_a_failing_model_is_replaced_by_a_refusal() -> None:
    pr = Predictor(Boom(), FALLBACK)
    assert pr.predict(STRONG) == 0.0
    assert pr.last_source == SOURCE_REFUSED
    assert pr.stats.errors == 1
    assert pr.stats.refusals == 1
    assert pr.stats.fallback_calls == 0


class ColdThenWarm:
    """A timer for calls that are late when cold (the first after an idle gap) and fast
    when warm (the re-timed second one)."""

    def __init__(self, cold_ns: int, warm_ns: int) -> None:
        self.now = 0
        self.cold_ns = cold_ns
        self.warm_ns = warm_ns
        self.reads = 0

    def __call__(self) -> int:
        # Reads come in (start, end) pairs: a predict's call, then its warm re-check.
        self.reads += 1
        pair = (self.reads - 1) // 2
        if self.reads % 2 == 0:
            self.now += self.cold_ns if pair % 2 == 0 else self.warm_ns
        return self.now


def test_cold_calls_never_demote_a_model_that_is_fast_when_warm() -> None:
    """Every decision of a rarely-asked model is cold; three late calls in a row must
    not bypass (and so silence) a model that is fast once warm."""
    model = Const(0.8)
    pr = Predictor(model, FALLBACK, timer_ns=ColdThenWarm(660_000, 5_000))
    for _ in range(10):
        assert pr.predict(STRONG) == 0.8
    assert pr.stats.late == 10
    assert pr.stats.slow == 0
    assert not pr.demoted
    assert model.calls == 20  # each late call is re-timed once, warm


def test_warm_up_at_swap_runs_the_rows_without_counting_or_demoting() -> None:
    rows = np.tile(STRONG, (16, 1))
    model = Const(0.8)
    pr = Predictor(None, FALLBACK, timer_ns=FakeTimer(5_000_000))
    pr.swap(model, name="m", warmup_rows=rows)
    assert model.calls == 16
    assert pr.stats.calls == 0
    assert pr.stats.late == 0
    assert not pr.demoted
    assert pr.latency_percentiles_ns() == {}


def test_a_model_that_fails_its_warm_up_is_not_swapped_in() -> None:
    current = Const(0.5)
    pr = Predictor(current, FALLBACK, name="current")
    with pytest.raises(ModelLoadError, match="warm-up"):
        pr.swap(Boom(), name="broken", warmup_rows=np.tile(STRONG, (4, 1)))
    assert pr.model is current
    assert pr.name == "current"


def test_onnx_warm_up_rows_run_at_load(model_dir: Path) -> None:
    class Counting(OnnxScorer):
        runs = 0

        def score(self, vector: np.ndarray) -> float:
            Counting.runs += 1
            return super().score(vector)

    rows = np.tile(STRONG, (40, 1))
    Counting(model_dir / "model.onnx", N, warmup_rows=rows)
    assert Counting.runs == 40


def test_onnxruntime_writes_no_telemetry_under_the_home_or_cache_dir(
    model_dir: Path, tmp_path: Path
) -> None:
    """onnxruntime 1.32 wrote a device id and an event database under
    ``$XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime`` on every run (at import)."""
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    cache = tmp_path / "cache"
    home.mkdir()
    cache.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORT_")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(cache))
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from bitunix.ml.runtime import OnnxScorer\n"
        f"s = OnnxScorer({str(model_dir / 'model.onnx')!r}, {N})\n"
        f"print(s.score(np.zeros({N}, dtype=np.float32)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert 0.0 <= float(done.stdout) <= 1.0
    written = [p for d in (home, cache) for p in d.rglob("*")]
    assert written == []


class AnswersThenFails:
    """Answers the first call, raises on the second (the warm re-check of a late call)."""

    def __init__(self) -> None:
        self.calls = 0

    def score(self, vector: np.ndarray) -> float:
        self.calls += 1
        if self.calls % 2 == 0:
            raise RuntimeError("kaput")
        return 0.2


def test_a_late_answer_stands_when_its_warm_recheck_fails() -> None:
    pr = Predictor(AnswersThenFails(), FALLBACK, timer_ns=FakeTimer(600_000))
    assert pr.predict(STRONG) == 0.2
    assert pr.last_source == SOURCE_MODEL
    assert (pr.stats.late, pr.stats.errors, pr.stats.refusals) == (1, 1, 0)
    for _ in range(2):
        assert pr.predict(STRONG) == 0.2
    assert pr.stats.errors == 3
    assert not pr.demoted  # every call answered: the failures are not in a row


def test_warm_up_runs_the_served_model_without_counting() -> None:
    model = Const(0.3)
    pr = Predictor(model, FALLBACK)
    pr.warm_up(np.tile(STRONG, (5, 1)))
    assert model.calls == 5
    assert pr.stats.calls == 0
    Predictor(None, FALLBACK).warm_up(np.tile(STRONG, (5, 1)))  # no model: nothing to run
