"""Risk for a manual order: the gate's state and limits applied to a quantity the operator
chose; a close is never refused."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from bitunix.control.manual import check_manual_order
from bitunix.model import ContractSpec, Side
from bitunix.model.enums import SymbolStatus
from bitunix.risk.config import RiskConfig
from bitunix.risk.gate import RiskGate
from bitunix.risk.verdict import Reason
from tests.risk.conftest import BTC, S, snapshot

NOW = 20_000 * 86_400 * S + 3600 * S
PRICE = 600_000  # 60,000.0 USDT in ticks of 0.1


def _check(gate: RiskGate, qty_steps: int, *, spec: ContractSpec = BTC,
           reduce_only: bool = False, **snap: object) -> Reason | None:
    denial = check_manual_order(gate, spec, Side.BUY, qty_steps=qty_steps, price_ticks=PRICE,
                                reduce_only=reduce_only, exposure=snapshot(**snap),
                                now_ns=NOW)
    return None if denial is None else denial.reason


def test_an_order_within_the_limits_may_go() -> None:
    gate = RiskGate(RiskConfig())
    assert _check(gate, 10) is None  # 0.001 BTC = 60 USDT of 10,000 equity


def test_each_limit_refuses_with_its_reason() -> None:
    def check(qty_steps: int, **kw: object) -> Reason | None:
        return _check(RiskGate(RiskConfig()), qty_steps, **kw)  # type: ignore[arg-type]

    # 10% of 10,000 per symbol: 1,000 USDT; 0.02 BTC is 1,200
    assert check(200) is Reason.EXPOSURE_SYMBOL
    assert check(100, symbol_notional={"BTCUSDT": 950.0},
                 total_notional=950.0) is Reason.EXPOSURE_SYMBOL
    assert check(10, open_orders=4) is Reason.OPEN_ORDERS
    assert check(10, equity="0") is Reason.NO_EQUITY
    assert check(10, day_realized_pnl=Decimal(-600)) is Reason.DAILY_LOSS
    assert check(0) is Reason.BELOW_MIN_QTY
    small = msgspec.structs.replace(BTC, max_limit_qty=BTC.min_qty, max_market_qty=BTC.min_qty)
    assert check(2, spec=small) is Reason.MAX_ORDER_QTY
    halted = msgspec.structs.replace(BTC, status=SymbolStatus.STOP)
    assert check(10, spec=halted) is Reason.NOT_TRADABLE


def test_the_kill_switch_and_a_breaker_refuse_first() -> None:
    gate = RiskGate(RiskConfig())
    gate.engage_kill_switch("drill", NOW)
    denial = check_manual_order(gate, BTC, Side.SELL, qty_steps=10, price_ticks=PRICE,
                                reduce_only=False, exposure=snapshot(), now_ns=NOW)
    assert denial is not None
    assert denial.reason is Reason.KILL_SWITCH
    assert denial.values["reason"] == "drill"
    gate.release_kill_switch(NOW)
    for _ in range(50):
        gate.on_request(False, NOW)  # the error-rate breaker
    assert _check(gate, 10) is Reason.BREAKER_ERROR_RATE


@pytest.mark.parametrize("kill", [False, True])
def test_a_reduce_only_order_is_never_refused(kill: bool) -> None:
    gate = RiskGate(RiskConfig())
    if kill:
        gate.engage_kill_switch("drill", NOW)
    assert _check(gate, 10**9, reduce_only=True, open_orders=99, equity="0") is None
