"""Serving a model one row at a time: the ONNX session, the guard around it, the counters.

``OnnxScorer`` is an onnxruntime session tuned for single-row latency: one intra-op and
one inter-op thread, sequential execution, every graph optimisation, and the input and
output buffers bound once through IOBinding so a call copies eight floats in, runs, and
reads one float out without allocating. Models must be exported without ZipMap (a
probability *tensor*, not a sequence of maps); a ZipMap model is refused at load.

``Predictor`` is what a strategy calls. It never raises and never returns NaN:

* a feature vector with NaN or inf is caught before inference (counted, scores 0.0, so
  nothing is approved on bad data);
* an exception from the model, or a probability outside [0, 1], is counted and answered
  by the fallback;
* each call is timed; a call over the latency budget is counted and its (late) answer is
  replaced by the fallback's. A single ONNX call cannot be interrupted, so the guard is
  *demotion*: after ``max_consecutive_overruns`` overruns (or ``max_consecutive_errors``
  errors) in a row the model is bypassed and the fallback answers, and every
  ``probe_every_calls`` calls one call probes the model again; a probe within budget
  restores it. So a model that turns slow costs at most a few budget overruns on the
  event loop, then a probe every ``probe_every_calls`` decisions.
* ``swap`` replaces the model in place (hot swap; one attribute store, safe between
  calls on the loop thread) and clears the demotion state.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.core.errors import ConfigError
from bitunix.ml.errors import ModelLoadError

F32 = npt.NDArray[np.float32]

#: Where a prediction came from (``Predictor.last_source``).
SOURCE_MODEL: Final = "model"
SOURCE_FALLBACK: Final = "fallback"
SOURCE_INVALID: Final = "invalid"

_WARMUP_RUNS = 3


class Scorer(Protocol):
    """Anything that maps one feature vector to P(reversion) in [0, 1]."""

    def score(self, vector: F32) -> float:
        """Return the probability of the positive class for one row."""
        ...


class RuntimeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Latency budget and demotion policy of :class:`Predictor`.

    ``budget_us``: a model call slower than this is an overrun (default 500 us; a
    100-tree model takes 3-6 us in a tight loop here, but a call after seconds of idle
    runs with cold caches: 60-140 us measured in a replay of the bundled data).
    ``max_consecutive_overruns`` /
    ``max_consecutive_errors``: overruns or errors in a row that demote the model
    (default 3). ``probe_every_calls``: while demoted, one call in this many probes the
    model (default 10,000). ``latency_window``: how many recent latencies are kept for
    percentiles (default 4,096).
    """

    budget_us: float = 500.0
    max_consecutive_overruns: int = 3
    max_consecutive_errors: int = 3
    probe_every_calls: int = 10_000
    latency_window: int = 4096

    def __post_init__(self) -> None:
        if not (self.budget_us > 0.0 and math.isfinite(self.budget_us)):
            raise ConfigError(f"runtime.budget_us must be > 0, was {self.budget_us!r}")
        for name in (
            "max_consecutive_overruns",
            "max_consecutive_errors",
            "probe_every_calls",
            "latency_window",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"runtime.{name} must be >= 1, was {getattr(self, name)!r}")


class OnnxScorer:
    """An onnxruntime session for one row at a time, buffers bound once (IOBinding)."""

    __slots__ = ("_io", "_out", "_prob", "_sess", "_x", "n_features", "path")

    def __init__(self, path: str | Path, n_features: int) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelLoadError(f"onnxruntime is not installed, cannot load {path}") from exc
        self.path = Path(path)
        self.n_features = n_features
        if not self.path.is_file():
            raise ModelLoadError(f"model file {self.path} does not exist")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            sess = ort.InferenceSession(
                str(self.path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped pybind errors
            raise ModelLoadError(f"cannot load ONNX model {self.path}: {exc}") from exc
        self._sess = sess
        inputs = sess.get_inputs()
        if len(inputs) != 1 or inputs[0].type != "tensor(float)":
            raise ModelLoadError(
                f"{self.path}: expected one float tensor input, got "
                f"{[(i.name, i.type) for i in inputs]}"
            )
        shape = inputs[0].shape
        if len(shape) != 2 or shape[1] != n_features:
            raise ModelLoadError(
                f"{self.path}: input shape {shape} does not take {n_features} features"
            )
        self._x = np.zeros((1, n_features), dtype=np.float32)
        io = sess.io_binding()
        io.bind_input(inputs[0].name, "cpu", 0, np.float32, [1, n_features], self._x.ctypes.data)
        self._out: list[np.ndarray[Any, Any]] = []
        prob: F32 | None = None
        for out in sess.get_outputs():
            if not out.type.startswith("tensor("):
                raise ModelLoadError(
                    f"{self.path}: output {out.name!r} is {out.type} (ZipMap?); export the "
                    "classifier with options={'zipmap': False}"
                )
            if out.type == "tensor(float)" and len(out.shape) == 2 and out.shape[1] == 2:
                buf: np.ndarray[Any, Any] = np.zeros((1, 2), dtype=np.float32)
                prob = buf
            elif out.type == "tensor(int64)":
                buf = np.zeros((1,) * max(len(out.shape), 1), dtype=np.int64)
            elif out.type == "tensor(float)":
                buf = np.zeros((1,) * max(len(out.shape), 1), dtype=np.float32)
            else:
                raise ModelLoadError(f"{self.path}: unsupported output {out.name!r} {out.type}")
            io.bind_output(out.name, "cpu", 0, buf.dtype, list(buf.shape), buf.ctypes.data)
            self._out.append(buf)
        if prob is None:
            raise ModelLoadError(f"{self.path}: no [N, 2] float probability output")
        self._prob = prob
        self._io = io
        # The first runs allocate and plan; do them at load, not on the first tick. A model
        # that cannot run is a load failure (the fallback serves), not a crash at start-up.
        try:
            for _ in range(_WARMUP_RUNS):
                sess.run_with_iobinding(io)
        except Exception as exc:  # onnxruntime raises its own untyped pybind errors
            raise ModelLoadError(f"{self.path}: the warm-up run failed: {exc}") from exc

    def score(self, vector: F32) -> float:
        """Run the model on one row; return P(class 1)."""
        self._x[0] = vector
        self._sess.run_with_iobinding(self._io)
        return float(self._prob[0, 1])


class LogisticScorer:
    """A tiny standardised logistic model in pure Python (no runtime, ~1 us per row)."""

    __slots__ = ("_b", "_w")

    def __init__(
        self,
        weights: Sequence[float],
        bias: float,
        mean: Sequence[float],
        scale: Sequence[float],
    ) -> None:
        if not (len(weights) == len(mean) == len(scale)):
            raise ModelLoadError("logistic model: weights, mean and scale differ in length")
        if any(s == 0.0 for s in scale):
            raise ModelLoadError("logistic model: a zero scale")
        # Fold the scaler into the weights once: w.(x - m)/s + b = (w/s).x + (b - w.m/s).
        self._w = [w / s for w, s in zip(weights, scale, strict=True)]
        self._b = bias - sum(w * m / s for w, m, s in zip(weights, mean, scale, strict=True))

    def score(self, vector: F32) -> float:
        """Return sigmoid(w.x + b) for one row."""
        x = self._b + sum(map(operator.mul, self._w, vector.tolist()))
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)


class PredictorStats:
    """Counters of one :class:`Predictor` (read by metrics and the model monitor)."""

    __slots__ = (
        "calls",
        "demotions",
        "errors",
        "fallback_calls",
        "invalid_inputs",
        "model_calls",
        "overruns",
        "probes",
    )

    def __init__(self) -> None:
        self.calls = 0
        self.model_calls = 0
        self.fallback_calls = 0
        self.invalid_inputs = 0
        self.errors = 0
        self.overruns = 0
        self.demotions = 0
        self.probes = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters by name."""
        return {name: getattr(self, name) for name in self.__slots__}


class Predictor:
    """A model behind a latency budget, an input guard and a fallback; see the module doc."""

    def __init__(
        self,
        model: Scorer | None,
        fallback: Scorer,
        config: RuntimeConfig | None = None,
        *,
        timer_ns: Callable[[], int] = time.perf_counter_ns,
        name: str = "",
    ) -> None:
        self._cfg = config or RuntimeConfig()
        self._budget_ns = int(self._cfg.budget_us * 1000.0)
        self._fallback = fallback
        self._timer_ns = timer_ns
        self.name = name
        #: Why no model serves (set by ``registry.load_predictor``); empty when one does.
        self.load_error = ""
        self.stats = PredictorStats()
        self.last_source: str = SOURCE_FALLBACK
        # A list, not an ndarray: storing a Python int in a list is ~3x cheaper per call.
        self._lat: list[int] = [0] * self._cfg.latency_window
        self._lat_n = 0
        self._model: Scorer | None = None
        self.swap(model, name=name)

    @property
    def model(self) -> Scorer | None:
        """The model served now (None: fallback only)."""
        return self._model

    @property
    def demoted(self) -> bool:
        """True while the model is bypassed after repeated overruns or errors."""
        return self._demoted

    def swap(self, model: Scorer | None, *, name: str = "") -> Scorer | None:
        """Serve ``model`` from the next call on (hot swap); return the previous one."""
        previous = self._model
        self._model = model
        self.name = name
        self._demoted = False
        self._overrun_streak = 0
        self._error_streak = 0
        self._since_demotion = 0
        return previous

    def predict(self, vector: F32) -> float:
        """Return P(reversion) for one feature vector; never raises, never NaN."""
        stats = self.stats
        stats.calls += 1
        if not math.isfinite(sum(vector.tolist())):
            stats.invalid_inputs += 1
            self.last_source = SOURCE_INVALID
            return 0.0
        model = self._model
        if model is None:
            return self._use_fallback(vector)
        if self._demoted:
            self._since_demotion += 1
            if self._since_demotion < self._cfg.probe_every_calls:
                return self._use_fallback(vector)
            self._since_demotion = 0
            stats.probes += 1
        t0 = self._timer_ns()
        try:
            p = model.score(vector)
        except Exception:  # any model failure: counted, answered by the fallback
            return self._on_error(vector)
        elapsed = self._timer_ns() - t0
        self._lat[self._lat_n % self._cfg.latency_window] = elapsed
        self._lat_n += 1
        if not 0.0 <= p <= 1.0:  # also false for NaN
            return self._on_error(vector)
        self._error_streak = 0
        if elapsed > self._budget_ns:
            stats.overruns += 1
            self._overrun_streak += 1
            if self._overrun_streak >= self._cfg.max_consecutive_overruns:
                self._demote()
            return self._use_fallback(vector)
        self._overrun_streak = 0
        self._demoted = False
        stats.model_calls += 1
        self.last_source = SOURCE_MODEL
        return p

    def latency_percentiles_ns(self) -> dict[str, float]:
        """p50/p99/max of the recent model-call latencies (empty dict before any call)."""
        n = min(self._lat_n, self._cfg.latency_window)
        if n == 0:
            return {}
        lat = np.sort(np.array(self._lat[:n], dtype=np.int64))
        return {
            "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99)),
            "max": float(lat[-1]),
        }

    def _use_fallback(self, vector: F32) -> float:
        self.stats.fallback_calls += 1
        self.last_source = SOURCE_FALLBACK
        return self._fallback.score(vector)

    def _on_error(self, vector: F32) -> float:
        self.stats.errors += 1
        self._error_streak += 1
        if self._error_streak >= self._cfg.max_consecutive_errors:
            self._demote()
        return self._use_fallback(vector)

    def _demote(self) -> None:
        if not self._demoted:
            self._demoted = True
            self.stats.demotions += 1
        self._since_demotion = 0
        self._overrun_streak = 0
        self._error_streak = 0
