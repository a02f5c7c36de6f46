"""The exits a reversion entry plans: stop, target, trailing stop, time.

Distances are in entry-time standard deviations (the VWAP std when the position opened),
so a position's exits do not move when volatility changes afterwards. The strategy plans
them in prices at entry (:func:`plan_exits`); execution runs them: stop and target as
protection orders at the exchange, the trailing stop and the time exit in the bot, in
integer ticks of the contract.
"""

from __future__ import annotations

import math

import msgspec

from bitunix.core.errors import ConfigError
from bitunix.strategy.base import Direction

NS_PER_S = 1_000_000_000


class ExitConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Exit thresholds (defaults from the earlier bot's intent, spec section 4.9).

    ``stop_std``: stop-loss distance from entry (1.5 std). ``target_fraction``: share of
    the entry deviation to take back, 1.0 = target at the entry-time VWAP. ``trail_std``:
    trailing-stop distance behind the best price (1.0 std). ``trail_activation_std``: the
    trailing stop arms once the best price is this far in favour (0.5 std; 0 = at once).
    ``max_hold_s``: time exit (60 s, the label horizon).
    """

    stop_std: float = 1.5
    target_fraction: float = 1.0
    trail_std: float = 1.0
    trail_activation_std: float = 0.5
    max_hold_s: float = 60.0

    def __post_init__(self) -> None:
        _positive("exits.stop_std", self.stop_std)
        _positive("exits.target_fraction", self.target_fraction)
        _positive("exits.trail_std", self.trail_std)
        _positive("exits.max_hold_s", self.max_hold_s)
        if not (self.trail_activation_std >= 0.0 and math.isfinite(self.trail_activation_std)):
            raise ConfigError(
                f"exits.trail_activation_std must be >= 0, was {self.trail_activation_std!r}"
            )


def _positive(name: str, value: float) -> None:
    if not (value > 0.0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be a finite number > 0, was {value!r}")


class ExitPlan(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """Exit prices of one entry (floats; execution rounds them onto the tick).

    ``trail_arm``: the trailing stop starts following the best price once the price has
    reached it (the entry price itself when ``trail_activation_std`` is 0, "at once").
    """

    stop: float
    target: float
    trail_distance: float
    trail_arm: float
    max_hold_ns: int


def plan_exits(
    direction: Direction, entry_price: float, *, vwap: float, std: float, cfg: ExitConfig
) -> ExitPlan:
    """The exits of an entry at ``entry_price`` when the VWAP was ``vwap`` with ``std``."""
    d = int(direction)
    return ExitPlan(
        stop=entry_price - d * cfg.stop_std * std,
        target=entry_price + cfg.target_fraction * (vwap - entry_price),
        trail_distance=cfg.trail_std * std,
        trail_arm=entry_price + d * cfg.trail_activation_std * std,
        max_hold_ns=int(cfg.max_hold_s * NS_PER_S),
    )
