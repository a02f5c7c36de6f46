"""Fault benchmarks: the order manager and the live adapter against the simulator's fault
injection, with orders open, one row per fault.

Each scenario starts a fresh :class:`~bench.faults_session.FaultRun` (the end-to-end
session of ``tests/e2e``: :class:`~bitunix.execution.ExecutionEngine` and
:class:`~bitunix.adapters.bitunix.BitunixVenue` against a
:class:`~bitunix.sim.server.SimServer` on 127.0.0.1, plus a public trade stream and a market
that moves every 20 ms), leaves a resting bid and a position open on each symbol, injects
the fault while orders go on being sent, and times what the bot sees:

* ``drop``: every socket dropped three times (an order sent at once each time, resting
  orders open): from the drop to the private stream back, the public stream back, and the
  first reconciliation after the reconnect done (the row's figure: the median of the later
  of the public stream and the reconciliation);
* ``silent``: both streams stay open, nothing is pushed: the public stream's stale check
  fires (``ws.stale_after_s`` = 5 s, the shipped default), market orders sent meanwhile
  have their fills known by REST (order confirmation after ``silence_s``, then the fill
  read), against the same orders with the stream live; after the feed is back, the time to
  the first public trade and to the books settled;
* ``rate_limit``: 20% of REST calls refused with 10006: 24 market orders sent 10 ms apart,
  the time until every one has a verdict, the resends and refusals;
* ``delay_after``: every REST answer comes 1 s after the order executed, the adapter gives
  up after 0.5 s: the time to a verdict per order, with the private stream telling and with
  it silent too (then only a lookup by client id can);
* ``venue_restart``: the venue restarts (0.5 s down) with two orders in flight and one sent
  while it is down: from the server back to the first reconciliation done and to a new
  order acknowledged;
* ``bot_restart``: the bot stops mid-trade (an order just sent, orders and positions open,
  nothing flattened) and a new engine and adapter are restored from the journal, connect
  and reconcile (as ``app/bot.py`` does from its store): from the new instance's start to
  reconciled, to the public stream back and to a new order acknowledged.

Every row then settles, reconciles, flattens and counts from the venue's own books: orders
intended (issued by the engine), placed at the venue, duplicated (a client id at the venue
twice), fills lost (venue fills not in the engine's books) and drift after reconciliation;
all but the first two must be 0 (and the e2e invariants hold). Times are wall seconds on
the client's loop (uvloop), conditions polled every ms, so they depend on the e2e timings
(``tests/e2e/conftest.py``: ack timeout 1 s, reconnect backoff 0.05-0.3 s, silence 0.4 s)
and on the machine's load. The rows go to ``results/faults-<UTC>/faults.json``, a table
(``faults.md``, also printed) and a plot of every time (``faults.png``).

    make bench-faults
    .venv/bin/python -m pytest bench/test_bench_faults.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvloop

from bench.faults_session import STALE_AFTER_S, FaultRun, when
from bench.forked import machine
from tests.e2e.conftest import ENGINE, VENUE

#: Every scenario, set-up and checks included, ends within this (the brief's bound).
SCENARIO_S = 30.0
ROOT = Path(__file__).resolve().parents[1]
STARTED = datetime.now(UTC)
ROWS: list[dict[str, Any]] = []
#: Counts that must be zero in every row.
ZERO = ("duplicated", "foreign", "fills_lost", "drift")


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _spread(seconds: list[float]) -> dict[str, float]:
    return {"n": len(seconds), "p50_ms": _ms(statistics.median(seconds)),
            "max_ms": _ms(max(seconds))}


Scenario = Callable[[FaultRun], Awaitable[tuple[str, float, dict[str, Any]]]]


def run_scenario(benchmark: Any, name: str, fault: str, body: Scenario, seed: int, *,
                 e2e_check: bool = True) -> None:
    """Open a run, leave orders open, run ``body`` (it returns the row's headline figure
    and its times), finish and count; the row goes to ``ROWS`` before it is checked.
    ``e2e_check``: also the e2e session's own invariants (they count fills per engine
    instance, so not across a bot restart; the counts here are from the venue's books)."""

    async def go() -> dict[str, Any]:
        run = await FaultRun.open(seed)
        try:
            await run.open_orders_and_positions()
            figure, seconds, times = await body(run)
            counts = await run.finish()
            row = {"scenario": name, "fault": fault, "figure": figure,
                   "figure_ms": _ms(seconds), "times": times, **counts}
            ROWS.append(row)
            if e2e_check:
                run.s.check()
            return row
        finally:
            await run.close()

    loop = uvloop.new_event_loop()
    started = time.perf_counter()
    try:
        row = benchmark.pedantic(
            lambda: loop.run_until_complete(asyncio.wait_for(go(), SCENARIO_S)),
            rounds=1, iterations=1, warmup_rounds=0)
    finally:
        loop.close()
    row["scenario_s"] = round(time.perf_counter() - started, 2)
    benchmark.extra_info.update(
        figure=row["figure"], figure_ms=row["figure_ms"], times=row["times"],
        **{k: row[k] for k in ("orders_intended", "orders_placed", *ZERO)})
    print(f"\n{name}: {row['figure']} {row['figure_ms']} ms; intended "
          f"{row['orders_intended']}, placed {row['orders_placed']}, "
          + ", ".join(f"{k} {row[k]}" for k in ZERO))
    assert {k: row[k] for k in ZERO} == dict.fromkeys(ZERO, 0), row["drift_detail"]
    assert row["orders_placed"] > 0


# ---------------------------------------------------------------------- scenarios
async def _drops(run: FaultRun) -> tuple[str, float, dict[str, Any]]:
    s = run.s
    outages: list[dict[str, float]] = []

    async def drop(i: int) -> None:
        if i not in (3, 9, 15):
            return
        t0 = time.perf_counter()
        await s.sim.drop_sockets()
        s.entry()  # in flight while the streams are down
        private = await run.private_back(t0)
        public = await run.public_back(t0)
        reconciled = await run.reconciled(t0)
        outages.append({"private_s": private - t0, "public_s": public - t0,
                        "reconciled_s": reconciled - t0,
                        "total_s": max(public, reconciled) - t0})

    await s.trade(20, between=drop)
    assert len(outages) == 3
    times = {k: _spread([o[k] for o in outages])
             for k in ("private_s", "public_s", "reconciled_s", "total_s")}
    return ("drop -> both streams back + reconciled, p50",
            statistics.median(o["total_s"] for o in outages), times)


async def _silent(run: FaultRun) -> tuple[str, float, dict[str, Any]]:
    s, public = run.s, run.public
    live = [await run.fills_known(s.entry().client_id) for _ in range(4)]
    t0 = time.perf_counter()
    s.sim.faults.silent = True
    silent = [await run.fills_known(s.entry().client_id) for _ in range(4)]
    stale = await when(lambda: public.stats.stale_disconnects > 0, STALE_AFTER_S + 5,
                       "the public stream's stale check")
    t1 = time.perf_counter()
    s.sim.faults.silent = False
    trade_back = await when(lambda: run.feed.last_trade_t > t1, 10.0, "a public trade again")
    await s.settle()
    settled = time.perf_counter()
    times = {"public_stale_detected_s": round(stale - t0, 3),
             "fills_known_live": _spread(live), "fills_known_silent": _spread(silent),
             "recovered_public_trade_s": round(trade_back - t1, 3),
             "recovered_books_settled_s": round(settled - t1, 3)}
    return ("silence -> public feed declared stale", stale - t0, times)


async def _rate_limits(run: FaultRun) -> tuple[str, float, dict[str, Any]]:
    s = run.s
    faults = s.sim.faults
    faults.reject_fraction, faults.reject_code = 0.2, 10006
    resends, refused = s.engine.counters.resends, s.venue.stats.requests_failed
    t0 = time.perf_counter()
    cids = []
    for _ in range(24):
        cids.append(s.entry().client_id)
        await asyncio.sleep(0.01)
    per_order = [await run.verdict(cid) for cid in cids]
    done = max(run.verdicts[c] for c in cids)
    faults.clear()
    times = {"orders": len(cids), "all_verdicts_s": round(done - t0, 3),
             "verdict": _spread(per_order),
             "resends": s.engine.counters.resends - resends,
             "requests_refused": s.venue.stats.requests_failed - refused}
    assert times["resends"] > 0, "no order was refused: the fault did not bite"
    return ("24 orders at 20% 10006 -> all with a verdict", done - t0, times)


async def _delay_after(run: FaultRun) -> tuple[str, float, dict[str, Any]]:
    s = run.s
    s.sim.faults.delay_after_s = 1.0  # > the adapter's request_timeout_s (0.5 s)
    lookups = s.engine.counters.lookups
    pushed = [await run.verdict(s.entry().client_id) for _ in range(5)]
    s.sim.faults.silent = True
    looked_up = [await run.verdict(s.entry().client_id) for _ in range(5)]
    s.sim.faults.clear()
    times = {"verdict_stream_live": _spread(pushed), "verdict_stream_silent": _spread(looked_up),
             "lookups": s.engine.counters.lookups - lookups,
             "submit_errors": s.venue.stats.submit_errors}
    assert times["submit_errors"] > 0, "no answer came late: the fault did not bite"
    return ("answer 1 s late, silent stream -> verdict by lookup, p50",
            statistics.median(looked_up), times)


async def _restart(run: FaultRun) -> tuple[str, float, dict[str, Any]]:
    s = run.s
    t0 = time.perf_counter()
    in_flight = [s.entry().client_id, s.entry().client_id]
    task = asyncio.create_task(s.sim.restart(down_s=0.5))
    await asyncio.sleep(0.1)
    in_flight.append(s.entry().client_id)  # sent while the venue is down
    await task
    up = time.perf_counter()
    reconciled = await run.reconciled(t0)
    first = s.entry().client_id
    trading = run.sent[first] + await run.verdict(first)
    in_flight_s = [await run.verdict(cid) for cid in in_flight]
    times = {"down_s": 0.5, "up_to_private_s": round(await run.private_back(t0) - up, 3),
             "up_to_reconciled_s": round(reconciled - up, 3),
             "up_to_trading_s": round(trading - up, 3),
             "in_flight_verdict": _spread(in_flight_s)}
    return ("venue back -> reconciled and an order acknowledged", trading - up, times)


async def _bot_restart(run: FaultRun) -> tuple[str, float, dict[str, Any]]:
    s = run.s
    await s.trade(6)
    in_flight = s.entry().client_id  # sent; this instance may never read its answer
    await run.stop_bot()
    t0 = time.perf_counter()
    await run.start_bot()
    reconciled = time.perf_counter()
    public = await run.public_back(t0)
    first = s.entry().client_id
    trading = run.sent[first] + await run.verdict(first)
    booked = run.booked.get(in_flight) or await when(lambda: in_flight in run.booked, 10.0,
                                                     "the in-flight order's fills")
    times = {"start_to_reconciled_s": round(reconciled - t0, 3),
             "start_to_public_s": round(public - t0, 3),
             "start_to_trading_s": round(trading - t0, 3),
             "in_flight_fills_booked_s": round(max(0.0, booked - t0), 3),
             "restored_open_orders": len(s.local_open())}
    return ("new instance -> restored, reconciled and an order acknowledged", trading - t0,
            times)


def test_fault_drop(benchmark: Any) -> None:
    run_scenario(benchmark, "drop", "drop_sockets() x3", _drops, seed=11)


def test_fault_silent(benchmark: Any) -> None:
    run_scenario(benchmark, "silent", "faults.silent", _silent, seed=12)


def test_fault_rate_limit(benchmark: Any) -> None:
    run_scenario(benchmark, "rate_limit", "reject_fraction 0.2, code 10006", _rate_limits,
                 seed=13)


def test_fault_delay_after(benchmark: Any) -> None:
    run_scenario(benchmark, "delay_after", "delay_after_s 1.0 (timeout 0.5 s)", _delay_after,
                 seed=14)


def test_fault_venue_restart(benchmark: Any) -> None:
    run_scenario(benchmark, "venue_restart", "restart(down_s=0.5)", _restart, seed=15)


def test_fault_bot_restart(benchmark: Any) -> None:
    run_scenario(benchmark, "bot_restart", "engine + adapter stopped, new ones restored",
                 _bot_restart, seed=16, e2e_check=False)


# ---------------------------------------------------------------------- results
def _machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT,
                                capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {**machine(), "commit": commit}


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = ["| scenario | figure | ms | intended | placed | duplicated | fills lost | drift |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['scenario']} | {r['figure']} | {r['figure_ms']} "
                     f"| {r['orders_intended']} | {r['orders_placed']} | {r['duplicated']} "
                     f"| {r['fills_lost']} | {r['drift']} |")
    return "\n".join(lines) + "\n"


def timed_ms(row: dict[str, Any]) -> list[tuple[str, float]]:
    """Every time of a row in ms: ``*_s`` figures and the p50 of each spread."""
    out = []
    for key, value in row["times"].items():
        if isinstance(value, dict) and "p50_ms" in value:
            out.append((f"{key} p50", float(value["p50_ms"])))
        elif key.endswith("_s") and key != "down_s" and isinstance(value, float):
            out.append((key.removesuffix("_s"), value * 1000))
    return out


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Each row's times as horizontal bars (log scale), its counts in the label."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    bars = [(f"{r['scenario']}: {name}", ms, i) for i, r in enumerate(rows)
            for name, ms in timed_ms(r)]
    fig = Figure(figsize=(10, 0.32 * len(bars) + 1.6))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f"]
    ax.barh(range(len(bars)), [max(ms, 0.1) for _, ms, _ in bars],
            color=[colours[i % len(colours)] for _, _, i in bars])
    ax.set_yticks(range(len(bars)), [label for label, _, _ in bars], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ms (log)")
    ax.grid(alpha=0.3, axis="x")
    counts = "; ".join(f"{r['scenario']} {r['orders_intended']}/{r['orders_placed']}/"
                       f"{r['duplicated']}/{r['fills_lost']}/{r['drift']}" for r in rows)
    ax.set_title("fault recovery times; intended/placed/duplicated/fills lost/drift:\n"
                 + counts, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


@pytest.fixture(scope="module", autouse=True)
def faults_report() -> Iterator[None]:
    """After the module: the rows as JSON and a table in ``results/faults-<UTC>/``."""
    yield
    if not ROWS:
        return
    out = ROOT / "results" / f"faults-{STARTED:%Y%m%dT%H%M%SZ}"
    out.mkdir(parents=True, exist_ok=True)
    doc = {"started": STARTED.isoformat(timespec="seconds"), "machine": _machine(),
           "command": "make bench-faults", "loop": "uvloop",
           "settings": {"engine": {k: getattr(ENGINE, k) for k in (
               "ack_timeout_s", "max_submit_attempts", "silence_s", "silence_max_s",
               "fill_grace_s")},
               "adapter": {k: getattr(VENUE, k) for k in ("request_timeout_s", "lookups")},
               "public_stale_after_s": STALE_AFTER_S},
           "rows": ROWS}
    (out / "faults.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    (out / "faults.md").write_text(table(ROWS))
    plot(ROWS, out / "faults.png")
    print(f"\nfault benchmarks -> {out / 'faults.json'}\n{table(ROWS)}")
