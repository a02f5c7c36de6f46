"""The synthetic market: reproducible, on the grids, heavy tails, clustered volatility."""

from __future__ import annotations

import math
from decimal import Decimal
from itertools import islice, pairwise

import pytest

from bitunix.data import BookEvent, TradeEvent
from bitunix.sim.synthetic import SyntheticMarket


def test_same_seed_same_events_and_other_seed_differs() -> None:
    a = list(SyntheticMarket(seed=1, duration_s=20).events())
    b = list(SyntheticMarket(seed=1, duration_s=20).events())
    c = list(SyntheticMarket(seed=2, duration_s=20).events())
    assert a == b
    assert a != c
    assert sum(isinstance(e, BookEvent) for e in a) == 200


def test_grids_ordering_and_trades_at_the_touch() -> None:
    tick, step = Decimal("0.1"), Decimal("0.001")
    pending: list[TradeEvent] = []
    last_ts = 0
    checked = 0
    for event in SyntheticMarket(seed=5, duration_s=30).events():
        assert event.ts_ns >= last_ts
        last_ts = event.ts_ns
        if isinstance(event, TradeEvent):
            assert Decimal(event.qty) > 0
            pending.append(event)
            continue
        bids = [Decimal(p) for p, _ in event.bids]
        asks = [Decimal(p) for p, _ in event.asks]
        assert bids == sorted(bids, reverse=True)
        assert asks == sorted(asks)
        assert bids[0] < asks[0]
        assert all(p % tick == 0 for p in bids + asks)
        assert all(Decimal(q) % step == 0 and Decimal(q) > 0 for _, q in event.bids)
        # the trades of a step hit the touch of the book that step publishes, within its size
        for trade in pending:
            price, size = event.asks[0] if trade.is_buy else event.bids[0]
            assert trade.price == price
            assert Decimal(trade.qty) <= Decimal(size)
            checked += 1
        pending.clear()
    assert checked > 100


def test_heavy_tails_and_volatility_clustering() -> None:
    mids = []
    for event in islice(SyntheticMarket(seed=11, burst_prob=0.01).events(), 200_000):
        if isinstance(event, BookEvent):
            mids.append((float(event.bids[0][0]) + float(event.asks[0][0])) / 2)
    rets = [math.log(b / a) for a, b in pairwise(mids) if a != b]
    n = len(rets)
    mean = sum(rets) / n
    var = sum((r - mean) ** 2 for r in rets) / n
    kurt = sum((r - mean) ** 4 for r in rets) / n / var**2
    assert kurt > 4.0  # a normal has 3
    absr = [abs(r) for r in rets]
    m = sum(absr) / n
    cov = sum((absr[i] - m) * (absr[i + 1] - m) for i in range(n - 1)) / (n - 1)
    assert cov / (sum((x - m) ** 2 for x in absr) / n) > 0.05  # |r| autocorrelated


def test_bad_tail_parameter() -> None:
    with pytest.raises(ValueError, match="tail_dof"):
        SyntheticMarket(tail_dof=2)
