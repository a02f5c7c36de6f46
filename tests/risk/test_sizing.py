"""Sizing: the Kelly formula, safe rounding of a signal's prices, and (hypothesis) the
properties of every size the gate approves: on the step grid, never above any limit, never
below the contract's minimum, the largest size the limits allow, exact, and monotone in the
probability and the equity."""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from bitunix.model import ContractSpec, Side
from bitunix.risk import (
    APPROVED,
    Denial,
    ExposureSnapshot,
    LimitsConfig,
    Reason,
    RiskConfig,
    RiskGate,
    Sized,
    SizingConfig,
    SymbolRisk,
    SymbolRiskConfig,
    check_signal,
    conviction,
    kelly_fraction,
    payoff_ratio,
    size_entry,
)
from tests.risk.conftest import BTC, ETH, snapshot

# -- the formula -------------------------------------------------------------------------


def test_kelly_of_known_bets() -> None:
    assert kelly_fraction(0.5, 1.0) == 0.0           # a fair coin at even money: no bet
    assert kelly_fraction(0.6, 1.0) == pytest.approx(0.2)
    assert kelly_fraction(0.55, 1.5) == pytest.approx(0.25)   # the earlier bot's placeholders
    assert kelly_fraction(1.0, 0.1) == 1.0           # a sure thing: everything
    assert kelly_fraction(0.3, 2.0) < 0.0            # losing bet


def test_payoff_and_conviction() -> None:
    assert payoff_ratio(Side.BUY, 1000, 990, 1020) == 2.0
    assert payoff_ratio(Side.SELL, 1000, 1010, 995) == 0.5
    assert conviction(0.5, 0.5, 0.25) == 1.0
    assert conviction(0.9, 0.5, 0.25) == 1.0          # capped
    assert conviction(0.3, 0.5, 0.25) == pytest.approx(0.6)


@pytest.mark.parametrize(("side", "price", "stop", "target", "probability", "reason"), [
    (Side.BUY, 0, 90, 110, 0.6, Reason.INVALID_PRICE),
    (Side.BUY, 100, 100, 110, 0.6, Reason.INVALID_STOP),
    (Side.BUY, 100, 101, 110, 0.6, Reason.INVALID_STOP),
    (Side.BUY, 100, 0, 110, 0.6, Reason.INVALID_STOP),
    (Side.SELL, 100, 99, 90, 0.6, Reason.INVALID_STOP),
    (Side.BUY, 100, 90, 100, 0.6, Reason.INVALID_TARGET),
    (Side.SELL, 100, 110, 101, 0.6, Reason.INVALID_TARGET),
    (Side.SELL, 100, 110, 0, 0.6, Reason.INVALID_TARGET),
    (Side.BUY, 100, 90, 110, math.nan, Reason.INVALID_PROBABILITY),
    (Side.BUY, 100, 90, 110, 1.01, Reason.INVALID_PROBABILITY),
    (Side.BUY, 100, 90, 110, -0.1, Reason.INVALID_PROBABILITY),
])
def test_malformed_signals_are_refused(  # noqa: PLR0917 - parametrized
        side: Side, price: int, stop: int, target: int, probability: float,
        reason: Reason) -> None:
    verdict = check_signal(side, price, stop, target, probability)
    assert isinstance(verdict, Denial)
    assert verdict.reason is reason
    assert check_signal(side, 100, 90 if side is Side.BUY else 110,
                        110 if side is Side.BUY else 90, 0.6) is APPROVED


def _size(p: SymbolRisk, side: Side, prices: tuple[int, int, int], prob: float,
          equity: float = 10_000.0) -> Sized | Denial:
    price, stop, target = prices
    return size_entry(p, side, price_ticks=price, stop_ticks=stop, target_ticks=target,
                      probability=prob, equity=equity)


def test_kelly_nonpositive_is_skipped_with_the_numbers() -> None:
    p = SymbolRisk(BTC, RiskConfig())
    verdict = _size(p, Side.BUY, (618000, 617000, 619000), 0.5)    # b = 1, p = 0.5: kelly 0
    assert isinstance(verdict, Denial)
    assert verdict.reason is Reason.KELLY_NONPOSITIVE
    assert verdict.values == {"probability": 0.5, "payoff": 1.0, "kelly": 0.0}
    assert verdict.detail() == {"probability": "0.5", "payoff": "1.0", "kelly": "0.0"}


def test_realistic_defaults_size_a_few_hundred_usdt_on_the_bundled_data() -> None:
    """The first mean-reversion entry of ``make run`` on the bundled BTCUSDT capture, with
    10,000 USDT: a real but small order (the earlier bot's formula gave 0)."""
    gate = RiskGate(RiskConfig())
    # 61839.10, stop 61852.25 and target 61813.77 rounded the safe way (app.trader).
    price, stop, target = 618391, 618522, 618138
    sized = {}
    for prob in (1.0, 0.65):     # the rule confidence, the model threshold
        verdict = gate.check_entry(BTC, Side.SELL, price_ticks=price, stop_ticks=stop,
                                   target_ticks=target, probability=prob,
                                   exposure=snapshot("10000"), now_ns=1)
        assert isinstance(verdict, Sized)
        sized[prob] = verdict
    assert sized[1.0].qty == Decimal("0.0080")
    assert sized[1.0].notional == Decimal("494.71280")
    assert sized[1.0].bound == "kelly"
    assert sized[0.65].qty == Decimal("0.0075")
    assert 100 < sized[0.65].notional < sized[1.0].notional <= 500


def test_each_cap_binds_and_is_named() -> None:
    cfg = RiskConfig(symbols={"BTCUSDT": SymbolRiskConfig(max_order_qty=Decimal("0.0050"))})
    p = SymbolRisk(BTC, cfg)
    sized = _size(p, Side.BUY, (600000, 599000, 602000), 0.9)
    assert isinstance(sized, Sized)
    assert (sized.qty_steps, sized.bound) == (50, "max_order_qty")
    # A wide stop: the loss at the stop (0.5% of 10,000 = 50 USDT) binds.
    p = SymbolRisk(BTC, RiskConfig())
    assert isinstance(_size(p, Side.BUY, (600000, 599000, 602000), 0.9), Sized)   # 83 steps
    sized = _size(p, Side.BUY, (600000, 400000, 1000000), 0.9)    # 20,000 USDT below
    assert isinstance(sized, Sized)
    # 25 x 0.0001 x 20,000 is exactly 50: the safety margin keeps an exact edge a step under.
    assert (sized.qty_steps, sized.bound) == (24, "max_risk")
    # The contract's market maximum binds a very large account.
    sized = _size(p, Side.BUY, (600000, 599000, 602000), 0.9, equity=1e12)
    assert isinstance(sized, Sized)
    assert (sized.qty, sized.bound) == (Decimal("500.0000"), "max_order_qty")


def test_below_min_is_skipped_never_forced_up() -> None:
    p = SymbolRisk(ETH, RiskConfig())
    # 5% of 100 USDT = 5 USDT, less than 0.003 ETH at 2,600 (7.8 USDT).
    verdict = _size(p, Side.BUY, (260000, 259000, 262000), 0.9, equity=100.0)
    assert isinstance(verdict, Denial)
    assert verdict.reason is Reason.BELOW_MIN_QTY
    assert verdict.values["qty_steps"] == 1
    assert verdict.values["min_steps"] == 3
    # A cap that cuts a size below the minimum is named, not "below_min_qty".
    cfg = RiskConfig(symbols={"ETHUSDT": SymbolRiskConfig(max_order_qty=Decimal("0.002"))})
    verdict = _size(SymbolRisk(ETH, cfg), Side.BUY, (260000, 259000, 262000), 0.9)
    assert isinstance(verdict, Denial)
    assert verdict.reason is Reason.MAX_ORDER_QTY


def test_headroom_cuts_the_size_and_names_the_limit() -> None:
    p = SymbolRisk(BTC, RiskConfig())
    sized = size_entry(p, Side.BUY, price_ticks=600000, stop_ticks=599000, target_ticks=602000,
                       probability=0.9, equity=10_000.0, headroom=125.0,
                       headroom_reason=Reason.EXPOSURE_TOTAL)
    assert isinstance(sized, Sized)
    assert (sized.qty_steps, sized.bound) == (20, "exposure_total")   # 20 x 6 = 120 <= 125
    verdict = size_entry(p, Side.BUY, price_ticks=600000, stop_ticks=599000,
                         target_ticks=602000, probability=0.9, equity=10_000.0, headroom=5.0,
                         headroom_reason=Reason.LEVERAGE_SYMBOL)
    assert isinstance(verdict, Denial)
    assert verdict.reason is Reason.LEVERAGE_SYMBOL


# -- properties --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    spec: ContractSpec
    config: RiskConfig
    side: Side
    price: int
    stop: int
    target: int
    probability: float
    snap: ExposureSnapshot


@st.composite
def specs(draw: st.DrawFn) -> ContractSpec:
    pd = draw(st.integers(0, 4))
    qd = draw(st.integers(0, 6))
    step = Decimal(1).scaleb(-qd)
    min_steps = draw(st.integers(1, 50))
    max_steps = draw(st.none() | st.integers(min_steps, 10**7))
    return ContractSpec(symbol="XUSDT", base="X", quote="USDT", price_decimals=pd,
                        qty_decimals=qd, min_qty=step * min_steps,
                        max_market_qty=None if max_steps is None else step * max_steps,
                        max_limit_qty=None if max_steps is None else step * max_steps * 2,
                        max_leverage=draw(st.integers(1, 125)))


pcts = st.floats(0.01, 100.0)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    spec = draw(specs())
    sizing = SizingConfig(base_size_pct=draw(pcts), kelly_multiplier=draw(st.floats(0.05, 1)),
                          max_kelly_fraction=draw(st.floats(0.01, 1)),
                          max_risk_pct=draw(st.floats(0.001, 5)))
    limits = LimitsConfig(max_symbol_exposure_pct=draw(st.floats(0.1, 500)),
                          max_total_exposure_pct=draw(st.floats(0.1, 1000)),
                          max_leverage=draw(st.floats(0.1, 10)), max_open_orders=100)
    max_qty = draw(st.none() | st.integers(1, 10**6).map(lambda n: Decimal(n).scaleb(-3)))
    config = RiskConfig(sizing=sizing, limits=limits, symbols={
        "XUSDT": SymbolRiskConfig(max_order_qty=max_qty,
                                  max_leverage=draw(st.none() | st.floats(0.1, 50)))})
    side = draw(st.sampled_from(Side))
    price = draw(st.integers(10, 10**8))
    risk = draw(st.integers(1, max(1, price // 5)))
    reward = draw(st.integers(1, price))
    sign = 1 if side is Side.BUY else -1
    stop, target = price - sign * risk, price + sign * reward
    assume(stop > 0 and target > 0)
    equity = Decimal(draw(st.integers(1, 10**9))).scaleb(-2)
    eq = float(equity)
    sym = draw(st.floats(0, eq * 0.5))
    pend = draw(st.floats(0, eq * 0.2))
    snap = snapshot(str(equity), symbol_notional={"XUSDT": sym}, symbol_pending={"XUSDT": pend},
                    total_notional=sym + draw(st.floats(0, eq)), total_pending=pend)
    return Case(spec, config, side, price, stop, target, draw(st.floats(0, 1)), snap)


def _check(c: Case, probability: float | None = None, snap: ExposureSnapshot | None = None
           ) -> Sized | Denial:
    return RiskGate(c.config).check_entry(
        c.spec, c.side, price_ticks=c.price, stop_ticks=c.stop, target_ticks=c.target,
        probability=c.probability if probability is None else probability,
        exposure=c.snap if snap is None else snap, now_ns=1)


def _exact_max_steps(c: Case) -> tuple[int, Decimal, Decimal]:
    """The largest size the limits allow, the Kelly-scaled target (steps), computed exactly
    from the same inputs (an independent oracle of the gate's float arithmetic), and the
    steps the safety margin may cost: 1e-9 of the largest limit (twice, for float error)."""
    spec, cfg, snap = c.spec, c.config, c.snap
    o = cfg.for_symbol(spec.symbol)
    per_step = Decimal(c.price).scaleb(-spec.price_decimals) * spec.qty_step
    eq = snap.equity
    b = Decimal(abs(c.target - c.price)) / Decimal(abs(c.price - c.stop))
    kelly = Decimal(repr(c.probability)) - (1 - Decimal(repr(c.probability))) / b
    conv = min(Decimal(cfg.sizing.kelly_multiplier) * kelly,
               Decimal(cfg.sizing.max_kelly_fraction)) / Decimal(cfg.sizing.max_kelly_fraction)
    target = eq * Decimal(cfg.sizing.base_size_pct) / 100 * conv / per_step
    used = Decimal(snap.symbol_notional["XUSDT"]) + Decimal(snap.symbol_pending["XUSDT"])
    total = Decimal(snap.total_notional) + Decimal(snap.total_pending)
    lev = Decimal(spec.max_leverage)
    if o.max_leverage is not None:
        lev = min(lev, Decimal(o.max_leverage))
    limits = [eq * Decimal(cfg.limits.max_symbol_exposure_pct) / 100,
              eq * Decimal(cfg.limits.max_total_exposure_pct) / 100,
              eq * lev, eq * Decimal(cfg.limits.max_leverage)]
    rooms = [limits[0] - used, limits[1] - total, limits[2] - used, limits[3] - total]
    loss_per_step = per_step * abs(c.price - c.stop) / c.price
    caps = [int(r / per_step) for r in rooms]
    risk_steps = eq * Decimal(cfg.sizing.max_risk_pct) / 100 / loss_per_step
    caps.append(int(risk_steps))
    caps.append(int(target))
    for m in (spec.max_market_qty, spec.max_limit_qty, o.max_order_qty):
        if m is not None:
            caps.append(spec.qty_to_steps(m, decimal.ROUND_DOWN))
    slack = max(max(limits) / per_step, risk_steps, target) * Decimal("2e-9")
    return min(caps), target, slack


CTX = decimal.Context(prec=60)

#: 14 steps of 0.001 at 3015.0 are 42.21 USDT, and 0.3% of 14,070 is 42.21 in decimal but
#: a hair less with the float 0.3; float arithmetic says 14 fit. The safety margin says 13.
ON_THE_EDGE = Case(
    spec=ContractSpec(symbol="XUSDT", base="X", quote="USDT", price_decimals=1,
                      qty_decimals=3, min_qty=Decimal("0.001")),
    config=RiskConfig(sizing=SizingConfig(base_size_pct=100.0, max_risk_pct=5.0),
                      limits=LimitsConfig(max_symbol_exposure_pct=0.3)),
    side=Side.BUY, price=30150, stop=30000, target=30300, probability=1.0,
    snap=snapshot("14070", symbol_notional={"XUSDT": 0.0}, symbol_pending={"XUSDT": 0.0}))

#: 9.995 USDT of headroom left under a 519.995 limit, in steps of 1e-7 USDT: the margin
#: (5e-7 of the limit) costs five steps; the size is still the largest up to the margin.
SMALL_ROOM_TINY_STEPS = Case(
    spec=ContractSpec(symbol="XUSDT", base="X", quote="USDT", price_decimals=4,
                      qty_decimals=4, min_qty=Decimal("0.0001"), max_leverage=1),
    config=RiskConfig(sizing=SizingConfig(base_size_pct=1.0, kelly_multiplier=1.0,
                                          max_kelly_fraction=1.0, max_risk_pct=1.0),
                      limits=LimitsConfig(max_symbol_exposure_pct=50.0,
                                          max_total_exposure_pct=50.0, max_leverage=1.0)),
    side=Side.BUY, price=10, stop=9, target=11, probability=1.0,
    snap=snapshot("1039.99", symbol_notional={"XUSDT": 510.0}, symbol_pending={"XUSDT": 0.0},
                  total_notional=510.0))


@settings(max_examples=600, deadline=None)
@given(cases())
@example(ON_THE_EDGE)
@example(SMALL_ROOM_TINY_STEPS)
def test_a_size_is_never_above_a_limit_nor_below_the_minimum_and_is_exact(c: Case) -> None:
    verdict = _check(c)
    with decimal.localcontext(CTX):
        best, target, slack = _exact_max_steps(c)
        if isinstance(verdict, Denial):
            assert verdict.reason in {
                Reason.KELLY_NONPOSITIVE, Reason.BELOW_MIN_QTY, Reason.MAX_RISK,
                Reason.MAX_ORDER_QTY, Reason.EXPOSURE_SYMBOL, Reason.EXPOSURE_TOTAL,
                Reason.LEVERAGE_SYMBOL, Reason.LEVERAGE_TOTAL}
            if verdict.reason is Reason.BELOW_MIN_QTY:
                assert target < c.spec.min_order_steps * (1 + Decimal("1e-9"))
            elif verdict.reason is not Reason.KELLY_NONPOSITIVE:
                # Refused only when the exact best is below the minimum (or on its edge).
                assert best <= c.spec.min_order_steps
            return
        spec, snap, cfg = c.spec, c.snap, c.config
        qty, notional = verdict.qty, verdict.notional
        # On the grid, integer, exact.
        assert isinstance(verdict.qty_steps, int)
        assert qty == spec.round_qty(qty)
        assert notional == qty * Decimal(c.price).scaleb(-spec.price_decimals)
        # Never below the minimum, never above any limit.
        assert qty >= spec.min_order_qty
        assert verdict.qty_steps <= best
        for limit in (spec.max_market_qty, spec.max_limit_qty,
                      cfg.for_symbol(spec.symbol).max_order_qty):
            assert limit is None or qty <= limit
        eq = snap.equity
        used = Decimal(snap.symbol_notional["XUSDT"]) + Decimal(snap.symbol_pending["XUSDT"])
        total = Decimal(snap.total_notional) + Decimal(snap.total_pending)
        assert used + notional <= eq * Decimal(cfg.limits.max_symbol_exposure_pct) / 100
        assert total + notional <= eq * Decimal(cfg.limits.max_total_exposure_pct) / 100
        assert total + notional <= eq * Decimal(cfg.limits.max_leverage)
        assert used + notional <= eq * spec.max_leverage
        loss = qty * Decimal(abs(c.price - c.stop)).scaleb(-spec.price_decimals)
        assert loss <= eq * Decimal(cfg.sizing.max_risk_pct) / 100
        assert notional <= eq * Decimal(cfg.sizing.base_size_pct) / 100
        # And the largest such size, up to one step of rounding at a boundary plus what the
        # safety margin (1e-9 of a limit) costs: many steps only when the headroom is a
        # small difference of large numbers counted in tiny steps.
        assert verdict.qty_steps >= best - 1 - slack


def _steps(v: Sized | Denial) -> int:
    return v.qty_steps if isinstance(v, Sized) else 0


@settings(max_examples=400, deadline=None)
@given(cases(), st.floats(0, 1), st.floats(0, 1))
def test_size_is_monotone_in_probability(c: Case, p1: float, p2: float) -> None:
    lo, hi = sorted((p1, p2))
    assert _steps(_check(c, probability=lo)) <= _steps(_check(c, probability=hi))


@settings(max_examples=400, deadline=None)
@given(cases(), st.integers(1, 10**9))
def test_size_is_monotone_in_equity(c: Case, cents: int) -> None:
    extra = Decimal(cents).scaleb(-2)
    richer = ExposureSnapshot(**{
        **{f: getattr(c.snap, f) for f in c.snap.__struct_fields__},
        "equity": c.snap.equity + extra})
    assert _steps(_check(c)) <= _steps(_check(c, snap=richer))
