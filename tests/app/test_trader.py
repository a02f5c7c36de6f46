"""The hot-path glue: a signal becomes a risk-checked, exactly rounded order, or a recorded
refusal, and the strategy hears which."""

from __future__ import annotations

import decimal
import math
from decimal import Decimal

import msgspec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bitunix.app.trader import EntryPlan, Trader, entry_plan
from bitunix.config import Mode, TraderSection
from bitunix.core.latency import LatencyProbe
from bitunix.model import OrderType, Side, TimeInForce
from bitunix.model.ticks import FloatGrid
from bitunix.risk.config import RiskConfig
from bitunix.risk.gate import RiskGate
from bitunix.strategy import Direction, ExitReason, Signal, SignalKind
from tests.execution.conftest import BTC, Feedback, MemoryJournal, SimRig

NS = 1_000_000_000
GRID = FloatGrid(BTC.price_decimals)


def signal(direction: Direction = Direction.LONG, *, price: float = 60_000.0,
           stop: float = 59_955.03, target: float = 60_090.07, **kw: object) -> Signal:
    fields: dict[str, object] = {
        "strategy": "ovirx", "symbol": "BTCUSDT", "ts_ns": 5 * NS, "kind": SignalKind.ENTER,
        "direction": direction, "price": price, "stop": stop, "target": target,
        "trail_distance": 30.04, "trail_arm": price + 15.06 * int(direction),
        "max_hold_ns": 60 * NS, "probability": 0.8, "score_source": "model"}
    fields.update(kw)
    return Signal(**fields)  # type: ignore[arg-type]


def test_entry_plan_rounds_every_price_the_safe_way() -> None:
    long_ = entry_plan(GRID, signal())
    assert isinstance(long_, EntryPlan)
    assert long_.side is Side.BUY
    # long: the stop rounds up (closer: loses less), the target down (reached sooner)
    assert (long_.price_ticks, long_.stop_ticks, long_.target_ticks) == (600000, 599551, 600900)
    assert (long_.trail_distance_ticks, long_.trail_arm_ticks, long_.max_hold_ns) == (
        300, 150, 60 * NS)
    short = entry_plan(GRID, signal(Direction.SHORT, stop=60_044.97, target=59_909.93))
    assert isinstance(short, EntryPlan)
    assert short.side is Side.SELL
    assert (short.stop_ticks, short.target_ticks) == (600449, 599100)


@pytest.mark.parametrize(
    ("change", "why"),
    [({"stop": math.nan}, "bad_stop"), ({"target": -1.0}, "bad_target"),
     ({"price": math.inf}, "bad_price"),
     ({"stop": 59_999.95, "target": 60_000.05}, "plan_inside_one_tick")],
)
def test_entry_plan_refuses_what_rounding_cannot_make_safe(change: dict[str, float],
                                                           why: str) -> None:
    assert entry_plan(GRID, signal(**change)) == why


@example(price=32118.712782093397, stop_d=1.6127499771113492, target_d=1.0, long_=True)
@given(price=st.floats(1_000.0, 100_000.0), stop_d=st.floats(0.5, 500.0),
       target_d=st.floats(0.5, 500.0), long_=st.booleans())
def test_entry_plan_never_loosens_a_stop_or_stretches_a_target(
    price: float, stop_d: float, target_d: float, long_: bool
) -> None:
    d = 1 if long_ else -1
    sig = signal(Direction.LONG if long_ else Direction.SHORT, price=price,
                 stop=price - d * stop_d, target=price + d * target_d)
    plan = entry_plan(GRID, sig)
    if isinstance(plan, str):
        assert plan == "plan_inside_one_tick"
        return
    tick = Decimal("0.1")
    stop, target = plan.stop_ticks * tick, plan.target_ticks * tick
    eps = Decimal("1e-9")
    # never further from the entry than asked, never more than one tick nearer
    assert d * (Decimal(repr(sig.stop)) - stop) <= eps
    assert d * (target - Decimal(repr(sig.target))) <= eps
    assert abs(stop - Decimal(repr(sig.stop))) < tick + eps
    assert abs(target - Decimal(repr(sig.target))) < tick + eps


class Rig:
    """A Trader over an execution engine on the in-process simulator."""

    def __init__(self, *, mode: Mode = Mode.PAPER, engine: bool = True,
                 trader: TraderSection | None = None) -> None:
        self.sim = SimRig()
        self.journal = MemoryJournal()
        self.feedback = Feedback()
        self.gate = RiskGate(RiskConfig())
        self.probe = LatencyProbe()
        self.trader = Trader(
            mode=mode, contracts={"BTCUSDT": self.sim.adapter.contracts["BTCUSDT"]},
            gate=self.gate, engine=self.sim.engine if engine else None, journal=self.journal,
            feedback=self.feedback, config=trader or TraderSection(), clock=self.sim.sim.clock,
            probe=self.probe, model_name=lambda: "m@1", paper_equity=Decimal("10000"))

    def outcomes(self) -> list[str]:
        return [d.outcome for d in self.journal.decisions]


async def test_a_signal_becomes_one_sized_protected_market_order() -> None:
    rig = Rig()
    await rig.sim.engine.reconcile()
    rig.trader.enabled = True
    rig.trader.on_signal(signal())
    assert rig.outcomes() == ["order"]
    [order] = rig.sim.engine.orders.values()
    assert order.order_type is OrderType.MARKET
    assert order.side is Side.BUY
    assert order.qty_steps > 0
    assert (order.sl_ticks, order.tp_ticks) == (599551, 600900)
    assert (order.trail_distance_ticks, order.trail_arm_ticks) == (300, 150)
    assert order.strategy == "ovirx"
    assert rig.trader.entries == 1
    assert rig.sim.venue_qty("BTCUSDT") == order.qty_steps  # filled on the simulator
    assert rig.feedback.rejected == []


async def test_a_signal_gives_a_symbol_without_a_mark_its_price() -> None:
    rig = Rig()
    await rig.sim.engine.reconcile()
    rig.trader.enabled = True
    assert "BTCUSDT" not in rig.sim.engine.portfolio.marks
    rig.trader.on_signal(signal())
    assert rig.sim.engine.portfolio.marks["BTCUSDT"] == 600000


async def test_limit_ioc_entries_carry_a_price_cap() -> None:
    rig = Rig(trader=TraderSection(entry_order="limit_ioc", max_slippage_ticks=3))
    await rig.sim.engine.reconcile()
    rig.trader.enabled = True
    rig.trader.on_signal(signal(Direction.SHORT, stop=60_045.0, target=59_910.0))
    [order] = rig.sim.engine.orders.values()
    assert (order.order_type, order.time_in_force, order.price_ticks) == (
        OrderType.LIMIT, TimeInForce.IOC, 599997)


async def test_refusals_are_recorded_and_fed_back() -> None:
    rig = Rig()
    rig.trader.on_signal(signal())  # not enabled: standby
    assert rig.outcomes() == ["standby"]
    rig.trader.enabled = True
    rig.trader.on_signal(signal(stop=math.nan))
    # enabled, but not reconciled: no balance known yet, so no equity to size with
    rig.trader.on_signal(signal())
    rig.sim.engine.on_balance(await rig.sim.adapter.balance())  # a balance push
    rig.trader.on_signal(signal())  # equity known, the engine still refuses entries
    rig.gate.engage_kill_switch("operator", 1)
    rig.trader.on_signal(signal())
    assert rig.outcomes() == ["standby", "plan:bad_stop", "denied:no_equity",
                              "not-reconciled", "denied:kill_switch"]
    assert [r[2] for r in rig.feedback.rejected] == rig.outcomes()
    assert [a.action for a in rig.journal.audit] == ["deny", "deny"]
    assert rig.trader.refused_plans == {"bad_stop": 1}
    assert rig.sim.engine.orders == {}
    assert rig.gate.denials.as_dict() == {"no_equity": 1, "kill_switch": 1}


async def test_dry_run_sizes_but_sends_nothing() -> None:
    rig = Rig(mode=Mode.DRY_RUN, engine=False)
    rig.trader.enabled = True
    rig.trader.on_signal(signal())
    assert rig.outcomes() == ["dry-run"]
    [entry] = rig.journal.audit
    assert entry.action == "dry-run"
    assert Decimal(entry.detail["qty"]) > 0
    assert rig.sim.engine.orders == {}
    assert rig.feedback.rejected[0][2] == "dry-run"


async def test_an_exit_signal_closes_the_position() -> None:
    rig = Rig()
    await rig.sim.engine.reconcile()
    rig.trader.enabled = True
    rig.trader.on_signal(signal())
    qty = rig.sim.venue_qty("BTCUSDT")
    assert qty > 0
    rig.trader.on_signal(msgspec.structs.replace(
        signal(), kind=SignalKind.EXIT, exit_reason=ExitReason.TIME))
    assert rig.sim.venue_qty("BTCUSDT") == 0
    assert rig.outcomes() == ["order", "exit"]
    assert decimal.Decimal(rig.sim.engine.summary()["pnl"]) != 0  # type: ignore[arg-type]
