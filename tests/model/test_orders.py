"""Intents and orders: exact views of their ticks and steps."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitunix.model import Order, OrderIntent, OrderStatus, OrderType, Side, TimeInForce
from bitunix.model.ticks import FloatGrid, PrecisionError, float_to_ticks
from tests.model.conftest import BTC


def test_intent_validation_and_views() -> None:
    i = OrderIntent(spec=BTC, side=Side.SELL, qty_steps=12, order_type=OrderType.LIMIT,
                    price_ticks=618391, time_in_force=TimeInForce.IOC, tp_ticks=618000,
                    sl_ticks=618600, strategy="ovirx", reason="enter", ts_ns=5)
    assert (i.symbol, i.qty, i.price) == ("BTCUSDT", Decimal("0.0012"), Decimal("61839.1"))
    o = Order.from_intent(i, "bx-a-1", created_ns=9)
    assert (o.status, o.client_id, o.created_ns, o.price, o.qty) == (
        OrderStatus.INIT, "bx-a-1", 9, Decimal("61839.1"), Decimal("0.0012"))
    assert (o.tp_ticks, o.sl_ticks, o.strategy, o.reason) == (618000, 618600, "ovirx", "enter")
    assert o.is_open
    assert o.remaining_steps == 12
    assert o.signed_filled_steps == 0
    assert o.filled_qty == 0
    m = OrderIntent(spec=BTC, side=Side.BUY, qty_steps=1)
    assert m.price is None
    assert Order.from_intent(m, "x", 0).price is None
    with pytest.raises(ValueError, match="qty_steps"):
        OrderIntent(spec=BTC, side=Side.BUY, qty_steps=0)
    with pytest.raises(ValueError, match="LIMIT"):
        OrderIntent(spec=BTC, side=Side.BUY, qty_steps=1, order_type=OrderType.LIMIT)


def test_an_order_carries_every_term_of_its_intent() -> None:
    from bitunix.model.orders import OrderTerms

    values = {"spec": BTC, "side": Side.SELL, "qty_steps": 7, "order_type": OrderType.LIMIT,
              "price_ticks": 5, "time_in_force": TimeInForce.FOK, "reduce_only": True,
              "tp_ticks": 3, "sl_ticks": 9, "trail_distance_ticks": 2, "trail_arm_ticks": 1,
              "max_hold_ns": 4, "strategy": "s", "reason": "r"}
    assert set(values) == set(OrderTerms.__struct_fields__)  # a new term must be listed here
    order = Order.from_intent(OrderIntent(**values, ts_ns=8), "c", 6)  # type: ignore[arg-type]
    assert {k: getattr(order, k) for k in values} == values


def test_float_to_ticks_snaps_float_noise_and_rounds_the_rest() -> None:
    assert float_to_ticks(61839.1, 1, decimal.ROUND_FLOOR) == 618391
    assert float_to_ticks(61839.1, 1, decimal.ROUND_CEILING) == 618391
    assert float_to_ticks(0.1 + 0.2, 1, decimal.ROUND_CEILING) == 3
    assert float_to_ticks(61839.15, 1, decimal.ROUND_FLOOR) == 618391
    assert float_to_ticks(61839.15, 1, decimal.ROUND_CEILING) == 618392
    assert float_to_ticks(-0.0019, 3, decimal.ROUND_DOWN) == -1
    # 3.2e-5 above a tick is a real value, not float noise: it rounds up, never snaps down
    assert float_to_ticks(32117.100032116286, 1, decimal.ROUND_CEILING) == 321172
    assert float_to_ticks(32117.099967883714, 1, decimal.ROUND_FLOOR) == 321170
    assert float_to_ticks(-0.0011, 3, decimal.ROUND_UP) == -2
    assert float_to_ticks(1e20, 2, decimal.ROUND_DOWN) == 10**22  # exact fallback
    for bad in (float("nan"), float("inf"), True):
        with pytest.raises(PrecisionError):
            float_to_ticks(bad, 1, decimal.ROUND_FLOOR)
    with pytest.raises(PrecisionError, match="ROUND_HALF_UP"):
        float_to_ticks(1.0, 1, decimal.ROUND_HALF_UP)
    with pytest.raises(PrecisionError, match="decimals"):
        float_to_ticks(1.0, 19, decimal.ROUND_FLOOR)


@given(st.floats(min_value=1e-6, max_value=1e7), st.integers(0, 8))
def test_float_to_ticks_is_within_one_tick_on_the_safe_side(x: float, decimals: int) -> None:
    exact = Decimal(x).scaleb(decimals)
    lo = float_to_ticks(x, decimals, decimal.ROUND_FLOOR)
    hi = float_to_ticks(x, decimals, decimal.ROUND_CEILING)
    tolerance = Decimal("1e-9") * max(Decimal(1), abs(exact))
    assert lo <= exact + tolerance
    assert exact - tolerance <= hi
    assert hi - lo in (0, 1)
    assert exact - lo < 1 + tolerance
    assert hi - exact < 1 + tolerance


@given(st.floats(min_value=1e-6, max_value=1e7), st.integers(0, 8))
def test_float_grid_agrees_with_float_to_ticks(x: float, decimals: int) -> None:
    grid = FloatGrid(decimals)
    assert grid.floor(x) == float_to_ticks(x, decimals, decimal.ROUND_FLOOR)
    assert grid.ceil(x) == float_to_ticks(x, decimals, decimal.ROUND_CEILING)
    assert grid.nearest(x) == float_to_ticks(x, decimals, decimal.ROUND_HALF_EVEN)


def test_contract_float_helpers() -> None:
    assert BTC.price_ticks_from_float(61839.17, decimal.ROUND_FLOOR) == 618391
    assert BTC.qty_steps_from_float(0.00129) == 12
    assert BTC.min_order_steps == 1
    assert BTC.max_order_steps(OrderType.MARKET) == 1_000_000
    assert BTC.max_order_steps(OrderType.LIMIT) == 5_000_000
    no_max = BTC.__class__(symbol="X", base="X", quote="USDT", price_decimals=1,
                           qty_decimals=1, min_qty=Decimal("0.1"))
    assert no_max.max_order_steps() is None
