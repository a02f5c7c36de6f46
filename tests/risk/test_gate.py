"""RiskGate: the order of the checks, the kill switch, the daily-loss stop and its flatten,
state across a restart, and denials counted by reason and recorded."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from bitunix.model import ContractSpec, Side, SymbolStatus
from bitunix.risk import (
    APPROVED,
    BreakerConfig,
    Denial,
    ExposureSnapshot,
    LimitsConfig,
    Reason,
    RiskConfig,
    RiskGate,
    RiskState,
    Sized,
    StalenessBreakerConfig,
    SymbolRiskConfig,
    utc_day,
)
from tests.risk.conftest import BTC, ETH, Recorder, S, replace, snapshot

DAY = 20_000
NOW = DAY * 86_400 * S + 3_600 * S           # 01:00 UTC on that day
# A good long signal on BTCUSDT at 60,000: stop 10 below, target 20 above.
LONG = {"price_ticks": 600_000, "stop_ticks": 599_900, "target_ticks": 600_200}


def _gate(rec: Recorder, config: RiskConfig | None = None,
          state: RiskState | None = None) -> RiskGate:
    return RiskGate(config or RiskConfig(), on_denial=rec.on_denial,
                    on_transition=rec.on_transition, state=state)


def _enter(gate: RiskGate, snap: ExposureSnapshot, *, spec: ContractSpec = BTC,
           probability: float = 0.7, now_ns: int = NOW, **prices: int) -> Sized | Denial:
    return gate.check_entry(spec, Side.BUY, **{**LONG, **prices},  # type: ignore[arg-type]
                            probability=probability, exposure=snap, now_ns=now_ns)


def _reason(verdict: Sized | Denial) -> str:
    return str(verdict.reason) if isinstance(verdict, Denial) else "sized"


def test_utc_day() -> None:
    assert utc_day(NOW) == DAY
    assert utc_day(DAY * 86_400 * S - 1) == DAY - 1


def test_checks_run_kill_switch_breaker_limits_sizing() -> None:
    rec = Recorder()
    gate = _gate(rec)
    loss = snapshot(unrealized_pnl=Decimal("-600"))                    # daily loss 6%
    bad_signal = {"stop_ticks": 600_100}                              # stop above a long
    gate.engage_kill_switch("operator", NOW)
    gate.symbol_breaker("BTCUSDT").on_book(99.0, 0.0, NOW)             # volatility trip
    order = []
    order.append(_reason(_enter(gate, loss, **bad_signal)))
    gate.release_kill_switch(NOW)
    order.append(_reason(_enter(gate, loss, **bad_signal)))
    gate.symbol_breaker("BTCUSDT").on_book(1.0, 0.0, NOW)
    later = NOW + 301 * S
    gate.symbol_breaker("BTCUSDT").on_book(1.0, 0.0, later)            # feed still alive
    order.append(_reason(_enter(gate, loss, now_ns=later, **bad_signal)))
    tomorrow = later + 86_400 * S
    gate.symbol_breaker("BTCUSDT").on_book(1.0, 0.0, tomorrow)
    order.append(_reason(_enter(gate, snapshot(utc_day=DAY + 1), now_ns=tomorrow,
                                **bad_signal)))
    assert order == ["kill_switch", "breaker_volatility", "daily_loss", "invalid_stop"]


def test_denials_are_counted_by_reason_and_recorded() -> None:
    rec = Recorder()
    gate = _gate(rec)
    snap = snapshot()
    assert isinstance(_enter(gate, snap), Sized)
    _enter(gate, snap, probability=0.2)                    # kelly <= 0
    _enter(gate, snap, probability=0.3)
    _enter(gate, replace(snap, open_orders=4))
    assert gate.denials.as_dict() == {"kelly_nonpositive": 2, "open_orders": 1}
    assert gate.denials["kelly_nonpositive"] == 2
    assert gate.denials["daily_loss"] == 0
    assert gate.denials.total == 3
    assert [(s, side, d.reason, ts) for s, side, d, ts in rec.denials] == [
        ("BTCUSDT", "BUY", Reason.KELLY_NONPOSITIVE, NOW),
        ("BTCUSDT", "BUY", Reason.KELLY_NONPOSITIVE, NOW),
        ("BTCUSDT", "BUY", Reason.OPEN_ORDERS, NOW)]
    assert rec.denials[-1][2].detail() == {"open_orders": "4", "max": "4"}


def test_kill_switch_engages_releases_and_survives_a_restart() -> None:
    rec = Recorder()
    gate = _gate(rec)
    gate.engage_kill_switch("manual stop", NOW)
    gate.engage_kill_switch("again", NOW + 1)              # already engaged: no change
    assert gate.kill_switch_engaged
    saved = msgspec.json.encode(gate.state)                # what the app writes down
    restarted = _gate(rec, state=msgspec.json.decode(saved, type=RiskState))
    verdict = _enter(restarted, snapshot())
    assert isinstance(verdict, Denial)
    assert verdict.reason is Reason.KILL_SWITCH
    assert verdict.values == {"reason": "manual stop", "since_ns": NOW}
    restarted.release_kill_switch(NOW + 60 * S)
    restarted.release_kill_switch(NOW + 61 * S)            # already released: no change
    assert isinstance(_enter(restarted, snapshot()), Sized)
    assert restarted.state == RiskState(kill_switch=False, kill_reason="manual stop",
                                        kill_since_ns=NOW)
    assert rec.kinds() == [("kill_switch", "", True), ("kill_switch", "", False)]
    assert rec.transitions[-1].values["engaged_s"] == 60.0


def test_daily_loss_stops_entries_for_the_day_and_asks_to_flatten() -> None:
    rec = Recorder()
    gate = _gate(rec)
    snap = snapshot(day_realized_pnl=Decimal("-450"), day_fees=Decimal("20"))
    assert isinstance(_enter(gate, snap), Sized)
    worse = replace(snap, unrealized_pnl=Decimal("-30"))   # 500: 5% of the day's start
    assert gate.check_account(worse, NOW) != APPROVED
    (t,) = rec.transitions
    assert (t.kind, t.active, t.flatten) == (Reason.DAILY_LOSS, True, True)
    assert t.values["day_pnl"] == "-500"
    # The loss shrinks again the same day: entries stay stopped (latched).
    better = replace(snap, unrealized_pnl=Decimal("+300"))
    assert _reason(_enter(gate, better)) == "daily_loss"
    assert gate.state.daily_loss_day == DAY
    # A restart the same day keeps the stop.
    restarted = _gate(Recorder(), state=gate.state)
    assert _reason(_enter(restarted, better)) == "daily_loss"
    # The next UTC day starts afresh.
    tomorrow = snapshot(utc_day=DAY + 1)
    assert isinstance(_enter(gate, tomorrow, now_ns=NOW + 86_400 * S), Sized)
    assert rec.kinds()[-1] == ("daily_loss", "", False)
    assert gate.state.daily_loss_day is None


def test_flatten_is_optional() -> None:
    rec = Recorder()
    gate = _gate(rec, RiskConfig(limits=LimitsConfig(flatten_on_daily_loss=False)))
    _enter(gate, snapshot(day_realized_pnl=Decimal("-900")))
    (t,) = rec.transitions
    assert (t.kind, t.active, t.flatten) == (Reason.DAILY_LOSS, True, False)


def test_a_stop_seen_outside_an_entry_is_not_skipped_by_a_cached_snapshot() -> None:
    """Regression: the gate skips the daily-loss arithmetic for a snapshot it has already
    approved; a stop latched since (through check_account) must still deny it."""
    gate = _gate(Recorder())
    fine = snapshot()
    assert isinstance(_enter(gate, fine), Sized)
    gate.check_account(snapshot(day_realized_pnl=Decimal("-800")), NOW)
    assert _reason(_enter(gate, fine)) == "daily_loss"


@pytest.mark.parametrize(("snap", "spec", "reason"), [
    (snapshot("0"), BTC, "no_equity"),
    (snapshot("-5", day_start_equity=Decimal(100)), BTC, "no_equity"),
    (snapshot(day_start_equity=Decimal(0)), BTC, "no_equity"),
    (snapshot(), msgspec.structs.replace(BTC, status=SymbolStatus.CANCEL_ONLY), "not_tradable"),
    (snapshot(), msgspec.structs.replace(BTC, api_supported=False), "not_tradable"),
    (snapshot(open_orders=7), BTC, "open_orders"),
    (snapshot(symbol_notional={"BTCUSDT": 999.0}), BTC, "exposure_symbol"),
    (snapshot(total_notional=1_999.0), BTC, "exposure_total"),
    (snapshot(symbol_pending={"BTCUSDT": 1_000.0}), BTC, "exposure_symbol"),
])
def test_limits_through_the_gate(snap: ExposureSnapshot, spec: ContractSpec,
                                 reason: str) -> None:
    assert _reason(_enter(_gate(Recorder()), snap, spec=spec)) == reason


def test_symbol_overrides_and_a_new_contract_are_picked_up() -> None:
    cfg = RiskConfig(symbols={"BTCUSDT": SymbolRiskConfig(base_size_pct=1.0,
                                                          max_leverage=0.04)})
    gate = _gate(Recorder(), cfg)
    sized = _enter(gate, snapshot(), probability=0.9)
    assert isinstance(sized, Sized)
    assert sized.notional == Decimal("96.00000")      # 1% of 10,000 -> 16 steps of 6 USDT
    eth = _enter(gate, snapshot(), spec=ETH, price_ticks=260_000, stop_ticks=259_000,
                 target_ticks=262_000, probability=0.9)
    assert isinstance(eth, Sized)
    assert eth.notional == Decimal("499.20000")       # ETH keeps the default 5%
    # The venue changes BTCUSDT's minimum: the gate notices the new contract object.
    bigger_min = msgspec.structs.replace(BTC, min_qty=Decimal("0.0100"))
    assert _reason(_enter(gate, snapshot(), spec=bigger_min, probability=0.9)) == "below_min_qty"
    # Leverage override: 0.04 x 10,000 = 400 USDT of BTCUSDT at most.
    verdict = _enter(gate, snapshot(symbol_notional={"BTCUSDT": 399.0}), probability=0.9)
    assert _reason(verdict) == "leverage_symbol"


def test_breaker_readings_and_poll_through_the_gate() -> None:
    rec = Recorder()
    gate = _gate(rec, RiskConfig(breaker=BreakerConfig(
        staleness=StalenessBreakerConfig(max_silence_s=2.0, recovery_s=5.0))))
    gate.symbol_breaker("BTCUSDT").on_trade(0.1, NOW)
    for ok in [False] * 10:
        gate.on_request(ok, NOW)
    assert _reason(_enter(gate, snapshot())) == "breaker_error_rate"
    gate.poll(NOW + 3 * S)                                    # silence: stale
    assert ("breaker_staleness", "", True) in rec.kinds()
    assert _reason(_enter(gate, snapshot(), spec=ETH, now_ns=NOW + 3 * S)) in {
        "breaker_staleness", "breaker_error_rate"}


def test_cached_conversions_follow_the_snapshot() -> None:
    """The gate caches the float of the equity and the daily-loss verdict per snapshot;
    a new snapshot with other figures must be seen."""
    gate = _gate(Recorder())
    sizes = []
    for equity in ("10000", "20000", "10000", "5000"):
        verdict = _enter(gate, snapshot(equity), probability=0.9)
        assert isinstance(verdict, Sized)
        sizes.append(verdict.qty_steps)
    assert sizes[0] == sizes[2] < sizes[1]
    assert sizes[3] < sizes[0]
    same = snapshot()
    assert isinstance(_enter(gate, same), Sized)
    assert _reason(_enter(gate, replace(same, day_fees=Decimal("500")))) == "daily_loss"
