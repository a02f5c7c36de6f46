"""Online learning: a logistic model whose weights follow realised outcomes, on a leash.

``OnlineLogistic`` starts from a logistic model's weights (the *anchor*, e.g. a registered
``kind = "logistic"`` model) and, for every closed position, takes one SGD step on the
log loss of ``(features at entry, hit)``. It is bounded and revertible:

* each step is clipped to ``max_step`` per weight, and an L2 pull (``l2_to_anchor``)
  draws the weights back toward the anchor;
* no weight ever leaves ``anchor +- max_shift`` (standardised units);
* it is evaluated *prequentially*: before each update, the outcome is scored by both the
  online weights and the anchor; when the online log loss over the last ``window``
  outcomes exceeds the anchor's by ``revert_margin`` (after ``min_outcomes``), it reverts
  to the anchor by itself (counted in ``auto_reverts``);
* ``revert()`` restores the anchor at any time; ``snapshot()`` returns the current
  weights as ``LogisticParams``, to register as a new candidate model.

It satisfies the ``Scorer`` protocol, so a ``Predictor`` serves it like any model; feed
``update`` from a strategy's ``learner`` hook. ``SignalStack`` does both when
``signal.online_learning`` is on (``docs/signal.md``). Updates and scoring both run on the
event loop thread (no locking needed).
"""

from __future__ import annotations

import math
from collections import deque

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.core.errors import ConfigError
from bitunix.ml.manifest import LogisticParams


class OnlineConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Learning rate 0.01, L2 pull 0.01, step cap 0.05, shift cap 0.5, revert when the
    online log loss over the last 200 outcomes (after 50) exceeds the anchor's by 0.05."""

    learning_rate: float = 0.01
    l2_to_anchor: float = 0.01
    max_step: float = 0.05
    max_shift: float = 0.5
    window: int = 200
    min_outcomes: int = 50
    revert_margin: float = 0.05

    def __post_init__(self) -> None:
        for name in ("learning_rate", "max_step", "max_shift"):
            value = getattr(self, name)
            if not (value > 0.0 and math.isfinite(value)):
                raise ConfigError(f"key signal.online.{name}: must be > 0 (was {value!r})")
        for name in ("l2_to_anchor", "revert_margin"):
            value = getattr(self, name)
            if not (value >= 0.0 and math.isfinite(value)):
                raise ConfigError(f"key signal.online.{name}: must be >= 0 (was {value!r})")
        if not 1 <= self.min_outcomes <= self.window:
            raise ConfigError(f"key signal.online: need 1 <= min_outcomes <= window (was "
                              f"{self.min_outcomes}, {self.window})")


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _log_loss(p: float, hit: bool) -> float:
    p = min(max(p, 1e-12), 1.0 - 1e-12)
    return -math.log(p if hit else 1.0 - p)


class OnlineLogistic:
    """A bounded, revertible online logistic scorer; see the module doc."""

    def __init__(self, anchor: LogisticParams, config: OnlineConfig | None = None) -> None:
        if not (len(anchor.weights) == len(anchor.mean) == len(anchor.scale)):
            raise ConfigError("online: anchor weights, mean and scale differ in length")
        if any(s == 0.0 for s in anchor.scale):
            raise ConfigError("online: anchor has a zero scale")
        self.config = config or OnlineConfig()
        self.anchor = anchor
        self._mean = list(anchor.mean)
        self._inv_scale = [1.0 / s for s in anchor.scale]
        self.weights: list[float] = list(anchor.weights)
        self.bias: float = anchor.bias
        self.updates = 0
        self.ignored = 0
        self.reverts = 0
        self.auto_reverts = 0
        self._loss_online: deque[float] = deque(maxlen=self.config.window)
        self._loss_anchor: deque[float] = deque(maxlen=self.config.window)

    # -- scoring ---------------------------------------------------------------------
    def _standardise(self, vector: npt.NDArray[np.float32]) -> list[float]:
        return [(x - m) * k for x, m, k in zip(vector.tolist(), self._mean, self._inv_scale,
                                                strict=True)]

    def score(self, vector: npt.NDArray[np.float32]) -> float:
        """P(reversion) with the current weights."""
        z = self._standardise(vector)
        return _sigmoid(self.bias + sum(w * x for w, x in zip(self.weights, z, strict=True)))

    # -- learning --------------------------------------------------------------------
    def update(self, vector: npt.NDArray[np.float32], hit: bool) -> None:
        """One bounded SGD step toward ``hit`` for the features seen at entry."""
        z = self._standardise(vector)
        if not math.isfinite(sum(z)):
            self.ignored += 1
            return
        cfg = self.config
        a = self.anchor
        p = _sigmoid(self.bias + sum(w * x for w, x in zip(self.weights, z, strict=True)))
        p0 = _sigmoid(a.bias + sum(w * x for w, x in zip(a.weights, z, strict=True)))
        self._loss_online.append(_log_loss(p, hit))
        self._loss_anchor.append(_log_loss(p0, hit))
        g = p - (1.0 if hit else 0.0)
        self.weights = [
            self._bounded(w, w0, cfg.learning_rate * (g * x + cfg.l2_to_anchor * (w - w0)))
            for w, w0, x in zip(self.weights, a.weights, z, strict=True)
        ]
        self.bias = self._bounded(
            self.bias, a.bias, cfg.learning_rate * (g + cfg.l2_to_anchor * (self.bias - a.bias))
        )
        self.updates += 1
        if len(self._loss_online) >= cfg.min_outcomes and (
            sum(self._loss_online) / len(self._loss_online)
            > sum(self._loss_anchor) / len(self._loss_anchor) + cfg.revert_margin
        ):
            self.revert()
            self.auto_reverts += 1

    def _bounded(self, w: float, w0: float, step: float) -> float:
        cfg = self.config
        step = min(max(step, -cfg.max_step), cfg.max_step)
        return min(max(w - step, w0 - cfg.max_shift), w0 + cfg.max_shift)

    def revert(self) -> None:
        """Back to the anchor's weights; the evaluation window starts again."""
        self.weights = list(self.anchor.weights)
        self.bias = self.anchor.bias
        self._loss_online.clear()
        self._loss_anchor.clear()
        self.reverts += 1

    def max_shift(self) -> float:
        """Largest absolute distance of any weight (or the bias) from the anchor."""
        diffs = [abs(w - w0) for w, w0 in zip(self.weights, self.anchor.weights, strict=True)]
        return max([*diffs, abs(self.bias - self.anchor.bias)])

    def snapshot(self) -> LogisticParams:
        """The current weights in manifest form (same scaler as the anchor)."""
        return LogisticParams(
            weights=list(self.weights),
            bias=self.bias,
            mean=list(self.anchor.mean),
            scale=list(self.anchor.scale),
        )
