"""The machinery shared by reversion strategies: entry guards, planned exits, cooldown,
and what the strategy learns from execution.

Subclasses implement ``_approve``: given the feature values, decide whether to fade the
deviation and with what probability. Everything else (the guards every entry needs, the
exit plan, the bookkeeping) is here once.

A strategy is ``FLAT``, ``PENDING`` (it signalled an entry, execution has not answered) or
``HOLDING``; it never re-enters before execution says the previous trade is over. Its
outcomes (for the model monitor and online learning) are real round trips, fees included.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from bitunix.ml.fallback import feature_index
from bitunix.ml.runtime import SOURCE_MODEL
from bitunix.model.records import RoundTrip
from bitunix.strategy.base import (
    Direction,
    ExitReason,
    FeatureSource,
    Signal,
    SignalKind,
)
from bitunix.strategy.config import ReversionConfig
from bitunix.strategy.exits import NS_PER_S, plan_exits

#: Called with (probability at entry, hit) when a position closes; ``hit`` is True when the
#: target was reached or the round trip made money after fees and funding. Feeds the model
#: monitor, so it is called only for entries the *model* approved (not the fallback, not
#: model-free rules), and not for positions closed by an operator, a flatten or a drift.
OutcomeSink = Callable[[float, bool], None]

#: Called with (feature vector at entry, hit) when a position closes: feeds online
#: learning (``ml.online.OnlineLogistic.update``). The vector is copied at entry only
#: when a learner is set.
Learner = Callable[[npt.NDArray[np.float32], bool], None]


#: Exits that say nothing about the signal's quality.
_NOT_AN_OUTCOME = frozenset({ExitReason.EXTERNAL.value, ExitReason.FLATTEN.value, "drift"})


class EntryCounters:
    """Why entries were not taken, and what became of those taken (metrics and tests)."""

    __slots__ = ("entries", "exits", "failed_entries", "rejected_by_model", "rejected_by_rules")

    def __init__(self) -> None:
        self.entries = 0
        self.exits = 0
        self.failed_entries = 0
        self.rejected_by_rules = 0
        self.rejected_by_model = 0


class Holding(enum.Enum):
    """Where the strategy's trade is."""

    FLAT = "flat"
    PENDING = "pending"
    HOLDING = "holding"


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
        self._outcome_sink = outcome_sink
        self._learner = learner
        self._entry_vector: npt.NDArray[np.float32] | None = None
        self._entry_by_model = False
        self._entry_probability = math.nan
        self._iz = feature_index(feature_names, "vwap_z")
        self._ispread = feature_index(feature_names, "spread_ticks")
        self.holding = Holding.FLAT
        self._next_entry_ns = 0
        self.counters = EntryCounters()

    @property
    def in_position(self) -> bool:
        """True from an entry signal until execution reports its end."""
        return self.holding is not Holding.FLAT

    def on_tick(self, ts_ns: int, src: FeatureSource, valid: bool) -> Signal | None:
        """The entry rules (while flat and out of the cooldown); see the class docs."""
        if self.holding is not Holding.FLAT or not valid or ts_ns < self._next_entry_ns:
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
        # The last price must sit on the side of the VWAP the z-score says (the feature
        # vector and the price are read at slightly different moments): a fade whose
        # target lies behind its entry would be a loss by construction.
        edge_bps = d * (price - vwap) * self._exits.target_fraction / price * 1e4
        if not edge_bps >= self._min_edge_bps or not edge_bps > 0.0:
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
        plan = plan_exits(direction, price, vwap=vwap, std=std, cfg=self._exits)
        self.holding = Holding.PENDING
        self._entry_probability = p
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
            target=plan.target,
            stop=plan.stop,
            trail_distance=plan.trail_distance,
            trail_arm=plan.trail_arm,
            max_hold_ns=plan.max_hold_ns,
            probability=p,
            score_source=source,
        )

    def reset(self) -> None:
        """Forget the trade and the cooldown without feedback (replays, restarts)."""
        self.holding = Holding.FLAT
        self._next_entry_ns = 0
        self._entry_vector = None

    def on_entry_filled(self, ts_ns: int, price: float) -> None:
        """Execution filled the entry: in position until it reports the close."""
        if self.holding is Holding.PENDING:
            self.holding = Holding.HOLDING

    def on_entry_rejected(self, ts_ns: int, reason: str) -> None:
        """The entry never filled: flat again, after the cooldown (no outcome to learn)."""
        if self.holding is not Holding.PENDING:
            return
        self.counters.failed_entries += 1
        self._flat(ts_ns)

    def on_position_closed(self, trip: RoundTrip) -> None:
        """The round trip is over: flat after the cooldown; feed the outcome (see
        :data:`OutcomeSink`)."""
        if self.holding is Holding.FLAT:
            return
        self.counters.exits += 1
        if trip.reason not in _NOT_AN_OUTCOME:
            hit = trip.reason == ExitReason.TARGET.value or trip.net_pnl > 0
            if self._outcome_sink is not None and self._entry_by_model:
                self._outcome_sink(self._entry_probability, hit)
            if self._learner is not None and self._entry_vector is not None:
                self._learner(self._entry_vector, hit)
        self._flat(trip.exit_ns)

    def _flat(self, ts_ns: int) -> None:
        self.holding = Holding.FLAT
        self._next_entry_ns = ts_ns + self._cooldown_ns
        self._entry_vector = None

    def _rules_pass(self, v: list[float], d: int) -> bool:
        """Strategy-specific confirmation rules on the feature values (default: none)."""
        return True

    def _approve(self, vector: npt.NDArray[np.float32]) -> tuple[bool, float, str]:
        """Return (approved, probability, source of the probability)."""
        raise NotImplementedError
