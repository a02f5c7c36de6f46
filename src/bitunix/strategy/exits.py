"""The exit rules shared by the reversion strategies: stop, target, trailing stop, time.

Distances are in entry-time standard deviations (the VWAP std when the position opened),
so a position's exits do not move when volatility changes afterwards. Checks run in a
fixed order, most protective first: stop, target, trailing stop, time.
"""

from __future__ import annotations

import math

import msgspec

from bitunix.core.errors import ConfigError
from bitunix.strategy.base import Direction, ExitReason

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


class OpenPosition:
    """A position the strategy opened and will exit (its own view, prices as floats)."""

    __slots__ = (
        "best_price",
        "direction",
        "entry_price",
        "entry_ts_ns",
        "expires_ns",
        "probability",
        "std",
        "stop",
        "target",
        "trail_arm_price",
        "trail_distance",
        "trail_stop",
    )

    def __init__(
        self,
        direction: Direction,
        entry_price: float,
        *,
        vwap: float,
        std: float,
        ts_ns: int,
        cfg: ExitConfig,
        probability: float = math.nan,
    ) -> None:
        d = int(direction)
        self.direction = direction
        self.entry_price = entry_price
        self.entry_ts_ns = ts_ns
        self.std = std
        self.probability = probability
        self.stop = entry_price - d * cfg.stop_std * std
        self.target = entry_price + cfg.target_fraction * (vwap - entry_price)
        self.trail_distance = cfg.trail_std * std
        self.trail_arm_price = entry_price + d * cfg.trail_activation_std * std
        self.trail_stop = math.nan
        if cfg.trail_activation_std == 0.0:  # "0 = at once": armed at the entry price
            self.trail_stop = entry_price - d * self.trail_distance
        self.best_price = entry_price
        self.expires_ns = ts_ns + int(cfg.max_hold_s * NS_PER_S)

    def check(self, price: float, ts_ns: int) -> ExitReason | None:
        """Update the trailing stop with ``price`` and return the exit rule that fires."""
        if self.direction is Direction.LONG:
            if price <= self.stop:
                return ExitReason.STOP
            if price >= self.target:
                return ExitReason.TARGET
            if price > self.best_price:
                self.best_price = price
                if price >= self.trail_arm_price:
                    self.trail_stop = price - self.trail_distance
            if price <= self.trail_stop:  # False while the stop is not armed (NaN)
                return ExitReason.TRAILING
        else:
            if price >= self.stop:
                return ExitReason.STOP
            if price <= self.target:
                return ExitReason.TARGET
            if price < self.best_price:
                self.best_price = price
                if price <= self.trail_arm_price:
                    self.trail_stop = price + self.trail_distance
            if price >= self.trail_stop:
                return ExitReason.TRAILING
        if ts_ns >= self.expires_ns:
            return ExitReason.TIME
        return None

    def pnl_bps(self, price: float) -> float:
        """Gross return of the position at ``price``, in basis points of the entry."""
        return int(self.direction) * (price - self.entry_price) / self.entry_price * 1e4
