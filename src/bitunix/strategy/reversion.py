"""The machinery shared by reversion strategies: position state, exits, cooldown, outcomes.

Subclasses implement ``_approve``: given the feature values, decide whether to fade the
deviation and with what probability. Everything else (the guards every entry needs, the
exits, the bookkeeping) is here once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from bitunix.ml.fallback import feature_index
from bitunix.ml.runtime import SOURCE_MODEL
from bitunix.strategy.base import (
    Direction,
    ExitReason,
    FeatureSource,
    Signal,
    SignalKind,
)
from bitunix.strategy.config import ReversionConfig
from bitunix.strategy.exits import NS_PER_S, OpenPosition

#: Called with (probability at entry, hit) when a position closes; ``hit`` is True when the
#: target was reached or the exit was net profitable. Feeds the model monitor, so it is
#: called only for entries the *model* approved (not the fallback, not model-free rules).
OutcomeSink = Callable[[float, bool], None]

#: Called with (feature vector at entry, hit) when a position closes: feeds online
#: learning (``ml.online.OnlineLogistic.update``). The vector is copied at entry only
#: when a learner is set.
Learner = Callable[[npt.NDArray[np.float32], bool], None]


class EntryCounters:
    """Why entries were not taken (for metrics and tests)."""

    __slots__ = ("entries", "exits", "rejected_by_model", "rejected_by_rules")

    def __init__(self) -> None:
        self.entries = 0
        self.exits = 0
        self.rejected_by_rules = 0
        self.rejected_by_model = 0


class ReversionStrategy:
    """Base of strategies that fade a deviation from VWAP and exit by :class:`ExitConfig`."""

    kind: ClassVar[str] = ""

    def __init__(
        self,
        symbol: str,
        feature_names: Sequence[str],
        config: ReversionConfig,
        *,
        name: str | None = None,
        outcome_sink: OutcomeSink | None = None,
        learner: Learner | None = None,
    ) -> None:
        self.symbol = symbol
        self.name = name or self.kind
        self._exits = config.exits
        self._entry_z = config.entry_z
        self._max_entry_z = config.max_entry_z
        self._max_spread = config.max_spread_ticks
        self._min_std_bps = config.min_std_bps
        self._min_edge_bps = config.min_edge_bps
        self._cooldown_ns = int(config.cooldown_s * NS_PER_S)
        self._fee_bps = config.fee_bps
        self._outcome_sink = outcome_sink
        self._learner = learner
        self._entry_vector: npt.NDArray[np.float32] | None = None
        self._entry_by_model = False
        self._iz = feature_index(feature_names, "vwap_z")
        self._ispread = feature_index(feature_names, "spread_ticks")
        self._pos: OpenPosition | None = None
        self._next_entry_ns = 0
        self.counters = EntryCounters()

    @property
    def in_position(self) -> bool:
        """True while the strategy holds a position it will exit."""
        return self._pos is not None

    @property
    def position(self) -> OpenPosition | None:
        """The open position, if any."""
        return self._pos

    def on_tick(self, ts_ns: int, src: FeatureSource, valid: bool) -> Signal | None:
        """Check exits of the open position, else the entry rules; see the class docs."""
        pos = self._pos
        if pos is not None:
            price = src.last_price
            if not math.isfinite(price):
                return None
            reason = pos.check(price, ts_ns)
            if reason is None:
                return None
            return self._close(ts_ns, price, reason)
        if not valid or ts_ns < self._next_entry_ns:
            return None
        v = src.vector.tolist()
        z = v[self._iz]
        if not (
            self._entry_z <= abs(z) <= self._max_entry_z and v[self._ispread] <= self._max_spread
        ):
            return None
        price = src.last_price
        std = src.std
        vwap = src.vwap
        # Written so that NaN anywhere fails the test.
        if not (price > 0.0 and std / price * 1e4 >= self._min_std_bps and math.isfinite(vwap)):
            self.counters.rejected_by_rules += 1
            return None
        d = 1 if z > 0.0 else -1
        edge_bps = abs(vwap - price) * self._exits.target_fraction / price * 1e4
        if not edge_bps >= self._min_edge_bps:
            self.counters.rejected_by_rules += 1
            return None
        if not self._rules_pass(v, d):
            self.counters.rejected_by_rules += 1
            return None
        approved, p, source = self._approve(src.vector)
        if not approved:
            self.counters.rejected_by_model += 1
            return None
        direction = Direction.SHORT if d > 0 else Direction.LONG
        pos = OpenPosition(
            direction, price, vwap=vwap, std=std, ts_ns=ts_ns, cfg=self._exits, probability=p
        )
        self._pos = pos
        self._entry_by_model = source == SOURCE_MODEL
        if self._learner is not None:
            self._entry_vector = src.vector.copy()
        self.counters.entries += 1
        return Signal(
            strategy=self.name,
            symbol=self.symbol,
            ts_ns=ts_ns,
            kind=SignalKind.ENTER,
            direction=direction,
            price=price,
            target=pos.target,
            stop=pos.stop,
            probability=p,
            score_source=source,
        )

    def reset(self) -> None:
        """Forget the position and the cooldown without a signal (replays, restarts)."""
        self._pos = None
        self._next_entry_ns = 0

    def close_external(self, ts_ns: int, price: float) -> Signal | None:
        """Forget the position closed by someone else (risk, operator, liquidation)."""
        if self._pos is None:
            return None
        return self._close(ts_ns, price, ExitReason.EXTERNAL)

    def _rules_pass(self, v: list[float], d: int) -> bool:
        """Strategy-specific confirmation rules on the feature values (default: none)."""
        return True

    def _approve(self, vector: npt.NDArray[np.float32]) -> tuple[bool, float, str]:
        """Return (approved, probability, source of the probability)."""
        raise NotImplementedError

    def _close(self, ts_ns: int, price: float, reason: ExitReason) -> Signal:
        pos = self._pos
        assert pos is not None
        self._pos = None
        self._next_entry_ns = ts_ns + self._cooldown_ns
        self.counters.exits += 1
        gross = pos.pnl_bps(price) if math.isfinite(price) else math.nan
        hit = reason is ExitReason.TARGET or gross - 2.0 * self._fee_bps > 0.0
        if reason is not ExitReason.EXTERNAL:
            if self._outcome_sink is not None and self._entry_by_model:
                self._outcome_sink(pos.probability, hit)
            if self._learner is not None and self._entry_vector is not None:
                self._learner(self._entry_vector, hit)
        self._entry_vector = None
        return Signal(
            strategy=self.name,
            symbol=self.symbol,
            ts_ns=ts_ns,
            kind=SignalKind.EXIT,
            direction=pos.direction,
            price=price,
            target=pos.target,
            stop=pos.stop,
            probability=pos.probability,
            exit_reason=reason,
            pnl_bps=gross,
        )
