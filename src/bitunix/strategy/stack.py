"""The decision layer for a set of symbols, built from one typed config.

``SignalStack.build`` does the wiring the app would otherwise repeat: load the registry's
active model into a guarded ``Predictor`` (the rule fallback when there is none or it
cannot be loaded, with the reason in ``load_error``), score the shadow model beside it
when there is one, watch the served model (drift and degradation against its manifest),
and build the configured strategies per symbol with that gate and outcome sink.

The app calls ``on_tick`` per evaluation, ``await poll_async()`` from a timer (hot swap:
the new model is loaded on a worker thread, swapped in on the loop; ``poll()`` does both
on the calling thread, for backtests), ``alerts()`` from a timer (drift is binned there,
not on the tick) and ``model_status()`` for its logs, metrics and summary.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.core.errors import ConfigError
from bitunix.ml.drift import DriftConfig
from bitunix.ml.errors import ModelError
from bitunix.ml.fallback import RuleFallbackConfig
from bitunix.ml.hotswap import ActiveModelWatcher
from bitunix.ml.manifest import LogisticParams
from bitunix.ml.monitor import Alert, ModelHealth, MonitorConfig, PerformanceMonitor
from bitunix.ml.online import OnlineConfig, OnlineLogistic
from bitunix.ml.registry import LoadedModel, ModelRegistry, load_predictor, model_id
from bitunix.ml.runtime import Predictor, RuntimeConfig
from bitunix.ml.shadow import ShadowPair
from bitunix.strategy.base import FeatureSource, Signal
from bitunix.strategy.config import OvirxConfig
from bitunix.strategy.registry import StrategySpec, SymbolStrategies, convert_params


def _default_specs() -> list[StrategySpec]:
    return [StrategySpec(kind="ovirx")]


class SignalConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Strategies (default: OVIR-X alone), the registry directory (None: fallback only),
    whether to score the shadow model, and the runtime, fallback, drift and monitor
    settings. ``drift_min_abs_z`` / ``drift_sample_every``: live vectors are compared with
    the training reference only when ``|vwap_z|`` reaches the training sampling cut (1.0)
    and then one in ``drift_sample_every`` (10), to keep the cost off most ticks.
    ``online_learning`` (off): the served logistic model learns from OVIR-X's closed
    positions within the bounds of ``online`` (``ml.online.OnlineConfig``)."""

    strategies: list[StrategySpec] = msgspec.field(default_factory=_default_specs)
    models_dir: str | None = "models"
    shadow: bool = True
    runtime: RuntimeConfig = msgspec.field(default_factory=RuntimeConfig)
    fallback: RuleFallbackConfig = msgspec.field(default_factory=RuleFallbackConfig)
    drift: DriftConfig = msgspec.field(default_factory=DriftConfig)
    monitor: MonitorConfig = msgspec.field(default_factory=MonitorConfig)
    drift_min_abs_z: float = 1.0
    drift_sample_every: int = 10
    online_learning: bool = False
    online: OnlineConfig = msgspec.field(default_factory=OnlineConfig)

    def __post_init__(self) -> None:
        if self.drift_sample_every < 1:
            raise ConfigError(
                f"signal.drift_sample_every must be >= 1, was {self.drift_sample_every}"
            )
        if not (self.drift_min_abs_z >= 0.0 and math.isfinite(self.drift_min_abs_z)):
            raise ConfigError(
                f"signal.drift_min_abs_z must be a finite number >= 0, "
                f"was {self.drift_min_abs_z!r}"
            )


class ModelStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What the run reports about the decision model (``SignalStack.model_status()``).

    ``model``: ``name@version`` served ("" when none); ``source``: ``model`` or
    ``fallback`` (no model loaded: the rule fallback decides); ``load_error``: why no
    model serves ("" when one does); ``demoted``: the model is bypassed after repeated
    slow calls or errors (every decision a refusal until a probe passes); ``swaps`` /
    ``swap_failures`` / ``last_swap_error``: hot swaps done and failed, the most recent
    failure's message (kept after a recovery). Counters of the served predictor: ``calls``
    (decisions asked), ``model_calls`` (answered by the model), ``late_calls`` (over the
    latency budget, the model's answer used), ``slow_calls`` (over budget when warm too),
    ``refused_calls`` (the model could not answer: 0.0), ``fallback_calls`` (answered by
    the rule fallback), ``errors``, ``invalid_inputs``; ``latency_p99_us``: p99 of the
    recent model calls (None before any).

    Online learning (``signal.online_learning``): ``online`` is ``off`` (not configured),
    ``learning`` (the served model is the online learner) or ``inactive: <why>`` (on, but
    no logistic model to anchor it); ``online_updates`` (outcomes learnt),
    ``online_ignored`` (non-finite entry features), ``online_reverts`` (back to the anchor,
    ``online_auto_reverts`` of them because it scored worse than the anchor) and
    ``online_max_shift`` (largest weight distance from the anchor, standardised units).
    """

    model: str
    source: str
    load_error: str
    demoted: bool
    swaps: int
    swap_failures: int
    last_swap_error: str
    calls: int
    model_calls: int
    late_calls: int
    slow_calls: int
    refused_calls: int
    fallback_calls: int
    errors: int
    invalid_inputs: int
    latency_p99_us: float | None
    online: str = "off"
    online_updates: int = 0
    online_ignored: int = 0
    online_reverts: int = 0
    online_auto_reverts: int = 0
    online_max_shift: float = 0.0


def _shadow_pair(config: SignalConfig, predictor: Predictor, loaded: LoadedModel | None,
                 challenger: Predictor, shadow_loaded: LoadedModel) -> ShadowPair:
    """The served ``predictor`` and the ``challenger`` scored beside it, each judged
    against its own training figures."""
    threshold = next(
        (convert_params(s, OvirxConfig).prob_threshold
         for s in config.strategies if s.kind == "ovirx"),
        OvirxConfig().prob_threshold,
    )
    champion_ref = (loaded or shadow_loaded).manifest.metrics
    return ShadowPair(
        predictor,
        challenger,
        threshold,
        champion_monitor=PerformanceMonitor(predictor.name, champion_ref, config.monitor),
        challenger_monitor=PerformanceMonitor(
            challenger.name, shadow_loaded.manifest.metrics, config.monitor
        ),
    )


class ServingGate:
    """The gate every model-gated strategy holds: the shadow pair while a shadow model is
    scored beside the served one, else the served predictor. Strategies keep this object;
    the stack changes what is behind it (a shadow registered, promoted or retired while
    the bot runs is followed at the next poll)."""

    __slots__ = ("_stack",)

    def __init__(self, stack: SignalStack) -> None:
        self._stack = stack

    @property
    def last_source(self) -> str:
        """Source of the served model's last answer."""
        return self._stack.predictor.last_source

    def predict(self, vector: npt.NDArray[np.float32]) -> float:
        """The served model's probability (the shadow, if any, scored on the same row)."""
        stack = self._stack
        shadow = stack.shadow
        return (shadow if shadow is not None else stack.predictor).predict(vector)


class SignalStack:
    """Strategies per symbol behind one guarded, watched, hot-swappable model."""

    def __init__(
        self,
        config: SignalConfig,
        feature_names: Sequence[str],
        *,
        predictor: Predictor,
        loaded: LoadedModel | None,
        registry: ModelRegistry | None,
        shadow: ShadowPair | None,
    ) -> None:
        self.config = config
        self.feature_names = tuple(feature_names)
        self.predictor = predictor
        self.registry = registry
        self.shadow = shadow
        #: What strategies hold (see :class:`ServingGate`).
        self.gate = ServingGate(self)
        #: The shadow model last tried by :meth:`poll_async` (not tried again until the
        #: registry names another: a broken one is not reloaded every poll).
        self._shadow_tried = "" if shadow is None else shadow.challenger.name
        self.shadow_error = ""
        self.health = None if loaded is None else ModelHealth(loaded.manifest, config.drift,
                                                              config.monitor)
        self.watcher = (
            None if registry is None
            else ActiveModelWatcher(registry, predictor, feature_names, loaded)
        )
        self.by_symbol: dict[str, SymbolStrategies] = {}
        self._iz = self.feature_names.index("vwap_z")
        self._sample_every = config.drift_sample_every
        self._min_abs_z = config.drift_min_abs_z
        self._ticks = 0
        #: The online learner serving as the model (None: online learning off or inactive).
        self.online: OnlineLogistic | None = None
        self.online_state = "off"
        self._online_anchor: LogisticParams | None = None

    @classmethod
    def build(
        cls, symbols: Sequence[str], feature_names: Sequence[str], config: SignalConfig,
        *, online_anchor: LogisticParams | None = None,
    ) -> SignalStack:
        """Load models and build every symbol's strategies.

        With ``config.online_learning``, the served model becomes an
        :class:`~bitunix.ml.online.OnlineLogistic` anchored at ``online_anchor`` when
        given (it then serves whatever the registry holds), else at the active model when
        that is a logistic one (re-anchored when a hot swap brings another)."""
        registry = None if config.models_dir is None else ModelRegistry(Path(config.models_dir))
        predictor, loaded = load_predictor(
            registry, feature_names, runtime=config.runtime, fallback=config.fallback
        )
        shadow = None
        if registry is not None and config.shadow:
            challenger, shadow_loaded = load_predictor(
                registry, feature_names, runtime=config.runtime, fallback=config.fallback,
                status="shadow",
            )
            if shadow_loaded is not None:
                shadow = _shadow_pair(config, predictor, loaded, challenger, shadow_loaded)
        stack = cls(
            config, feature_names, predictor=predictor, loaded=loaded, registry=registry,
            shadow=shadow,
        )
        stack._online_anchor = online_anchor
        stack._setup_online(loaded)
        for symbol in symbols:
            stack.by_symbol[symbol] = SymbolStrategies.from_specs(
                symbol,
                feature_names,
                config.strategies,
                gate=stack.gate,
                outcome_sink=stack._record_outcome,
                learner=stack._learn if config.online_learning else None,
            )
        return stack

    def _setup_online(self, loaded: LoadedModel | None) -> None:
        """Serve an online learner anchored at the given or the active logistic model."""
        if not self.config.online_learning:
            return
        anchor = self._online_anchor
        if anchor is None and loaded is not None and loaded.manifest.kind == "logistic":
            anchor = loaded.manifest.logistic
        if anchor is None:
            self.online = None
            self.online_state = ("inactive: the served model is not a logistic one "
                                 "(online learning needs a logistic anchor)")
            return
        if len(anchor.weights) != len(self.feature_names):
            raise ConfigError(f"signal.online_learning: the anchor has {len(anchor.weights)} "
                              f"weights for {len(self.feature_names)} features")
        if self.online is None or self.online.anchor != anchor:
            self.online = OnlineLogistic(anchor, self.config.online)
        base = self.predictor.name or "anchor"
        self.predictor.swap(self.online, name=f"{base}+online")
        self.online_state = "learning"

    def _learn(self, vector: npt.NDArray[np.float32], hit: bool) -> None:
        """A closed OVIR-X position's outcome, to the online learner if one serves."""
        if self.online is not None:
            self.online.update(vector, hit)

    @property
    def load_error(self) -> str:
        """Why no model serves (empty when one does)."""
        return self.predictor.load_error

    def on_tick(self, symbol: str, ts_ns: int, src: FeatureSource, valid: bool) -> list[Signal]:
        """Evaluate ``symbol``'s strategies; sample the vector for drift.

        A sample is one copy of the vector into the drift window (about 0.1 us); binning
        and PSI wait for :meth:`alerts`, called from a timer.
        """
        health = self.health
        if valid and health is not None:
            self._ticks += 1
            if self._ticks % self._sample_every == 0:
                vector = src.vector
                if abs(vector.item(self._iz)) >= self._min_abs_z:
                    health.drift.observe(vector)
        return self.by_symbol[symbol].on_tick(ts_ns, src, valid)

    def _record_outcome(self, probability: float, hit: bool) -> None:
        if self.shadow is not None:
            self.shadow.record_outcome(probability, hit)
        if self.health is not None:
            self.health.record(probability, hit)

    def poll(self) -> bool:
        """Follow the registry's active model (hot swap) on this thread; True when it
        changed. For backtests and tools; a live loop calls :meth:`poll_async`."""
        if self.watcher is None or not self.watcher.poll():
            return False
        self._after_swap(self.watcher)
        return True

    async def poll_async(self) -> bool:
        """Follow the registry's active model without blocking the loop: the new model is
        verified, loaded and warmed up on a worker thread, then swapped in (after a short
        warm-up on the loop thread) here. True when it changed. A failure leaves the
        current model serving, is counted in :meth:`model_status` and is not retried until
        the registry changes (and then with a back-off)."""
        swapped = self.watcher is not None and await self.watcher.poll_async()
        if swapped and self.watcher is not None:
            self._after_swap(self.watcher)
        await self._follow_shadow()
        return swapped

    async def _follow_shadow(self) -> None:
        """Score the registry's shadow model beside the served one: a shadow registered
        (``bitunix-bot retrain``, ``models shadow``) is loaded on a worker thread and
        paired in; one promoted or retired is dropped."""
        registry = self.registry
        if registry is None or not self.config.shadow:
            return
        try:
            entry = await asyncio.to_thread(registry.with_status, "shadow")
        except ModelError as exc:
            self.shadow_error = str(exc)
            return
        name = "" if entry is None else model_id(entry.name, entry.version)
        current = "" if self.shadow is None else self.shadow.challenger.name
        if name in (current, self._shadow_tried):
            return
        self._shadow_tried = name
        if not name:
            self.shadow = None
            return
        cfg = self.config
        challenger, loaded = await asyncio.to_thread(
            load_predictor, registry, self.feature_names, runtime=cfg.runtime,
            fallback=cfg.fallback, status="shadow")
        if loaded is None or challenger.name != name:  # broken, or changed meanwhile
            self.shadow_error = challenger.load_error or f"{name}: no longer the shadow"
            return
        self.shadow_error = ""
        active = None if self.watcher is None else self.watcher.loaded
        self.shadow = _shadow_pair(cfg, self.predictor, active, challenger, loaded)

    def model_status(self) -> ModelStatus:
        """The served model, its swap history and its counters (see :class:`ModelStatus`)."""
        pred = self.predictor
        stats = pred.stats
        watcher = self.watcher
        online = self.online
        p99 = pred.latency_percentiles_ns().get("p99")
        return ModelStatus(
            model=pred.name,
            source=pred.source,
            load_error=pred.load_error,
            demoted=pred.demoted,
            swaps=0 if watcher is None else watcher.swaps,
            swap_failures=0 if watcher is None else watcher.swap_failures,
            last_swap_error="" if watcher is None else watcher.last_failure,
            calls=stats.calls,
            model_calls=stats.model_calls,
            late_calls=stats.late,
            slow_calls=stats.slow,
            refused_calls=stats.refusals,
            fallback_calls=stats.fallback_calls,
            errors=stats.errors,
            invalid_inputs=stats.invalid_inputs,
            latency_p99_us=None if p99 is None else p99 / 1000.0,
            online=self.online_state,
            online_updates=0 if online is None else online.updates,
            online_ignored=0 if online is None else online.ignored,
            online_reverts=0 if online is None else online.reverts,
            online_auto_reverts=0 if online is None else online.auto_reverts,
            online_max_shift=0.0 if online is None else online.max_shift(),
        )

    def _after_swap(self, watcher: ActiveModelWatcher) -> None:
        loaded = watcher.loaded
        self._setup_online(loaded)
        self.health = (
            None if loaded is None
            else ModelHealth(loaded.manifest, self.config.drift, self.config.monitor)
        )
        if self.shadow is not None and loaded is not None:
            # The champion changed: its live outcomes are judged against its own figures.
            self.shadow.champion_monitor = PerformanceMonitor(
                self.predictor.name, loaded.manifest.metrics, self.config.monitor
            )

    def alerts(self) -> list[Alert]:
        """Drift and degradation alerts of the served model (bins the drift window: about
        1 ms for 2,000 vectors; call it from a timer, not the tick path)."""
        return [] if self.health is None else self.health.alerts()
