"""SLO windows and burn rates on synthetic inputs (exact figures), and the tracker's
scoring of orders."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from bitunix.config.alerting import AlertingSection, BurnRule, PagerDutySection, SloSection
from bitunix.integrations.alerting import AlertingObserver
from bitunix.integrations.pagerduty import PagerDutyEvent, PagerDutySender
from bitunix.integrations.slo import SloTracker, SloWindow
from bitunix.model import ContractSpec, Order, OrderStatus, Side
from bitunix.risk.verdict import Reason, RiskTransition


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


def _order(cid: str, status: OrderStatus, venue_id: str | None = None) -> Order:
    return Order(spec=SPEC, client_id=cid, side=Side.BUY, qty_steps=1, status=status,
                 venue_id=venue_id)


def test_tracker_scores_acks_and_rejections() -> None:
    clock = Clock()
    tracker = SloTracker(SloSection(ack_target_s=0.5, bucket_s=1.0,
                                    burn=[BurnRule(long_window_s=60, short_window_s=5,
                                                   factor=2.0)]), now_s=clock)
    tracker.on_order(_order("a", OrderStatus.INIT))
    tracker.on_order(_order("b", OrderStatus.INIT))
    tracker.on_order(_order("c", OrderStatus.INIT))
    clock.t = 0.2
    tracker.on_order(_order("a", OrderStatus.NEW, "v1"))      # acked in 0.2 s
    clock.t = 0.9
    tracker.on_order(_order("b", OrderStatus.FILLED, "v2"))   # acked late
    tracker.on_order(_order("c", OrderStatus.REJECTED))       # refused, late
    tracker.on_order(_order("a", OrderStatus.FILLED, "v1"))   # not scored twice
    tracker.on_order(_order("z", OrderStatus.FILLED, "v9"))   # never seen sent
    ack, ok = tracker.windows["ack_latency"], tracker.windows["order_success"]
    assert (ack.good, ack.bad) == (1, 2)
    assert (ok.good, ok.bad) == (2, 1)
    tracker.sample_feed(True)
    tracker.sample_feed(False)
    assert [name for name, _, _ in tracker.burning()] == ["feed_uptime", "ack_latency",
                                                          "order_success"]


class Capture(PagerDutySender):
    """Keeps what would be sent."""

    def __init__(self) -> None:
        super().__init__(PagerDutySection(), "k")
        self.events: list[PagerDutyEvent] = []

    def enqueue(self, event: PagerDutyEvent) -> None:
        self.events.append(event)


def test_a_burning_slo_pages_once_and_resolves_when_the_short_window_clears() -> None:
    clock = Clock()
    section = AlertingSection(
        pagerduty=PagerDutySection(dedup_prefix="p"),
        slo=SloSection(order_success=0.9, bucket_s=1.0,
                       burn=[BurnRule(long_window_s=60, short_window_s=10, factor=2.0,
                                      severity="warning")]))
    sender = Capture()
    observer = AlertingObserver(section, sender, now_s=clock)
    observer._bot = SimpleNamespace(pipeline=None, store=None)  # type: ignore[assignment]
    clock.t = 100.0
    for i in range(10):
        observer.on_order(_order(f"o{i}", OrderStatus.INIT))
    for i in range(10):
        observer.on_order(_order(f"o{i}", OrderStatus.REJECTED if i < 5 else OrderStatus.NEW,
                                 None if i < 5 else f"v{i}"))
    observer.sample()
    keys = [(e.event_action, e.dedup_key) for e in sender.events]
    assert ("trigger", "p:slo:order_success:0") in keys
    [page] = [e for e in sender.events if e.dedup_key == "p:slo:order_success:0"]
    assert page.payload is not None
    assert page.payload.severity == "warning"
    # 5 bad of 10 against a 10 % budget: 5x over both windows
    assert page.payload.custom_details == {"long_burn": "5.00", "short_burn": "5.00"}
    assert page.payload.summary == ("bitunix: SLO order_success error budget burning 5.0x "
                                    "over 60 s (rule: 2x)")
    clock.t = 100.5
    observer.sample()  # within the bucket: not looked at again, nothing re-sent
    assert len(sender.events) == len(keys)
    clock.t = 111.0
    for i in range(10, 20):
        observer.on_order(_order(f"o{i}", OrderStatus.INIT))
        observer.on_order(_order(f"o{i}", OrderStatus.NEW, f"v{i}"))
    observer.sample()  # the hour still burns (5 of 20: 2.5x), the last 10 s do not
    assert [(e.event_action, e.dedup_key) for e in sender.events][-1] == (
        "resolve", "p:slo:order_success:0")
    assert sender.events[-1].payload is None


def test_store_errors_page_and_a_breaker_pages_per_symbol() -> None:
    sender = Capture()
    observer = AlertingObserver(AlertingSection(pagerduty=PagerDutySection(dedup_prefix="p")),
                                sender)
    store = SimpleNamespace(error="")
    observer._bot = SimpleNamespace(pipeline=None, store=store)  # type: ignore[assignment]
    observer.sample()
    assert sender.events == []  # nothing wrong: nothing sent, not even a resolve
    store.error = "store s.sqlite: cannot write: disk I/O error"
    observer.sample()
    observer.sample()
    assert [(e.event_action, e.dedup_key) for e in sender.events] == [
        ("trigger", "p:store_error")]
    payload = sender.events[0].payload
    assert payload is not None
    assert payload.severity == "critical"
    assert payload.custom_details == {"error": store.error}
    store.error = ""
    observer.sample()
    assert sender.events[-1].event_action == "resolve"
    observer.on_risk(RiskTransition(ts_ns=1, kind=Reason.BREAKER_VOLATILITY, active=True,
                                    symbol="BTCUSDT", values={"bps": 41.5}))
    observer.on_risk(RiskTransition(ts_ns=2, kind=Reason.BREAKER_VOLATILITY, active=False,
                                    symbol="BTCUSDT"))
    trigger, resolve = sender.events[-2:]
    assert (trigger.event_action, trigger.dedup_key) == ("trigger",
                                                         "p:breaker_volatility:BTCUSDT")
    assert trigger.payload is not None
    assert trigger.payload.severity == "error"
    assert trigger.payload.summary == "bitunix: breaker_volatility tripped on BTCUSDT"
    assert trigger.payload.custom_details == {"bps": "41.5"}
    assert (resolve.event_action, resolve.dedup_key) == ("resolve",
                                                         "p:breaker_volatility:BTCUSDT")
