"""OVIR-X decisions on crafted feature sequences: each entry rule, each exit rule."""

from __future__ import annotations

import math

import pytest

from bitunix.core.errors import ConfigError
from bitunix.features import FEATURE_NAMES
from bitunix.ml.runtime import SOURCE_FALLBACK
from bitunix.strategy import (
    Direction,
    ExitConfig,
    ExitReason,
    MeanReversionStrategy,
    OvirxConfig,
    OvirxStrategy,
    SignalKind,
)
from tests.strategy.crafted import NS, FixedGate, frame

# A short setup: price 3 sigma above VWAP, ticks turning down, book leaning to the asks.
# std 30 USD at 60,000: the target (VWAP) is 90 USD = 15 bp away, above the 4 bp fee floor.
SHORT = {"z": 3.0, "tick": -0.2, "depth": -0.3}
LONG = {"z": -3.0, "tick": 0.2, "depth": 0.3}


def make(p: float = 0.9, **cfg: object) -> tuple[OvirxStrategy, FixedGate]:
    gate = FixedGate(p)
    return OvirxStrategy("BTCUSDT", FEATURE_NAMES, OvirxConfig(**cfg), gate=gate), gate  # type: ignore[arg-type]


def test_enters_short_above_vwap_with_target_vwap_and_stop_one_and_half_sigma() -> None:
    s, gate = make()
    sig = s.on_tick(1 * NS, frame(**SHORT), True)
    assert sig is not None
    assert sig.kind is SignalKind.ENTER
    assert sig.direction is Direction.SHORT
    assert sig.price == pytest.approx(60_090.0)
    assert sig.target == pytest.approx(60_000.0)
    assert sig.stop == pytest.approx(60_090.0 + 1.5 * 30.0)
    assert sig.probability == 0.9
    assert sig.score_source == "model"
    assert gate.calls == 1
    assert s.in_position
    pos = s.position
    assert pos is not None
    assert pos.direction is Direction.SHORT
    assert pos.entry_price == sig.price


def test_enters_long_below_vwap() -> None:
    s, _ = make()
    sig = s.on_tick(1 * NS, frame(**LONG), True)
    assert sig is not None
    assert sig.direction is Direction.LONG
    assert sig.stop < sig.price < sig.target


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"z": 1.5}, "deviation below entry_z"),
        ({"z": 6.0}, "deviation beyond max_entry_z: a break-out"),
        ({"tick": 0.3}, "ticks still push the move up"),
        ({"depth": 0.0}, "book does not lean against the move"),
        ({"depth": 0.5}, "book supports the move"),
        ({"spread": 8.0}, "spread too wide"),
        ({"z": math.nan}, "NaN z"),
        ({"tick": math.nan}, "NaN tick ratio"),
        ({"depth": math.inf}, "inf depth"),
        ({"std": 0.1}, "std below the floor"),
        ({"price": 0.0}, "no trade price yet"),
        ({"price": math.nan}, "NaN price"),
        ({"z": 2.2, "std": 5.0}, "target worth less than the fees"),
    ],
)
def test_skips_when_a_rule_fails(change: dict[str, float], why: str) -> None:
    s, gate = make()
    args = {**SHORT, **change}
    assert s.on_tick(1 * NS, frame(**args), True) is None, why
    assert gate.calls == 0
    assert not s.in_position


def test_skips_when_features_invalid_even_if_rules_pass() -> None:
    s, gate = make()
    assert s.on_tick(1 * NS, frame(**SHORT), False) is None
    assert gate.calls == 0


def test_model_gate_rejects_below_threshold_and_accepts_at_it() -> None:
    s, gate = make(p=0.64)
    assert s.on_tick(1 * NS, frame(**SHORT), True) is None
    assert s.counters.rejected_by_model == 1
    gate.p = 0.65
    assert s.on_tick(2 * NS, frame(**SHORT), True) is not None


def test_threshold_comes_from_config() -> None:
    s, _ = make(p=0.55, prob_threshold=0.5)
    assert s.on_tick(1 * NS, frame(**SHORT), True) is not None


def test_without_a_model_the_rule_fallback_decides() -> None:
    s = OvirxStrategy("BTCUSDT", FEATURE_NAMES)
    strong = s.on_tick(1 * NS, frame(z=3.0, tick=-0.5, depth=-0.6), True)
    assert strong is not None
    assert strong.score_source == SOURCE_FALLBACK
    weak = OvirxStrategy("BTCUSDT", FEATURE_NAMES)
    # Rules pass (just), but the fallback's score stays under 0.65.
    assert weak.on_tick(1 * NS, frame(z=2.05, tick=0.0, depth=-0.1, std=40.0), True) is None
    assert weak.counters.rejected_by_model == 1


def test_one_position_at_a_time_and_cooldown_after_exit() -> None:
    s, gate = make(cooldown_s=5.0)
    assert s.on_tick(1 * NS, frame(**SHORT), True) is not None
    # still in position: no new entry, gate not asked again
    assert s.on_tick(2 * NS, frame(**SHORT), True) is None
    assert gate.calls == 1
    exit_sig = s.on_tick(3 * NS, frame(z=0.0), True)
    assert exit_sig is not None
    assert exit_sig.exit_reason is ExitReason.TARGET
    assert s.on_tick(7 * NS, frame(**SHORT), True) is None  # within 5 s cooldown
    assert s.on_tick(8 * NS, frame(**SHORT), True) is not None


def test_exit_by_target() -> None:
    s, _ = make()
    s.on_tick(1 * NS, frame(**LONG), True)  # long at 59,910, target 60,000
    assert s.on_tick(2 * NS, frame(price=59_950.0), True) is None
    sig = s.on_tick(3 * NS, frame(price=60_000.0), True)
    assert sig is not None
    assert sig.kind is SignalKind.EXIT
    assert sig.exit_reason is ExitReason.TARGET
    assert sig.direction is Direction.LONG
    assert sig.pnl_bps == pytest.approx(90.0 / 59_910.0 * 1e4)


def test_exit_by_stop() -> None:
    s, _ = make()
    s.on_tick(1 * NS, frame(**SHORT), True)  # short at 60,090, stop 60,135
    assert s.on_tick(2 * NS, frame(price=60_134.0), True) is None
    sig = s.on_tick(3 * NS, frame(price=60_135.0), True)
    assert sig is not None
    assert sig.exit_reason is ExitReason.STOP
    assert sig.pnl_bps < 0


def test_exit_by_trailing_stop_after_it_arms() -> None:
    # target far away (fraction 1.0 of a 5-sigma move is not reached), trail 1 sigma, arm 0.5
    s, _ = make(max_entry_z=6.0)
    s.on_tick(1 * NS, frame(z=-5.0, tick=0.2, depth=0.3), True)  # long at 59,850, std 30
    # moves 20 in favour: not armed yet (needs 15)... it is armed: 20 >= 15; trail = 59,870 - 30
    assert s.on_tick(2 * NS, frame(price=59_860.0), True) is None  # armed at 59,830 (below entry)
    assert s.on_tick(3 * NS, frame(price=59_940.0), True) is None  # trail 59,910
    sig = s.on_tick(4 * NS, frame(price=59_909.0), True)
    assert sig is not None
    assert sig.exit_reason is ExitReason.TRAILING
    assert sig.pnl_bps > 0


def test_trailing_stop_not_armed_before_activation_distance() -> None:
    s, _ = make(exits=ExitConfig(trail_activation_std=2.0, stop_std=3.0))
    s.on_tick(1 * NS, frame(**LONG), True)  # long at 59,910; arms at 59,970
    assert s.on_tick(2 * NS, frame(price=59_960.0), True) is None
    # 1 sigma back from the best would trip an armed trail; it is not armed
    assert s.on_tick(3 * NS, frame(price=59_925.0), True) is None
    assert s.in_position


def test_exit_by_time() -> None:
    s, _ = make(exits=ExitConfig(max_hold_s=30.0))
    s.on_tick(1 * NS, frame(**SHORT), True)
    assert s.on_tick(30 * NS, frame(price=60_089.0), True) is None
    sig = s.on_tick(31 * NS, frame(price=60_089.0), True)
    assert sig is not None
    assert sig.exit_reason is ExitReason.TIME


def test_exits_are_checked_even_when_features_are_invalid_but_not_on_nan_price() -> None:
    s, _ = make()
    s.on_tick(1 * NS, frame(**SHORT), True)
    assert s.on_tick(2 * NS, frame(price=math.nan), False) is None
    assert s.in_position
    sig = s.on_tick(3 * NS, frame(price=60_200.0), False)
    assert sig is not None
    assert sig.exit_reason is ExitReason.STOP


def test_outcomes_feed_the_monitor_sink() -> None:
    seen: list[tuple[float, bool]] = []
    s = OvirxStrategy(
        "BTCUSDT",
        FEATURE_NAMES,
        gate=FixedGate(0.8),
        outcome_sink=lambda p, hit: seen.append((p, hit)),
    )
    s.on_tick(1 * NS, frame(**SHORT), True)
    s.on_tick(2 * NS, frame(price=60_000.0), True)  # target
    s.on_tick(10 * NS, frame(**SHORT), True)
    s.on_tick(11 * NS, frame(price=60_200.0), True)  # stop
    assert seen == [(0.8, True), (0.8, False)]


def test_only_model_approved_entries_feed_the_monitor() -> None:
    seen: list[tuple[float, bool]] = []
    fallback_gate = FixedGate(0.9)
    fallback_gate.last_source = SOURCE_FALLBACK
    s = OvirxStrategy(
        "BTCUSDT", FEATURE_NAMES, gate=fallback_gate, outcome_sink=lambda p, h: seen.append((p, h))
    )
    s.on_tick(1 * NS, frame(**SHORT), True)
    sig = s.on_tick(2 * NS, frame(price=60_000.0), True)
    assert sig is not None
    assert sig.exit_reason is ExitReason.TARGET
    assert seen == []  # the fallback approved it: not the model's outcome
    mr = MeanReversionStrategy(
        "BTCUSDT", FEATURE_NAMES, outcome_sink=lambda p, h: seen.append((p, h))
    )
    mr.on_tick(1 * NS, frame(z=3.0), True)
    mr.on_tick(2 * NS, frame(price=60_000.0), True)
    assert seen == []


def test_external_close_forgets_position_without_feeding_outcomes() -> None:
    seen: list[tuple[float, bool]] = []
    s = OvirxStrategy(
        "BTCUSDT", FEATURE_NAMES, gate=FixedGate(0.8), outcome_sink=lambda p, h: seen.append((p, h))
    )
    assert s.close_external(1 * NS, 60_000.0) is None
    s.on_tick(1 * NS, frame(**SHORT), True)
    sig = s.close_external(2 * NS, 60_050.0)
    assert sig is not None
    assert sig.exit_reason is ExitReason.EXTERNAL
    assert not s.in_position
    assert seen == []


@pytest.mark.parametrize(
    "bad",
    [
        {"entry_z": 0.0},
        {"entry_z": 3.0, "max_entry_z": 2.0},
        {"prob_threshold": 1.5},
        {"cooldown_s": -1.0},
        {"min_edge_bps": math.nan},
        {"fee_bps": -1.0},
        {"max_tick_ratio": math.nan},
    ],
)
def test_config_rejects_bad_values(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        OvirxConfig(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [{"stop_std": 0.0}, {"trail_std": math.inf}, {"trail_activation_std": -0.1}, {"max_hold_s": 0}],
)
def test_exit_config_rejects_bad_values(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        ExitConfig(**bad)  # type: ignore[arg-type]


def test_reset_forgets_position_and_cooldown() -> None:
    s, _ = make(cooldown_s=60.0)
    s.on_tick(1 * NS, frame(**SHORT), True)
    s.reset()
    assert not s.in_position
    assert s.on_tick(2 * NS, frame(**SHORT), True) is not None


def test_trailing_stop_with_zero_activation_is_armed_at_entry() -> None:
    # trail_activation_std = 0 means "at once": the trail starts 1 sigma behind the entry,
    # inside the 1.5-sigma stop, so a move straight against the position exits by it.
    s, _ = make(exits=ExitConfig(trail_activation_std=0.0))
    s.on_tick(1 * NS, frame(**LONG), True)  # long at 59,910, std 30: trail 59,880, stop 59,865
    sig = s.on_tick(2 * NS, frame(price=59_879.0), True)
    assert sig is not None
    assert sig.exit_reason is ExitReason.TRAILING
    s, _ = make(exits=ExitConfig(trail_activation_std=0.0))
    s.on_tick(1 * NS, frame(**SHORT), True)  # short at 60,090: trail 60,120, stop 60,135
    sig = s.on_tick(2 * NS, frame(price=60_121.0), True)
    assert sig is not None
    assert sig.exit_reason is ExitReason.TRAILING
