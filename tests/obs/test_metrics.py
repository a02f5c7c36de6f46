"""``/metrics``, ``/healthz`` and ``/readyz`` of a paper run on the simulator, scraped over
HTTP and parsed with prometheus_client's own parser."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sqlite3
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bitunix.app.bot import BotRun
from bitunix.app.http_observer import HttpObserver
from bitunix.config import Mode, load_config
from bitunix.config.http import DEFAULT_HTTP_PORT
from bitunix.core.errors import ConfigError
from bitunix.core.latency import LatencyRing
from bitunix.obs.metrics import LatencyHistogram
from bitunix.risk.kill import KillRequest, encode_kill_request
from bitunix.store import SqliteStore
from tests.app.conftest import busy_config
from tests.obs.conftest import LiveRun, live_run, wait_for

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana-dashboard.json"
PROMETHEUS = ROOT / "deploy" / "prometheus.yml"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def engage_kill_switch(bot: BotRun, reason: str) -> None:
    """What ``bitunix-bot kill`` does: a request in the run's store (applied within 1 s)."""
    with SqliteStore(bot.store_path) as store:
        store.set_state("kill_request", encode_kill_request(
            KillRequest(engage=True, reason=reason, ts_ns=time.time_ns())))


def parse(text: str) -> Samples:
    """Every sample as ``(name, sorted labels) -> value``."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def figures(run: LiveRun) -> dict[str, Any]:
    """The run's own figures, read from its components (not from the metrics code)."""
    bot = run.bot
    engine = bot.engine
    assert engine is not None
    pf = engine.portfolio
    by_state = Counter(o.status.value for o in engine.orders.values())
    return {
        "fills": engine.counters.fills, "orders": engine.counters.orders,
        "by_state": dict(by_state), "denials": bot.gate.denials.as_dict(),
        "signals": bot.trader.signals if bot.trader else 0,
        "pnl": pf.net_realized() + pf.unrealized(), "equity": pf.equity(),
        "messages": bot.ws.stats.messages if bot.ws else 0,
        "open_orders": len(engine.open_orders()),
        "kill": bot.gate.kill_switch_engaged,
    }


async def scrape(session: aiohttp.ClientSession, url: str) -> Samples:
    return parse(await scrape_text(session, url))


async def scrape_text(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url + "metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return await r.text()


def exposed_names(text: str) -> set[str]:
    """Family names (also those without a sample yet) and sample names."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(s.name for s in family.samples)
    return names


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_metrics_equal_the_runs_own_figures_and_ready_while_trading(
    tmp_path: Path, capture_slice: Path
) -> None:
    async with live_run(tmp_path, capture_slice) as run, aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=10)) as session:
        assert f"dashboard: {run.url}" in "\n".join(run.lines)
        async with session.get(run.url + "healthz") as r:
            assert r.status == 200
            health = await r.json()
        assert health["status"] == "ok"
        engine = run.bot.engine
        assert engine is not None
        await wait_for(lambda: engine.counters.fills >= 2, 20, "fills")
        engage_kill_switch(run.bot, "metrics test")  # entries from here are denials
        await wait_for(lambda: run.bot.gate.denials.total > 0, 20, "a denial")
        # a scrape whose figures did not move while it was served (counters only grow,
        # so equal before and after means equal during)
        matched = None
        for _ in range(400):
            before = figures(run)
            samples = await scrape(session, run.url)
            after = figures(run)
            if before == after and before["fills"] > 0 and before["denials"]:
                matched = before, samples
                break
            await asyncio.sleep(0.02)
        assert matched is not None, "no quiet scrape with fills and denials"
        fig, samples = matched
        assert value(samples, "bitunix_fills_total") == fig["fills"]
        assert value(samples, "bitunix_orders_submitted_total") == fig["orders"]
        for state, n in fig["by_state"].items():
            assert value(samples, "bitunix_orders", state=state) == n
        assert sum(v for (name, _), v in samples.items() if name == "bitunix_orders") == \
            sum(fig["by_state"].values())
        for reason, n in fig["denials"].items():
            assert value(samples, "bitunix_risk_denials_total", reason=reason) == n
        assert sum(v for (name, _), v in samples.items()
                   if name == "bitunix_decisions_total") == fig["signals"]
        assert value(samples, "bitunix_pnl_usdt", part="total") == pytest.approx(
            float(fig["pnl"]), abs=1e-9)
        assert value(samples, "bitunix_equity_usdt") == pytest.approx(float(fig["equity"]))
        assert value(samples, "bitunix_ws_messages_total", feed="public") == fig["messages"]
        assert value(samples, "bitunix_open_orders") == fig["open_orders"]
        assert value(samples, "bitunix_kill_switch_engaged") == 1
        assert fig["denials"]["kill_switch"] > 0
        assert value(samples, "bitunix_ws_connected", feed="public") == 1
        assert value(samples, "bitunix_lease_held") == 1
        assert value(samples, "bitunix_store_healthy") == 1
        model = run.bot.stack.model_status() if run.bot.stack else None
        assert model is not None
        assert value(samples, "bitunix_model_info", model=model.model,
                     source=model.source) == 1
        # the latency histograms hold the probe's samples, cumulative
        probe = run.bot.probe
        n = value(samples, "bitunix_tick_to_order_seconds_count")
        assert 0 < n <= probe.event_to_order.count
        assert value(samples, "bitunix_tick_to_order_seconds_bucket", le="+Inf") == n
        assert value(samples, "bitunix_order_ack_seconds_count") > 0
        for kind in ("breaker_volatility", "breaker_staleness"):
            assert (("bitunix_breaker_tripped", (("kind", kind),)) in samples)
        # ready while trading: every component named, each ok
        async with session.get(run.url + "readyz") as r:
            ready = await r.json()
            assert r.status == 200, ready
        assert ready["ready"] is True
        assert ready["failing"] == []
        assert set(ready["components"]) == {"feed", "private_stream", "rest", "store", "model"}
        assert "succeeded" in ready["components"]["rest"]["detail"]
        # the Grafana dashboard asks only for metrics the bot serves
        exposed = exposed_names(await scrape_text(session, run.url))
        wanted = set(re.findall(r"\bbitunix_[a-z0-9_]+", GRAFANA.read_text()))
        assert len(wanted) > 25
        missing = {n for n in wanted if n not in exposed and n.removesuffix("_total")
                   not in exposed and n.removesuffix("_bucket") not in exposed}
        assert missing == set()


async def readyz_until(session: aiohttp.ClientSession, url: str, status: int,
                       timeout_s: float = 10.0) -> dict[str, Any]:
    """Poll ``/readyz`` until it answers ``status``; its body."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while True:
        async with session.get(url + "readyz") as r:
            got, body = r.status, await r.json()
        if got == status:
            return dict(body)
        if loop.time() > end:
            raise AssertionError(f"/readyz still {got} after {timeout_s} s: {body}")
        await asyncio.sleep(0.05)


async def test_readyz_names_a_stale_feed_and_recovers(tmp_path: Path,
                                                      capture_slice: Path) -> None:
    async with live_run(tmp_path, capture_slice, **{
            "http.stale_after_s": 0.5, "run.idle_stop_s": 0.0}) as run, \
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        pipeline = run.bot.pipeline
        assert pipeline is not None
        await wait_for(lambda: pipeline.stats.book_pushes > 0, 20, "market data")
        assert run.sim is not None
        run.sim.faults.silent = True  # sockets open, nothing pushed: a stalled feed
        body = await readyz_until(session, run.url, 503)
        assert "feed" in body["failing"]
        assert body["components"]["feed"]["detail"].startswith("stale: no market push")
        assert body["components"]["store"]["ok"] is True
        run.sim.faults.silent = False
        await readyz_until(session, run.url, 200)


async def test_readyz_names_a_failed_store(tmp_path: Path, capture_slice: Path) -> None:
    async with live_run(tmp_path, capture_slice, **{"store.lease_ttl_s": 60.0}) as run, \
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        pipeline = run.bot.pipeline
        assert pipeline is not None
        await wait_for(lambda: pipeline.stats.book_pushes > 0, 20, "market data")
        # another process holds the database: the store's writes fail after its timeout
        blocker = sqlite3.connect(run.bot.store_path, isolation_level=None, timeout=0.1)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            store = run.bot.store
            assert store is not None
            await wait_for(lambda: bool(store.error), 20, "the store to fail")
            async with session.get(run.url + "readyz") as r:
                status, body = r.status, await r.json()
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert status == 503, body
        assert "store" in body["failing"]
        assert "write failed" in body["components"]["store"]["detail"]
        samples = await scrape(session, run.url)
        assert value(samples, "bitunix_store_healthy") == 0


async def test_a_port_in_use_falls_back_to_a_free_port_and_says_so(
    tmp_path: Path, capture_slice: Path
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        async with live_run(tmp_path, capture_slice, **{"http.port": port}) as run, \
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            assert run.server.port != port
            assert (f"http: 127.0.0.1:{port} is in use (another bot?); serving on port "
                    f"{run.server.port} instead") in run.lines
            async with session.get(run.url + "healthz") as r:
                assert r.status == 200
    finally:
        taken.close()


async def test_an_address_that_cannot_be_bound_fails_the_run_in_one_line(
    tmp_path: Path, capture_slice: Path
) -> None:
    cfg = busy_config(tmp_path, capture_slice, **{
        "http.host": "192.0.2.1", "http.allow_remote": True, "http.port": 0})
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lambda _: None, observers=[HttpObserver(cfg.http)])
    summary = await asyncio.wait_for(bot.run(), 60)
    assert len(summary.failures) == 1
    assert summary.failures == ["key http.host: cannot listen on 192.0.2.1:0: "
                                "Cannot assign requested address"]
    assert summary.orders == 0


@pytest.mark.parametrize(("toml", "message"), [
    ("port = 70000", "key http.port must be an integer >= 0 and <= 65535, was 70000"),
    ("port = -1", "key http.port must be an integer >= 0 and <= 65535, was -1"),
    ("port = \"x\"", "key http.port"),
    ("host = \"0.0.0.0\"", "key http.host: '0.0.0.0' is not a loopback address"),
    ("host = \"10.1.2.3\"", "key http.host: '10.1.2.3' is not a loopback address"),
    ("host = \"a b\"", "key http.host: not a host name or address (was 'a b')"),
    ("host = \"a:b\"", "key http.host: not a host name or address (was 'a:b')"),
    ("host = \"example.com\"", "key http.host: 'example.com' is not a loopback address"),
    ("host = \"\"", "key http.host: not a host name or address (was '')"),
    ("stale_after_s = 0", "key http.stale_after_s must be a number > 0, was 0"),
    ("refresh_s = 0.001", "key http.refresh_s must be a number >= 0.05 and <= 60"),
    ("enabled = \"yes\"", "key http.enabled"),
    ("colour = 1", "unknown key http.colour"),
])
def test_bad_http_values_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"[http]\n{toml}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_good_http_values() -> None:
    cfg = load_config(None, {})
    assert (cfg.http.enabled, cfg.http.host, cfg.http.port) == (True, "127.0.0.1", 8787)
    remote = load_config(None, {}, overrides={"http.host": "0.0.0.0",
                                              "http.allow_remote": True})
    assert remote.http.host == "0.0.0.0"
    for host in ("localhost", "::1", "127.0.0.5"):
        assert load_config(None, {}, overrides={"http.host": host}).http.host == host


def test_a_latency_histogram_takes_only_new_samples_and_counts_the_lost() -> None:
    ring = LatencyRing(capacity=4)
    hist = LatencyHistogram(buckets_s=(1e-6, 1e-3))
    for ns in (500, 2_000):
        ring.add(ns)
    hist.feed(ring)
    assert (hist.counts, hist.count, hist.sum_ns) == ([1, 1, 0], 2, 2_500)
    hist.feed(ring)  # nothing new
    assert hist.count == 2
    for ns in (10, 20, 30, 40, 5_000_000, 6_000_000):  # 2 of them overwritten unread
        ring.add(ns)
    hist.feed(ring)
    assert hist.lost == 2
    assert hist.count == 6
    assert hist.counts == [3, 1, 2]
    family = hist.family("x_seconds", "doc")
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    assert buckets == {"1e-06": 3, "0.001": 4, "+Inf": 6}


def test_the_deploy_files_scrape_and_chart_the_bot() -> None:
    import yaml

    scrape_configs = yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]
    job = next(c for c in scrape_configs if c["job_name"] == "bitunix-bot")
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == [f"127.0.0.1:{DEFAULT_HTTP_PORT}"]
    dashboard = json.loads(GRAFANA.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for p in panels:
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert 'job="$job"' in t["expr"], (p["title"], t["expr"])
    titles = " ".join(p["title"] for p in panels)
    for topic in ("PnL", "Exposure", "Kill switch", "Breakers", "denials", "Orders by state",
                  "Tick to order", "Order to venue ack", "reconnects", "drift", "Model"):
        assert topic in titles


def test_hook_counts_follow_each_orders_latest_state_with_bounded_memory() -> None:
    from bitunix.model import ContractSpec, Order, OrderStatus, Side
    from bitunix.obs.metrics import HookCounts

    spec = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                        qty_decimals=3, min_qty=Decimal("0.001"))

    def order(cid: str, status: OrderStatus, venue_id: str | None = None) -> Order:
        return Order(client_id=cid, spec=spec, side=Side.BUY, qty_steps=10, status=status,
                     venue_id=venue_id)

    hooks = HookCounts(keep_finished=2)
    for cid in ("a", "b", "c"):
        hooks.on_order(order(cid, OrderStatus.INIT))
    assert hooks.by_state == {"INIT": 3}
    hooks.on_order(order("a", OrderStatus.INIT, venue_id="v1"))  # acknowledged
    hooks.on_order(order("a", OrderStatus.FILLED))
    hooks.on_order(order("a", OrderStatus.FILLED))  # a repeat: counted once
    hooks.on_order(order("b", OrderStatus.CANCELED))
    assert hooks.by_state == {"INIT": 1, "FILLED": 1, "CANCELED": 1}
    assert hooks.ack.count == 2  # a by its venue id, b by its first state
    hooks.on_order(order("c", OrderStatus.REJECTED))
    assert hooks.by_state == {"INIT": 0, "FILLED": 1, "CANCELED": 1, "REJECTED": 1}
    assert set(hooks.order_state) == {"b", "c"}  # the oldest finished one forgotten
