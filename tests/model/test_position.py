"""Positions from fills: FIFO lots, exact PnL, fees and funding."""

from __future__ import annotations

import random
from collections import deque
from decimal import Decimal

import pytest

from bitunix.model import Fill, Position, Side, apply_fill, apply_funding
from tests.model.conftest import BTC


def fill(side: Side, steps: int, ticks: int, fee: str = "0", n: int = 0) -> Fill:
    return Fill(trade_id=f"t{n}", client_id="c", venue_order_id="v", spec=BTC, side=side,
                qty_steps=steps, price_ticks=ticks, fee=Decimal(fee), ts_ns=n)


def test_open_add_reduce_close_long() -> None:
    p = Position(spec=BTC)
    p = apply_fill(p, fill(Side.BUY, 10, 600000, "0.36", 1))  # 0.001 BTC at 60000.0
    p = apply_fill(p, fill(Side.BUY, 10, 600100, "0.36", 2))
    assert p.qty_steps == 20
    assert p.qty == Decimal("0.0020")
    assert p.avg_entry_price == Decimal("60005")
    p = apply_fill(p, fill(Side.SELL, 15, 601000, "0.5", 3))
    # FIFO: 10 @ 60000.0 and 5 @ 60010.0 closed at 60100.0
    assert p.realized_pnl == Decimal("0.001") * 100 + Decimal("0.0005") * Decimal("90")
    assert p.qty_steps == 5
    assert p.closed_trades == 0
    p = apply_fill(p, fill(Side.SELL, 5, 600000, "0.1", 4))
    assert p.is_flat
    assert p.closed_trades == 1
    assert p.avg_entry_price is None
    assert p.fees == Decimal("1.32")
    assert p.net_realized_pnl == p.realized_pnl - Decimal("1.32")


def test_flip_through_flat_opens_the_rest() -> None:
    p = apply_fill(Position(spec=BTC), fill(Side.BUY, 10, 600000))
    p = apply_fill(p, fill(Side.SELL, 25, 599000))
    assert p.qty_steps == -15
    assert p.lots == ((-15, 599000),)
    assert p.realized_pnl == Decimal("-0.1")  # 0.001 BTC x -100
    assert p.closed_trades == 1
    assert p.unrealized_pnl(598000) == Decimal("0.15")
    assert p.notional(598000) == Decimal("89.7")


def test_funding_and_symbol_check() -> None:
    p = apply_funding(Position(spec=BTC), Decimal("0.25"), 7)
    p = apply_funding(p, Decimal("-0.05"), 8)
    assert p.funding == Decimal("0.20")
    assert p.updated_ns == 8
    other = BTC.__class__(symbol="ETHUSDT", base="ETH", quote="USDT", price_decimals=2,
                          qty_decimals=3, min_qty=Decimal("0.001"))
    with pytest.raises(ValueError, match="ETHUSDT"):
        apply_fill(Position(spec=other), fill(Side.BUY, 1, 1))


def test_fill_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="t0"):
        fill(Side.BUY, 0, 600000)
    f = fill(Side.SELL, 3, 600001)
    assert (f.signed_steps, f.qty, f.price, f.notional) == (
        -3, Decimal("0.0003"), Decimal("60000.1"), Decimal("18.00003"))


def _fifo_oracle(fills: list[Fill]) -> tuple[Decimal, Decimal, int]:
    """An independent recomputation in Decimal: FIFO queue of (qty, price) per unit side."""
    lots: deque[list[Decimal]] = deque()  # [signed qty, price]
    realized = Decimal(0)
    for f in fills:
        q = f.qty if f.side is Side.BUY else -f.qty
        while q and lots and (lots[0][0] > 0) != (q > 0):
            lq, lp = lots[0]
            take = min(abs(lq), abs(q))
            sign = 1 if lq > 0 else -1
            realized += sign * take * (f.price - lp)
            lots[0][0] = lq - sign * take
            if lots[0][0] == 0:
                lots.popleft()
            q += sign * take
        if q:
            lots.append([q, f.price])
    qty = sum((lq for lq, _ in lots), Decimal(0))
    cost = sum((lq * lp for lq, lp in lots), Decimal(0))
    return realized, cost, int(qty.scaleb(BTC.qty_decimals))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pnl_over_1000_random_fills_equals_an_independent_recomputation(seed: int) -> None:
    rng = random.Random(seed)
    fills = [
        fill(rng.choice([Side.BUY, Side.SELL]), rng.randint(1, 50),
             rng.randint(590000, 610000), f"{rng.randint(-50, 500)}e-4", n)
        for n in range(1000)
    ]
    p = Position(spec=BTC)
    for f in fills:
        p = apply_fill(p, f)
    realized, cost, qty_steps = _fifo_oracle(fills)
    assert p.realized_pnl == realized
    assert p.qty_steps == qty_steps
    assert p.entry_value == int(cost.scaleb(BTC.qty_decimals + BTC.price_decimals))
    assert p.fees == sum((f.fee for f in fills), Decimal(0))
    assert p.fills == 1000
    # cash-flow identity, exactly: realized + unrealized = -sum(signed notional) + qty x mark
    mark = 600000
    cash = sum((-f.signed_steps * f.price_ticks for f in fills), 0)
    assert p.realized_value + p.unrealized_value(mark) == cash + p.qty_steps * mark
