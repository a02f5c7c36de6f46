"""Paging against a fake PagerDuty server on 127.0.0.1: the kill switch and a stalled
feed trigger and resolve with stable dedup keys; a server answering 500 is retried and
the run goes on; the SLOs on /metrics."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bitunix.config.alerting import AlertingSection, BurnRule, PagerDutySection, SloSection
from bitunix.integrations.alerting import AlertingObserver
from bitunix.integrations.pagerduty import PagerDutyEvent, PagerDutySender, Payload
from bitunix.model import OrderStatus
from bitunix.risk.kill import KillRequest
from bitunix.risk.verdict import Reason, RiskTransition
from tests.integrations.conftest import quiet_config, running
from tests.integrations.test_slo import Clock, make_order
from tests.obs.conftest import wait_for

KEY = "R0UTINGKEY0123456789abcdef012345"


class FakePagerDuty:
    """Records every event; answers 202 (``ok``) or 500."""

    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.events: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakePagerDuty:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _enqueue(self, request: web.Request) -> web.Response:
        self.events.append(json.loads(await request.read()))
        if self.status != 202:
            return web.json_response({"status": "error"}, status=self.status)
        return web.json_response({"status": "success", "dedup_key": "x"}, status=202)

    def actions(self, dedup_key: str) -> list[str]:
        return [e["event_action"] for e in self.events if e["dedup_key"] == dedup_key]


@pytest.fixture
async def pagerduty() -> AsyncIterator[FakePagerDuty]:
    server = await FakePagerDuty().start()
    try:
        yield server
    finally:
        await server.stop()


def alerting(url: str, **fields: Any) -> AlertingSection:
    pd = PagerDutySection(enabled=True, base_url=url, dedup_prefix="bot-a", source="test",
                          attempts=3, retry_backoff_s=0.05, timeout_s=2.0)
    return AlertingSection(pagerduty=pd, **fields)


async def test_kill_switch_triggers_then_resolves(tmp_path: Path, capture_slice: Path,
                                                  pagerduty: FakePagerDuty) -> None:
    config = quiet_config(tmp_path, capture_slice)
    observer = AlertingObserver(alerting(pagerduty.url, sample_s=0.1),
                                PagerDutySender(alerting(pagerduty.url).pagerduty, KEY))
    async with running(config, observers=[observer]) as run:
        bot = run.bot
        bot.apply_kill(KillRequest(engage=True, reason="test", ts_ns=time.time_ns()),
                       time.time_ns())
        await wait_for(lambda: pagerduty.actions("bot-a:kill_switch") == ["trigger"], 10,
                       "the trigger")
        [trigger] = [e for e in pagerduty.events if e["dedup_key"] == "bot-a:kill_switch"]
        assert trigger["routing_key"] == KEY
        assert trigger["payload"]["severity"] == "critical"
        assert trigger["payload"]["source"] == "test"
        assert trigger["payload"]["summary"] == "bitunix: kill_switch tripped"
        assert trigger["payload"]["custom_details"] == {"reason": "test"}
        bot.apply_kill(KillRequest(engage=False, reason="test", ts_ns=time.time_ns() + 1),
                       time.time_ns())
        await wait_for(lambda: pagerduty.actions("bot-a:kill_switch") == ["trigger",
                                                                         "resolve"],
                       10, "the resolve")
        resolve = pagerduty.events[-1]
        assert "payload" not in resolve
        assert resolve["routing_key"] == KEY
        assert bot.trader is not None
        assert bot.trader.enabled  # trading went on


async def test_a_stalled_feed_triggers_and_its_recovery_resolves(
        tmp_path: Path, capture_slice: Path, pagerduty: FakePagerDuty) -> None:
    config = quiet_config(tmp_path, capture_slice)
    section = alerting(pagerduty.url, sample_s=0.05, feed_stale_after_s=0.4,
                       feed_down_after_s=0.3)
    observer = AlertingObserver(section, PagerDutySender(section.pagerduty, KEY))
    async with running(config, observers=[observer]) as run:
        assert run.sim is not None
        run.sim.faults.silent = True  # sockets open, nothing pushed
        await wait_for(lambda: pagerduty.actions("bot-a:feed_down") == ["trigger"], 15,
                       "feed_down triggered")
        trigger = next(e for e in pagerduty.events if e["dedup_key"] == "bot-a:feed_down")
        assert trigger["payload"]["severity"] == "critical"
        assert trigger["payload"]["summary"].startswith("bitunix: public feed down")
        run.sim.faults.silent = False
        await wait_for(lambda: pagerduty.actions("bot-a:feed_down") == ["trigger",
                                                                       "resolve"],
                       15, "feed_down resolved")
        window = observer.slo.windows["feed_uptime"]
        assert window.bad > 0
        assert window.good > 0


async def test_a_failing_server_is_retried_and_the_run_goes_on(
        tmp_path: Path, capture_slice: Path, pagerduty: FakePagerDuty) -> None:
    pagerduty.status = 500
    config = quiet_config(tmp_path, capture_slice)
    section = alerting(pagerduty.url, sample_s=0.1)
    sender = PagerDutySender(section.pagerduty, KEY, drain_s=0.1)
    observer = AlertingObserver(section, sender)
    async with running(config, observers=[observer]) as run:
        bot = run.bot
        bot.apply_kill(KillRequest(engage=True, reason="test", ts_ns=time.time_ns()),
                       time.time_ns())
        await wait_for(lambda: sender.counts["failed"] == 1, 10, "the give-up")
        assert pagerduty.actions("bot-a:kill_switch") == ["trigger"] * 3  # 3 attempts
        assert sender.counts["sent"] == 0
        assert sender.counts["attempts"] == 3
        async with aiohttp.ClientSession() as http, http.get(run.url + "metrics") as r:
            text = await r.text()
        assert 'bitunix_pagerduty_events_total{outcome="failed"} 1.0' in text
        assert 'bitunix_pagerduty_events_total{outcome="attempts"} 3.0' in text
        assert KEY not in text
        assert bot.trader is not None
        # the run is unaffected: the market data still flows and the bot still trades
        pipeline = bot.pipeline
        assert pipeline is not None
        seen = pipeline.stats.book_pushes
        await wait_for(lambda: pipeline.stats.book_pushes > seen, 10, "more market data")
        assert not bot.summary.failures


async def test_a_400_is_not_retried_and_a_full_queue_drops() -> None:
    server = await FakePagerDuty(status=400).start()
    try:
        section = PagerDutySection(enabled=True, base_url=server.url, attempts=3,
                                   retry_backoff_s=0.01, queue_size=1)
        sender = PagerDutySender(section, KEY, drain_s=2.0)
        event = PagerDutyEvent(event_action="trigger", dedup_key="k",
                               payload=Payload(summary="s", source="h", severity="error"))
        sender.enqueue(event)  # not started: ignored
        await sender.start()
        sender.enqueue(event)
        sender.enqueue(event)  # the queue holds one: one of these two is dropped
        sender.enqueue(event)
        await sender.stop()
        assert sender.counts["dropped"] >= 1
        assert len(server.events) == sender.counts["attempts"]
        assert sender.counts["failed"] == sender.counts["attempts"]  # one try each
        assert KEY not in repr(sender)
    finally:
        await server.stop()


async def test_slos_on_metrics(tmp_path: Path, capture_slice: Path) -> None:
    config = quiet_config(tmp_path, capture_slice)
    observer = AlertingObserver(AlertingSection(sample_s=0.05), None)
    async with running(config, observers=[observer]) as run, \
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        await wait_for(lambda: observer.slo.windows["feed_uptime"].good > 2, 10,
                       "feed samples")
        async with http.get(run.url + "metrics") as r:
            text = await r.text()
        assert 'bitunix_slo_objective{slo="feed_uptime"} 0.999' in text
        assert 'bitunix_slo_burn_rate{slo="order_success",window_s="300"} 0.0' in text
        assert 'bitunix_slo_burn_alert{rule="0",slo="ack_latency"} 0.0' in text
        good = [line for line in text.splitlines()
                if line.startswith('bitunix_slo_events_total{result="good",slo="feed_up')]
        assert good
        assert float(good[0].split()[-1]) > 2
        assert "bitunix_pagerduty_events" not in text  # no sender: SLOs only


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
        observer.on_order(make_order(f"o{i}", OrderStatus.INIT))
    for i in range(10):
        observer.on_order(make_order(f"o{i}", OrderStatus.REJECTED if i < 5 else OrderStatus.NEW,
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
        observer.on_order(make_order(f"o{i}", OrderStatus.INIT))
        observer.on_order(make_order(f"o{i}", OrderStatus.NEW, f"v{i}"))
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


def test_an_operator_acting_acknowledges_the_open_incidents_once() -> None:
    from bitunix.model.records import AuditEntry

    sender = Capture()
    observer = AlertingObserver(AlertingSection(pagerduty=PagerDutySection(dedup_prefix="p")),
                                sender)
    store = SimpleNamespace(error="disk I/O error")
    observer._bot = SimpleNamespace(pipeline=None, store=store)  # type: ignore[assignment]
    operator = AuditEntry(ts_ns=3, action="operator", strategy="cli:alice", reason="pause")
    observer.on_audit(operator)  # nothing open: nothing to acknowledge
    observer.sample()  # store_error triggered
    observer.on_risk(RiskTransition(ts_ns=1, kind=Reason.KILL_SWITCH, active=True))
    observer.on_audit(AuditEntry(ts_ns=2, action="submit", reason="enter"))  # not a human
    observer.on_audit(operator)
    observer.on_audit(operator)  # acknowledged already: not again
    assert [(e.event_action, e.dedup_key) for e in sender.events] == [
        ("trigger", "p:store_error"), ("trigger", "p:kill_switch"),
        ("acknowledge", "p:store_error"), ("acknowledge", "p:kill_switch")]
    assert all(e.payload is None for e in sender.events[2:])
    # resolved, then open again: a new incident, acknowledged again by the next action
    store.error = ""
    observer.sample()
    store.error = "disk I/O error"
    observer.sample()
    observer.on_audit(operator)
    assert [(e.event_action, e.dedup_key) for e in sender.events[4:]] == [
        ("resolve", "p:store_error"), ("trigger", "p:store_error"),
        ("acknowledge", "p:store_error")]
