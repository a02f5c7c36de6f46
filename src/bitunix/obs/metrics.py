"""Prometheus metrics of one run, computed when ``/metrics`` is scraped.

Nothing here runs on the trading path. :class:`RunCollector` reads the run's own counters
(the WebSocket clients' stats, the pipeline's, the execution engine's, the risk gate's
denials, the model's status) at scrape time, and folds the latency probe's new samples
into cumulative histograms (:class:`LatencyHistogram`). What the run does not count
itself (orders by state, decisions by outcome, order-to-ack latency) is counted by
:class:`HookCounts` in the observer hooks: a dictionary update per event.

Every collector has its own :class:`~prometheus_client.CollectorRegistry` (one per run;
never the process-global one). ``obs`` sits below ``app`` in the layering, so the run is
read by duck typing (``bot``: a :class:`bitunix.app.bot.BotRun`); see
``docs/observability.md`` for every metric.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from bitunix.model import Fill, Order, OrderStatus
from bitunix.model.records import Decision

__all__ = ["LATENCY_BUCKETS_S", "HookCounts", "LatencyHistogram", "RunCollector"]

#: Histogram bucket bounds in seconds: 25 us (the order path's floor) to 1 s.
LATENCY_BUCKETS_S: tuple[float, ...] = (
    25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3,
    250e-3, 500e-3, 1.0)

#: Breaker kinds, each exported (0 when not tripped) so a dashboard sees them all.
BREAKER_KINDS = ("breaker_volatility", "breaker_imbalance", "breaker_volume",
                 "breaker_error_rate", "breaker_staleness")


class LatencyHistogram:
    """A cumulative histogram fed from a :class:`~bitunix.core.latency.LatencyRing`.

    :meth:`feed` takes the samples the ring got since the last call (those overwritten
    in between are counted in :attr:`lost`, not in the histogram): a scrape costs one
    copy of the ring when it moved, the trading path nothing.
    """

    def __init__(self, buckets_s: Sequence[float] = LATENCY_BUCKETS_S) -> None:
        self.bounds_s = tuple(buckets_s)
        self._bounds_ns = [round(b * 1e9) for b in self.bounds_s]
        self.counts = [0] * (len(self.bounds_s) + 1)
        self.sum_ns = 0
        self.count = 0
        self.lost = 0
        self._seen = 0

    def feed(self, ring: Any) -> None:
        """Add the samples ``ring`` recorded since the last call."""
        total = int(ring.count)
        if total <= self._seen:
            return
        kept = ring.samples()
        first = max(self._seen, total - len(kept))
        self.lost += first - self._seen
        for i in range(first, total):
            self.observe_ns(kept[i % len(kept)])
        self._seen = total

    def observe_ns(self, ns: int) -> None:
        """Add one latency in nanoseconds."""
        self.counts[bisect_left(self._bounds_ns, ns)] += 1
        self.sum_ns += ns
        self.count += 1

    def family(self, name: str, doc: str) -> HistogramMetricFamily:
        """The histogram as a metric family (cumulative buckets, seconds)."""
        buckets: list[tuple[str, float]] = []
        running = 0
        for bound, n in zip(self.bounds_s, self.counts, strict=False):
            running += n
            buckets.append((repr(bound), running))
        buckets.append(("+Inf", self.count))
        return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=self.sum_ns / 1e9)


class HookCounts:
    """What the observer hooks count: the latest state of each of the run's orders,
    decisions by outcome, fills seen, and order-to-ack latency (the order journaled as
    sent, to the venue's first word on it)."""

    def __init__(self, keep_finished: int = 10_000) -> None:
        #: The latest state of each open order, and of the last ``keep_finished`` finished
        #: ones (a late repeat of those is not counted twice; a run of weeks stays small).
        self.order_state: dict[str, OrderStatus] = {}
        self._finished: dict[str, None] = {}
        self._keep_finished = keep_finished
        self.by_state: dict[str, int] = {}
        self.decisions: dict[str, int] = {}
        self.fills = 0
        self.ack = LatencyHistogram()
        self._sent_ns: dict[str, int] = {}

    def on_order(self, order: Order) -> None:
        """Move ``order`` to its state's count; time its acknowledgement."""
        cid, status = order.client_id, order.status
        prev = self.order_state.get(cid)
        if prev is status:
            return
        self.order_state[cid] = status
        if not status.is_open:
            finished = self._finished
            finished[cid] = None
            if len(finished) > self._keep_finished:
                oldest = next(iter(finished))
                del finished[oldest]
                self.order_state.pop(oldest, None)
        by = self.by_state
        if prev is not None:
            by[prev.value] -= 1
        by[status.value] = by.get(status.value, 0) + 1
        if prev is None and status is OrderStatus.INIT:
            self._sent_ns[cid] = time.perf_counter_ns()
        elif cid in self._sent_ns and (status is not OrderStatus.INIT or order.venue_id):
            self.ack.observe_ns(time.perf_counter_ns() - self._sent_ns.pop(cid))

    def on_fill(self, fill: Fill) -> None:
        """Count one fill."""
        self.fills += 1

    def on_decision(self, decision: Decision) -> None:
        """Count one decision by outcome (``order``, ``denied:<reason>``...)."""
        outcome = decision.outcome
        self.decisions[outcome] = self.decisions.get(outcome, 0) + 1


def _num(value: Decimal | float | int | None) -> float:
    return 0.0 if value is None else float(value)


class RunCollector(Collector):
    """The run's metrics, read from ``bot`` at each scrape (see the module docs)."""

    def __init__(self, bot: Any, hooks: HookCounts) -> None:
        self.bot = bot
        self.hooks = hooks
        self.tick_to_order = LatencyHistogram()
        self.decision_to_order = LatencyHistogram()
        self.started = time.monotonic()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        bot = self.bot
        yield from self._run(bot)
        yield from self._feeds(bot)
        yield from self._latency(bot)
        yield from self._execution(bot)
        yield from self._risk(bot)
        yield from self._model(bot)

    # -- parts ---------------------------------------------------------------------------

    def _run(self, bot: Any) -> Iterator[Metric]:
        info = GaugeMetricFamily("bitunix_run_info", "The run: mode, venue, symbols (1).",
                                 labels=["mode", "venue", "symbols"])
        info.add_metric([str(bot.mode.value), bot.config.venue.kind,
                         ",".join(bot.config.symbols)], 1)
        yield info
        yield GaugeMetricFamily("bitunix_uptime_seconds", "Seconds since the run started.",
                                value=time.monotonic() - self.started)
        store, lease = bot.store, bot.lease
        yield GaugeMetricFamily("bitunix_store_healthy",
                                "1 while the state store has never failed a write.",
                                value=int(store is not None and not store.error))
        yield GaugeMetricFamily("bitunix_lease_held",
                                "1 when this instance holds the store's lease (0: standby).",
                                value=int(lease is not None and lease.held))

    def _feeds(self, bot: Any) -> Iterator[Metric]:
        messages = CounterMetricFamily("bitunix_ws_messages", "WebSocket data messages.",
                                       labels=["feed"])
        decode = CounterMetricFamily("bitunix_ws_decode_errors",
                                     "Malformed WebSocket frames dropped, by kind.",
                                     labels=["feed", "kind"])
        handler = CounterMetricFamily("bitunix_handler_errors",
                                      "Errors raised while handling a message.",
                                      labels=["feed"])
        reconnects = CounterMetricFamily("bitunix_ws_reconnects", "WebSocket reconnects.",
                                         labels=["feed"])
        connected = GaugeMetricFamily("bitunix_ws_connected",
                                      "1 while the WebSocket is live (subscribed).",
                                      labels=["feed"])
        venue = bot.venue
        pipeline = bot.pipeline
        feeds = [("public", bot.ws), ("private", None if venue is None else venue.ws)]
        for feed, ws in feeds:
            if ws is None:
                continue
            s = ws.stats
            messages.add_metric([feed], s.messages)
            for kind, n in sorted(s.malformed.items()):
                decode.add_metric([feed, kind], n)
            extra = len(pipeline.stats.errors) if feed == "public" and pipeline else 0
            handler.add_metric([feed], s.handler_errors + extra)
            reconnects.add_metric([feed], s.reconnects)
            connected.add_metric([feed], int(ws.state.value == "live"))
        yield from (messages, decode, handler, reconnects, connected)
        if pipeline is not None:
            p = pipeline.stats
            yield CounterMetricFamily("bitunix_market_trades", "Trades fed to the features.",
                                      value=p.trades)
            yield CounterMetricFamily("bitunix_feature_evaluations",
                                      "Feature vectors written (one per book).",
                                      value=p.evaluations)
            yield CounterMetricFamily("bitunix_feature_nan_evaluations",
                                      "Feature vectors with a NaN (not yet warm or a bad "
                                      "input): no decision on them.",
                                      value=p.evaluations - p.valid_evaluations)
            yield CounterMetricFamily("bitunix_signals", "Signals from the strategies.",
                                      value=p.signals)
            age = time.monotonic() - p.last_push_monotonic if p.last_push_monotonic else -1.0
            yield GaugeMetricFamily("bitunix_market_data_age_seconds",
                                    "Seconds since the last market push (-1: none yet).",
                                    value=age)

    def _latency(self, bot: Any) -> Iterator[Metric]:
        probe = bot.probe
        self.tick_to_order.feed(probe.event_to_order)
        self.decision_to_order.feed(probe.signal_to_order)
        yield self.tick_to_order.family(
            "bitunix_tick_to_order_seconds",
            "Market push handed to the bot -> the order's request bytes written.")
        yield self.decision_to_order.family(
            "bitunix_decision_to_order_seconds",
            "The trader took a signal (risk, sizing, signing) -> request bytes written.")
        yield self.hooks.ack.family(
            "bitunix_order_ack_seconds",
            "An order journaled as sent -> the venue's first word on it (ack or state).")

    def _execution(self, bot: Any) -> Iterator[Metric]:
        hooks = self.hooks
        by_state = GaugeMetricFamily("bitunix_orders",
                                     "The run's orders by latest state.", labels=["state"])
        for state in OrderStatus:
            by_state.add_metric([state.value], hooks.by_state.get(state.value, 0))
        yield by_state
        decisions = CounterMetricFamily("bitunix_decisions",
                                        "Entry decisions by outcome.", labels=["outcome"])
        for outcome, n in sorted(hooks.decisions.items()):
            decisions.add_metric([outcome], n)
        yield decisions
        engine = bot.engine
        if engine is None:
            return
        c = engine.counters
        yield CounterMetricFamily("bitunix_orders_submitted", "Orders sent.", value=c.orders)
        yield CounterMetricFamily("bitunix_order_rejects", "Orders the venue refused.",
                                  value=c.rejects)
        yield CounterMetricFamily("bitunix_fills", "Fills booked (once per trade id).",
                                  value=c.fills)
        yield CounterMetricFamily("bitunix_round_trips", "Closed trades.", value=c.trades)
        yield GaugeMetricFamily("bitunix_open_orders", "Open orders.",
                                value=len(engine.open_orders()))
        pf = engine.portfolio
        pnl = GaugeMetricFamily("bitunix_pnl_usdt", "PnL in the quote coin, by part.",
                                labels=["part"])
        realized, unrealized = pf.net_realized(), pf.unrealized()
        for part, value in (("realized_net", realized), ("unrealized", unrealized),
                            ("total", realized + unrealized), ("fees", pf.fees()),
                            ("funding", pf.funding()), ("day", pf.day_pnl())):
            pnl.add_metric([part], float(value))
        yield pnl
        equity = pf.equity()
        yield GaugeMetricFamily("bitunix_equity_usdt", "Wallet plus unrealised PnL.",
                                value=_num(equity))
        position = GaugeMetricFamily("bitunix_position_qty",
                                     "Signed position (base coin).", labels=["symbol"])
        exposure = GaugeMetricFamily("bitunix_exposure_usdt",
                                     "Absolute notional at the mark.", labels=["symbol"])
        limit = GaugeMetricFamily("bitunix_exposure_limit_usdt",
                                  "The exposure limit at the current equity.",
                                  labels=["symbol"])
        limits = bot.config.risk.limits
        eq = _num(equity)
        total = 0.0
        for symbol in bot.config.symbols:
            pos = pf.position(symbol)
            position.add_metric([symbol], 0.0 if pos is None else float(pos.qty))
            notional = float(pf.notional(symbol))
            total += notional
            exposure.add_metric([symbol], notional)
            pct = bot.config.risk.for_symbol(symbol).max_exposure_pct
            pct = limits.max_symbol_exposure_pct if pct is None else pct
            limit.add_metric([symbol], eq * pct / 100.0)
        exposure.add_metric(["total"], total)
        limit.add_metric(["total"], eq * limits.max_total_exposure_pct / 100.0)
        yield from (position, exposure, limit)

    def _risk(self, bot: Any) -> Iterator[Metric]:
        gate = bot.gate
        denials = CounterMetricFamily("bitunix_risk_denials", "Entries refused by risk.",
                                      labels=["reason"])
        for reason, n in gate.denials.as_dict().items():
            denials.add_metric([reason], n)
        yield denials
        tripped = {str(kind) for kind, _symbol in gate.breaker.tripped()}
        breaker = GaugeMetricFamily("bitunix_breaker_tripped",
                                    "1 while a circuit breaker of that kind is tripped.",
                                    labels=["kind"])
        for kind in BREAKER_KINDS:
            breaker.add_metric([kind], int(kind in tripped))
        yield breaker
        state = gate.state
        yield GaugeMetricFamily("bitunix_kill_switch_engaged",
                                "1 while the kill switch stops every entry.",
                                value=int(state.kill_switch))
        yield GaugeMetricFamily("bitunix_daily_loss_stop",
                                "1 while the daily loss limit stops entries.",
                                value=int(state.daily_loss_day is not None))
        venue = bot.venue
        if venue is not None:
            yield CounterMetricFamily("bitunix_venue_requests_failed",
                                      "Venue requests that failed (transport, 5xx, limits).",
                                      value=venue.stats.requests_failed)

    def _model(self, bot: Any) -> Iterator[Metric]:
        stack = bot.stack
        if stack is None:
            return
        st = stack.model_status()
        info = GaugeMetricFamily("bitunix_model_info",
                                 "The served model (name@version) and its source (1).",
                                 labels=["model", "source"])
        info.add_metric([st.model, st.source], 1)
        yield info
        calls = CounterMetricFamily("bitunix_model_calls", "Decisions asked of the model.",
                                    labels=["outcome"])
        for outcome, n in (("model", st.model_calls), ("fallback", st.fallback_calls),
                           ("refused", st.refused_calls), ("late", st.late_calls),
                           ("slow", st.slow_calls), ("error", st.errors),
                           ("invalid_input", st.invalid_inputs)):
            calls.add_metric([outcome], n)
        yield calls
        yield GaugeMetricFamily("bitunix_model_latency_p99_seconds",
                                "p99 of the recent model calls (-1: none yet).",
                                value=-1.0 if st.latency_p99_us is None
                                else st.latency_p99_us / 1e6)
        yield GaugeMetricFamily("bitunix_model_demoted",
                                "1 while the model is bypassed after slow calls or errors.",
                                value=int(st.demoted))
        yield CounterMetricFamily("bitunix_model_swaps", "Hot swaps done.", value=st.swaps)
        yield CounterMetricFamily("bitunix_model_swap_failures", "Hot swaps that failed.",
                                  value=st.swap_failures)
        drift = GaugeMetricFamily("bitunix_model_drift_psi",
                                  "PSI of each feature against the model's training data.",
                                  labels=["feature"])
        health = stack.health
        if health is not None:
            for feature, psi in sorted(health.drift.psi_by_feature().items()):
                drift.add_metric([feature], psi)
        yield drift
        yield GaugeMetricFamily("bitunix_model_alerts",
                                "Drift and degradation alerts now.",
                                value=len(stack.alerts()))

