"""Serving a model one row at a time: the ONNX session, the guard around it, the counters.

``OnnxScorer`` is an onnxruntime session tuned for single-row latency: one intra-op and
one inter-op thread, sequential execution, every graph optimisation, and the input and
output buffers bound once through IOBinding so a call copies eight floats in, runs, and
reads one float out without allocating. Models must be exported without ZipMap (a
probability *tensor*, not a sequence of maps); a ZipMap model is refused at load.
onnxruntime is imported through :func:`import_onnxruntime`, which turns its usage
telemetry off.

``Predictor`` is what a strategy calls. It never raises and never returns NaN, and
nothing ever answers in the model's place with a looser rule:

* a feature vector with NaN or inf is caught before inference (counted, scores 0.0,
  source ``invalid``, so nothing is approved on bad data);
* each model call is timed. A call over the latency budget is *late*: it is counted and
  its answer is used, because a late answer from the model is still the model's answer.
  A late call is timed once more, warm, on the same row: a call after an idle gap is
  cold (the model's code and trees were evicted from the caches), which every decision
  of a model asked rarely is, and a cold call says nothing about the model. Only a model
  that is over budget when warm (*slow*) counts towards demotion;
* an exception from the model, or a probability outside [0, 1], is an error: counted
  and answered with a *refusal* (0.0, source ``refused``);
* after ``max_consecutive_overruns`` slow calls (or ``max_consecutive_errors`` errors)
  in a row the model is *demoted*: it is not called and every decision is a refusal;
  every ``probe_every_calls`` calls one call probes the model (its answer is used) and a
  probe that is not slow and not an error restores it. So a model that turned slow
  costs a few slow calls on the event loop, then one probe per ``probe_every_calls``
  decisions, and never trades on anything but its own answers;
* the rule fallback answers only when no model is configured (none installed, or retired
  by the operator): it is then the configured decision rule, not a stand-in for a model.
  A configured model that cannot be loaded makes the Predictor *refuse* every decision
  (``refusing``) until a good model is swapped in (``source`` says which serves);
* ``swap`` replaces the model in place (hot swap; one attribute store, safe between
  calls on the loop thread) after running the warm-up rows through it on the calling
  thread, and clears the demotion state.
"""

from __future__ import annotations

import math
import operator
import os
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
#: The model serves but could not answer (error, or demoted): 0.0, never an entry.
SOURCE_REFUSED: Final = "refused"

#: Warm-up rows when the caller has none from a manifest (zeros: the session allocates
#: and plans; the trees' branches are not all visited).
_DEFAULT_WARMUP_RUNS = 3


def import_onnxruntime() -> Any:
    """Import onnxruntime with its usage telemetry off; ImportError when it is missing.

    onnxruntime 1.32 writes a device id and an event database under
    ``$XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime`` (``~/.cache`` by default)
    when its extension module is *imported*; ``disable_telemetry_events()`` comes too late
    for that, only ``ORT_DISABLE_TELEMETRY`` set before the first import stops it. Every
    import of onnxruntime in bitunix goes through here. The variable is written, not read,
    and concerns this process's own onnxruntime only.
    """
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    import onnxruntime as ort

    disable = getattr(ort, "disable_telemetry_events", None)
    if disable is not None:  # absent from old releases; later events are off too
        disable()
    return ort


class Scorer(Protocol):
    """Anything that maps one feature vector to P(reversion) in [0, 1]."""

    def score(self, vector: F32) -> float:
        """Return the probability of the positive class for one row."""
        ...


class RuntimeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Latency budget and demotion policy of :class:`Predictor`.

    ``budget_us``: a model call slower than this is *late* (counted, its answer used;
    default 500 us). A 100-tree model takes 3-7 us warm here; a call after 10 ms or more
    without one runs with cold caches, 120-260 us on this machine and 470-660 us measured
    on a loaded one, so late calls are expected and harmless. ``max_consecutive_overruns``
    / ``max_consecutive_errors``: calls over budget *when warm* (slow) or errors in a row
    that demote the model (default 3). ``probe_every_calls``: while demoted (every decision
    a refusal), one call in this many probes the model (default 100: a demoted model
    trades nothing, so it is retried often). ``latency_window``: how many recent latencies
    are kept for percentiles (default 4,096).
    """

    budget_us: float = 500.0
    max_consecutive_overruns: int = 3
    max_consecutive_errors: int = 3
    probe_every_calls: int = 100
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

    def __init__(
        self, path: str | Path, n_features: int, *, warmup_rows: F32 | None = None
    ) -> None:
        """Open and check the model, bind its buffers and run ``warmup_rows`` through it.

        ``warmup_rows`` (shape ``[k, n_features]``) should span the features' training
        distribution (``ml.warmup.warmup_rows``) so every tree's branches are visited once
        before the first decision; without them three rows of zeros run.
        """
        try:
            ort = import_onnxruntime()
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
        # The first runs allocate and plan, and the first visit of each branch is slow; do
        # them at load, on the real IOBinding path, not on the first decision. A model that
        # cannot run is a load failure (the model is not served), not a crash at start-up.
        rows = (
            np.zeros((_DEFAULT_WARMUP_RUNS, n_features), dtype=np.float32)
            if warmup_rows is None
            else warmup_rows
        )
        try:
            for row in rows:
                self.score(row)
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
    """Counters of one :class:`Predictor` (read by metrics and the model monitor).

    ``calls``: every ``predict``. ``model_calls``: answered by the model (late ones
    included). ``late``: model calls over the budget. ``slow``: late calls that were over
    budget again when re-timed warm. ``errors``: model exceptions or probabilities outside
    [0, 1]. ``refusals``: answered 0.0 because the served model could not answer (error
    or demoted). ``fallback_calls``: answered by the rule fallback (no model loaded).
    ``invalid_inputs``: NaN/inf vectors. ``demotions``, ``probes``: see the module doc.
    """

    __slots__ = (
        "calls",
        "demotions",
        "errors",
        "fallback_calls",
        "invalid_inputs",
        "late",
        "model_calls",
        "probes",
        "refusals",
        "slow",
    )

    def __init__(self) -> None:
        self.calls = 0
        self.model_calls = 0
        self.late = 0
        self.slow = 0
        self.errors = 0
        self.refusals = 0
        self.fallback_calls = 0
        self.invalid_inputs = 0
        self.demotions = 0
        self.probes = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters by name."""
        return {name: getattr(self, name) for name in self.__slots__}


class Predictor:
    """A model behind a latency budget, an input guard and demotion; see the module doc."""

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
        #: True when a model should serve but could not be loaded: every decision is then a
        #: refusal (no entry), never the rule fallback, which would be looser than the
        #: model it replaces. A model swapped in later clears it.
        self.refusing = False
        self.stats = PredictorStats()
        self.last_source: str = SOURCE_FALLBACK
        # A list, not an ndarray: storing a Python int in a list is ~3x cheaper per call.
        self._lat: list[int] = [0] * self._cfg.latency_window
        self._lat_n = 0
        self._model: Scorer | None = None
        self.swap(model, name=name)

    @property
    def model(self) -> Scorer | None:
        """The model served now (None: the rule fallback decides)."""
        return self._model

    @property
    def source(self) -> str:
        """What decides now: ``model`` (a model is loaded), ``fallback`` (none is
        configured: the rules decide) or ``refused`` (one is configured and could not be
        loaded: no entry)."""
        if self._model is not None:
            return SOURCE_MODEL
        return SOURCE_REFUSED if self.refusing else SOURCE_FALLBACK

    @property
    def demoted(self) -> bool:
        """True while the model is bypassed (every decision a refusal) after repeated
        slow calls or errors."""
        return self._demoted

    def swap(
        self, model: Scorer | None, *, name: str = "", warmup_rows: F32 | None = None
    ) -> Scorer | None:
        """Serve ``model`` from the next call on (hot swap); return the previous one.

        ``warmup_rows`` run through ``model`` first, on the calling thread (the loop
        thread for a hot swap, so *its* caches hold the model; a load on a worker thread
        warms another core). A model that raises during the warm-up is not swapped in:
        ModelLoadError, and the current model keeps serving.
        """
        if model is not None and warmup_rows is not None:
            warm_up(model, warmup_rows)
        previous = self._model
        self._model = model
        self.name = name
        if model is not None:
            self.refusing = False
        self._demoted = False
        self._slow_streak = 0
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
            if self.refusing:
                return self._refuse()
            stats.fallback_calls += 1
            self.last_source = SOURCE_FALLBACK
            return self._fallback.score(vector)
        if self._demoted:
            self._since_demotion += 1
            if self._since_demotion < self._cfg.probe_every_calls:
                return self._refuse()
            self._since_demotion = 0
            stats.probes += 1
        timer = self._timer_ns
        t0 = timer()
        try:
            p = model.score(vector)
        except Exception:  # any model failure: counted, answered with a refusal
            return self._on_error()
        elapsed = timer() - t0
        self._lat[self._lat_n % self._cfg.latency_window] = elapsed
        self._lat_n += 1
        if not 0.0 <= p <= 1.0:  # also false for NaN
            return self._on_error()
        self._error_streak = 0
        if elapsed > self._budget_ns:
            stats.late += 1
            if self._slow_when_warm(model, vector):
                return self._answer(p)
        self._slow_streak = 0
        self._demoted = False
        return self._answer(p)

    def warm_up(self, rows: F32) -> None:
        """Run ``rows`` through the served model on this thread (nothing is counted)."""
        if self._model is not None:
            warm_up(self._model, rows)

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

    def _answer(self, p: float) -> float:
        self.stats.model_calls += 1
        self.last_source = SOURCE_MODEL
        return p

    def _slow_when_warm(self, model: Scorer, vector: F32) -> bool:
        """Re-time a late call, warm; count a slow one towards demotion. True if slow."""
        timer = self._timer_ns
        t0 = timer()
        try:
            model.score(vector)
        except Exception:  # the answer already given stands; the failure is counted
            self.stats.errors += 1
            self._error_streak += 1
            if self._error_streak >= self._cfg.max_consecutive_errors:
                self._demote()
            return True
        if timer() - t0 <= self._budget_ns:
            return False
        self.stats.slow += 1
        self._slow_streak += 1
        if self._slow_streak >= self._cfg.max_consecutive_overruns:
            self._demote()
        return True

    def _refuse(self) -> float:
        self.stats.refusals += 1
        self.last_source = SOURCE_REFUSED
        return 0.0

    def _on_error(self) -> float:
        self.stats.errors += 1
        self._error_streak += 1
        if self._error_streak >= self._cfg.max_consecutive_errors:
            self._demote()
        return self._refuse()

    def _demote(self) -> None:
        if not self._demoted:
            self._demoted = True
            self.stats.demotions += 1
        self._since_demotion = 0
        self._slow_streak = 0
        self._error_streak = 0


def warm_up(model: Scorer, rows: F32) -> None:
    """Run ``rows`` through ``model`` on this thread; ModelLoadError if one fails."""
    try:
        for row in rows:
            model.score(row)
    except Exception as exc:  # any model failure: the model is not fit to serve
        raise ModelLoadError(f"the warm-up run failed: {exc}") from exc
