"""The scheduled refresh: the shadow's live figures, the rule, and one refresh on a real
registry and store (promote, discard, wait, abandon, the lock)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import numpy as np
import pytest

from bitunix.core.errors import ConfigError
from bitunix.features import FEATURE_NAMES
from bitunix.ml.errors import RegistryError, TrainingError
from bitunix.ml.fallback import RuleFallback
from bitunix.ml.manifest import Metrics
from bitunix.ml.monitor import PerformanceMonitor
from bitunix.ml.refresh import (
    AUDIT_ACTION,
    AUDIT_LOG_NAME,
    LOCK_NAME,
    PENDING_NAME,
    Refresher,
    RefreshResult,
    RefreshRule,
    judge,
    read_pending,
    refresh_lock,
)
from bitunix.ml.registry import ModelRegistry, RegistryEntry
from bitunix.ml.runtime import Predictor
from bitunix.ml.shadow import (
    SHADOW_STATE_KEY,
    ShadowFigures,
    ShadowPair,
    decode_figures,
    encode_figures,
)
from bitunix.ml.train import TrainedModel, export
from bitunix.store import SqliteStore

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
DAY = 86_400 * NS
REF = Metrics(n=1, base_rate=0.1, auc=None, brier=0.1, log_loss=0.1, ece=0.1, threshold=0.65,
              approvals=0, hit_rate=None)


class Seq:
    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.i = 0

    def score(self, vector: np.ndarray) -> float:
        v = self.values[self.i]
        self.i += 1
        return v


def live_pair(rows: list[tuple[float, float, bool]], *, champion: str, challenger: str,
              since_ns: int = T0) -> ShadowPair:
    """A ShadowPair that scored and saw the outcome of every (p, q, hit) row, as a bot
    does: predict at entry, record_outcome(p, hit) when the trade closes."""
    fb = RuleFallback(FEATURE_NAMES)
    sp = ShadowPair(
        Predictor(Seq([p for p, _, _ in rows]), fb, name=champion),
        Predictor(Seq([q for _, q, _ in rows]), fb, name=challenger),
        0.65,
        champion_monitor=PerformanceMonitor(champion, REF),
        challenger_monitor=PerformanceMonitor(challenger, REF),
        since_ns=since_ns,
    )
    x = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    for _, _, hit in rows:
        p = sp.predict(x)
        sp.record_outcome(p, hit)
    return sp


# -- the figures the bot saves --------------------------------------------------------------
def test_figures_count_both_models_on_the_same_trades() -> None:
    rows = [(0.9, 0.8, True), (0.8, 0.3, False), (0.7, 0.9, False), (0.95, 0.2, True)]
    f = live_pair(rows, champion="a@1", challenger="b@2").figures(T0 + 5 * NS)
    assert (f.champion, f.challenger, f.since_ns, f.updated_ns) == ("a@1", "b@2", T0, T0 + 5 * NS)
    assert (f.scored, f.outcomes, f.hits) == (4, 4, 2)
    # The challenger would have taken rows 1 and 3 (q >= 0.65): one hit.
    assert (f.challenger_approved, f.challenger_hits) == (2, 1)
    assert f.agree == 2
    assert f.champion_brier == pytest.approx((0.01 + 0.64 + 0.49 + 0.0025) / 4)
    assert f.challenger_brier == pytest.approx((0.04 + 0.09 + 0.81 + 0.64) / 4)
    assert decode_figures(encode_figures(f)) == f


def test_figures_before_any_outcome_have_no_brier_and_unmatched_outcomes_are_not_counted(
) -> None:
    sp = live_pair([], champion="a@1", challenger="b@2")
    f = sp.figures(T0)
    assert (f.outcomes, f.champion_brier, f.challenger_brier) == (0, None, None)
    sp.record_outcome(0.42, True)  # a probability the pair never scored
    assert sp.figures(T0).outcomes == 0


# -- the rule --------------------------------------------------------------------------------
def figures(n: int, hits: int, approved: int, approved_hits: int, brier: tuple[float, float],
            *, since_ns: int = T0) -> ShadowFigures:
    return ShadowFigures(champion="a@1", challenger="b@2", threshold=0.65, since_ns=since_ns,
                         updated_ns=since_ns + DAY, scored=n, agree=n, outcomes=n, hits=hits,
                         challenger_approved=approved, challenger_hits=approved_hits,
                         champion_brier=brier[0], challenger_brier=brier[1])


RULE = RefreshRule(min_decisions=10, compare_s=3600.0, hit_rate_margin=0.0,
                   max_brier_worse=0.01)
LATER = T0 + 2 * 3600 * NS


@pytest.mark.parametrize(("f", "now", "action", "words"), [
    (None, LATER, "wait", "no live figures"),
    (figures(20, 10, 10, 8, (0.2, 0.1)), T0 + 60 * NS, "wait", "compared live for 60 s"),
    (figures(9, 5, 5, 5, (0.2, 0.1)), LATER, "wait", "9 of 10 live trades"),
    (figures(20, 10, 10, 8, (0.2, 0.1)), LATER, "promote", "hit rate 0.800 on 10 vs 0.500"),
    (figures(20, 10, 10, 5, (0.2, 0.21)), LATER, "promote", "matches or beats"),  # equal, +0.01
    (figures(20, 10, 10, 4, (0.2, 0.1)), LATER, "discard", "hit rate below"),
    (figures(20, 10, 10, 8, (0.2, 0.22)), LATER, "discard", "Brier worse"),
    (figures(20, 10, 10, 4, (0.2, 0.3)), LATER, "discard", "hit rate below the champion's; "
     "Brier worse"),
    (figures(20, 10, 0, 0, (0.2, 0.1)), LATER, "discard", "would have taken none"),
])
def test_judge(f: ShadowFigures | None, now: int, action: str, words: str) -> None:
    verdict = judge(f, RULE, now)
    assert verdict.action == action
    assert words in verdict.reason


def test_the_hit_rate_margin_lets_a_slightly_lower_hit_rate_through() -> None:
    f = figures(20, 10, 10, 4, (0.2, 0.1))
    assert judge(f, RefreshRule(min_decisions=10, compare_s=0, hit_rate_margin=0.1),
                 T0).action == "promote"


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"min_decisions": 0}, "min_decisions must be >= 1, was 0"),
    ({"compare_s": -1.0}, "compare_s must be a finite number >= 0, was -1.0"),
    ({"max_brier_worse": float("nan")}, "max_brier_worse must be a finite number >= 0"),
    ({"hit_rate_margin": float("inf")}, "hit_rate_margin must be a finite number >= 0"),
])
def test_rule_refuses_bad_values(kwargs: dict[str, float], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        RefreshRule(**kwargs)  # type: ignore[arg-type]


# -- one refresh on a registry and a store ---------------------------------------------------
class Clock:
    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


Trainer = Callable[[], tuple[RegistryEntry, str]]
Setup = tuple[ModelRegistry, SqliteStore, Trainer]


def action(result: RefreshResult) -> str:
    assert result.verdict is not None
    return result.verdict.action


@pytest.fixture
def setup(tmp_path: Path, trained: TrainedModel) -> Iterator[Setup]:
    registry = ModelRegistry(tmp_path / "models")
    versions = iter(range(1, 100))

    def train() -> tuple[RegistryEntry, str]:
        out = tmp_path / "out" / str(next(versions))
        manifest = export(trained, FEATURE_NAMES, out, name="m", version=out.name)
        return registry.register(out), f"parts of {manifest.version}"

    entry, _ = train()
    registry.promote(entry.name, entry.version)  # m@1 is active
    store = SqliteStore(tmp_path / "bot.db")
    yield registry, store, train
    store.close()


def save_live(store: SqliteStore, rows: list[tuple[float, float, bool]], *, champion: str,
              challenger: str, since_ns: int) -> None:
    """What the running bot does at each model poll."""
    sp = live_pair(rows, champion=champion, challenger=challenger, since_ns=since_ns)
    store.set_state(SHADOW_STATE_KEY, encode_figures(sp.figures(since_ns + DAY)))
    store.flush()


BETTER = [(0.7, 0.9, True)] * 8 + [(0.7, 0.2, False)] * 6   # shadow avoids the misses
WORSE = [(0.7, 0.2, True)] * 8 + [(0.7, 0.9, False)] * 6    # shadow takes only the misses


def statuses(registry: ModelRegistry) -> dict[str, str]:
    return {f"{e.name}@{e.version}": e.status for e in registry.entries()}


def refresh_audit(store: SqliteStore) -> list[tuple[str, str]]:
    store.flush()
    return [(a.reason, a.model) for a in store.audit(AUDIT_ACTION)]


def test_first_refresh_trains_and_shadows_then_a_better_shadow_is_promoted(setup: Setup) -> None:
    registry, store, train = setup
    clock = Clock(T0)
    r = Refresher(registry, store, RULE, who="ops@host", now_ns=clock)
    first = r.once(train)
    assert (first.judged, first.verdict, first.shadow) == (None, None, "m@2")
    assert statuses(registry) == {"m@1": "active", "m@2": "shadow"}
    assert read_pending(registry.root).model == "m@2"  # type: ignore[union-attr]

    save_live(store, BETTER, champion="m@1", challenger="m@2", since_ns=T0)
    clock.ns = LATER
    second = r.once(train)
    assert second.judged == "m@2"
    assert action(second) == "promote"
    assert second.figures is not None
    assert second.figures.outcomes == 14
    # m@2 serves now (m@1 can be rolled back to); the next model is under comparison.
    assert statuses(registry) == {"m@1": "retired", "m@2": "active", "m@3": "shadow"}
    assert registry.index().history == ["m@1"]
    assert refresh_audit(store) == [("shadow", "m@2"), ("promote", "m@2"), ("shadow", "m@3")]
    promote = store.audit(AUDIT_ACTION)[1]
    assert promote.ts_ns == LATER
    assert promote.detail["by"] == "ops@host"
    assert promote.detail["rule"] == RULE.text()
    assert promote.detail["live.challenger_hits"] == "8"
    assert promote.detail["live.outcomes"] == "14"
    assert "hit rate 1.000 on 8 vs 0.571 on 14" in promote.detail["why"]
    lines = (registry.root / AUDIT_LOG_NAME).read_text().splitlines()
    assert [json.loads(line)["reason"] for line in lines] == ["shadow", "promote", "shadow"]


def test_a_worse_shadow_is_discarded_and_the_active_model_stays(setup: Setup) -> None:
    registry, store, train = setup
    clock = Clock(T0)
    r = Refresher(registry, store, RULE, who="ops", now_ns=clock)
    r.once(train)
    save_live(store, WORSE, champion="m@1", challenger="m@2", since_ns=T0)
    clock.ns = LATER
    result = r.once(train)
    assert action(result) == "discard"
    assert statuses(registry) == {"m@1": "active", "m@2": "retired", "m@3": "shadow"}
    assert refresh_audit(store) == [("shadow", "m@2"), ("discard", "m@2"), ("shadow", "m@3")]
    assert "hit rate below" in store.audit(AUDIT_ACTION)[1].detail["why"]


@pytest.mark.parametrize(("rows", "when", "words"), [
    (BETTER[:5], LATER, "5 of 10 live trades"),
    (BETTER, T0 + 60 * NS, "compared live for 60 s"),
])
def test_too_few_decisions_or_too_short_waits_and_changes_nothing(
        setup: Setup, rows: list[tuple[float, float, bool]], when: int, words: str) -> None:
    registry, store, train = setup
    clock = Clock(T0)
    r = Refresher(registry, store, RULE, who="ops", now_ns=clock)
    r.once(train)
    before = (registry.root / "registry.json").read_bytes()
    save_live(store, rows, champion="m@1", challenger="m@2", since_ns=T0)
    clock.ns = when
    result = r.once(train)
    assert action(result) == "wait"
    assert words in result.verdict.reason
    assert result.shadow is None
    assert (registry.root / "registry.json").read_bytes() == before
    assert read_pending(registry.root).model == "m@2"  # type: ignore[union-attr]
    assert refresh_audit(store) == [("shadow", "m@2")]


def test_figures_of_another_pair_are_not_used(setup: Setup) -> None:
    registry, store, train = setup
    clock = Clock(T0)
    r = Refresher(registry, store, RULE, who="ops", now_ns=clock)
    r.once(train)
    # A bot still scoring an older shadow (it picks the new one up at its next model poll).
    save_live(store, BETTER, champion="m@1", challenger="m@0", since_ns=T0)
    clock.ns = LATER
    result = r.once(train)
    assert action(result) == "wait"
    assert "for m@0 against m@1, not m@2 against m@1" in result.verdict.reason
    assert statuses(registry) == {"m@1": "active", "m@2": "shadow"}


def test_a_shadow_changed_by_hand_abandons_the_comparison(setup: Setup) -> None:
    registry, store, train = setup
    r = Refresher(registry, store, RULE, who="ops", now_ns=Clock(T0))
    r.once(train)
    registry.retire("m", "2")
    result = r.once(train)
    assert action(result) == "discard"
    assert "no longer the shadow" in result.verdict.reason
    assert result.shadow == "m@3"
    assert refresh_audit(store) == [("shadow", "m@2"), ("abandon", "m@2"), ("shadow", "m@3")]


def test_a_failed_training_changes_nothing(setup: Setup) -> None:
    registry, store, _ = setup
    before = (registry.root / "registry.json").read_bytes()

    def no_rows() -> tuple[RegistryEntry, str]:
        raise TrainingError("too few samples to train: 3")

    with pytest.raises(TrainingError, match="too few samples"):
        Refresher(registry, store, RULE, who="ops", now_ns=Clock(T0)).once(no_rows)
    assert (registry.root / "registry.json").read_bytes() == before
    assert not (registry.root / PENDING_NAME).exists()
    assert refresh_audit(store) == []


def test_a_held_lock_is_refused_with_the_holder(setup: Setup) -> None:
    registry, store, train = setup
    locked = pytest.raises(RegistryError, match=r"is locked by another refresh \(pid \d+\)")
    with refresh_lock(registry.root), locked:
        Refresher(registry, store, RULE, who="ops", now_ns=Clock(T0)).once(train)
    assert (registry.root / LOCK_NAME).exists()
    assert Refresher(registry, store, RULE, who="ops", now_ns=Clock(T0)).once(train).shadow


def test_unreadable_pending_or_figures_are_refused(setup: Setup) -> None:
    registry, store, train = setup
    r = Refresher(registry, store, RULE, who="ops", now_ns=Clock(T0))
    r.once(train)
    store.set_state(SHADOW_STATE_KEY, "{not json")
    store.flush()
    with pytest.raises(RegistryError, match=f"the store's {SHADOW_STATE_KEY} is unreadable"):
        r.once(train)
    (registry.root / PENDING_NAME).write_text("[]")
    with pytest.raises(RegistryError, match=f"{PENDING_NAME} is unreadable"):
        r.once(train)


def test_an_unwritable_registry_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(RegistryError, match="cannot create the refresh lock"), \
            refresh_lock(tmp_path / "file" / "models"):
        pass


def test_pending_round_trips(setup: Setup) -> None:
    registry, store, train = setup
    Refresher(registry, store, RULE, who="ops", now_ns=Clock(T0)).once(train)
    pending = read_pending(registry.root)
    assert pending is not None
    assert msgspec.structs.asdict(pending) == {"model": "m@2", "shadowed_ns": T0,
                                               "data": "parts of 2"}
