"""Soak: the real bot path on the simulator for minutes, sampled every second, then checked.

``make soak`` (or ``python bench/soak.py``) starts the built-in simulator on 127.0.0.1, in
a process of its own, with the seeded synthetic market (endless, so the run is bounded by
this driver, not by the data) replayed far faster than real time (``SOAK_SPEED``, default
400x: about 20,000 events/s offered), and runs :class:`bitunix.app.bot.BotRun` in paper
mode against it: the picows client, the native features, a mean-reversion strategy tuned to
trade often, risk, the execution engine and its REST client, the SQLite store. It runs for
``SOAK_SECONDS`` (default 600) or until ``SOAK_MESSAGES`` (default 10^7) market messages
arrived, whichever comes first.

Every second it samples the bot's process (the simulator's RSS is recorded beside it, not
judged: its order history grows with every order by design): RSS (``/proc/self/statm``), event-loop
lag (the lateness of a 50 ms timer), tick-to-order latencies written in that second (the
run's :class:`~bitunix.core.latency.LatencyProbe`), GC pauses (``gc.callbacks``), messages/s,
orders and fills. It writes ``soak.json`` and ``soak.png`` into ``results/soak-<UTC>/`` and
then checks:

* memory flat: the RSS slope (least squares) over the second half of the run is below
  ``SOAK_RSS_SLOPE_MIB_MIN`` (default 1 MiB/min);
* no latency drift: tick-to-order p99 of the last third is within ``SOAK_DRIFT_RATIO``
  (default 1.5x) of the first third's;
* zero lost or duplicated orders: every client id at the venue was issued by the bot, once;
  every order the venue acknowledged to the bot is known to the venue; every venue fill is
  booked by the bot once; no drift correction, impossible transition or run failure;
* orders flowed: at least ``SOAK_MIN_ORDERS`` (default 10) orders.

A failed check exits 1 with a one-line reason (all reasons are in the JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import multiprocessing
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from bitunix.app.bot import SIM_API_KEY, SIM_API_SECRET, BotRun
from bitunix.config import BotConfig, Mode, load_config
from bitunix.exchange.signing import Credentials

__all__ = ["Sample", "Sampler", "SoakResult", "SoakSettings", "check", "main", "run_soak",
           "write_results"]

_PAGE = os.sysconf("SC_PAGE_SIZE")
_MIB = 1024 * 1024

#: Mean reversion with loose guards and a short time exit, so orders keep flowing; the
#: volatility breaker off (bursts of the synthetic market would pause entries for minutes)
#: and the daily loss limit out of reach: the strategy pays taker fees on every round trip
#: and its 5% default trips after about 12 minutes, after which no order would flow.
BUSY_TOML = """
[risk.limits]
max_daily_loss_pct = 100.0

[[signal.strategies]]
kind = "mean_reversion"
[signal.strategies.params]
entry_z = 1.0
min_edge_bps = 0.0
cooldown_s = 0.5
min_std_bps = 0.0
exits = {max_hold_s = 2.0}
[risk.breaker.volatility]
enabled = false
"""


@dataclass(frozen=True, slots=True)
class SoakSettings:
    """How long, how fast and how strict one soak run is."""

    seconds: float = 600.0
    messages: int = 10_000_000
    speed: float = 400.0
    seed: int = 7
    sample_s: float = 1.0
    lag_tick_s: float = 0.05
    rss_slope_mib_min: float = 1.0
    drift_ratio: float = 1.5
    min_orders: int = 10
    min_samples_per_third: int = 10

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str]) -> SoakSettings:
        """The settings from ``SOAK_*`` variables (the make target's interface)."""
        d = cls()
        return cls(
            seconds=float(env.get("SOAK_SECONDS", d.seconds)),
            messages=int(float(env.get("SOAK_MESSAGES", d.messages))),
            speed=float(env.get("SOAK_SPEED", d.speed)),
            seed=int(env.get("SOAK_SEED", d.seed)),
            rss_slope_mib_min=float(env.get("SOAK_RSS_SLOPE_MIB_MIN", d.rss_slope_mib_min)),
            drift_ratio=float(env.get("SOAK_DRIFT_RATIO", d.drift_ratio)),
            min_orders=int(env.get("SOAK_MIN_ORDERS", d.min_orders)))


@dataclass(slots=True)
class Sample:
    """One second of the run."""

    t_s: float
    rss_mib: float
    sim_rss_mib: float
    lag_p99_ms: float
    lag_max_ms: float
    messages: int
    msg_per_s: float
    orders: int
    fills: int
    t2o_count: int
    t2o_p50_us: float | None
    t2o_p99_us: float | None
    gc_count: int
    gc_max_ms: float
    gc_total_ms: float


@dataclass(slots=True)
class SoakResult:
    """What the run measured; ``failures`` is filled by :func:`check`."""

    settings: dict[str, Any]
    machine: dict[str, Any]
    started_utc: str
    wall_s: float
    stop_reason: str
    samples: list[Sample]
    t2o_us: list[tuple[float, float]]  # (t_s, latency_us) of every tick-to-order sample
    lag_ms: list[float]
    gc_pauses_ms: list[float]
    summary: dict[str, Any]
    orders: dict[str, int]
    figures: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def rss_mib(pid: int | str = "self") -> float:
    """Resident set size of this process (or of ``pid``) in MiB."""
    with open(f"/proc/{pid}/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE / _MIB


def percentile(data: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (``p`` in 0..100) of ``data``; None if empty."""
    if not data:
        return None
    s = sorted(data)
    rank = max(1, min(len(s), math.ceil(p / 100.0 * len(s))))
    return s[rank - 1]


def slope_per_min(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of ``(t_s, value)`` points, per minute (0 with < 2 points)."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return 60.0 * sum((t - mt) * (v - mv) for t, v in points) / var


class Sampler:
    """Event-loop lag, GC pauses and per-second samples of a running :class:`BotRun`."""

    def __init__(self, bot: BotRun, settings: SoakSettings,
                 loop: asyncio.AbstractEventLoop, sim_pid: int | None = None) -> None:
        self.bot = bot
        self.sim_pid = sim_pid
        self.settings = settings
        self.loop = loop
        self.samples: list[Sample] = []
        self.t2o_us: list[tuple[float, float]] = []
        self.lag_ms: list[float] = []
        self.gc_pauses_ms: list[float] = []
        self.stop_reason = ""
        self._t0 = loop.time()
        self._lag_now: list[float] = []
        self._gc_now: list[float] = []
        self._gc_start = 0
        self._t2o_seen = 0
        self._messages = 0
        self._handles: list[asyncio.TimerHandle] = []
        self._stopped = False

    def start(self) -> None:
        """Arm the timers and the GC callback."""
        gc.callbacks.append(self._on_gc)
        self._lag_tick(self.loop.time() + self.settings.lag_tick_s)
        self._handles.append(self.loop.call_later(self.settings.sample_s, self._sample))

    def stop(self) -> None:
        """Disarm everything (idempotent)."""
        self._stopped = True
        for h in self._handles:
            h.cancel()
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter_ns()
        elif self._gc_start:
            self._gc_now.append((time.perf_counter_ns() - self._gc_start) / 1e6)
            self._gc_start = 0

    def _lag_tick(self, due: float) -> None:
        now = self.loop.time()
        self._lag_now.append(max(0.0, now - due) * 1000.0)
        if not self._stopped:
            nxt = now + self.settings.lag_tick_s
            self._handles.append(self.loop.call_at(nxt, self._lag_tick, nxt))
            if len(self._handles) > 64:
                self._handles = self._handles[-8:]

    def _new_t2o_us(self) -> list[float]:
        ring = self.bot.probe.event_to_order
        count = ring.count
        new = count - self._t2o_seen
        if new <= 0:
            return []
        kept = ring.samples()
        cap = len(kept) if count > len(kept) else max(count, 1)
        new = min(new, len(kept))
        self._t2o_seen = count
        return [kept[i % cap] / 1000.0 for i in range(count - new, count)]

    def _sample(self) -> None:
        if self._stopped:
            return
        bot = self.bot
        t = self.loop.time() - self._t0
        messages = bot.ws.stats.messages if bot.ws is not None else 0
        engine = bot.engine
        orders = engine.counters.orders if engine is not None else 0
        fills = engine.counters.fills if engine is not None else 0
        t2o = self._new_t2o_us()
        self.t2o_us.extend((t, v) for v in t2o)
        lag, self._lag_now = self._lag_now, []
        gcs, self._gc_now = self._gc_now, []
        self.lag_ms.extend(lag)
        self.gc_pauses_ms.extend(gcs)
        prev = self.samples[-1].t_s if self.samples else 0.0
        self.samples.append(Sample(
            t_s=round(t, 3), rss_mib=round(rss_mib(), 3),
            sim_rss_mib=round(rss_mib(self.sim_pid), 3) if self.sim_pid else 0.0,
            lag_p99_ms=round(percentile(lag, 99) or 0.0, 3),
            lag_max_ms=round(max(lag, default=0.0), 3), messages=messages,
            msg_per_s=round((messages - self._messages) / max(t - prev, 1e-9), 1),
            orders=orders, fills=fills, t2o_count=len(t2o),
            t2o_p50_us=_round(percentile(t2o, 50)), t2o_p99_us=_round(percentile(t2o, 99)),
            gc_count=len(gcs), gc_max_ms=round(max(gcs, default=0.0), 3),
            gc_total_ms=round(sum(gcs), 3)))
        self._messages = messages
        if len(self.samples) % 60 == 0:
            x = self.samples[-1]
            self.bot.emit(f"soak: {x.t_s:.0f} s, {messages} messages, {orders} orders, "
                          f"{fills} fills, RSS {x.rss_mib:.1f} MiB")
        if messages >= self.settings.messages:
            self.stop_reason = f"{messages} messages (SOAK_MESSAGES {self.settings.messages})"
            bot.interrupt()
            return
        self._handles.append(self.loop.call_later(self.settings.sample_s, self._sample))


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


class SimProcess:
    """The simulator in a child process, so that the RSS measured is the bot's alone (and
    the bot has the loop to itself, as in a real deployment). Commands by a pipe:
    ``audit`` (the venue's orders and fills of the paper account) and ``stop``."""

    def __init__(self, seed: int, speed: float, push_interval_s: float, balance: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_sim_main, name="soak-sim", daemon=True,
                                args=(child, seed, speed, push_interval_s, balance))
        self.urls: tuple[str, str, str] = ("", "", "")

    async def start(self, timeout_s: float = 60.0) -> None:
        """Start the child and wait for its URLs."""
        self.proc.start()
        self.urls = await asyncio.to_thread(self._recv, timeout_s)

    def _recv(self, timeout_s: float) -> Any:
        if not self._conn.poll(timeout_s):
            raise RuntimeError(f"the simulator process did not answer in {timeout_s:g} s")
        return self._conn.recv()

    async def audit(self) -> dict[str, list[tuple[str, str]] | list[str]]:
        """The venue's ``orders`` as (order id, client id) and its fills' trade ids."""
        self._conn.send("audit")
        result: dict[str, Any] = await asyncio.to_thread(self._recv, 60.0)
        return result

    async def stop(self) -> None:
        """Stop the child (killed if it does not exit in 10 s)."""
        if self.proc.is_alive():
            self._conn.send("stop")
            await asyncio.to_thread(self.proc.join, 10.0)
        if self.proc.is_alive():
            self.proc.kill()
            await asyncio.to_thread(self.proc.join, 5.0)


def _sim_main(conn: Any, seed: int, speed: float, push_interval_s: float,
              balance: str) -> None:
    asyncio.run(_serve_sim(conn, seed, speed, push_interval_s, balance))


async def _serve_sim(conn: Any, seed: int, speed: float, push_interval_s: float,
                     balance: str) -> None:
    from decimal import Decimal

    from bitunix.sim.server import SimServer

    sim = SimServer(data=f"synthetic:{seed}", speed=speed, loop_data=False,
                    push_interval_s=push_interval_s, wait_for_subscriber=True,
                    api_keys={SIM_API_KEY: SIM_API_SECRET}, balance=Decimal(balance))
    await sim.start()
    conn.send((sim.rest_url, sim.public_ws_url, sim.private_ws_url))
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(conn.fileno(), ready.set)
    try:
        while True:
            await ready.wait()
            ready.clear()
            while conn.poll():
                cmd = conn.recv()
                if cmd == "stop":
                    return
                acct = sim.engine.account(SIM_API_KEY)
                conn.send({"orders": [(o.order_id, o.client_id) for o in acct.orders.values()],
                           "fills": [f.trade_id for f in acct.fills]})
    finally:
        loop.remove_reader(conn.fileno())
        await sim.stop()


class SoakBotRun(BotRun):
    """:class:`BotRun` in paper mode against the simulator of a :class:`SimProcess`
    (only where the venue comes from differs)."""

    def __init__(self, *args: Any, sim_urls: tuple[str, str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sim_urls = sim_urls

    async def _venue_endpoints(self) -> tuple[str, str, str, Credentials | None]:
        rest, public, private = self._sim_urls
        return rest, public, private, Credentials(SIM_API_KEY, SIM_API_SECRET)


def soak_config(settings: SoakSettings, workdir: Path) -> BotConfig:
    """The paper configuration of a soak run: endless synthetic data, a busy strategy."""
    path = workdir / "soak.toml"
    path.write_text(BUSY_TOML)
    return load_config(path, {}, overrides={
        "sim.data": f"synthetic:{settings.seed}", "sim.speed": settings.speed,
        "run.duration_s": settings.seconds, "run.idle_stop_s": 0.0,
        "signal.models_dir": str(Path(__file__).resolve().parents[1] / "models"),
        "store.path": str(workdir / "soak.sqlite")})


def machine() -> dict[str, Any]:
    """What the run ran on."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def order_audit(venue: dict[str, Any], store_path: Path) -> dict[str, int]:
    """The bot's orders and fills (its store) against the venue's, after the run (see the
    module docs); ``venue`` is :meth:`SimProcess.audit`."""
    from bitunix.store import SqliteStore

    store = SqliteStore(store_path)
    try:
        ours = store.orders()
        fills = store.fills()
    finally:
        store.close()
    issued = {o.client_id for o in ours}
    venue_orders: list[tuple[str, str]] = [tuple(o) for o in venue["orders"]]
    venue_ids = {oid for oid, _ in venue_orders}
    venue_cids: dict[str, int] = {}
    for _, cid in venue_orders:
        if cid:
            venue_cids[cid] = venue_cids.get(cid, 0) + 1
    booked: dict[str, int] = {}
    for f in fills:
        booked[f.trade_id] = booked.get(f.trade_id, 0) + 1
    venue_trades = set(venue["fills"])
    # Orders of the bot the venue never saw, by final state: refused before sending (a
    # closing order for a position the exchange's TP/SL had already closed, ...).
    unsent: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for o in ours:
        if o.client_id not in venue_cids:
            key = f"not_at_venue_{str(o.status).lower()}"
            unsent[key] = unsent.get(key, 0) + 1
            why = f"reject_reason: {o.reject_reason[:60] or '(none)'}"
            reasons[why] = reasons.get(why, 0) + 1
    return reasons | unsent | {
        "bot_orders": len(ours),
        "venue_orders": len(venue_orders),
        "venue_orders_with_client_id": sum(venue_cids.values()),
        "duplicated_orders": sum(n - 1 for n in venue_cids.values() if n > 1),
        "unknown_client_ids": sum(1 for c in venue_cids if c not in issued),
        "lost_orders": sum(1 for o in ours if o.venue_id and o.venue_id not in venue_ids),
        "venue_fills": len(venue["fills"]),
        "bot_fills": len(fills),
        "lost_fills": sum(1 for t in venue_trades if t not in booked),
        "duplicated_fills": sum(n - 1 for n in booked.values() if n > 1),
    }


async def run_soak(settings: SoakSettings, workdir: Path,
                   emit: Callable[[str], None] = print) -> SoakResult:
    """Run the bot against the simulator under the sampler; the result is not yet checked."""
    cfg = soak_config(settings, workdir)
    store_path = cfg.store.resolved_path()
    sim = SimProcess(settings.seed, cfg.sim.speed, cfg.sim.push_interval_s / cfg.sim.speed,
                     str(cfg.sim.balance))
    try:
        await sim.start()
        bot = SoakBotRun(cfg, Mode.PAPER, store_path=store_path, secrets=None, emit=emit,
                         sim_urls=sim.urls)
        loop = asyncio.get_running_loop()
        sampler = Sampler(bot, settings, loop, sim_pid=sim.proc.pid)
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        t0 = time.monotonic()
        sampler.start()
        # Ctrl-C stops the bot cleanly (flatten, reconcile) and the results are still
        # written, marked interrupted.
        loop.add_signal_handler(signal.SIGINT, bot.interrupt)
        try:
            summary = await bot.run()
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            sampler.stop()
        venue = await sim.audit()
    finally:
        await sim.stop()
    if sampler.stop_reason:
        summary.interrupted = False  # our own stop at SOAK_MESSAGES, not a Ctrl-C
    elif summary.interrupted:
        sampler.stop_reason = "interrupted (Ctrl-C)"
    else:
        sampler.stop_reason = (f"{settings.seconds:g} s (SOAK_SECONDS)"
                               if not summary.failures else "run failed")
    return SoakResult(
        settings=asdict(settings), machine=machine(), started_utc=started,
        wall_s=round(time.monotonic() - t0, 2), stop_reason=sampler.stop_reason,
        samples=sampler.samples, t2o_us=sampler.t2o_us, lag_ms=sampler.lag_ms,
        gc_pauses_ms=sampler.gc_pauses_ms,
        summary=msgspec.to_builtins(summary), orders=order_audit(venue, store_path))


def check(result: SoakResult) -> list[str]:
    """Compute the headline figures into ``result.figures`` and return every failed check
    (also kept in ``result.failures``), each a one-line reason."""
    s = result.settings
    fails: list[str] = []
    samples = result.samples
    fig: dict[str, Any] = {}
    duration = samples[-1].t_s if samples else 0.0
    half = [(x.t_s, x.rss_mib) for x in samples if x.t_s >= duration / 2]
    fig["duration_s"] = duration
    fig["messages"] = samples[-1].messages if samples else 0
    fig["msg_per_s_mean"] = round(fig["messages"] / duration, 1) if duration else 0.0
    fig["rss_start_mib"] = samples[0].rss_mib if samples else None
    fig["rss_end_mib"] = samples[-1].rss_mib if samples else None
    fig["rss_max_mib"] = max((x.rss_mib for x in samples), default=None)
    fig["rss_slope_second_half_mib_min"] = round(slope_per_min(half), 4)
    fig["sim_rss_start_mib"] = samples[0].sim_rss_mib if samples else None
    fig["sim_rss_end_mib"] = samples[-1].sim_rss_mib if samples else None
    fig["lag_p99_ms"] = _round(percentile(result.lag_ms, 99))
    fig["lag_max_ms"] = _round(max(result.lag_ms, default=0.0))
    fig["gc_pauses"] = len(result.gc_pauses_ms)
    fig["gc_max_pause_ms"] = _round(max(result.gc_pauses_ms, default=0.0))
    third = duration / 3
    first = [v for t, v in result.t2o_us if t <= third]
    last = [v for t, v in result.t2o_us if t > 2 * third]
    for name, part in (("first", first), ("last", last)):
        fig[f"t2o_{name}_third_n"] = len(part)
        fig[f"t2o_{name}_third_p50_us"] = _round(percentile(part, 50))
        fig[f"t2o_{name}_third_p99_us"] = _round(percentile(part, 99))
    everything = [v for _, v in result.t2o_us]
    fig["t2o_p50_us"] = _round(percentile(everything, 50))
    fig["t2o_p99_us"] = _round(percentile(everything, 99))
    result.figures = fig

    if len(half) < 2:
        fails.append(f"too short to judge memory: {len(half)} samples in the second half")
    elif fig["rss_slope_second_half_mib_min"] > s["rss_slope_mib_min"]:
        fails.append(f"RSS grew {fig['rss_slope_second_half_mib_min']:.3f} MiB/min over the "
                     f"second half (bound {s['rss_slope_mib_min']} MiB/min)")
    need = s["min_samples_per_third"]
    if len(first) < need or len(last) < need:
        fails.append(f"too few tick-to-order samples to judge drift: {len(first)} in the "
                     f"first third, {len(last)} in the last (need {need})")
    else:
        p99_first, p99_last = fig["t2o_first_third_p99_us"], fig["t2o_last_third_p99_us"]
        if p99_last > s["drift_ratio"] * p99_first:
            fails.append(f"tick-to-order p99 drifted: {p99_last:.1f} us in the last third vs "
                         f"{p99_first:.1f} us in the first (bound {s['drift_ratio']}x)")
    o = result.orders
    for key in ("duplicated_orders", "unknown_client_ids", "lost_orders", "lost_fills",
                "duplicated_fills"):
        if o.get(key, 0):
            fails.append(f"{o[key]} {key.replace('_', ' ')} (bot vs venue)")
    summ = result.summary
    if summ.get("orders", 0) < s["min_orders"]:
        fails.append(f"orders did not flow: {summ.get('orders', 0)} orders "
                     f"(need {s['min_orders']})")
    for key in ("drift_corrections", "impossible_transitions"):
        if summ.get(key, 0):
            fails.append(f"{summ[key]} {key.replace('_', ' ')} in the run")
    fails.extend(f"run failed: {f}" for f in summ.get("failures", []))
    if summ.get("interrupted"):
        fails.append("interrupted (Ctrl-C): the run is incomplete")
    result.failures = fails
    return fails


def write_results(result: SoakResult, out: Path) -> tuple[Path, Path]:
    """``soak.json`` and ``soak.png`` into ``out`` (created)."""
    out.mkdir(parents=True, exist_ok=True)
    body = asdict(result)
    body["t2o_us"] = [[t, v] for t, v in result.t2o_us]
    body["lag_ms"] = {"count": len(result.lag_ms), "p50": _round(percentile(result.lag_ms, 50)),
                      "p99": _round(percentile(result.lag_ms, 99)),
                      "max": _round(max(result.lag_ms, default=0.0))}
    json_path = out / "soak.json"
    json_path.write_bytes(msgspec.json.format(msgspec.json.encode(body), indent=2) + b"\n")
    png_path = out / "soak.png"
    _plot(result, png_path)
    return json_path, png_path


def _plot(result: SoakResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = result.samples
    t = [x.t_s for x in s]
    fig, axes = plt.subplots(5, 1, figsize=(10, 13), sharex=True)
    axes[0].plot(t, [x.rss_mib for x in s], label="bot")
    axes[0].plot(t, [x.sim_rss_mib for x in s], label="simulator (other process)", alpha=0.6)
    axes[0].set_ylabel("RSS (MiB)")
    axes[0].legend(loc="upper left")
    axes[1].plot(t, [x.lag_p99_ms for x in s], label="p99")
    axes[1].plot(t, [x.lag_max_ms for x in s], label="max", alpha=0.6)
    axes[1].set_ylabel("loop lag (ms)")
    axes[1].legend(loc="upper right")
    pts = [(x.t_s, x.t2o_p50_us, x.t2o_p99_us) for x in s if x.t2o_p50_us is not None]
    axes[2].plot([p[0] for p in pts], [p[1] for p in pts], ".", label="p50 per second")
    axes[2].plot([p[0] for p in pts], [p[2] for p in pts], ".", label="p99 per second",
                 alpha=0.6)
    axes[2].set_ylabel("tick->order (us)")
    axes[2].set_yscale("log")
    axes[2].legend(loc="upper right")
    axes[3].plot(t, [x.gc_max_ms for x in s])
    axes[3].set_ylabel("GC max pause (ms)")
    axes[4].plot(t, [x.msg_per_s for x in s], label="messages/s")
    ax2 = axes[4].twinx()
    ax2.plot(t, [x.orders for x in s], color="tab:red", label="orders (cumulative)")
    axes[4].set_ylabel("messages/s")
    ax2.set_ylabel("orders")
    axes[4].set_xlabel("seconds")
    verdict = "PASS" if not result.failures else "FAIL"
    axes[0].set_title(f"bitunix soak {result.started_utc}: {verdict}, "
                      f"{result.figures.get('duration_s', 0):.0f} s, stopped by "
                      f"{result.stop_reason}")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """``python bench/soak.py [--out DIR]``: run, write, check; 0 pass, 1 fail."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", type=Path, default=None,
                    help="results folder (default results/soak-<UTC>)")
    args = ap.parse_args(argv)
    settings = SoakSettings.from_env(os.environ)
    out = args.out or Path("results") / time.strftime("soak-%Y%m%dT%H%M%SZ", time.gmtime())
    print(f"soak: up to {settings.seconds:g} s or {settings.messages} messages, "
          f"synthetic:{settings.seed} at {settings.speed:g}x; results in {out}", flush=True)
    # The event loop of `bitunix-bot run`: uvloop where it is installed.
    try:
        import uvloop
        runner: Callable[[Any], SoakResult] = uvloop.run
        loop_name = "uvloop"
    except ImportError:  # uvloop is a dependency except on Windows
        runner, loop_name = asyncio.run, "asyncio"
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        result = runner(run_soak(settings, Path(tmp), emit=lambda m: print(m, flush=True)))
    result.machine["event_loop"] = loop_name
    fails = check(result)
    json_path, png_path = write_results(result, out)
    f = result.figures
    print(f"soak: {f['duration_s']:.0f} s, {f['messages']} messages "
          f"({f['msg_per_s_mean']:.0f}/s), {result.summary.get('orders', 0)} orders, "
          f"{result.summary.get('fills', 0)} fills; RSS {f['rss_start_mib']} -> "
          f"{f['rss_end_mib']} MiB (second half {f['rss_slope_second_half_mib_min']:+.3f} "
          f"MiB/min); loop lag p99 {f['lag_p99_ms']} ms; tick->order p50/p99 "
          f"{f['t2o_first_third_p50_us']}/{f['t2o_first_third_p99_us']} us first third, "
          f"{f['t2o_last_third_p50_us']}/{f['t2o_last_third_p99_us']} us last; "
          f"GC max {f['gc_max_pause_ms']} ms", flush=True)
    print(f"soak: wrote {json_path} and {png_path}")
    if fails:
        print(f"soak: FAIL: {fails[0]}" + (f" (+{len(fails) - 1} more in the JSON)"
                                            if len(fails) > 1 else ""))
        return 1
    print("soak: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
