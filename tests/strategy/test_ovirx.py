"""OVIR-X decisions on crafted feature sequences: each entry rule, the exits an entry plans,
and what the strategy learns from execution (fills, refusals, round trips)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from bitunix.core.errors import ConfigError
from bitunix.features import FEATURE_NAMES
from bitunix.ml.runtime import SOURCE_FALLBACK
from bitunix.model.records import RoundTrip
from bitunix.strategy import (
    Direction,
    ExitConfig,
    MeanReversionStrategy,
    OvirxConfig,
    OvirxStrategy,
    SignalKind,
    plan_exits,
)
from tests.strategy.crafted import NS, FixedGate, frame

# A short setup: price 3 sigma above VWAP, ticks turning down, book leaning to the asks.
# std 30 USD at 60,000: the target (VWAP) is 90 USD = 15 bp away, above the 4 bp fee floor.
SHORT = {"z": 3.0, "tick": -0.2, "depth": -0.3}
LONG = {"z": -3.0, "tick": 0.2, "depth": 0.3}


def make(p: float = 0.9, **cfg: object) -> tuple[OvirxStrategy, FixedGate]:
    gate = FixedGate(p)
    return OvirxStrategy("BTCUSDT", FEATURE_NAMES, OvirxConfig(**cfg), gate=gate), gate  # type: ignore[arg-type]


def trip(reason: str, net: str, exit_s: int, strategy: str = "ovirx") -> RoundTrip:
    """A round trip as execution reports it (only what the strategy reads matters)."""
    return RoundTrip(symbol="BTCUSDT", strategy=strategy, direction=-1, qty=Decimal("0.001"),
                     entry_price=Decimal("60090"), exit_price=Decimal("60000"), entry_ns=NS,
                     exit_ns=exit_s * NS, reason=reason, gross_pnl=Decimal(net),
                     fees=Decimal(0), funding=Decimal(0))


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
    # the planned exits: trail 1 sigma, armed 0.5 sigma in favour, 60 s time exit
    assert sig.trail_distance == pytest.approx(30.0)
    assert sig.trail_arm == pytest.approx(60_090.0 - 15.0)
    assert sig.max_hold_ns == 60 * NS


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
        ({"price": 59_000.0}, "price below VWAP while z says above: no fade"),
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


def test_one_trade_at_a_time_and_cooldown_after_the_round_trip() -> None:
    s, gate = make(cooldown_s=5.0)
    assert s.on_tick(1 * NS, frame(**SHORT), True) is not None
    # pending, then holding: no new entry, gate not asked again
    assert s.on_tick(2 * NS, frame(**SHORT), True) is None
    s.on_entry_filled(2 * NS, 60_090.0)
    assert s.on_tick(3 * NS, frame(**SHORT), True) is None
    assert gate.calls == 1
    s.on_position_closed(trip("target", "0.09", 3))
    assert not s.in_position
    assert s.on_tick(7 * NS, frame(**SHORT), True) is None  # within 5 s cooldown
    assert s.on_tick(8 * NS, frame(**SHORT), True) is not None
    assert (s.counters.entries, s.counters.exits) == (2, 1)


def test_a_refused_entry_frees_the_strategy_after_the_cooldown() -> None:
    s, _ = make(cooldown_s=5.0)
    s.on_tick(1 * NS, frame(**SHORT), True)
    s.on_entry_rejected(2 * NS, "denied: exposure_symbol")
    assert not s.in_position
    assert s.counters.failed_entries == 1
    assert s.on_tick(6 * NS, frame(**SHORT), True) is None
    assert s.on_tick(7 * NS, frame(**SHORT), True) is not None
    # feedback that does not match the state changes nothing
    s.on_entry_filled(8 * NS, 60_090.0)
    s.on_entry_filled(8 * NS, 60_090.0)
    s.on_entry_rejected(9 * NS, "late")  # already holding: not an entry failure
    assert s.in_position
    assert s.counters.failed_entries == 1
    s.on_position_closed(trip("stop", "-0.05", 10))
    s.on_position_closed(trip("stop", "-0.05", 10))  # twice: once counted
    assert s.counters.exits == 1


def test_exit_plan_long_and_short() -> None:
    cfg = ExitConfig(stop_std=1.5, target_fraction=1.0, trail_std=1.0, trail_activation_std=0.5,
                     max_hold_s=30.0)
    long_ = plan_exits(Direction.LONG, 59_910.0, vwap=60_000.0, std=30.0, cfg=cfg)
    assert (long_.stop, long_.target, long_.trail_distance, long_.trail_arm) == pytest.approx(
        (59_865.0, 60_000.0, 30.0, 59_925.0))
    assert long_.max_hold_ns == 30 * NS
    short = plan_exits(Direction.SHORT, 60_090.0, vwap=60_000.0, std=30.0,
                       cfg=ExitConfig(target_fraction=0.5, trail_activation_std=0.0))
    assert (short.stop, short.target, short.trail_arm) == pytest.approx(
        (60_135.0, 60_045.0, 60_090.0))


def test_outcomes_feed_the_monitor_sink_with_real_round_trips() -> None:
    seen: list[tuple[float, bool]] = []
    s = OvirxStrategy(
        "BTCUSDT",
        FEATURE_NAMES,
        gate=FixedGate(0.8),
        outcome_sink=lambda p, hit: seen.append((p, hit)),
    )
    for i, (reason, net) in enumerate([("target", "-0.01"), ("stop", "-0.3"),
                                       ("time", "0.02"), ("external", "5"), ("flatten", "1")]):
        s.on_tick((10 * i + 1) * NS, frame(**SHORT), True)
        s.on_entry_filled((10 * i + 1) * NS, 60_090.0)
        s.on_position_closed(trip(reason, net, 10 * i + 2))
    # a target counts as a hit even if fees made it a loss; operator/flatten exits say nothing
    assert seen == [(0.8, True), (0.8, False), (0.8, True)]


def test_only_model_approved_entries_feed_the_monitor() -> None:
    seen: list[tuple[float, bool]] = []
    fallback_gate = FixedGate(0.9)
    fallback_gate.last_source = SOURCE_FALLBACK
    s = OvirxStrategy(
        "BTCUSDT", FEATURE_NAMES, gate=fallback_gate, outcome_sink=lambda p, h: seen.append((p, h))
    )
    s.on_tick(1 * NS, frame(**SHORT), True)
    s.on_position_closed(trip("target", "1", 2))
    assert seen == []  # the fallback approved it: not the model's outcome
    mr = MeanReversionStrategy(
        "BTCUSDT", FEATURE_NAMES, outcome_sink=lambda p, h: seen.append((p, h))
    )
    mr.on_tick(1 * NS, frame(z=3.0), True)
    mr.on_position_closed(trip("target", "1", 2, strategy="mean_reversion"))
    assert seen == []


def test_learner_gets_the_entry_vector_and_the_outcome() -> None:
    learned: list[tuple[float, bool]] = []
    s = OvirxStrategy("BTCUSDT", FEATURE_NAMES, gate=FixedGate(0.9),
                      learner=lambda v, hit: learned.append((float(v[0]), hit)))
    s.on_tick(1 * NS, frame(**SHORT), True)
    s.on_entry_filled(1 * NS, 60_090.0)
    s.on_position_closed(trip("stop", "-1", 3))
    assert learned == [(3.0, False)]


@pytest.mark.parametrize(
    "bad",
    [
        {"entry_z": 0.0},
        {"entry_z": 3.0, "max_entry_z": 2.0},
        {"prob_threshold": 1.5},
        {"cooldown_s": -1.0},
        {"min_edge_bps": math.nan},
        {"min_std_bps": -1.0},
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


def test_reset_forgets_the_trade_and_cooldown() -> None:
    s, _ = make(cooldown_s=60.0)
    s.on_tick(1 * NS, frame(**SHORT), True)
    s.reset()
    assert not s.in_position
    assert s.on_tick(2 * NS, frame(**SHORT), True) is not None


@pytest.mark.parametrize("source", ["refused", "invalid"])
def test_a_refusal_is_never_an_entry_even_at_threshold_zero(source: str) -> None:
    """A served model that cannot answer (error, demoted) or a vector with NaN/inf is
    answered 0.0; with ``prob_threshold = 0`` that passed ``p >= threshold`` and entered."""
    s, gate = make(0.0, prob_threshold=0.0)
    gate.last_source = source
    assert s.on_tick(1 * NS, frame(**SHORT), True) is None
    assert s.counters.rejected_by_model == 1
    gate.last_source = "model"
    assert s.on_tick(2 * NS, frame(**SHORT), True) is not None  # the model's own 0.0 at 0
