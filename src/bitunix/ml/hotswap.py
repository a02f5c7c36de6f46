"""Hot swap: follow the registry's active model without restarting, without blocking.

``ActiveModelWatcher`` splits a poll in two:

* ``check()`` does the I/O and the heavy work: re-read the registry index (a small JSON
  file) and, when the active model changed (promote, rollback, retire), verify and load
  the new one (sha256, ONNX session, warm-up at load). It reads the watcher's state and
  changes nothing, so it runs on a worker thread (``poll_async``).
* ``apply(plan)`` runs on the loop thread: it swaps the loaded model into the live
  Predictor (after a short warm-up on *this* thread, whose caches will serve it) or
  records the failure.

``poll()`` is both on the calling thread (backtests, tests); ``poll_async()`` is what a
live loop calls from a timer: one check at a time, off the loop, the swap on it.

A model that fails to load leaves the current one serving, and the failure is reported
(``swap_failures``, ``last_error`` while it lasts, ``last_failure`` for good, a warning
in the log). The same model is not retried until the registry changes (its index or the
model's files, :meth:`ModelRegistry.stamp`), and after a failure any new attempt waits
``retry_min_s`` doubling up to ``retry_max_s`` (a registry that keeps changing under a
broken model costs one load per back-off step, not one per poll).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Final

from bitunix.ml.errors import ModelError
from bitunix.ml.registry import LoadedModel, ModelRegistry, model_id
from bitunix.ml.runtime import F32, Predictor
from bitunix.ml.warmup import SWAP_ROWS, warmup_rows

log = logging.getLogger("bitunix.ml.hotswap")

_Key = tuple[str, str] | None  # (name@version, sha256) of the wanted model; None: no model
_Stamp = tuple[tuple[str, int, int, int], ...]
_INDEX_KEY: Final = ("<registry index>", "")


class SwapPlan:
    """What ``check`` found, for ``apply``: nothing new, a model to serve, none, or a failure."""

    __slots__ = ("error", "key", "loaded", "remove", "stamp", "warmup")

    def __init__(
        self,
        key: _Key,
        stamp: _Stamp = (),
        *,
        loaded: LoadedModel | None = None,
        warmup: F32 | None = None,
        remove: bool = False,
        error: str = "",
    ) -> None:
        self.key = key
        self.stamp = stamp
        self.loaded = loaded
        self.warmup = warmup
        self.remove = remove
        self.error = error


class ActiveModelWatcher:
    """Keep ``predictor`` serving the registry's active model; see the module doc."""

    def __init__(
        self,
        registry: ModelRegistry,
        predictor: Predictor,
        feature_names: Sequence[str],
        loaded: LoadedModel | None = None,
        *,
        retry_min_s: float = 5.0,
        retry_max_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.predictor = predictor
        self.feature_names = tuple(feature_names)
        self.loaded = loaded
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self._clock = clock
        self._serving = self._key(loaded)
        #: The current problem ("" once a poll finds nothing wrong).
        self.last_error = ""
        #: The most recent failure, kept after a recovery (for the run's summary).
        self.last_failure = ""
        self.swaps = 0
        self.swap_failures = 0
        self._failed: tuple[_Key, _Stamp] | None = None
        self._streak = 0
        self._retry_at = 0.0
        self._in_flight = False

    @staticmethod
    def _key(loaded: LoadedModel | None) -> _Key:
        if loaded is None:
            return None
        return model_id(loaded.entry.name, loaded.entry.version), loaded.entry.sha256

    def check(self) -> SwapPlan | None:
        """Find and load what should serve; None when there is nothing to do now.

        Reads the registry and the watcher's state, changes neither: safe on a worker
        thread while the loop serves (as long as ``apply`` is not running).
        """
        now = self._clock()
        try:
            entry = self.registry.with_status("active")
        except ModelError as exc:
            stamp = self.registry.stamp()
            if self._failed == (_INDEX_KEY, stamp):
                return None
            return SwapPlan(_INDEX_KEY, stamp, error=str(exc))
        wanted: _Key = None if entry is None else (model_id(entry.name, entry.version),
                                                   entry.sha256)
        if wanted == self._serving:
            return SwapPlan(wanted)
        stamp = self.registry.stamp(entry)
        if self._failed == (wanted, stamp):
            return None  # the same broken model, nothing changed since it failed
        if entry is None:
            return SwapPlan(None, stamp, remove=True)
        if now < self._retry_at:
            return None  # backing off after a failure
        try:
            loaded = self.registry.load(entry, self.feature_names)
        except ModelError as exc:
            return SwapPlan(wanted, stamp, error=str(exc))
        rows = warmup_rows(loaded.manifest.reference, self.feature_names, SWAP_ROWS)
        return SwapPlan(wanted, stamp, loaded=loaded, warmup=rows)

    def apply(self, plan: SwapPlan | None) -> bool:
        """Act on ``check``'s plan on the loop thread; True when the served model changed."""
        if plan is None:
            return False
        if plan.error:
            self._fail(plan)
            return False
        if plan.loaded is None and not plan.remove:  # the wanted model serves already
            self._failed = None
            self._streak = 0
            self.last_error = ""
            return False
        if plan.loaded is None:
            self.predictor.swap(None)
            self.predictor.load_error = f"no active model in {self.registry.root}"
        else:
            entry = plan.loaded.entry
            try:
                self.predictor.swap(
                    plan.loaded.scorer,
                    name=model_id(entry.name, entry.version),
                    warmup_rows=plan.warmup,
                )
            except ModelError as exc:
                plan.error = f"{model_id(entry.name, entry.version)}: {exc}"
                self._fail(plan)
                return False
            self.predictor.load_error = ""
        self.loaded = plan.loaded
        self._serving = plan.key
        self._failed = None
        self._streak = 0
        self._retry_at = 0.0
        self.last_error = ""
        self.swaps += 1
        return True

    def poll(self) -> bool:
        """Check and apply on this thread; True when the served model changed."""
        return self.apply(self.check())

    async def poll_async(self) -> bool:
        """Check on a worker thread, apply on the loop; True when the served model changed.

        A call while a check is still running returns False at once (one load at a time).
        """
        if self._in_flight:
            return False
        self._in_flight = True
        try:
            plan = await asyncio.to_thread(self.check)
        finally:
            self._in_flight = False
        return self.apply(plan)

    def _fail(self, plan: SwapPlan) -> None:
        self.swap_failures += 1
        self._streak += 1
        delay = min(self.retry_max_s, self.retry_min_s * 2.0 ** (self._streak - 1))
        self._retry_at = self._clock() + delay
        self._failed = (plan.key, plan.stamp)
        self.last_error = plan.error
        self.last_failure = plan.error
        log.warning("hot swap failed, %s keeps serving (next attempt once the registry "
                    "changes, in %.0f s at the earliest): %s",
                    self.predictor.name or ("nothing (every entry refused)"
                                            if self.predictor.refusing else "the rule fallback"),
                    delay, plan.error)
