"""MarketPipeline: pushes into engines, evaluations into decide, signals out."""

from __future__ import annotations

import msgspec

from bitunix.app.pipeline import MarketPipeline
from bitunix.features import FeatureEngine
from bitunix.strategy import Direction, FeatureSource, Signal, SignalKind
from bitunix.wire import decode


def _push(obj: dict[str, object]) -> object:
    return decode(msgspec.json.encode(obj))


def _trade(symbol: str, ts: int, trades: list[tuple[str, str, str]]) -> object:
    return _push({"ch": "trade", "symbol": symbol, "ts": ts,
                  "data": [{"p": p, "v": v, "s": s, "t": "2024-08-08T23:54:16Z"}
                           for p, v, s in trades]})


def _depth(symbol: str, ts: int, bids: list[list[str]], asks: list[list[str]]) -> object:
    return _push({"ch": "depth_book15", "symbol": symbol, "ts": ts,
                  "data": {"b": bids, "a": asks}})


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, bool, float]] = []

    def __call__(self, symbol: str, ts_ns: int, src: FeatureSource, valid: bool) -> list[Signal]:
        self.calls.append((symbol, ts_ns, valid, src.vwap))
        if not valid:
            return []
        return [Signal(strategy="t", symbol=symbol, ts_ns=ts_ns, kind=SignalKind.ENTER,
                       direction=Direction.SHORT, price=src.last_price)]


def test_trades_books_and_decisions_flow_through() -> None:
    decide = Recorder()
    signals: list[Signal] = []
    clock = iter(range(100, 200))
    pipeline = MarketPipeline({"BTCUSDT": FeatureEngine(tick_size=0.1, min_samples=2)},
                              decide, signals.append, monotonic=lambda: float(next(clock)))
    pipeline.on_trade(_trade("BTCUSDT", 1_000, [("100.0", "1", "buy"), ("100.2", "3", "sell")]))
    pipeline.on_depth(_depth("BTCUSDT", 1_001, [["100.0", "2"]], [["100.1", "1"]]))
    pipeline.on_trade(_trade("BTCUSDT", 1_002, [("100.1", "1", "buy")]))
    pipeline.on_depth(_depth("BTCUSDT", 1_003, [["100.0", "2"]], [["100.1", "1"]]))
    stats = pipeline.stats
    assert (stats.trade_pushes, stats.trades, stats.book_pushes) == (2, 3, 2)
    assert [(s, ts, v) for s, ts, v, _ in decide.calls] == [
        ("BTCUSDT", 1_001_000_000, True), ("BTCUSDT", 1_003_000_000, True)]
    assert decide.calls[0][3] == (100.0 + 300.6) / 4  # every trade of the push counted
    assert len(signals) == stats.signals == 2
    assert signals[1].price == 100.1
    assert stats.last_trade_monotonic == 102.0
    assert stats.last_push_monotonic == 103.0


def test_rejections_unknown_symbols_and_errors_are_counted() -> None:
    decide = Recorder()
    pipeline = MarketPipeline({"BTCUSDT": FeatureEngine(tick_size=0.1)}, decide, lambda s: None)
    pipeline.on_trade(_trade("ETHUSDT", 1, [("2000", "1", "buy")]))
    pipeline.on_depth(_depth("ETHUSDT", 1, [["1", "1"]], [["2", "1"]]))
    pipeline.on_trade(_trade("BTCUSDT", 2, [("-1", "1", "buy")]))
    pipeline.on_depth(_depth("BTCUSDT", 3, [["101", "1"]], [["100", "1"]]))  # crossed
    pipeline.on_depth(_depth("BTCUSDT", 4, [], [["100", "1"]]))             # one-sided
    pipeline.on_error("subscribe refused")
    stats = pipeline.stats
    assert (stats.unknown_symbol, stats.trades_rejected, stats.books_rejected) == (2, 1, 2)
    assert decide.calls == []
    assert stats.errors == ["subscribe refused"]
