"""nautilus_trader's side of ``make bench-peers``; runs in ``.venv-peers`` (never in .venv).

The same four workloads as ``bench/peers/our_side.py``, on the same data (the bundled
Binance ETHUSDT capture, its 14,076 trades; the backtests repeat them end to end with
shifted timestamps to one million, as ``bench/test_bench_backtest.py`` does):

* ``vwap``: ``VolumeWeightedAveragePrice.update_raw(price, qty, datetime)`` + ``.value``
  per trade, the datetimes built beforehand (their indicator takes bars or raw values, not
  trade ticks; it is cumulative over the day, not a rolling window: less work than ours);
* ``decode``: a captured Binance trade frame (bytes) -> their ``BinanceFuturesTradeMsg``
  (msgspec, as their Binance adapter decodes it) -> ``TradeTick``;
* ``backtest_vwap``: ``BacktestEngine.run`` over one million ``TradeTick`` with a strategy
  that updates their VWAP on every trade and fades 0.1% deviations with market orders;
* ``backtest_orders``: the same engine with a market order every 100 trades (alternating
  sides); its strategy also times ``on_trade_tick`` entry -> ``on_order_submitted``
  (``tick_to_order``: the order has passed their risk engine and reached the simulated
  venue's execution client).

Prints one JSON object on stdout. ``python bench/peers/nautilus_side.py --help``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import nautilus_trader
import numpy as np
from nautilus_trader.adapters.binance.futures.schemas.market import BinanceFuturesTradeMsg
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.core.datetime import unix_nanos_to_dt
from nautilus_trader.indicators import VolumeWeightedAveragePrice
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AccountType, AggressorSide, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, TraderId, Venue
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

ROUNDS = 15


def _trade_lines(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as fh:
        return [line.split(b" ", 1)[1].strip() for line in fh if b'"e":"trade"' in line]


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


def bench_vwap(trades: list[tuple[float, float, dt.datetime]]) -> float:
    def run() -> float:
        ind = VolumeWeightedAveragePrice()
        update = ind.update_raw
        total = 0.0
        for price, qty, when in trades:
            update(price, qty, when)
            total += ind.value
        return total

    return _best_per_op(run, len(trades))


def bench_decode(lines: list[bytes], iid: InstrumentId) -> float:
    decoder = msgspec.json.Decoder(BinanceFuturesTradeMsg)

    def run() -> None:
        decode = decoder.decode
        for raw in lines:
            decode(raw).data.parse_to_trade_tick(iid, 0)

    return _best_per_op(run, len(lines))


class VwapFadeConfig(StrategyConfig, frozen=True):
    """Fade deviations of the last trade from the VWAP."""

    instrument_id: InstrumentId
    band: float = 0.001


class VwapFade(Strategy):
    """Their VWAP on every trade; short above VWAP * (1 + band), long below
    VWAP * (1 - band), flat again when the price crosses back (market orders)."""

    def __init__(self, config: VwapFadeConfig) -> None:
        super().__init__(config)
        self.vwap = VolumeWeightedAveragePrice()
        self.position = 0
        self.orders = 0

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.config.instrument_id)
        self.qty = self.instrument.make_qty(0.01)
        self.subscribe_trade_ticks(self.config.instrument_id)

    def on_trade_tick(self, tick: TradeTick) -> None:
        vwap = self.vwap
        price = tick.price.as_double()
        vwap.update_raw(price, tick.size.as_double(), unix_nanos_to_dt(tick.ts_event))
        mean, band = vwap.value, self.config.band
        if self.position == 0:
            if price > mean * (1 + band):
                self._order(OrderSide.SELL, -1)
            elif price < mean * (1 - band):
                self._order(OrderSide.BUY, 1)
        elif (self.position > 0 and price >= mean) or (self.position < 0 and price <= mean):
            self._order(OrderSide.SELL if self.position > 0 else OrderSide.BUY, 0)

    def _order(self, side: OrderSide, position: int) -> None:
        self.submit_order(self.order_factory.market(self.config.instrument_id, side, self.qty))
        self.position = position
        self.orders += 1


class EveryNConfig(StrategyConfig, frozen=True):
    """A market order every ``n`` trades."""

    instrument_id: InstrumentId
    n: int = 100


class EveryN(Strategy):
    """A market order every ``n`` trades, alternating sides; times on_trade_tick entry ->
    on_order_submitted of that order."""

    def __init__(self, config: EveryNConfig) -> None:
        super().__init__(config)
        self.seen = 0
        self.orders = 0
        self.t0 = 0
        self.samples: list[int] = []

    def on_start(self) -> None:
        self.qty = self.cache.instrument(self.config.instrument_id).make_qty(0.01)
        self.subscribe_trade_ticks(self.config.instrument_id)

    def on_trade_tick(self, tick: TradeTick) -> None:
        t0 = time.perf_counter_ns()
        self.seen += 1
        if self.seen % self.config.n:
            return
        self.t0 = t0
        side = OrderSide.BUY if self.orders % 2 == 0 else OrderSide.SELL
        self.orders += 1
        self.submit_order(self.order_factory.market(self.config.instrument_id, side, self.qty))

    def on_order_submitted(self, event: Any) -> None:
        if self.t0:
            self.samples.append(time.perf_counter_ns() - self.t0)
            self.t0 = 0


def million_ticks(trades: list[tuple[float, float, int, bool, str, str]], iid: InstrumentId,
                  count: int) -> list[TradeTick]:
    """``count`` trades: the capture's repeated end to end, timestamps shifted."""
    span = trades[-1][2] - trades[0][2] + 1_000_000
    ticks: list[TradeTick] = []
    prices: dict[str, Price] = {}
    sizes: dict[str, Quantity] = {}
    rep = 0
    from nautilus_trader.model.identifiers import TradeId

    while len(ticks) < count:
        for _, _, ts, is_buy, p, q in trades[: count - len(ticks)]:
            price = prices.get(p) or prices.setdefault(p, Price.from_str(p))
            size = sizes.get(q) or sizes.setdefault(q, Quantity.from_str(q))
            t = ts + rep * span
            ticks.append(TradeTick(iid, price, size,
                                   AggressorSide.BUYER if is_buy else AggressorSide.SELLER,
                                   TradeId(str(len(ticks) + 1)), t, t))
        rep += 1
    return ticks


def backtest(ticks: list[TradeTick], instrument: Any, strategy: Strategy) -> tuple[float, int]:
    """Wall seconds of ``BacktestEngine.run``, and how many orders filled."""
    engine = BacktestEngine(BacktestEngineConfig(
        trader_id=TraderId("BENCH-001"), logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(venue=Venue("BINANCE"), oms_type=OmsType.NETTING,
                     account_type=AccountType.MARGIN, base_currency=None,
                     starting_balances=[Money(10_000_000, USDT)])
    engine.add_instrument(instrument)
    engine.add_data(ticks)
    engine.add_strategy(strategy)
    t0 = time.perf_counter()
    engine.run()
    wall = time.perf_counter() - t0
    filled = sum(1 for o in engine.cache.orders() if o.filled_qty > 0)
    engine.dispose()
    return wall, filled


def _percentiles(samples: list[int]) -> dict[str, float]:
    s = sorted(samples)
    if not s:
        return {"p50_ns": float("nan"), "p99_ns": float("nan"), "samples": 0}
    return {"p50_ns": float(s[len(s) // 2]),
            "p99_ns": float(s[min(len(s) - 1, int(len(s) * 0.99))]), "samples": len(s)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--part", choices=("all", "micro", "backtest"), default="all",
                    help="micro: the VWAP and decode rows; backtest: the backtests")
    args = ap.parse_args(argv)

    lines = _trade_lines(args.data)
    rows = [msgspec.json.decode(raw)["data"] for raw in lines]
    trades = [(float(d["p"]), float(d["q"]), d["T"] * 1_000_000, not d["m"], d["p"], d["q"])
              for d in rows]
    instrument = TestInstrumentProvider.ethusdt_perp_binance()
    iid = instrument.id
    out: dict[str, Any] = {"tool": "nautilus_trader", "version": nautilus_trader.__version__,
                           "python": sys.version.split()[0], "trades_in_capture": len(trades)}
    if args.part != "backtest":
        # Fresh, compact rows (see our_side.compact_rows): the same on both sides.
        px = np.array([t[0] for t in trades]).tolist()
        qty = np.array([t[1] for t in trades]).tolist()
        when = [unix_nanos_to_dt(t[2]) for t in trades]
        out["vwap_ns"] = bench_vwap(list(zip(px, qty, when, strict=True)))
        out["decode_ns"] = bench_decode(lines, iid)

    if args.part == "micro":
        json.dump(out, sys.stdout)
        print()
        return 0
    ticks = million_ticks(trades, iid, args.trades)
    fade = VwapFade(VwapFadeConfig(instrument_id=iid))
    wall, filled = backtest(ticks, instrument, fade)
    out["backtest_vwap"] = {"trades": len(ticks), "wall_s": wall, "orders": fade.orders,
                            "filled": filled,
                            "ns_per_trade": wall * 1e9 / len(ticks)}
    every = EveryN(EveryNConfig(instrument_id=iid))
    wall, filled = backtest(ticks, instrument, every)
    out["backtest_orders"] = {"trades": len(ticks), "wall_s": wall, "orders": every.orders,
                              "filled": filled,
                              "ns_per_trade": wall * 1e9 / len(ticks)}
    out["tick_to_order"] = _percentiles(every.samples)
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
