"""SLO windows and burn rates on synthetic inputs (exact figures), and the tracker's
scoring of orders."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.config.alerting import BurnRule, SloSection
from bitunix.integrations.slo import SloTracker, SloWindow
from bitunix.model import ContractSpec, Order, OrderStatus, Side


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_error_ratio_and_burn_rate_over_windows() -> None:
    w = SloWindow(0.99, horizon_s=3600, bucket_s=10)
    # an hour of 10 events a minute: the first 50 minutes all good, then 10 minutes with
    # 5 bad of 10 a minute
    for minute in range(60):
        for k in range(10):
            w.record(minute * 60 + k * 6.0, good=not (minute >= 50 and k < 5))
    now = 3599.0
    assert w.counts(now, 3600) == (550, 50)
    assert w.error_ratio(now, 3600) == pytest.approx(50 / 600)
    assert w.burn_rate(now, 3600) == pytest.approx(50 / 600 / 0.01)  # 8.33x
    assert w.counts(now, 300) == (25, 25)
    assert w.burn_rate(now, 300) == pytest.approx(50.0)
    rule = BurnRule(long_window_s=3600, short_window_s=300, factor=14.4)
    assert not w.burning(rule, now)  # the short window burns, the long one not enough
    assert w.burning(BurnRule(long_window_s=3600, short_window_s=300, factor=8.0), now)
    assert (w.good, w.bad) == (550, 50)


def test_the_long_window_fires_only_with_the_short_one() -> None:
    w = SloWindow(0.999, horizon_s=3600, bucket_s=10)
    for i in range(100):
        w.record(i * 10.0, good=i % 2 == 0)  # 50 % bad for 1000 s
    for i in range(100, 360):
        w.record(i * 10.0, good=True)  # then good for the rest of the hour
    rule = BurnRule(long_window_s=3600, short_window_s=300, factor=14.4)
    now = 3599.0
    assert w.burn_rate(now, 3600) == pytest.approx(50 / 360 / 0.001)  # 138.9x
    assert w.burn_rate(now, 300) == 0.0
    assert not w.burning(rule, now)  # over: resolved, although the hour still burns
    assert w.burning(rule, 995.0)


def test_buckets_are_bounded_by_the_horizon_and_empty_windows_are_zero() -> None:
    w = SloWindow(0.9, horizon_s=100, bucket_s=10)
    assert w.error_ratio(0.0, 100) == 0.0
    for t in range(10_000):
        w.record(float(t), good=False)
    assert len(w.buckets) <= 11
    assert w.counts(9999.0, 100) == (0, 100)
    assert w.counts(9999.0, 10) == (0, 10)
    assert w.burn_rate(9999.0, 100) == pytest.approx(10.0)


SPEC = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                    qty_decimals=3, min_qty=Decimal("0.001"))


def make_order(cid: str, status: OrderStatus, venue_id: str | None = None) -> Order:
    return Order(spec=SPEC, client_id=cid, side=Side.BUY, qty_steps=1, status=status,
                 venue_id=venue_id)


def test_tracker_scores_acks_and_rejections() -> None:
    clock = Clock()
    tracker = SloTracker(SloSection(ack_target_s=0.5, bucket_s=1.0,
                                    burn=[BurnRule(long_window_s=60, short_window_s=5,
                                                   factor=2.0)]), now_s=clock)
    tracker.on_order(make_order("a", OrderStatus.INIT))
    tracker.on_order(make_order("b", OrderStatus.INIT))
    tracker.on_order(make_order("c", OrderStatus.INIT))
    clock.t = 0.2
    tracker.on_order(make_order("a", OrderStatus.NEW, "v1"))      # acked in 0.2 s
    clock.t = 0.9
    tracker.on_order(make_order("b", OrderStatus.FILLED, "v2"))   # acked late
    tracker.on_order(make_order("c", OrderStatus.REJECTED))       # refused, late
    tracker.on_order(make_order("a", OrderStatus.FILLED, "v1"))   # not scored twice
    tracker.on_order(make_order("z", OrderStatus.FILLED, "v9"))   # never seen sent
    ack, ok = tracker.windows["ack_latency"], tracker.windows["order_success"]
    assert (ack.good, ack.bad) == (1, 2)
    assert (ok.good, ok.bad) == (2, 1)
    tracker.sample_feed(True)
    tracker.sample_feed(False)
    assert [name for name, _, _ in tracker.burning()] == ["feed_uptime", "ack_latency",
                                                          "order_success"]

