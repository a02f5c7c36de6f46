"""bitunix's side of ``make bench-peers``: the workloads of ``bench/peers/nautilus_side.py``
with our code, on the same data (the bundled Binance ETHUSDT capture, 14,076 trades; the
backtests repeat them to one million with shifted timestamps, as
``bench/test_bench_backtest.py`` does). Runs in .venv.

* ``vwap``: ``RollingVWAP.add`` + ``.vwap`` per trade (a 30 s, 600-sample rolling window);
* ``decode``: a Bitunix trade push carrying the same trade (bytes) -> ``TradePush`` of
  ``TradeItem`` (``bitunix.wire.decode_public``), our venue's frame as theirs is Binance's;
* ``backtest_vwap``: ``run_backtest`` over the million ``TradeEvent`` held in memory (as
  theirs holds its ``TradeTick``), the model-free VWAP mean reversion strategy
  (``mean_reversion``: the rolling VWAP and its std per trade, fading 2-5 sigma
  deviations); the whole live path (derived books, features, pipeline, risk, execution);
* ``backtest_orders``: the same with the strategies off (and the daily loss limit at
  100%, as theirs has none) and, every 100 trades, an entry
  signal through ``Trader.on_signal`` (plan, risk and sizing, the intent, the execution
  engine) to the venue; ``tick_to_order`` times that call to the venue's ``submit``
  (the request leaving for the latency model of the in-process venue).

Prints one JSON object on stdout.

    .venv/bin/python bench/peers/our_side.py --data src/bitunix/data/<capture>.txt.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from bitunix.app.backtest import BacktestRun, run_backtest
from bitunix.config import load_config
from bitunix.data.files import iter_market_file
from bitunix.features import RollingVWAP
from bitunix.model import Order
from bitunix.model.market import MarketEvent, TradeEvent
from bitunix.strategy import Direction, Signal, SignalKind
from bitunix.wire import decode_public

ROOT = Path(__file__).resolve().parents[2]
MODELS = str(ROOT / "models")
ROUNDS = 15
WINDOW_NS, CAP = 30_000_000_000, 600


def _best_per_op(fn: Callable[[], object], ops: int, rounds: int = ROUNDS) -> float:
    """The fastest of ``rounds`` runs of ``fn()`` (one warm-up first), ns per operation: on
    a shared machine the least-disturbed round is the comparable one."""
    fn()
    runs = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn()
        runs.append((time.perf_counter_ns() - t0) / ops)
    return min(runs)


def compact_rows(px: list[float], qty: list[float], ts: list[int]
                 ) -> list[tuple[float, float, int]]:
    """The rows as fresh objects, allocated together: iterating floats left scattered
    among the parser's objects costs 2-3x per call here (cache misses, not the kernel);
    both sides build their rows this way."""
    return list(zip(np.array(px).tolist(), np.array(qty).tolist(),
                    np.array(ts, dtype=np.int64).tolist(), strict=True))


def capture_trades(path: Path) -> list[TradeEvent]:
    """The capture's trades, read as ``nautilus_side.py`` reads them (gzip lines, one
    msgspec decode each, trade time): the per-call rows then start from the same heap
    history on both sides."""
    with gzip.open(path, "rb") as fh:
        rows = [msgspec.json.decode(line.split(b" ", 1)[1])["data"] for line in fh
                if b'"e":"trade"' in line]
    return [TradeEvent(ts_ns=d["T"] * 1_000_000, symbol=d["s"], price=d["p"], qty=d["q"],
                       is_buy=not d["m"]) for d in rows]


def bench_vwap(trades: list[TradeEvent]) -> float:
    rows = compact_rows([float(t.price) for t in trades], [float(t.qty) for t in trades],
                        [t.ts_ns for t in trades])

    def run() -> float:
        k = RollingVWAP(WINDOW_NS, CAP)
        add = k.add
        total = 0.0
        for price, qty, ts in rows:
            add(price, qty, ts)
            total += k.vwap
        return total

    return _best_per_op(run, len(rows))


def trade_frame(t: TradeEvent) -> bytes:
    """The Bitunix trade push of one trade."""
    side = "buy" if t.is_buy else "sell"
    return (f'{{"ch":"trade","symbol":"{t.symbol}","ts":{t.ts_ns // 1_000_000},"data":'
            f'[{{"p":"{t.price}","s":"{side}","t":"2024-08-08T23:54:16Z","v":"{t.qty}"}}]}}'
            ).encode()


def bench_decode(trades: list[TradeEvent]) -> float:
    frames = [trade_frame(t) for t in trades]
    assert decode_public(frames[0]).data[0].p == float(trades[0].price)

    def run() -> None:
        for raw in frames:
            decode_public(raw)

    return _best_per_op(run, len(frames))


def million(trades: list[TradeEvent], count: int) -> list[MarketEvent]:
    """``count`` trades: the capture's repeated end to end, timestamps shifted."""
    span = trades[-1].ts_ns - trades[0].ts_ns + 1_000_000
    out: list[MarketEvent] = []
    rep = 0
    while len(out) < count:
        out.extend(msgspec.structs.replace(e, ts_ns=e.ts_ns + rep * span)
                   for e in trades[: count - len(out)])
        rep += 1
    return out


def _config(**overrides: object) -> Any:
    return load_config(None, {}, overrides={"signal.models_dir": MODELS, **overrides})


class EveryN:
    """``on_event`` hook: an entry signal through the Trader every ``n`` trades,
    alternating directions, timed from the call to the venue's ``submit``."""

    def __init__(self, n: int = 100) -> None:
        self.n = n
        self.seen = 0
        self.signals = 0
        self.t0 = 0
        self.samples: list[int] = []
        self._wrapped = False

    def _wrap(self, run: BacktestRun) -> None:
        inner = run.venue.submit

        def submit(order: Order) -> None:
            if self.t0:
                self.samples.append(time.perf_counter_ns() - self.t0)
                self.t0 = 0
            inner(order)

        run.venue.submit = submit  # type: ignore[method-assign]
        self._wrapped = True

    def __call__(self, run: BacktestRun, event: MarketEvent) -> None:
        t0 = time.perf_counter_ns()
        if type(event) is not TradeEvent:
            return
        self.seen += 1
        if self.seen % self.n:
            return
        if not self._wrapped:
            self._wrap(run)
        price = float(event.price)
        direction = Direction.LONG if self.signals % 2 == 0 else Direction.SHORT
        self.signals += 1
        self.t0 = t0
        run.trader.on_signal(Signal(
            strategy="bench", symbol=event.symbol, ts_ns=event.ts_ns, kind=SignalKind.ENTER,
            direction=direction, price=price, stop=price * (1 - 0.01 * direction),
            target=price * (1 + 0.01 * direction), max_hold_ns=1_000_000_000,
            probability=0.9))
        self.t0 = 0


def _percentiles(samples: list[int]) -> dict[str, float]:
    s = sorted(samples)
    if not s:
        return {"p50_ns": float("nan"), "p99_ns": float("nan"), "samples": 0}
    return {"p50_ns": float(s[len(s) // 2]),
            "p99_ns": float(s[min(len(s) - 1, int(len(s) * 0.99))]), "samples": len(s)}


def main(argv: list[str] | None = None) -> int:
    """Run the workloads; print the JSON."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--part", choices=("all", "micro", "backtest"), default="all",
                    help="micro: the VWAP and decode rows; backtest: the backtests")
    args = ap.parse_args(argv)

    out: dict[str, Any] = {"tool": "bitunix", "python": sys.version.split()[0]}
    if args.part != "backtest":
        trades = capture_trades(args.data)
        out["trades_in_capture"] = len(trades)
        out["vwap_ns"] = bench_vwap(trades)
        out["decode_ns"] = bench_decode(trades)
    if args.part == "micro":
        json.dump(out, sys.stdout)
        print()
        return 0
    trades = [e for e in iter_market_file(args.data) if type(e) is TradeEvent]
    out["trades_in_capture"] = len(trades)
    events = million(trades, args.trades)
    config = _config(**{"signal.strategies": [{"kind": "mean_reversion"}]})
    t0 = time.perf_counter()
    result = run_backtest(events, config)
    wall = time.perf_counter() - t0
    if result.errors:
        raise SystemExit(f"backtest_vwap failed: {result.errors}")
    out["backtest_vwap"] = {"trades": result.trades, "wall_s": wall,
                            "orders": len(result.orders), "fills": len(result.fills),
                            "ns_per_trade": wall * 1e9 / result.trades}

    hook = EveryN()
    # Theirs has no loss limit: ours would stop entries at the day's 5% loss (the bench's
    # entries lose their fees) and the rows would no longer carry the same orders.
    config = _config(**{"signal.strategies": [], "risk.limits.max_daily_loss_pct": 100.0})
    t0 = time.perf_counter()
    result = run_backtest(events, config, on_event=hook)
    wall = time.perf_counter() - t0
    if result.errors:
        raise SystemExit(f"backtest_orders failed: {result.errors}")
    out["backtest_orders"] = {"trades": result.trades, "wall_s": wall,
                              "orders": len(result.orders), "fills": len(result.fills),
                              "signals": hook.signals,
                              "denials": result.denials,
                              "ns_per_trade": wall * 1e9 / result.trades}
    out["tick_to_order"] = _percentiles(hook.samples)
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
