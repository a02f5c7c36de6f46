"""The :class:`AlertingObserver`: conditions of a run paged to PagerDuty, and the SLOs.

Conditions, each with a stable dedup key ``<dedup_prefix>:<condition>`` so PagerDuty
folds repeats into one incident and a ``resolve`` closes it:

* ``kill_switch``, ``daily_loss``, ``breaker_<kind>[:<symbol>]`` (a breaker or limit):
  from the risk transitions, triggered when tripped, resolved when recovered;
* ``feed_down``: the public feed stale (no push within ``feed_stale_after_s``) for
  ``feed_down_after_s``; resolved once it is fresh again;
* ``store_error``: the state store failed a write;
* ``slo:<slo>:<rule>``: an SLO's error budget burning past a burn rule.

An operator acting on the bot while incidents are open (any command or API request the
bot carries out: a kill, a pause, a flatten, an order...) acknowledges them: a human is on
it. Only changes are sent (a condition already triggered is not triggered again). The feed,
the store and the burn rates are sampled every ``alerting.sample_s`` by a timer on the
bot's loop; the order hook is a dictionary update. The SLOs are exported on the run's
``/metrics`` (:class:`SloCollector`, registered in the listener's registry).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bitunix.app.http_observer import HttpObserver
from bitunix.app.observers import Observer
from bitunix.config.alerting import AlertingSection
from bitunix.integrations.pagerduty import PagerDutyEvent, PagerDutySender, Payload
from bitunix.integrations.slo import SLO_NAMES, SloTracker
from bitunix.model import Order
from bitunix.model.records import AuditEntry
from bitunix.risk.verdict import Reason, RiskTransition

if TYPE_CHECKING:
    from bitunix.app.bot import BotRun

__all__ = ["AlertingObserver", "SloCollector"]

log = logging.getLogger("bitunix.integrations.alerting")

_CRITICAL = {Reason.KILL_SWITCH, Reason.DAILY_LOSS}


class AlertingObserver(Observer):
    """Pages on the run's conditions and tracks its SLOs (see the module docs);
    ``sender`` None: SLOs only."""

    name = "alerting"

    def __init__(self, section: AlertingSection, sender: PagerDutySender | None, *,
                 now_s: Callable[[], float] = time.monotonic) -> None:
        self.section = section
        self.sender = sender
        self.now_s = now_s
        self.slo = SloTracker(section.slo, now_s=now_s)
        #: Each condition's dedup key -> whether it is active (as last sent).
        self.active: dict[str, bool] = {}
        #: Active conditions an operator has acted on since they were triggered.
        self.acknowledged: set[str] = set()
        self.collector = SloCollector(self)
        self._bot: BotRun | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._stale_since: float | None = None
        self._burn_checked = -float("inf")
        self._prefix = section.pagerduty.dedup_prefix

    # -- life ----------------------------------------------------------------------------

    async def start(self, bot: BotRun) -> None:
        self._bot = bot
        for observer in bot.observers.items:
            if isinstance(observer, HttpObserver) and observer.server is not None:
                observer.server.metrics.registry.register(self.collector)
        if self.sender is not None:
            await self.sender.start()
        self._arm()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.sender is not None:
            await self.sender.stop()

    def _arm(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self.section.sample_s, self._tick)

    def _tick(self) -> None:
        try:
            self.sample()
        except Exception:  # a bug here must not end the sampling, nor the run
            log.exception("alerting: sampling failed")
        self._arm()

    # -- hooks ---------------------------------------------------------------------------

    def on_order(self, order: Order) -> None:
        if self.section.slo.enabled:
            self.slo.on_order(order)

    def on_audit(self, entry: AuditEntry) -> None:
        if entry.action == "operator":
            self.acknowledge(f"by {entry.strategy or 'an operator'}: {entry.reason}")

    def acknowledge(self, why: str) -> None:
        """Acknowledge every open incident not acknowledged yet."""
        for key, active in self.active.items():
            if not active or key in self.acknowledged:
                continue
            self.acknowledged.add(key)
            log.info("alerting: %s acknowledged (%s)", key, why)
            if self.sender is not None:
                self.sender.enqueue(PagerDutyEvent(event_action="acknowledge",
                                                   dedup_key=f"{self._prefix}:{key}"))

    def on_risk(self, transition: RiskTransition) -> None:
        kind = str(transition.kind)
        key = kind + (f":{transition.symbol}" if transition.symbol else "")
        what = "tripped" if transition.active else "recovered"
        summary = f"bitunix: {kind} {what}" + (f" on {transition.symbol}"
                                              if transition.symbol else "")
        self.condition(key, transition.active, summary,
                       "critical" if transition.kind in _CRITICAL else "error",
                       transition.detail())

    # -- sampling ------------------------------------------------------------------------

    def sample(self) -> None:
        """Look at the feed, the store and the burn rates now."""
        bot = self._bot
        if bot is None:
            return
        now = self.now_s()
        pipeline = bot.pipeline
        last = pipeline.stats.last_push_monotonic if pipeline is not None else 0.0
        if last:
            age = time.monotonic() - last
            fresh = age <= self.section.feed_stale_after_s
            if self.section.slo.enabled:
                self.slo.sample_feed(fresh)
            if fresh:
                self._stale_since = None
                self.condition("feed_down", False, "bitunix: public feed fresh again")
            else:
                if self._stale_since is None:
                    self._stale_since = now
                if now - self._stale_since >= self.section.feed_down_after_s:
                    self.condition("feed_down", True,
                                   f"bitunix: public feed down (no push for {age:.0f} s)",
                                   "critical", {"age_s": f"{age:.1f}"})
        store = bot.store
        error = store.error if store is not None else ""
        self.condition("store_error", bool(error), "bitunix: state store failing",
                       "critical", {"error": error[:200]} if error else None)
        # Burn rates move by the bucket: summing the windows once a bucket is enough (and
        # keeps the sampling timer's cost on the bot's loop flat).
        if self.section.slo.enabled and now - self._burn_checked >= self.section.slo.bucket_s:
            self._burn_checked = now
            self._check_burn(now)

    def _check_burn(self, now: float) -> None:
        firing = {(name, i) for name, i, _ in self.slo.burning()}
        for name in SLO_NAMES:
            window = self.slo.windows[name]
            for i, rule in enumerate(self.section.slo.burn):
                key, burning = f"slo:{name}:{i}", (name, i) in firing
                if self.active.get(key, False) == burning:
                    continue
                long_burn = window.burn_rate(now, rule.long_window_s)
                self.condition(
                    key, burning, f"bitunix: SLO {name} error budget burning "
                    f"{long_burn:.1f}x over {rule.long_window_s:g} s (rule: {rule.factor:g}x)",
                    rule.severity,
                    {"long_burn": f"{long_burn:.2f}",
                     "short_burn": f"{window.burn_rate(now, rule.short_window_s):.2f}"})

    def condition(self, key: str, active: bool, summary: str, severity: str = "error",
                  details: dict[str, str] | None = None) -> None:
        """Trigger ``key`` when it becomes active, resolve it when it clears."""
        if self.active.get(key, False) == active:
            return
        self.active[key] = active
        self.acknowledged.discard(key)
        dedup = f"{self._prefix}:{key}"
        if active:
            log.warning("alerting: %s (%s)", summary, dedup)
        if self.sender is None:
            return
        payload = None
        if active:
            payload = Payload(summary=summary, source=self.sender.source, severity=severity,
                              component="bitunix-bot", group=key.split(":", maxsplit=1)[0],
                              custom_details=details or {})
        self.sender.enqueue(PagerDutyEvent(event_action="trigger" if active else "resolve",
                                           dedup_key=dedup, payload=payload))


class SloCollector(Collector):
    """The SLOs on ``/metrics`` (see ``docs/alerting.md``)."""

    def __init__(self, observer: AlertingObserver) -> None:
        self.observer = observer

    def collect(self) -> Iterator[Metric]:
        obs = self.observer
        tracker = obs.slo
        now = obs.now_s()
        objective = GaugeMetricFamily("bitunix_slo_objective",
                                      "The SLO's objective (fraction of good events).",
                                      labels=["slo"])
        events = CounterMetricFamily("bitunix_slo_events", "SLO events by result.",
                                     labels=["slo", "result"])
        ratio = GaugeMetricFamily("bitunix_slo_error_ratio",
                                  "Bad events over all events in the window.",
                                  labels=["slo", "window_s"])
        burn = GaugeMetricFamily("bitunix_slo_burn_rate",
                                 "Error ratio over the error budget (1 - objective).",
                                 labels=["slo", "window_s"])
        firing = GaugeMetricFamily("bitunix_slo_burn_alert",
                                   "1 while the burn rule fires.", labels=["slo", "rule"])
        windows = sorted({w for r in tracker.section.burn
                          for w in (r.long_window_s, r.short_window_s)})
        for name in SLO_NAMES:
            window = tracker.windows[name]
            objective.add_metric([name], window.objective)
            events.add_metric([name, "good"], window.good)
            events.add_metric([name, "bad"], window.bad)
            for w in windows:
                ratio.add_metric([name, f"{w:g}"], window.error_ratio(now, w))
                burn.add_metric([name, f"{w:g}"], window.burn_rate(now, w))
            for i in range(len(tracker.section.burn)):
                firing.add_metric([name, str(i)], int(obs.active.get(f"slo:{name}:{i}",
                                                                     False)))
        yield from (objective, events, ratio, burn, firing)
        sender = obs.sender
        if sender is not None:
            paged = CounterMetricFamily("bitunix_pagerduty_events",
                                        "PagerDuty events by outcome.", labels=["outcome"])
            for outcome, n in sender.counts.items():
                paged.add_metric([outcome], n)
            yield paged
