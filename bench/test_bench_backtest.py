"""``bitunix-bot backtest`` on one million real trades: the bundled ETHUSDT trades (14,076
of them) repeated end to end with their timestamps shifted, written once as Parquet.

Rows, each one run of the whole command path (read, decode, derive books, replay, report):
* read: the Parquet reader alone, iterating the events (the baseline of the ratios);
* features: ``backtest --mode features`` (decode + derived books + the feature engines);
* no orders: ``backtest`` with the strategies switched off (``signal.strategies = []``):
  the matching engine, features, pipeline, risk hooks and execution, nothing to send;
* orders: the full run with a market order every 100 trades (alternating sides, through
  the execution engine and the latency model), report written as the command does.
The peak RSS of the million-trade full run is measured in a fresh process.

    .venv/bin/python -m pytest bench/test_bench_backtest.py --benchmark-only -s
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bench.conftest import MEDIANS_NS, RATIOS
from bitunix.app.backtest import BacktestRun, market_events, run_backtest
from bitunix.backtest.report import build_report, write_outputs
from bitunix.cli import main
from bitunix.cli.backtest import report_inputs
from bitunix.config import load_config
from bitunix.data.files import iter_market_file
from bitunix.data.parquet import write_parquet
from bitunix.model import OrderIntent, OrderType, Side
from bitunix.model.market import MarketEvent, TradeEvent

ROOT = Path(__file__).resolve().parents[1]
ETH = ROOT / "src/bitunix/data/binance-usdm-ethusdt-2024-08-08.txt.gz"
TRADES = 1_000_000
MODELS = str(ROOT / "models")

RATIOS.extend([
    ("backtest: features / read", "backtest/features", "backtest/read"),
    ("backtest: no orders / read", "backtest/no_orders", "backtest/read"),
    ("backtest: orders every 100 / read", "backtest/orders", "backtest/read"),
])


def _million() -> Iterator[MarketEvent]:
    trades = [e for e in iter_market_file(ETH) if type(e) is TradeEvent]
    span = trades[-1].ts_ns - trades[0].ts_ns + 1_000_000
    done = rep = 0
    while done < TRADES:
        for e in trades[: TRADES - done]:
            yield msgspec.structs.replace(e, ts_ns=e.ts_ns + rep * span)
        done += min(len(trades), TRADES - done)
        rep += 1


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bt") / "ETHUSDT-1m.parquet"
    write_parquet(_million(), path)
    return path


def _rate(name: str, benchmark: Any, events: int) -> None:
    seconds = benchmark.stats.stats.median
    MEDIANS_NS[name] = seconds * 1e9 / events
    benchmark.extra_info["events"] = events
    benchmark.extra_info["events_per_s"] = round(events / seconds)
    print(f"\n{name}: {events / seconds:,.0f} events/s ({events} events)")


def _once(benchmark: Any, fn: Callable[[], Any]) -> Any:
    return benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)


def test_read(benchmark: Any, million: Path) -> None:
    def read() -> int:
        n = 0
        for _ in market_events([million]):
            n += 1
        return n

    n = _once(benchmark, read)
    assert n == TRADES
    _rate("backtest/read", benchmark, n)


def test_features_only(benchmark: Any, million: Path, tmp_path: Path) -> None:
    out = tmp_path / "features"
    _once(benchmark, lambda: main(["backtest", "--mode", "features", "--data", str(million),
                                   "--out", str(out)]))
    report = json.loads((out / "report.json").read_text())
    assert report["market_trades"] == TRADES
    assert report["valid_vectors"] > 0.9 * TRADES
    _rate("backtest/features", benchmark, report["events"])


def _config(**overrides: object) -> Any:
    return load_config(None, {}, overrides={"signal.models_dir": MODELS, **overrides})


def _full(million: Path, out: Path, config: Any,
          on_event: Callable[[BacktestRun, MarketEvent], None] | None) -> dict[str, Any]:
    result = run_backtest(market_events([million]), config, on_event=on_event)
    inputs = report_inputs(result, [million], 0, config)
    report = build_report(inputs)
    write_outputs(out, inputs, report)
    report["_wall_s"] = result.wall_s
    return report


def test_full_path_without_orders(benchmark: Any, million: Path, tmp_path: Path) -> None:
    config = _config(**{"signal.strategies": []})
    report = _once(benchmark, lambda: _full(million, tmp_path, config, None))
    assert report["market_trades"] == TRADES
    assert report["orders"] == 0
    _rate("backtest/no_orders", benchmark, report["events"])


def _every_100_trades() -> Callable[[BacktestRun, MarketEvent], None]:
    seen = {"trades": 0, "side": 0}

    def hook(run: BacktestRun, event: MarketEvent) -> None:
        if type(event) is not TradeEvent:
            return
        seen["trades"] += 1
        if seen["trades"] % 100:
            return
        side = (Side.BUY, Side.SELL)[seen["side"] % 2]
        seen["side"] += 1
        run.engine.submit(OrderIntent(
            spec=run.specs[event.symbol], side=side, qty_steps=10, order_type=OrderType.MARKET,
            strategy="bench", reason="enter", ts_ns=event.ts_ns))

    return hook


def test_full_path_with_an_order_every_100_trades(benchmark: Any, million: Path,
                                                  tmp_path: Path) -> None:
    config = _config(**{"signal.strategies": []})
    report = _once(benchmark, lambda: _full(million, tmp_path, config, _every_100_trades()))
    assert report["orders"] >= TRADES // 100
    _rate("backtest/orders", benchmark, report["events"])


def test_peak_rss_of_the_million_trade_backtest(benchmark: Any, million: Path,
                                                tmp_path: Path) -> None:
    """The command in a fresh process (the default strategies), its peak RSS."""
    probe = ("import resource, subprocess, sys;"
             "r = subprocess.run(sys.argv[1:]);"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")
    cmd = [sys.executable, "-c", probe, sys.executable, "-m", "bitunix", "backtest",
           "--data", str(million), "--out", str(tmp_path / "rss"), "--models-dir", MODELS,
           "--no-progress"]

    def run() -> tuple[int, int]:
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=1200)
        kib, code = done.stdout.split()[-2:]
        return int(kib), int(code)

    kib, code = _once(benchmark, run)
    assert code == 0
    mib = kib / 1024
    benchmark.extra_info["peak_rss_mib"] = round(mib, 1)
    print(f"\nbacktest of {TRADES} trades: peak RSS {mib:.0f} MiB "
          f"(self: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")
    assert mib <= 200, f"peak RSS {mib:.0f} MiB over the 200 MiB target"
