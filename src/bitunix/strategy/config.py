"""Typed configuration of the strategies; every threshold lives here with its default.

Defaults follow the earlier bot's intended behaviour (spec ``original-system-detailed.md``
4.4-4.9): fade deviations of the last price from the 30 s VWAP measured in VWAP sigmas,
approve with P(reversion) >= 0.65, stop 1.5 sigma, target the VWAP, trail 1 sigma, and
give up after 60 s.
"""

from __future__ import annotations

import math
from typing import ClassVar

import msgspec

from bitunix.core.errors import ConfigError
from bitunix.strategy.exits import ExitConfig


class ReversionConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The guards every reversion entry needs, and the exits (shared by the strategies).

    With ``d = sign(vwap_z)`` (+1: price above VWAP, the fade is a sell), enter only when:

    * ``entry_z <= |vwap_z| <= max_entry_z`` (2.0 to 5.0 sigma; beyond the cap the move is
      treated as a break-out, not an overshoot);
    * ``spread_ticks <= max_spread_ticks`` (5): a wide spread eats the reversion;
    * ``std / last_price * 1e4 >= min_std_bps`` (0.5 bp): a dead market's tiny std turns
      noise into large z-scores;
    * the target is worth the fees: ``|entry - target| / entry * 1e4 >= min_edge_bps``
      (4 bp, a maker round trip at VIP 0: 0.02 % per side; at taker fees, 0.06 % per
      side, the 30 s reversions of the bundled BTCUSDT capture never pay, see docs);
    * not within ``cooldown_s`` (5 s) of this strategy's last exit, no open position.

    ``exits``: see :class:`ExitConfig`. Whether a trade was a hit for the model monitor is
    decided by its real round trip (target reached, or net PnL after fees > 0).
    """

    section: ClassVar[str] = "reversion"

    entry_z: float = 2.0
    max_entry_z: float = 5.0
    max_spread_ticks: float = 5.0
    min_std_bps: float = 0.5
    min_edge_bps: float = 4.0
    cooldown_s: float = 5.0
    exits: ExitConfig = msgspec.field(default_factory=ExitConfig)

    def __post_init__(self) -> None:
        for name in ("entry_z", "max_entry_z", "max_spread_ticks", "min_std_bps",
                     "min_edge_bps", "cooldown_s"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ConfigError(f"{self.section}.{name} must be finite, was {value!r}")
        if not 0.0 < self.entry_z <= self.max_entry_z:
            raise ConfigError(
                f"{self.section}: need 0 < entry_z <= max_entry_z, "
                f"was {self.entry_z}, {self.max_entry_z}"
            )
        if min(self.cooldown_s, self.min_edge_bps, self.min_std_bps) < 0.0:
            raise ConfigError(
                f"{self.section}: cooldown_s, min_edge_bps, min_std_bps must be >= 0"
            )


class MeanReversionConfig(ReversionConfig, frozen=True, kw_only=True):
    """The model-free reversion rule (the earlier bot's second strategy, made safe): the
    shared guards of :class:`ReversionConfig` and nothing else (NaN never passes, unlike
    the original)."""

    section: ClassVar[str] = "mean_reversion"


class OvirxConfig(ReversionConfig, frozen=True, kw_only=True):
    """OVIR-X: the shared guards of :class:`ReversionConfig` plus exhaustion and the model.

    * ``d * tick_ratio <= max_tick_ratio`` (0.0): trade ticks no longer push the deviation;
    * ``-d * depth_imbalance >= min_depth_lean`` (0.1): the book leans against it;
    * the model (or the rule fallback) gives P(reversion) ``>= prob_threshold`` (0.65).
    """

    section: ClassVar[str] = "ovirx"

    max_tick_ratio: float = 0.0
    min_depth_lean: float = 0.1
    prob_threshold: float = 0.65

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("max_tick_ratio", "min_depth_lean"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ConfigError(f"ovirx.{name} must be finite, was {value!r}")
        if not 0.0 <= self.prob_threshold <= 1.0:
            raise ConfigError(f"ovirx.prob_threshold must be in [0, 1], was {self.prob_threshold}")
